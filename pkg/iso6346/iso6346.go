// Package iso6346 parses and validates ISO 6346 freight container numbers
// (BIC codes), such as CSQU3054383.
//
// A container number has 11 characters:
//
//	CSQ  U  305438  3
//	│    │  │       └─ check digit, computed from the first 10 characters
//	│    │  └───────── serial number, 6 digits
//	│    └──────────── category identifier: U (freight container),
//	│                  J (detachable freight container-related equipment),
//	│                  Z (trailer or chassis)
//	└───────────────── owner code, 3 letters (registered with the BIC)
//
// The package checks the form and the check digit only; it does not know
// whether an owner code is registered.
package iso6346

import "fmt"

// Number is a container number in canonical form: 11 characters, upper case,
// no separators, with a correct check digit. Obtain one from Parse or Make;
// a Number converted from an arbitrary string is not checked.
type Number string

// Category identifiers defined by ISO 6346.
const (
	CategoryFreight   byte = 'U' // freight container
	CategoryEquipment byte = 'J' // detachable freight container-related equipment
	CategoryTrailer   byte = 'Z' // trailer or chassis
)

// ParseError reports why a container number was rejected. Reason is a short
// phrase, fit to show a client (e.g. in a problem+json "reason" member).
type ParseError struct {
	Input  string // the input as given
	Reason string // e.g. "check digit is 3, expected 7"
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("iso6346: invalid container number %q: %s", clip(e.Input), e.Reason)
}

// clip keeps error messages short when the input is long.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Parse checks s and returns it as a canonical Number.
//
// Parse accepts:
//   - surrounding white space, which it trims;
//   - lower-case letters, which it turns into upper case (ASCII only);
//   - the printed forms with one space or one hyphen after the 4-letter prefix
//     and/or before the check digit: "CSQU3054383", "CSQU 3054383",
//     "CSQU 305438 3", "CSQU-305438-3", "csqu 305438-3".
//
// Anything else is rejected with a *ParseError: a wrong length, an owner code
// that is not 3 letters, a category other than U, J or Z, a serial that is not
// 6 digits, or a check digit that does not match (the error says which digit
// was expected).
func Parse(s string) (Number, error) {
	b := compact(s)
	if len(b) != 11 {
		return "", &ParseError{Input: s, Reason: fmt.Sprintf("length is %d characters, expected 11", len(b))}
	}
	if reason := checkPrefix(b[:4]); reason != "" {
		return "", &ParseError{Input: s, Reason: reason}
	}
	if !allDigits(b[4:10]) {
		return "", &ParseError{Input: s, Reason: "serial number must be 6 digits"}
	}
	if !isDigit(b[10]) {
		return "", &ParseError{Input: s, Reason: fmt.Sprintf("check digit must be a digit, got %q", b[10])}
	}
	want := checkDigit(b[:10])
	if got := int(b[10] - '0'); got != want {
		return "", &ParseError{Input: s, Reason: fmt.Sprintf("check digit is %d, expected %d", got, want)}
	}
	return Number(b), nil
}

// compact trims white space, upper-cases ASCII letters and removes one
// separator (space or hyphen) after the prefix and one before the check digit.
func compact(s string) []byte {
	b := []byte(trimSpace(s))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	if len(b) > 4 && isSep(b[4]) {
		b = append(b[:4], b[5:]...)
	}
	if len(b) > 10 && isSep(b[10]) {
		b = append(b[:10], b[11:]...)
	}
	return b
}

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

func isSep(c byte) bool   { return c == ' ' || c == '-' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// checkPrefix returns why a 4-byte prefix (owner code + category) is wrong,
// or "" if it is fine.
func checkPrefix(p []byte) string {
	for _, c := range p[:3] {
		if !isUpper(c) {
			return "owner code must be 3 letters"
		}
	}
	if !validCategory(p[3]) {
		return fmt.Sprintf("category identifier is %q, expected U, J or Z", p[3])
	}
	return ""
}

func validCategory(c byte) bool {
	return c == CategoryFreight || c == CategoryEquipment || c == CategoryTrailer
}

// letterValue holds the ISO 6346 value of each letter A..Z: counting up from
// 10 and skipping multiples of 11 (11, 22, 33).
var letterValue = func() [26]int {
	var t [26]int
	v := 10
	for i := range t {
		if v%11 == 0 {
			v++
		}
		t[i] = v
		v++
	}
	return t
}()

// checkDigit computes the check digit of 10 characters already known to be
// 4 upper-case letters followed by 6 digits.
func checkDigit(b []byte) int {
	sum := 0
	for i, c := range b {
		var v int
		if isUpper(c) {
			v = letterValue[c-'A']
		} else {
			v = int(c - '0')
		}
		sum += v << i // v * 2^i
	}
	return sum % 11 % 10
}

// CheckDigit returns the check digit for the first 10 characters of a
// container number: 4 letters (owner code and category; case-insensitive)
// then 6 digits. Each character's value (digits their own value, letters
// A=10, B=12 ... Z=38, skipping multiples of 11) is multiplied by 2^i for
// position i = 0..9; the sum modulo 11, then modulo 10, is the check digit.
// The category letter is not checked here; Parse and Make check it.
func CheckDigit(first10 string) (int, error) {
	if len(first10) != 10 {
		return 0, &ParseError{Input: first10, Reason: fmt.Sprintf("length is %d characters, expected 10", len(first10))}
	}
	b := []byte(first10)
	for i := 0; i < 4; i++ {
		if 'a' <= b[i] && b[i] <= 'z' {
			b[i] = b[i] - 'a' + 'A'
		}
		if !isUpper(b[i]) {
			return 0, &ParseError{Input: first10, Reason: "first 4 characters must be letters"}
		}
	}
	if !allDigits(b[4:]) {
		return 0, &ParseError{Input: first10, Reason: "serial number must be 6 digits"}
	}
	return checkDigit(b), nil
}

// Make builds a valid Number from an owner code (3 letters, case-insensitive),
// a category identifier (U, J or Z) and a serial number in [0, 999999],
// computing the check digit.
func Make(owner string, category byte, serial int) (Number, error) {
	in := fmt.Sprintf("%s%c%06d", owner, category, serial)
	if serial < 0 || serial > 999999 {
		return "", &ParseError{Input: in, Reason: fmt.Sprintf("serial number %d out of range [0, 999999]", serial)}
	}
	if len(owner) != 3 {
		return "", &ParseError{Input: in, Reason: "owner code must be 3 letters"}
	}
	b := make([]byte, 0, 11)
	for i := 0; i < 3; i++ {
		c := owner[i]
		if 'a' <= c && c <= 'z' {
			c = c - 'a' + 'A'
		}
		b = append(b, c)
	}
	if 'a' <= category && category <= 'z' {
		category = category - 'a' + 'A'
	}
	b = append(b, category)
	if reason := checkPrefix(b); reason != "" {
		return "", &ParseError{Input: in, Reason: reason}
	}
	b = fmt.Appendf(b, "%06d", serial)
	b = append(b, byte('0'+checkDigit(b)))
	return Number(b), nil
}

// The accessors below expect a Number from Parse or Make; on a Number of the
// wrong length they return zero values rather than panic.

// Owner returns the 3-letter owner code, e.g. "CSQ".
func (n Number) Owner() string {
	if len(n) != 11 {
		return ""
	}
	return string(n[:3])
}

// Category returns the category identifier: 'U', 'J' or 'Z'.
func (n Number) Category() byte {
	if len(n) != 11 {
		return 0
	}
	return n[3]
}

// Serial returns the 6-digit serial number as a string, e.g. "305438"
// (a string, so leading zeros are kept).
func (n Number) Serial() string {
	if len(n) != 11 {
		return ""
	}
	return string(n[4:10])
}

// CheckDigit returns the check digit, 0..9 (-1 if n has the wrong length).
func (n Number) CheckDigit() int {
	if len(n) != 11 {
		return -1
	}
	return int(n[10] - '0')
}

// String returns the canonical 11-character form.
func (n Number) String() string { return string(n) }

// Valid reports whether n is in canonical form with a correct check digit.
// Use it for a Number that did not come from Parse or Make.
func (n Number) Valid() bool {
	p, err := Parse(string(n))
	return err == nil && p == n
}
