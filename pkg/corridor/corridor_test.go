package corridor

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/unlocode"
)

func load(t *testing.T) *Network {
	t.Helper()
	n, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return n
}

func TestLoadCounts(t *testing.T) {
	n := load(t)
	// The blueprint speaks of 15 routes; the data has exactly 15.
	if got := len(n.Routes()); got != 15 {
		t.Errorf("%d routes, want 15", got)
	}
	if got := len(n.Locations()); got != 32 {
		t.Errorf("%d locations, want 32", got)
	}
	if got := len(n.Terminals()); got != 2 {
		t.Errorf("%d terminals, want 2", got)
	}
}

func TestEmbeddedFileKeepsHeader(t *testing.T) {
	if !bytes.HasPrefix(corridorYAML, []byte("# Reference data for the SCODA corridor")) {
		t.Error("corridor.yaml lost its header comments")
	}
	if !bytes.Contains(corridorYAML, []byte("CNTAO now means Qingdao Jiaodong airport")) {
		t.Error("corridor.yaml lost its note on CNTAO")
	}
}

func TestLocation(t *testing.T) {
	n := load(t)
	tests := []struct {
		code    unlocode.Code
		want    unlocode.Code
		name    string
		role    Role
		gauge   int
		approx  bool
		country string
	}{
		{code: "CNJZH", want: "CNJZH", name: "Jiaozhou (SCODA multimodal centre)", role: RoleOrigin, gauge: 1435, country: "CN"},
		{code: "CNQIN", want: "CNQIN", name: "Qingdao", role: RolePort, gauge: 1435, country: "CN"},
		{code: "CNTAO", want: "CNQIN", name: "Qingdao", role: RolePort, gauge: 1435, country: "CN"}, // alias
		{code: "KZDOS", want: "KZDOS", name: "Dostyk", role: RoleBorder, gauge: 1520, country: "KZ"},
		{code: "BYBQT", want: "BYBQT", name: "Brest", role: RoleBorder, gauge: 1520, approx: true, country: "BY"},
		{code: "VNHAN", want: "VNHAN", name: "Hanoi", role: RoleDestination, gauge: 1000, country: "VN"},
		{code: "CNURM", want: "CNURM", name: "Urumqi", role: RoleTransit, gauge: 1435, country: "CN"},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			l, ok := n.Location(tt.code)
			if !ok {
				t.Fatalf("Location(%s) not found", tt.code)
			}
			if l.Code != tt.want || l.Name != tt.name || l.Role != tt.role || l.GaugeMM != tt.gauge || l.Approx != tt.approx || l.Country != tt.country {
				t.Errorf("Location(%s) = %+v", tt.code, l)
			}
		})
	}
	for _, missing := range []unlocode.Code{"NLRTM", "", "cnqin", "CN QIN"} {
		if _, ok := n.Location(missing); ok {
			t.Errorf("Location(%q) found", missing)
		}
	}
	q, _ := n.Location("CNQIN")
	if !reflect.DeepEqual(q.Aliases, []unlocode.Code{"CNTAO"}) {
		t.Errorf("CNQIN aliases = %v", q.Aliases)
	}
	if want := (geo.Point{Lat: 36.050, Lon: 120.317}); q.Point != want {
		t.Errorf("CNQIN point = %v, want %v", q.Point, want)
	}
}

func TestEveryLocationIsValid(t *testing.T) {
	for _, l := range load(t).Locations() {
		t.Run(string(l.Code), func(t *testing.T) {
			if !l.Code.Valid() || l.Country != l.Code.Country() || !unlocode.IsCountry(l.Country) {
				t.Errorf("bad code or country: %+v", l)
			}
			if err := l.Point.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// The unlocode alias table and the corridor must agree both ways: every
// corridor alias normalises to its location through unlocode, and every
// unlocode alias that leads to a corridor place is listed there.
func TestAliasesAgreeWithUnlocode(t *testing.T) {
	n := load(t)
	for _, l := range n.Locations() {
		for _, a := range l.Aliases {
			t.Run(string(a), func(t *testing.T) {
				c, wasAlias, err := unlocode.Canonical(string(a))
				if err != nil || !wasAlias || c != l.Code {
					t.Errorf("unlocode.Canonical(%s) = %s, %v, %v; want %s, true", a, c, wasAlias, err, l.Code)
				}
			})
		}
	}
	for from, to := range unlocode.Aliases() {
		l, ok := n.Location(to)
		if !ok {
			continue
		}
		found := false
		for _, a := range l.Aliases {
			found = found || a == from
		}
		if !found {
			t.Errorf("unlocode aliases %s -> %s, but the corridor does not list %s as an alias of %s", from, to, from, to)
		}
	}
}

func TestRoute(t *testing.T) {
	n := load(t)
	tests := []struct {
		code               string
		name               string
		stops              string
		days, feuCN, feuAb int
	}{
		{"SCO-KZ-ALA", "Central Asia: Almaty", "CNJZH CNURM CNHRS KZHOR KZALA", 12, 50, 50},
		{"SCO-UZ-TAS", "Central Asia: Tashkent", "CNJZH CNURM CNHRS KZHOR UZTAS", 6, 50, 50},
		{"SCO-RU-VRS", "Russia: Moscow (Vorsino)", "CNJZH CNMLX RUZBK RUVRS", 15, 55, 55},
		{"SCO-DE-DUI", "Europe: Duisburg", "CNJZH CNURM CNAKL KZDOS BYBQT PLMAA DEDUI", 18, 55, 41},
		{"SCO-RS-BEG", "Europe: Belgrade", "CNJZH CNURM CNHRS KZHOR BYBQT PLMAA HUBUD RSBEG", 21, 55, 41},
		{"SCO-VN-HAN", "ASEAN: Hanoi", "CNJZH CNPIN VNHAN", 8, 41, 41},
		{"SCO-LA-VTE", "ASEAN: Vientiane", "CNJZH CNMHN LABTN LAVTE", 7, 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			r, ok := n.Route(tt.code)
			if !ok {
				t.Fatalf("Route(%s) not found", tt.code)
			}
			var stops []string
			for _, s := range r.Stops {
				stops = append(stops, string(s))
			}
			if r.Name != tt.name || strings.Join(stops, " ") != tt.stops || r.Days != tt.days || r.FEUCN != tt.feuCN || r.FEUAbroad != tt.feuAb {
				t.Errorf("Route(%s) = %+v", tt.code, r)
			}
		})
	}
	if _, ok := n.Route("SCO-XX-NOP"); ok {
		t.Error("unknown route found")
	}
	codes := map[string]bool{}
	for _, r := range n.Routes() {
		if codes[r.Code] {
			t.Errorf("route %s twice", r.Code)
		}
		codes[r.Code] = true
		if r.Stops[0] != "CNJZH" {
			t.Errorf("route %s starts at %s, not at the SCODA centre", r.Code, r.Stops[0])
		}
	}
}

func TestBorderCrossings(t *testing.T) {
	n := load(t)
	want := []Crossing{
		{From: "CNHRS", To: "KZHOR", FromGaugeMM: 1435, ToGaugeMM: 1520, Routes: []string{"SCO-KZ-ALA", "SCO-UZ-TAS", "SCO-KG-FRU", "SCO-TJ-DYU", "SCO-HU-BUD", "SCO-RS-BEG"}},
		{From: "CNERC", To: "MNZUU", FromGaugeMM: 1435, ToGaugeMM: 1520, Routes: []string{"SCO-MN-ULN", "SCO-DE-HAM"}},
		{From: "CNMLX", To: "RUZBK", FromGaugeMM: 1435, ToGaugeMM: 1520, Routes: []string{"SCO-RU-VRS"}},
		{From: "CNAKL", To: "KZDOS", FromGaugeMM: 1435, ToGaugeMM: 1520, Routes: []string{"SCO-BY-KDC", "SCO-DE-DUI", "SCO-DE-MHG", "SCO-PL-LOD"}},
		{From: "BYBQT", To: "PLMAA", FromGaugeMM: 1520, ToGaugeMM: 1435, Routes: []string{"SCO-DE-DUI", "SCO-DE-HAM", "SCO-DE-MHG", "SCO-PL-LOD", "SCO-HU-BUD", "SCO-RS-BEG"}},
		{From: "CNPIN", To: "VNHAN", FromGaugeMM: 1435, ToGaugeMM: 1000, Routes: []string{"SCO-VN-HAN"}},
	}
	got := n.BorderCrossings()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BorderCrossings:\n got %+v\nwant %+v", got, want)
	}
	// Each crossing is short: the two stations of a border pair are close.
	for _, c := range got {
		a, _ := n.Location(c.From)
		b, _ := n.Location(c.To)
		if d := geo.DistanceKm(a.Point, b.Point); c.To != "VNHAN" && d > 50 {
			t.Errorf("%s-%s are %.0f km apart", c.From, c.To, d)
		}
	}
	// Alashankou-Dostyk is about 8 km.
	if a, b := mustLoc(t, n, "CNAKL"), mustLoc(t, n, "KZDOS"); math.Abs(geo.DistanceKm(a.Point, b.Point)-8.4) > 0.5 {
		t.Errorf("Alashankou-Dostyk = %.1f km", geo.DistanceKm(a.Point, b.Point))
	}
}

func mustLoc(t *testing.T, n *Network, c unlocode.Code) Location {
	t.Helper()
	l, ok := n.Location(c)
	if !ok {
		t.Fatalf("no location %s", c)
	}
	return l
}

func TestResultsAreCopies(t *testing.T) {
	n := load(t)
	r, _ := n.Route("SCO-KZ-ALA")
	r.Stops[0] = "XXXXX"
	n.Routes()[0].Stops[1] = "XXXXX"
	n.BorderCrossings()[0].Routes[0] = "X"
	l, _ := n.Location("CNQIN")
	l.Aliases[0] = "XXXXX"
	n.Locations()[1].Aliases[0] = "XXXXX"
	n.Terminals()[0].Code = "X"

	r2, _ := n.Route("SCO-KZ-ALA")
	l2, _ := n.Location("CNQIN")
	if r2.Stops[0] != "CNJZH" || r2.Stops[1] != "CNURM" || n.BorderCrossings()[0].Routes[0] != "SCO-KZ-ALA" ||
		l2.Aliases[0] != "CNTAO" || n.Terminals()[0].Code != "QQCTN" {
		t.Error("a caller changed the Network through a returned value")
	}
}

func TestTerminals(t *testing.T) {
	ts := load(t).Terminals()
	want := []Terminal{
		{Code: "QQCTN", Location: "CNQIN", Name: "Qingdao Qianwan container terminal (N)", Point: geo.Point{Lat: 36.0122, Lon: 120.2333}},
		{Code: "QQCTX", Location: "CNQIN", Name: "Qingdao Qianwan container terminal (X)", Point: geo.Point{Lat: 36.0092, Lon: 120.2064}},
	}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("Terminals = %+v", ts)
	}
}

// A small valid network, changed by each case below.
const base = `
locations:
  - {code: CNJZH, name: Jiaozhou, country: CN, role: origin, lat: 36.283, lon: 120.0, gauge: 1435}
  - {code: CNQIN, name: Qingdao, country: CN, role: port, lat: 36.05, lon: 120.317, gauge: 1435, aliases: [CNTAO]}
  - {code: CNAKL, name: Alashankou, country: CN, role: border, lat: 45.183, lon: 82.433, gauge: 1435}
  - {code: KZDOS, name: Dostyk, country: KZ, role: border, lat: 45.25, lon: 82.483, gauge: 1520}
  - {code: KZALA, name: Almaty, country: KZ, role: destination, lat: 43.25, lon: 76.95, gauge: 1520}
terminals:
  - {code: QQCTN, location: CNQIN, name: Qianwan, lat: 36.0122, lon: 120.2333}
routes:
  - {code: R1, name: Almaty, stops: [CNJZH, CNAKL, KZDOS, KZALA], days: 12, feu_cn: 50, feu_abroad: 50}
`

func TestParseValidation(t *testing.T) {
	tests := []struct {
		name    string
		old     string // replaced in base by new
		new     string
		wantErr string // "" means valid
	}{
		{name: "base is valid"},
		{name: "zero latitude is fine", old: "lat: 43.25, lon: 76.95", new: "lat: 0, lon: 76.95"},
		{name: "unknown field", old: "gauge: 1520}\nterminals", new: "gauge: 1520, elevation: 3}\nterminals", wantErr: "field elevation not found"},
		{name: "unknown top-level key", old: "terminals:", new: "depots: []\nterminals:", wantErr: "field depots not found"},
		{name: "duplicate key", old: "{code: R1, name: Almaty,", new: "{code: R1, name: Almaty, name: Again,", wantErr: "already defined"},
		{name: "bad code", old: "code: KZALA", new: "code: XXALA", wantErr: `country "XX" is not an assigned`},
		{name: "alias as location code", old: "code: CNQIN, name: Qingdao", new: "code: CNTAO, name: Qingdao", wantErr: "CNTAO is an alias of CNQIN"},
		{name: "lower-case code", old: "code: KZALA", new: "code: kzala", wantErr: `"kzala" is not in canonical form KZALA`},
		{name: "duplicate location", old: "code: KZALA", new: "code: KZDOS", wantErr: "code used twice"},
		{name: "country mismatch", old: "country: KZ, role: destination", new: "country: CN, role: destination", wantErr: `country "CN" does not match the code's "KZ"`},
		{name: "bad role", old: "role: destination", new: "role: terminus", wantErr: `role "terminus" is not one of`},
		{name: "missing lat", old: "lat: 43.25, lon: 76.95", new: "lon: 76.95", wantErr: "lat and lon are required"},
		{name: "lat out of range", old: "lat: 43.25", new: "lat: 143.25", wantErr: "lat: must be between -90 and 90"},
		{name: "missing gauge", old: ", gauge: 1520}\n  - {code: KZALA", new: "}\n  - {code: KZALA", wantErr: "gauge (mm) is required"},
		{name: "missing name", old: "name: Almaty, country", new: "country", wantErr: "location 5 (KZALA): name is required"},
		{name: "alias not in unlocode", old: "aliases: [CNTAO]", new: "aliases: [CNTAO, CNQDG]", wantErr: "alias CNQDG: not in the unlocode alias table (edition 2024-2)"},
		{name: "no aliases is fine", old: ", aliases: [CNTAO]}", new: "}", wantErr: ""},
		{name: "alias on the wrong place", old: "aliases: [CNTAO]}", new: "}\n  - {code: CNQDG, name: Port, country: CN, role: port, lat: 36, lon: 120, gauge: 1435, aliases: [CNTAO]}", wantErr: "alias CNTAO: unlocode resolves it to CNQIN"},
		{name: "terminal in unknown place", old: "location: CNQIN", new: "location: CNQDG", wantErr: "terminal 1 (QQCTN): location CNQDG is not in locations"},
		{name: "terminal by alias", old: "location: CNQIN", new: "location: CNTAO", wantErr: "CNTAO is an alias of CNQIN"},
		{name: "one stop", old: "stops: [CNJZH, CNAKL, KZDOS, KZALA]", new: "stops: [CNJZH]", wantErr: "needs at least 2 stops, has 1"},
		{name: "unknown stop", old: "stops: [CNJZH, CNAKL", new: "stops: [CNJZH, CNURM, CNAKL", wantErr: "stop CNURM is not in locations"},
		{name: "stop twice", old: "stops: [CNJZH, CNAKL", new: "stops: [CNJZH, CNAKL, CNJZH, CNAKL", wantErr: "stop CNJZH appears twice"},
		{name: "bad stop code", old: "stops: [CNJZH", new: "stops: [CN-JZH", wantErr: "stop: "},
		{name: "gauge change away from a border", old: "stops: [CNJZH, CNAKL, KZDOS, KZALA]", new: "stops: [CNJZH, KZALA]", wantErr: "gauge changes from 1435 to 1520 mm between CNJZH and KZALA, which is not a border pair"},
		{name: "zero days", old: "days: 12", new: "days: 0", wantErr: "days, feu_cn and feu_abroad must be positive"},
		{name: "route twice", old: "routes:\n", new: "routes:\n  - {code: R1, name: X, stops: [CNJZH, CNQIN], days: 1, feu_cn: 1, feu_abroad: 1}\n", wantErr: "route 2 (R1): code used twice"},
		{name: "not YAML", old: "locations:", new: "locations: [", wantErr: "corridor: decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base
			if tt.old != "" {
				if !strings.Contains(base, tt.old) {
					t.Fatalf("case does not apply: %q not in base", tt.old)
				}
				src = strings.Replace(base, tt.old, tt.new, 1)
			}
			n, err := parse([]byte(src))
			if tt.wantErr == "" {
				if err != nil || n == nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parse error = %v\nwant it to contain %q", err, tt.wantErr)
			}
			if n != nil {
				t.Error("parse returned a Network with an error")
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	src := strings.Replace(base, "role: destination", "role: terminus", 1)
	src = strings.Replace(src, "days: 12", "days: 0", 1)
	_, err := parse([]byte(src))
	if err == nil || !strings.Contains(err.Error(), "terminus") || !strings.Contains(err.Error(), "days") {
		t.Errorf("parse error = %v; want both problems", err)
	}
}

func TestParseRejectsSecondDocument(t *testing.T) {
	_, err := parse([]byte(base + "---\nlocations: []\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("parse error = %v", err)
	}
}

func ExampleLoad() {
	n, err := Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := n.Route("SCO-KZ-ALA")
	fmt.Println(r.Name, r.Stops, r.Days, "days")

	port, _ := n.Location("CNTAO") // the superseded code carriers still send
	fmt.Println(port.Code, port.Name)

	for _, c := range n.BorderCrossings()[:2] {
		fmt.Printf("%s -> %s: %d -> %d mm\n", c.From, c.To, c.FromGaugeMM, c.ToGaugeMM)
	}
	fmt.Println(len(n.Routes()), "routes")
	// Output:
	// Central Asia: Almaty [CNJZH CNURM CNHRS KZHOR KZALA] 12 days
	// CNQIN Qingdao
	// CNHRS -> KZHOR: 1435 -> 1520 mm
	// CNERC -> MNZUU: 1435 -> 1520 mm
	// 15 routes
}
