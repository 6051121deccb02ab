package rfc3339

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		utc    string // want UTC().Format(time.RFC3339Nano)
		offset int    // want Offset()
		str    string // want String(); "" means same as in
		reason string // substring of ParseError.Reason; "" means success
	}{
		{name: "UTC", in: "2026-05-01T10:00:00Z", utc: "2026-05-01T10:00:00Z", offset: 0},
		{name: "Qingdao", in: "2026-05-01T10:00:00+08:00", utc: "2026-05-01T02:00:00Z", offset: 8 * 3600},
		{name: "Almaty", in: "2026-05-13T18:30:00+05:00", utc: "2026-05-13T13:30:00Z", offset: 5 * 3600},
		{name: "negative offset", in: "2026-05-01T10:00:00-03:30", utc: "2026-05-01T13:30:00Z", offset: -(3*3600 + 1800)},
		{name: "offset crosses midnight", in: "2026-05-01T01:00:00+08:00", utc: "2026-04-30T17:00:00Z", offset: 8 * 3600},
		{name: "fraction", in: "2026-05-01T10:00:00.5+08:00", utc: "2026-05-01T02:00:00.5Z", offset: 8 * 3600},
		{name: "nanoseconds", in: "2026-05-01T10:00:00.123456789Z", utc: "2026-05-01T10:00:00.123456789Z"},
		{name: "trailing zeros dropped", in: "2026-05-01T10:00:00.500Z", utc: "2026-05-01T10:00:00.5Z", str: "2026-05-01T10:00:00.5Z"},
		{name: "beyond nanoseconds truncated", in: "2026-05-01T10:00:00.1234567899Z", utc: "2026-05-01T10:00:00.123456789Z", str: "2026-05-01T10:00:00.123456789Z"},
		{name: "lower-case t and z", in: "2026-05-01t10:00:00z", utc: "2026-05-01T10:00:00Z", str: "2026-05-01T10:00:00Z"},
		{name: "+00:00 prints as Z", in: "2026-05-01T10:00:00+00:00", utc: "2026-05-01T10:00:00Z", str: "2026-05-01T10:00:00Z"},
		{name: "-00:00 read as UTC", in: "2026-05-01T10:00:00-00:00", utc: "2026-05-01T10:00:00Z", str: "2026-05-01T10:00:00Z"},
		{name: "largest offset", in: "2026-05-01T10:00:00+23:59", utc: "2026-04-30T10:01:00Z", offset: 23*3600 + 59*60},
		{name: "leap day", in: "2028-02-29T00:00:00Z", utc: "2028-02-29T00:00:00Z"},
		{name: "year one is not zero", in: "0001-01-01T00:00:00Z", utc: "0001-01-01T00:00:00Z"},

		{name: "empty", in: "", reason: "empty"},
		{name: "bare local time", in: "2026-05-01T10:00:00", reason: "offset required"},
		{name: "bare local time with fraction", in: "2026-05-01T10:00:00.250", reason: "offset required"},
		{name: "date only", in: "2026-05-01", reason: "want YYYY-MM-DDThh:mm:ss"},
		{name: "no seconds", in: "2026-05-01T10:00Z", reason: "want YYYY-MM-DDThh:mm:ss"},
		{name: "space instead of T", in: "2026-05-01 10:00:00Z", reason: "want YYYY-MM-DDThh:mm:ss"},
		{name: "surrounding space", in: " 2026-05-01T10:00:00Z", reason: "want YYYY-MM-DDThh:mm:ss"},
		{name: "trailing space", in: "2026-05-01T10:00:00Z ", reason: "offset must be Z or ±hh:mm"},
		{name: "basic format", in: "20260501T100000Z", reason: "want YYYY-MM-DDThh:mm:ss"},
		{name: "offset without colon", in: "2026-05-01T10:00:00+0800", reason: "offset must be Z or ±hh:mm"},
		{name: "offset hours only", in: "2026-05-01T10:00:00+08", reason: "offset must be Z or ±hh:mm"},
		{name: "zone name", in: "2026-05-01T10:00:00 CST", reason: "offset must be Z or ±hh:mm"},
		{name: "offset 24h", in: "2026-05-01T10:00:00+24:00", reason: "offset out of range"},
		{name: "offset minutes 60", in: "2026-05-01T10:00:00+08:60", reason: "offset out of range"},
		{name: "comma decimal mark", in: "2026-05-01T10:00:00,5Z", reason: "offset must be Z or ±hh:mm"},
		{name: "empty fraction", in: "2026-05-01T10:00:00.Z", reason: "at least one digit"},
		{name: "month 13", in: "2026-13-01T10:00:00Z", reason: "month out of range"},
		{name: "29 February 2026", in: "2026-02-29T10:00:00Z", reason: "day out of range"},
		{name: "hour 24", in: "2026-05-01T24:00:00Z", reason: "hour out of range"},
		{name: "minute 60", in: "2026-05-01T10:60:00Z", reason: "minute out of range"},
		{name: "leap second", in: "2016-12-31T23:59:60Z", reason: "second out of range"},
		{name: "unix seconds", in: "1777629600", reason: "want YYYY-MM-DDThh:mm:ss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.reason != "" {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%q) = %v, %v; want *ParseError", tt.in, got, err)
				}
				if pe.Input != tt.in || !strings.Contains(pe.Reason, tt.reason) {
					t.Errorf("ParseError{%q, %q}; want reason containing %q", pe.Input, pe.Reason, tt.reason)
				}
				if !got.IsZero() {
					t.Errorf("Parse returned %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if u := got.UTC(); u.Format(time.RFC3339Nano) != tt.utc || u.Location() != time.UTC {
				t.Errorf("UTC() = %v, want %s", u, tt.utc)
			}
			if got.Offset() != tt.offset {
				t.Errorf("Offset() = %d, want %d", got.Offset(), tt.offset)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if got.String() != want {
				t.Errorf("String() = %q, want %q", got.String(), want)
			}
			if got.IsZero() {
				t.Error("IsZero() = true")
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("2026-05-01T10:00:00")
	want := `rfc3339: invalid timestamp "2026-05-01T10:00:00": offset required`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

func TestFromTime(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	lmt := time.FixedZone("LMT", 8*3600+1343) // not a whole number of minutes
	tests := []struct {
		name   string
		in     time.Time
		str    string
		offset int
		zero   bool
	}{
		{name: "fixed +08:00", in: time.Date(2026, 5, 1, 10, 0, 0, 0, shanghai), str: "2026-05-01T10:00:00+08:00", offset: 8 * 3600},
		{name: "UTC", in: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), str: "2026-05-01T10:00:00Z"},
		{name: "nanoseconds", in: time.Date(2026, 5, 1, 10, 0, 0, 1, time.UTC), str: "2026-05-01T10:00:00.000000001Z"},
		{name: "seconds in offset fall back to UTC", in: time.Date(1900, 1, 1, 12, 0, 0, 0, lmt), str: "1900-01-01T03:37:37Z"},
		{name: "zero", in: time.Time{}, zero: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromTime(tt.in)
			if got.IsZero() != tt.zero {
				t.Fatalf("IsZero() = %v, want %v", got.IsZero(), tt.zero)
			}
			if tt.zero {
				return
			}
			if got.String() != tt.str || got.Offset() != tt.offset {
				t.Errorf("FromTime = %q offset %d, want %q offset %d", got, got.Offset(), tt.str, tt.offset)
			}
			if !got.UTC().Equal(tt.in) {
				t.Errorf("instant changed: %v vs %v", got.UTC(), tt.in)
			}
			back, err := Parse(got.String())
			if err != nil || !back.Equal(got) || back.Offset() != got.Offset() {
				t.Errorf("Parse(String()) = %v, %v", back, err)
			}
		})
	}
	// A location with daylight saving: the offset in force at that instant.
	if berlin, err := time.LoadLocation("Europe/Berlin"); err == nil {
		summer := FromTime(time.Date(2026, 7, 1, 12, 0, 0, 0, berlin))
		winter := FromTime(time.Date(2026, 1, 1, 12, 0, 0, 0, berlin))
		if summer.String() != "2026-07-01T12:00:00+02:00" || winter.String() != "2026-01-01T12:00:00+01:00" {
			t.Errorf("Berlin: %s, %s", summer, winter)
		}
	}
	// Monotonic readings are dropped, so == on the time.Time is meaningful.
	now := FromTime(time.Now())
	if now.Time() != now.Time().Round(0) {
		t.Error("monotonic clock reading kept")
	}
}

func TestZero(t *testing.T) {
	var z Time
	if !z.IsZero() || z.String() != "" || !z.UTC().IsZero() || z.Offset() != 0 || !z.Time().IsZero() {
		t.Errorf("zero Time: %q %v %d", z.String(), z.UTC(), z.Offset())
	}
	one, _ := Parse("0001-01-01T00:00:00Z")
	if one.Equal(z) || z.Equal(one) || !z.Equal(Time{}) {
		t.Error("zero Time equal to a parsed year-1 time")
	}
}

func TestEqual(t *testing.T) {
	a, _ := Parse("2026-05-01T10:00:00+08:00")
	b, _ := Parse("2026-05-01T02:00:00Z")
	c, _ := Parse("2026-05-01T10:00:00Z")
	if !a.Equal(b) || a.Equal(c) {
		t.Errorf("Equal: a=b %v, a=c %v", a.Equal(b), a.Equal(c))
	}
	if a.String() == b.String() {
		t.Error("offsets lost")
	}
}

type event struct {
	ID   string `json:"id"`
	At   Time   `json:"at"`
	Seen Time   `json:"seen"`
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		out     string // re-marshalled; "" means same as in
		wantErr string
	}{
		{name: "offset kept", in: `{"id":"e1","at":"2026-05-01T10:00:00+08:00","seen":"2026-05-01T02:00:05.25Z"}`},
		{name: "null", in: `{"id":"e2","at":"2026-05-01T10:00:00-05:00","seen":null}`},
		{name: "missing", in: `{"id":"e3","at":"2026-05-01T10:00:00+05:00"}`, out: `{"id":"e3","at":"2026-05-01T10:00:00+05:00","seen":null}`},
		{name: "lower case normalised", in: `{"id":"e4","at":"2026-05-01t10:00:00z","seen":null}`, out: `{"id":"e4","at":"2026-05-01T10:00:00Z","seen":null}`},
		{name: "no offset", in: `{"id":"e5","at":"2026-05-01T10:00:00"}`, wantErr: "offset required"},
		{name: "number", in: `{"id":"e6","at":1777629600}`, wantErr: "must be a JSON string"},
		{name: "escaped string", in: `{"id":"e7","at":"2026-05-01T10:00:00\u002B08:00","seen":null}`, out: `{"id":"e7","at":"2026-05-01T10:00:00+08:00","seen":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e event
			err := json.Unmarshal([]byte(tt.in), &e)
			if tt.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.wantErr) {
					t.Fatalf("Unmarshal error = %v, want reason containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.out
			if want == "" {
				want = tt.in
			}
			if string(out) != want {
				t.Errorf("round trip:\n got %s\nwant %s", out, want)
			}
		})
	}
}

func TestMarshalOutOfRange(t *testing.T) {
	far := FromTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := json.Marshal(far); err == nil {
		t.Error("MarshalJSON accepted year 10000")
	}
	if _, err := far.MarshalText(); err == nil {
		t.Error("MarshalText accepted year 10000")
	}
}

func TestText(t *testing.T) {
	var tm Time
	if err := tm.UnmarshalText([]byte("2026-05-01T10:00:00+08:00")); err != nil {
		t.Fatal(err)
	}
	b, err := tm.MarshalText()
	if err != nil || string(b) != "2026-05-01T10:00:00+08:00" {
		t.Errorf("MarshalText = %s, %v", b, err)
	}
	if err := tm.UnmarshalText([]byte("2026-05-01T10:00:00")); err == nil {
		t.Error("UnmarshalText accepted a bare local time")
	}
	if b, err := (Time{}).MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero MarshalText = %q, %v", b, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2026-05-01T10:00:00Z", "2026-05-01T10:00:00+08:00", "2026-05-01T10:00:00.123456789-03:30",
		"2026-05-01t10:00:00z", "2026-05-01T10:00:00", "2026-05-01T10:00:00+24:00", "2026-02-29T00:00:00Z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59", "", "2026-05-01T10:00:00,5Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Reason == "" {
				t.Fatalf("Parse(%q): error %v is not a well-formed *ParseError", s, err)
			}
			return
		}
		if tm.IsZero() {
			t.Fatalf("Parse(%q) accepted but IsZero", s)
		}
		str := tm.String()
		back, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not re-parse: %v", s, str, err)
		}
		if !back.Equal(tm) || back.Offset() != tm.Offset() || back.String() != str {
			t.Fatalf("Parse(%q) = %q, re-parsed as %q (offset %d vs %d)", s, str, back, back.Offset(), tm.Offset())
		}
		js, err := json.Marshal(tm)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", str, err)
		}
		var fromJSON Time
		if err := json.Unmarshal(js, &fromJSON); err != nil || fromJSON.String() != str {
			t.Fatalf("JSON round trip of %q: %s -> %q, %v", str, js, fromJSON, err)
		}
	})
}

func ExampleParse() {
	t, err := Parse("2026-05-01T10:00:00+08:00") // gate-in at Jiaozhou, local time
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t)
	fmt.Println(t.UTC())
	fmt.Println(t.Offset())

	_, err = Parse("2026-05-01T10:00:00")
	fmt.Println(err)
	// Output:
	// 2026-05-01T10:00:00+08:00
	// 2026-05-01 02:00:00 +0000 UTC
	// 28800
	// rfc3339: invalid timestamp "2026-05-01T10:00:00": offset required
}

func ExampleTime_MarshalJSON() {
	var e struct {
		At Time `json:"at"`
	}
	_ = json.Unmarshal([]byte(`{"at":"2026-05-13T18:30:00+05:00"}`), &e)
	out, _ := json.Marshal(e)
	fmt.Println(string(out), e.At.UTC().Format(time.RFC3339))
	// Output:
	// {"at":"2026-05-13T18:30:00+05:00"} 2026-05-13T13:30:00Z
}
