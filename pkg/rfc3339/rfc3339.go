// Package rfc3339 holds timestamps that keep the UTC offset they were
// written with, e.g. "2026-05-01T10:00:00+08:00" for an event in Qingdao.
//
// Events are stored in UTC (see Time.UTC), but a shipper reading "gated in at
// 10:00 local time" needs the offset the terminal used, so Time carries both
// and prints the original form back.
package rfc3339

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Time is an instant together with the UTC offset it was written with.
// The zero Time is "no time" (IsZero reports true); compare Times with Equal,
// not ==, unless the offsets must match too.
type Time struct {
	t  time.Time // in a fixed zone carrying the original offset
	ok bool      // false for the zero Time; a parsed 0001-01-01T00:00:00Z is not zero
}

// ParseError reports why a timestamp was rejected. Reason is a short phrase,
// fit to show a client (e.g. in a problem+json "reason" member).
type ParseError struct {
	Input  string // the input as given
	Reason string // e.g. "offset required"
}

func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > 64 {
		in = in[:64] + "..."
	}
	return fmt.Sprintf("rfc3339: invalid timestamp %q: %s", in, e.Reason)
}

// Parse reads an RFC 3339 date-time, YYYY-MM-DDThh:mm:ss[.frac]OFFSET, where
// OFFSET is "Z" or ±hh:mm and is required: a bare local time such as
// "2026-05-01T10:00:00" is rejected with the reason "offset required".
//
// Parse follows RFC 3339 section 5.6: "T" and "Z" may be lower case, the
// fraction has at least one digit (precision beyond nanoseconds is
// truncated), the offset hours are 00-23. It is stricter than time.Parse: no
// comma as decimal mark, no surrounding white space, no space instead of "T",
// no ±hhmm or +24:00 offsets. Leap seconds (ss = 60) are rejected because
// time.Time cannot hold them. "-00:00" (offset unknown, RFC 3339 4.3) is
// read as UTC.
func Parse(s string) (Time, error) {
	fail := func(reason string) (Time, error) { return Time{}, &ParseError{Input: s, Reason: reason} }
	const (
		form   = "want YYYY-MM-DDThh:mm:ss[.fraction] followed by Z or ±hh:mm"
		tEnd   = len("2006-01-02T15:04:05")
		offLen = len("+08:00")
	)
	if s == "" {
		return fail("empty")
	}
	b := []byte(s)
	if len(b) < tEnd || !digits(b, 0, 4) || b[4] != '-' || !digits(b, 5, 7) || b[7] != '-' || !digits(b, 8, 10) ||
		(b[10] != 'T' && b[10] != 't') || !digits(b, 11, 13) || b[13] != ':' || !digits(b, 14, 16) || b[16] != ':' || !digits(b, 17, 19) {
		return fail(form)
	}
	b[10] = 'T'
	i := tEnd
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j == i+1 {
			return fail("fraction of a second needs at least one digit")
		}
		i = j
	}
	rest := b[i:]
	switch {
	case len(rest) == 0:
		return fail("offset required")
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		rest[0] = 'Z'
	case len(rest) == offLen && (rest[0] == '+' || rest[0] == '-') && digits(rest, 1, 3) && rest[3] == ':' && digits(rest, 4, 6):
		if h, m := num(rest[1:3]), num(rest[4:6]); h > 23 || m > 59 {
			return fail("offset out of range (hours 00-23, minutes 00-59)")
		}
	default:
		return fail("offset must be Z or ±hh:mm")
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return fail(trimColon(pe.Message)) // e.g. "day out of range"
		}
		return fail("not a valid date and time")
	}
	_, off := t.Zone()
	return Time{t: t.In(zone(off)), ok: true}, nil
}

func trimColon(s string) string {
	if len(s) > 2 && s[0] == ':' && s[1] == ' ' {
		return s[2:]
	}
	return s
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits reports whether b[from:to] are all ASCII digits.
func digits(b []byte, from, to int) bool {
	if to > len(b) {
		return false
	}
	for _, c := range b[from:to] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// FromTime returns t with the offset it has at that instant in its location.
// An offset that RFC 3339 cannot write (not a whole number of minutes, as in
// some historical local mean times, or beyond ±23:59) is replaced by UTC.
// Monotonic clock readings are dropped. The zero time.Time gives the zero
// Time.
func FromTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	_, off := t.Zone()
	if off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		off = 0
	}
	return Time{t: t.In(zone(off)).Round(0), ok: true}
}

// zone returns a fixed zone for an offset, unnamed so that formatting always
// writes the numeric offset.
func zone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

// UTC returns the instant in UTC, for storage and comparison.
func (t Time) UTC() time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.t.UTC()
}

// Time returns the instant in its original offset (a fixed zone), or the
// zero time.Time for the zero Time.
func (t Time) Time() time.Time { return t.t }

// Offset returns the original UTC offset in seconds east of UTC
// (28800 for +08:00).
func (t Time) Offset() int {
	_, off := t.t.Zone()
	return off
}

// IsZero reports whether t is the zero Time (no time at all).
func (t Time) IsZero() bool { return !t.ok }

// Equal reports whether t and u are the same instant, whatever their offsets.
// Two zero Times are equal; a zero Time equals no other.
func (t Time) Equal(u Time) bool { return t.ok == u.ok && t.t.Equal(u.t) }

// String formats t as RFC 3339 with its original offset ("Z" for UTC) and
// only as many fraction digits as needed: "2026-05-01T10:00:00.5+08:00".
// The zero Time formats as "".
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.t.Format(time.RFC3339Nano)
}

// MarshalJSON writes t as a JSON string (see String), or null for the zero
// Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	if y := t.t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("rfc3339: year %d outside [0, 9999]", y)
	}
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalJSON reads a JSON string with Parse; null leaves t unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &ParseError{Input: string(data), Reason: "must be a JSON string"}
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// MarshalText writes t as String does; the zero Time gives empty text.
func (t Time) MarshalText() ([]byte, error) {
	if y := t.t.Year(); !t.IsZero() && (y < 0 || y > 9999) {
		return nil, fmt.Errorf("rfc3339: year %d outside [0, 9999]", y)
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads text with Parse (for query parameters, YAML and the
// like).
func (t *Time) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*t = p
	return nil
}
