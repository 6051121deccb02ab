package unlocode

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      Code
		wantAlias bool
		reason    string // substring of ParseError.Reason; "" means success
	}{
		{name: "canonical", in: "CNQIN", want: "CNQIN"},
		{name: "lower case", in: "cnqin", want: "CNQIN"},
		{name: "printed with space", in: "CN QIN", want: "CNQIN"},
		{name: "printed lower with space", in: "kz ala", want: "KZALA"},
		{name: "surrounding space", in: "\t DEDUI \n", want: "DEDUI"},
		{name: "digits in location", in: "USNY2", want: "USNY2"},
		{name: "alias", in: "CNTAO", want: "CNQIN", wantAlias: true},
		{name: "alias printed", in: "cn tao", want: "CNQIN", wantAlias: true},
		{name: "not an alias of itself", in: "CNQDG", want: "CNQDG"},

		{name: "empty", in: "", reason: "length is 0 characters, expected 5"},
		{name: "too short", in: "CNQI", reason: "length is 4 characters, expected 5"},
		{name: "too long", in: "CNQING", reason: "length is 6 characters, expected 5"},
		{name: "space in wrong place", in: "CNQ IN", reason: "length is 6"},
		{name: "two spaces", in: "CN  QIN", reason: "length is 7"},
		{name: "hyphen", in: "CN-QIN", reason: "length is 6"},
		{name: "digit country", in: "C1QIN", reason: "country must be 2 letters"},
		{name: "unassigned country", in: "XXQIN", reason: `country "XX" is not an assigned ISO 3166-1 code`},
		{name: "reserved UK", in: "UKLON", reason: `country "UK" is not an assigned`},
		{name: "reserved EU", in: "EUBRU", reason: `country "EU"`},
		{name: "withdrawn AN", in: "ANCUR", reason: `country "AN"`},
		{name: "international waters", in: "XZABC", reason: `country "XZ"`},
		{name: "digit 0 in location", in: "CNQ0N", reason: "location must be 3 characters of A-Z or 2-9"},
		{name: "digit 1 in location", in: "CNQ1N", reason: "location must be 3 characters of A-Z or 2-9"},
		{name: "punctuation in location", in: "CNQ.N", reason: "location must be"},
		{name: "non-ASCII", in: "CNQİN", reason: "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, alias, err := Canonical(tt.in)
			p, perr := Parse(tt.in)
			if p != got || (perr == nil) != (err == nil) {
				t.Fatalf("Parse(%q) = %q, %v; Canonical gave %q, %v", tt.in, p, perr, got, err)
			}
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Canonical(%q) error: %v", tt.in, err)
				}
				if got != tt.want || alias != tt.wantAlias {
					t.Fatalf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, alias, tt.want, tt.wantAlias)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Canonical(%q) = %q, %v; want *ParseError", tt.in, got, err)
			}
			if pe.Input != tt.in || !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("ParseError{%q, %q}, want input %q and reason containing %q", pe.Input, pe.Reason, tt.in, tt.reason)
			}
		})
	}
}

func TestCountries(t *testing.T) {
	n := 0
	for _, row := range countries {
		n += bits.OnesCount32(row)
	}
	if n != 249 {
		t.Errorf("table holds %d assigned codes, want 249", n)
	}
	tests := []struct {
		cc   string
		want bool
	}{
		// every country the corridor touches
		{"CN", true}, {"KZ", true}, {"UZ", true}, {"KG", true}, {"TJ", true}, {"MN", true},
		{"RU", true}, {"BY", true}, {"PL", true}, {"DE", true}, {"HU", true}, {"RS", true},
		{"VN", true}, {"LA", true},
		// recent assignments
		{"SS", true}, {"BQ", true}, {"CW", true}, {"SX", true}, {"ME", true},
		// not assigned
		{"AA", false}, {"ZZ", false}, {"QM", false}, {"XK", false}, {"UK", false},
		{"EU", false}, {"CS", false}, {"YU", false}, {"AN", false}, {"TP", false},
		{"cn", false}, {"C", false}, {"CNN", false}, {"", false}, {"1A", false},
	}
	for _, tt := range tests {
		t.Run(tt.cc, func(t *testing.T) {
			if got := IsCountry(tt.cc); got != tt.want {
				t.Errorf("IsCountry(%q) = %v, want %v", tt.cc, got, tt.want)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	a := Aliases()
	if a["CNTAO"] != "CNQIN" {
		t.Errorf(`Aliases()["CNTAO"] = %q, want "CNQIN"`, a["CNTAO"])
	}
	a["CNTAO"] = "XXXXX" // a copy: must not change the table
	if c, _ := Parse("CNTAO"); c != "CNQIN" {
		t.Errorf("mutating Aliases() changed Parse: %q", c)
	}
	for from, to := range Aliases() {
		t.Run(string(from), func(t *testing.T) {
			if from == to {
				t.Fatalf("alias %s points to itself", from)
			}
			if !to.Valid() {
				t.Errorf("alias target %s is not a valid canonical code", to)
			}
			if _, ok := aliases[to]; ok {
				t.Errorf("alias target %s is itself an alias (chains are not followed)", to)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		c                 Code
		country, location string
		valid             bool
	}{
		{c: "CNQIN", country: "CN", location: "QIN", valid: true},
		{c: "KZDOS", country: "KZ", location: "DOS", valid: true},
		{c: "CNTAO", country: "CN", location: "TAO", valid: false}, // alias, not canonical
		{c: "cnqin", country: "cn", location: "qin", valid: false},
		{c: "CN", country: "", location: "", valid: false},
	}
	for _, tt := range tests {
		t.Run(string(tt.c), func(t *testing.T) {
			if got := tt.c.Country(); got != tt.country {
				t.Errorf("Country = %q, want %q", got, tt.country)
			}
			if got := tt.c.Location(); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if got := tt.c.Valid(); got != tt.valid {
				t.Errorf("Valid = %v, want %v", got, tt.valid)
			}
			if got := tt.c.String(); got != string(tt.c) {
				t.Errorf("String = %q", got)
			}
		})
	}
}

func TestEdition(t *testing.T) {
	if Edition != "2024-2" {
		t.Errorf("Edition = %q", Edition)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"CNQIN", "cn qin", "CNTAO", "CN TAO", "XXQIN", "CNQ1N", "", " KZALA ", "UKLON", "CNQİN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, alias, err := Canonical(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Reason == "" {
				t.Fatalf("Canonical(%q): error %v is not a well-formed *ParseError", s, err)
			}
			if c != "" || alias {
				t.Fatalf("Canonical(%q) returned %q, %v with an error", s, c, alias)
			}
			return
		}
		if !c.Valid() {
			t.Fatalf("Canonical(%q) = %q, which is not Valid", s, c)
		}
		if again, a2, err := Canonical(string(c)); err != nil || again != c || a2 {
			t.Fatalf("Canonical(%q) = %q, but that re-parses to %q, %v, %v", s, c, again, a2, err)
		}
		if !IsCountry(c.Country()) {
			t.Fatalf("Canonical(%q) = %q with unassigned country", s, c)
		}
	})
}

func ExampleCanonical() {
	for _, s := range []string{"CNQIN", "cn tao", "KZ DOS", "XXABC"} {
		code, wasAlias, err := Canonical(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(code, code.Country(), code.Location(), wasAlias)
	}
	// Output:
	// CNQIN CN QIN false
	// CNQIN CN QIN true
	// KZDOS KZ DOS false
	// unlocode: invalid location code "XXABC": country "XX" is not an assigned ISO 3166-1 code
}

func ExampleParse() {
	c, err := Parse("CN TAO") // superseded port code, still sent by carriers
	fmt.Println(c, err)
	// Output:
	// CNQIN <nil>
}
