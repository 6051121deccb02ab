// Package unlocode parses UN/LOCODE location codes (United Nations Code for
// Trade and Transport Locations), such as CNQIN for Qingdao.
//
// A code has 5 characters: an ISO 3166-1 alpha-2 country code that is
// assigned, and 3 characters of [A-Z2-9] naming the place within the country.
// The package checks that form and resolves superseded codes through an alias
// table; it does not hold the whole UN/LOCODE list, so it cannot tell whether
// a well-formed code names a real place.
package unlocode

import "fmt"

// Edition is the UN/LOCODE edition this package validates against: the
// country list and the alias table below follow UN/LOCODE 2024-2.
const Edition = "2024-2"

// Code is a UN/LOCODE in canonical form: 5 upper-case characters, no space,
// never an alias. Obtain one from Parse or Canonical; a Code converted from an
// arbitrary string is not checked.
type Code string

// ParseError reports why a code was rejected. Reason is a short phrase, fit to
// show a client (e.g. in a problem+json "reason" member).
type ParseError struct {
	Input  string // the input as given
	Reason string // e.g. `country "XX" is not an assigned ISO 3166-1 code`
}

func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > 40 {
		in = in[:40] + "..."
	}
	return fmt.Sprintf("unlocode: invalid location code %q: %s", in, e.Reason)
}

// aliases maps codes that carriers still send to the code that replaced them
// in Edition. Keep it in step with the aliases of pkg/corridor.
var aliases = map[Code]Code{
	// CNTAO was Qingdao's port code; in current editions it names Qingdao
	// Jiaodong airport, and the city (port, rail, airport, post) is CNQIN.
	// Carriers still send CNTAO for the port.
	"CNTAO": "CNQIN",
}

// Parse checks s and returns its canonical Code. It trims surrounding white
// space, upper-cases ASCII letters, accepts the printed form with one space
// between country and location ("CN QIN"), and replaces a superseded code by
// the current one (CNTAO becomes CNQIN; see Canonical to learn whether that
// happened).
func Parse(s string) (Code, error) {
	c, _, err := Canonical(s)
	return c, err
}

// Canonical is Parse that also reports whether s was an alias of the returned
// code (so a caller can record that it rewrote the input).
func Canonical(s string) (code Code, wasAlias bool, err error) {
	b := []byte(trimSpace(s))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	if len(b) == 6 && b[2] == ' ' {
		b = append(b[:2], b[3:]...)
	}
	if len(b) != 5 {
		return "", false, &ParseError{Input: s, Reason: fmt.Sprintf("length is %d characters, expected 5", len(b))}
	}
	if !isUpper(b[0]) || !isUpper(b[1]) {
		return "", false, &ParseError{Input: s, Reason: "country must be 2 letters"}
	}
	if !IsCountry(string(b[:2])) {
		return "", false, &ParseError{Input: s, Reason: fmt.Sprintf("country %q is not an assigned ISO 3166-1 code", b[:2])}
	}
	for _, c := range b[2:] {
		if !isUpper(c) && !('2' <= c && c <= '9') {
			return "", false, &ParseError{Input: s, Reason: "location must be 3 characters of A-Z or 2-9"}
		}
	}
	code = Code(b)
	if to, ok := aliases[code]; ok {
		return to, true, nil
	}
	return code, false, nil
}

// Aliases returns a copy of the alias table: superseded code -> current code.
func Aliases() map[Code]Code {
	m := make(map[Code]Code, len(aliases))
	for k, v := range aliases {
		m[k] = v
	}
	return m
}

// Country returns the ISO 3166-1 alpha-2 country code, e.g. "CN".
// It returns "" for a Code of the wrong length.
func (c Code) Country() string {
	if len(c) != 5 {
		return ""
	}
	return string(c[:2])
}

// Location returns the 3-character location part, e.g. "QIN".
// It returns "" for a Code of the wrong length.
func (c Code) Location() string {
	if len(c) != 5 {
		return ""
	}
	return string(c[2:])
}

// String returns the canonical 5-character form.
func (c Code) String() string { return string(c) }

// Valid reports whether c is well formed, canonical and not an alias. Use it
// for a Code that did not come from Parse.
func (c Code) Valid() bool {
	p, alias, err := Canonical(string(c))
	return err == nil && !alias && p == c
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
