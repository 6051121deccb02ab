package paging_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/paging"
)

var at = time.Date(2026, 3, 14, 8, 0, 0, 123456789, time.FixedZone("CET", 3600))

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []paging.Cursor{
		{At: at, ID: "0b7d1f3e-2c4a-4d8e-9f10-1a2b3c4d5e6f"},
		{At: at.UTC().Truncate(time.Microsecond), ID: "missed_cutoff:X8301:2026-03-14"},
		{At: time.Unix(1, 0), ID: "ü|; \"quoted\""},
	} {
		s := c.Encode()
		if strings.ContainsAny(s, "+/=&?#") {
			t.Errorf("Encode(%+v) = %q, not URL-safe", c, s)
		}
		got, err := paging.Decode(s, nil)
		if err != nil || got == nil || !got.At.Equal(c.At) || got.ID != c.ID {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", c, got, err)
		}
	}
}

func TestDecode(t *testing.T) {
	onlyX := func(id string) bool { return strings.HasPrefix(id, "x") }
	tests := []struct {
		name    string
		in      string
		validID func(string) bool
		wantErr error
		want    *paging.Cursor
	}{
		{"first page", "", nil, nil, nil},
		{"first page, checked ids", "", onlyX, nil, nil},
		{"issued", paging.Cursor{At: at, ID: "x1"}.Encode(), onlyX, nil, &paging.Cursor{At: at, ID: "x1"}},
		{"id rejected", paging.Cursor{At: at, ID: "y1"}.Encode(), onlyX, paging.ErrBadCursor, nil},
		{"not base64", "!!!", nil, paging.ErrBadCursor, nil},
		{"trailing padding", paging.Cursor{At: at, ID: "a"}.Encode() + "=", nil, paging.ErrBadCursor, nil},
		{"not json", b64("nope"), nil, paging.ErrBadCursor, nil},
		{"json null", b64("null"), nil, paging.ErrBadCursor, nil},
		{"empty object", b64("{}"), nil, paging.ErrBadCursor, nil},
		{"no version", b64(`{"t":"2026-03-14T08:00:00Z","i":"a"}`), nil, paging.ErrBadCursor, nil},
		{"other version", b64(`{"v":2,"t":"2026-03-14T08:00:00Z","i":"a"}`), nil, paging.ErrBadCursor, nil},
		{"no time", b64(`{"v":1,"i":"a"}`), nil, paging.ErrBadCursor, nil},
		{"bad time", b64(`{"v":1,"t":"yesterday","i":"a"}`), nil, paging.ErrBadCursor, nil},
		{"no id", b64(`{"v":1,"t":"2026-03-14T08:00:00Z"}`), nil, paging.ErrBadCursor, nil},
		{"id not a string", b64(`{"v":1,"t":"2026-03-14T08:00:00Z","i":7}`), nil, paging.ErrBadCursor, nil},
		{"hand made", b64(`{"v":1,"t":"2026-03-14T08:00:00Z","i":"a"}`), nil, nil,
			&paging.Cursor{At: time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC), ID: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := paging.Decode(tt.in, tt.validID)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Decode(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			switch {
			case tt.want == nil && got != nil:
				t.Fatalf("Decode(%q) = %+v, want nil", tt.in, got)
			case tt.want != nil && (got == nil || !got.At.Equal(tt.want.At) || got.ID != tt.want.ID):
				t.Fatalf("Decode(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		raw     string
		want    int
		wantErr bool
	}{
		{"", 50, false},
		{"1", 1, false},
		{"200", 200, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"201", 0, true},
		{"ten", 0, true},
		{"1.5", 0, true},
		{" 5", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := paging.Limit(tt.raw, 50, 200)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Limit(%q, 50, 200) = %d, %v; want %d, error %t", tt.raw, got, err, tt.want, tt.wantErr)
			}
			var le *paging.LimitError
			if tt.wantErr && (!errors.As(err, &le) || le.Max != 200 || err.Error() != "is a whole number from 1 to 200") {
				t.Fatalf("Limit(%q) error = %#v, want a LimitError of 200", tt.raw, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("")
	f.Add(paging.Cursor{At: at, ID: "a"}.Encode())
	f.Add(b64(`{"v":1,"t":"2026-03-14T08:00:00Z","i":"a"}`))
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := paging.Decode(s, nil)
		if err != nil {
			if c != nil || !errors.Is(err, paging.ErrBadCursor) {
				t.Fatalf("Decode(%q) = %+v, %v", s, c, err)
			}
			return
		}
		if c == nil {
			if s != "" {
				t.Fatalf("Decode(%q) = nil, nil", s)
			}
			return
		}
		again, err := paging.Decode(c.Encode(), nil)
		if err != nil || !again.At.Equal(c.At) || again.ID != c.ID {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", c, again, err)
		}
	})
}

func ExampleCursor() {
	last := paging.Cursor{At: time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC), ID: "42"}
	next, err := paging.Decode(last.Encode(), nil)
	fmt.Println(next.At.Format(time.RFC3339), next.ID, err)
	// Output: 2026-03-14T08:00:00Z 42 <nil>
}

func ExampleLimit() {
	fmt.Println(paging.Limit("", 50, 200))
	fmt.Println(paging.Limit("500", 50, 200))
	// Output:
	// 50 <nil>
	// 0 is a whole number from 1 to 200
}
