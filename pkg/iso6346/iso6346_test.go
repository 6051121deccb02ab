package iso6346

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Known-good numbers, each checked against an independent computation of the
// check digit before being written here.
var good = []string{
	"CSQU3054383",
	"MSKU9070323",
	"MAEU1234567",
	"CBHU3202732",
	"APZU4812090", // DCSA's example equipmentReference; check digit 0
	"CSQU0000070", // sum mod 11 is 10, so the check digit is 0
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Number
		reason string // substring of ParseError.Reason; "" means success
	}{
		{name: "canonical", in: "CSQU3054383", want: "CSQU3054383"},
		{name: "second sample", in: "MSKU9070323", want: "MSKU9070323"},
		{name: "remainder ten", in: "CSQU0000070", want: "CSQU0000070"},
		{name: "lower case", in: "csqu3054383", want: "CSQU3054383"},
		{name: "mixed case", in: "CsQu3054383", want: "CSQU3054383"},
		{name: "surrounding space", in: " \tCSQU3054383\n", want: "CSQU3054383"},
		{name: "printed with spaces", in: "CSQU 305438 3", want: "CSQU3054383"},
		{name: "printed with hyphens", in: "CSQU-305438-3", want: "CSQU3054383"},
		{name: "space after prefix only", in: "CSQU 3054383", want: "CSQU3054383"},
		{name: "separator before check digit only", in: "CSQU305438-3", want: "CSQU3054383"},
		{name: "mixed separators", in: "csqu 305438-3", want: "CSQU3054383"},
		{name: "category J", in: mustMake(t, "ABC", 'J', 1), want: mustMakeN(t, "ABC", 'J', 1)},
		{name: "category Z", in: mustMake(t, "ABC", 'Z', 1), want: mustMakeN(t, "ABC", 'Z', 1)},

		{name: "empty", in: "", reason: "length is 0 characters, expected 11"},
		{name: "too short", in: "CSQU305438", reason: "length is 10 characters, expected 11"},
		{name: "too long", in: "CSQU30543833", reason: "length is 12 characters, expected 11"},
		{name: "two spaces", in: "CSQU  3054383", reason: "length"},
		{name: "separator inside serial", in: "CSQU 305 4383", reason: "length"},
		{name: "inner space", in: "CSQ U3054383", reason: "length"},
		{name: "digit in owner", in: "C5QU3054383", reason: "owner code must be 3 letters"},
		{name: "bad category", in: "CSQX3054383", reason: `category identifier is 'X', expected U, J or Z`},
		{name: "digit as category", in: "CSQ13054383", reason: `category identifier is '1', expected U, J or Z`},
		{name: "letter in serial", in: "CSQU30543B3", reason: "serial number must be 6 digits"},
		{name: "letter check digit", in: "CSQU305438X", reason: "check digit must be a digit"},
		{name: "wrong check digit", in: "CSQU3054384", reason: "check digit is 4, expected 3"},
		{name: "wrong check digit printed", in: "CSQU 305438 7", reason: "check digit is 7, expected 3"},
		{name: "non-ASCII", in: "ĆSQU3054383", reason: "length"},
		{name: "long s does not fold to S", in: "Cſ" + "U3054383", reason: "owner code must be 3 letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Parse(%q) error: %v", tt.in, err)
				}
				if got != tt.want {
					t.Fatalf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %q, %v; want *ParseError", tt.in, got, err)
			}
			if pe.Input != tt.in {
				t.Errorf("Input = %q, want %q", pe.Input, tt.in)
			}
			if !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, tt.reason)
			}
			if got != "" {
				t.Errorf("Parse returned %q with an error", got)
			}
		})
	}
}

func TestKnownGood(t *testing.T) {
	for _, s := range good {
		t.Run(s, func(t *testing.T) {
			n, err := Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if !n.Valid() {
				t.Errorf("%s: Valid() = false", n)
			}
			cd, err := CheckDigit(s[:10])
			if err != nil || cd != int(s[10]-'0') {
				t.Errorf("CheckDigit(%q) = %d, %v; want %c", s[:10], cd, err, s[10])
			}
		})
	}
}

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "CSQU305438", want: 3},
		{in: "csqu305438", want: 3},
		{in: "MSKU907032", want: 3},
		{in: "CSQU000007", want: 0}, // remainder 10 becomes 0
		{in: "CSQX305438", want: 2}, // category not checked here
		{in: "CSQU30543", wantErr: "length is 9 characters, expected 10"},
		{in: "CS1U305438", wantErr: "first 4 characters must be letters"},
		{in: "CSQU30543A", wantErr: "serial number must be 6 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CheckDigit(tt.in)
			if tt.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Reason != tt.wantErr {
					t.Fatalf("CheckDigit(%q) error = %v, want reason %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CheckDigit(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLetterValues(t *testing.T) {
	want := map[byte]int{'A': 10, 'B': 12, 'C': 13, 'K': 21, 'L': 23, 'U': 32, 'V': 34, 'Z': 38}
	for c, v := range want {
		if got := letterValue[c-'A']; got != v {
			t.Errorf("value of %c = %d, want %d", c, got, v)
		}
	}
	for i, v := range letterValue {
		if v%11 == 0 {
			t.Errorf("value of %c = %d is a multiple of 11", 'A'+i, v)
		}
	}
}

func TestMake(t *testing.T) {
	tests := []struct {
		name     string
		owner    string
		category byte
		serial   int
		want     Number
		wantErr  string
	}{
		{name: "sample", owner: "CSQ", category: 'U', serial: 305438, want: "CSQU3054383"},
		{name: "lower case", owner: "msk", category: 'u', serial: 907032, want: "MSKU9070323"},
		{name: "leading zeros", owner: "CSQ", category: 'U', serial: 7, want: "CSQU0000070"},
		{name: "max serial", owner: "ABC", category: 'Z', serial: 999999, want: mustMakeN(t, "ABC", 'Z', 999999)},
		{name: "negative serial", owner: "CSQ", category: 'U', serial: -1, wantErr: "serial number -1 out of range [0, 999999]"},
		{name: "serial too big", owner: "CSQ", category: 'U', serial: 1000000, wantErr: "out of range"},
		{name: "short owner", owner: "CS", category: 'U', serial: 1, wantErr: "owner code must be 3 letters"},
		{name: "digit owner", owner: "C5Q", category: 'U', serial: 1, wantErr: "owner code must be 3 letters"},
		{name: "bad category", owner: "CSQ", category: 'X', serial: 1, wantErr: "category identifier is 'X', expected U, J or Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Make(tt.owner, tt.category, tt.serial)
			if tt.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.wantErr) {
					t.Fatalf("Make error = %v, want reason containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Make = %q, %v; want %q", got, err, tt.want)
			}
			if p, err := Parse(string(got)); err != nil || p != got {
				t.Errorf("Parse(Make()) = %q, %v", p, err)
			}
		})
	}
}

func TestMakeAllSerialsParse(t *testing.T) {
	// Every serial of one owner: Make's output always parses to itself.
	for serial := 0; serial <= 999999; serial += 997 {
		n, err := Make("SCO", 'U', serial)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := Parse(string(n)); err != nil || p != n {
			t.Fatalf("serial %d: Parse(%q) = %q, %v", serial, n, p, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		n                  Number
		owner, serial, str string
		category           byte
		check              int
	}{
		{n: "CSQU3054383", owner: "CSQ", category: 'U', serial: "305438", check: 3, str: "CSQU3054383"},
		{n: "CSQU0000070", owner: "CSQ", category: 'U', serial: "000007", check: 0, str: "CSQU0000070"},
		{n: "bad", owner: "", category: 0, serial: "", check: -1, str: "bad"},
	}
	for _, tt := range tests {
		t.Run(string(tt.n), func(t *testing.T) {
			if got := tt.n.Owner(); got != tt.owner {
				t.Errorf("Owner = %q, want %q", got, tt.owner)
			}
			if got := tt.n.Category(); got != tt.category {
				t.Errorf("Category = %q, want %q", got, tt.category)
			}
			if got := tt.n.Serial(); got != tt.serial {
				t.Errorf("Serial = %q, want %q", got, tt.serial)
			}
			if got := tt.n.CheckDigit(); got != tt.check {
				t.Errorf("CheckDigit = %d, want %d", got, tt.check)
			}
			if got := tt.n.String(); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		n    Number
		want bool
	}{
		{"CSQU3054383", true},
		{"CSQU3054384", false},
		{"csqu3054383", false}, // not canonical
		{"CSQU 305438 3", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.n), func(t *testing.T) {
			if got := tt.n.Valid(); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("CSQU3054384")
	want := `iso6346: invalid container number "CSQU3054384": check digit is 4, expected 3`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
	_, err = Parse(strings.Repeat("A", 1000))
	if err == nil || len(err.Error()) > 120 {
		t.Errorf("long input not clipped: %d bytes", len(err.Error()))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range good {
		f.Add(s)
	}
	for _, s := range []string{"", "CSQU 305438 3", "csqu-305438-3", "CSQU3054384", "CSQX3054383", " CSQU3054383 ", "CSQU--3054383", "ĆSQU3054383"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Reason == "" {
				t.Fatalf("Parse(%q): error %v is not a well-formed *ParseError", s, err)
			}
			if n != "" {
				t.Fatalf("Parse(%q) returned %q with an error", s, n)
			}
			return
		}
		again, err := Parse(string(n))
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q, but it re-parses to %q, %v", s, n, again, err)
		}
		cd, err := CheckDigit(string(n)[:10])
		if err != nil || cd != n.CheckDigit() {
			t.Fatalf("Parse(%q) = %q with check digit %d, want %d (%v)", s, n, n.CheckDigit(), cd, err)
		}
		if c := n.Category(); c != 'U' && c != 'J' && c != 'Z' {
			t.Fatalf("Parse(%q) = %q with category %q", s, n, c)
		}
	})
}

func mustMakeN(t *testing.T, owner string, category byte, serial int) Number {
	t.Helper()
	n, err := Make(owner, category, serial)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustMake(t *testing.T, owner string, category byte, serial int) string {
	t.Helper()
	return string(mustMakeN(t, owner, category, serial))
}

func ExampleParse() {
	n, err := Parse("csqu 305438 3")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n, n.Owner(), string(n.Category()), n.Serial(), n.CheckDigit())

	_, err = Parse("CSQU3054384")
	var pe *ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Reason)
	}
	// Output:
	// CSQU3054383 CSQ U 305438 3
	// check digit is 4, expected 3
}

func ExampleMake() {
	n, err := Make("SCO", CategoryFreight, 1234)
	fmt.Println(n, err)
	// Output:
	// SCOU0012340 <nil>
}

func ExampleCheckDigit() {
	d, err := CheckDigit("MSKU907032")
	fmt.Println(d, err)
	// Output:
	// 3 <nil>
}
