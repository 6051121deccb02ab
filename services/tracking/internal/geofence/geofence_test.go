package geofence_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/unlocode"
	"github.com/scodalabs/scoda/services/tracking/internal/geofence"
)

var loadNetwork = sync.OnceValues(corridor.Load)

func network(tb testing.TB) *corridor.Network {
	tb.Helper()
	n, err := loadNetwork()
	if err != nil {
		tb.Fatalf("corridor.Load: %v", err)
	}
	return n
}

func index(tb testing.TB, opts ...geofence.Option) *geofence.Index {
	tb.Helper()
	return geofence.NewIndex(network(tb), opts...)
}

func place(tb testing.TB, code unlocode.Code) geo.Point {
	tb.Helper()
	l, ok := network(tb).Location(code)
	if !ok {
		tb.Fatalf("no location %s", code)
	}
	return l.Point
}

func terminal(tb testing.TB, code string) geo.Point {
	tb.Helper()
	for _, t := range network(tb).Terminals() {
		if t.Code == code {
			return t.Point
		}
	}
	tb.Fatalf("no terminal %s", code)
	return geo.Point{}
}

// destination is the point km from p on the initial bearing brg (degrees
// clockwise from north), along a great circle.
func destination(p geo.Point, brg, km float64) geo.Point {
	lat1, lon1, th, d := p.Lat*math.Pi/180, p.Lon*math.Pi/180, brg*math.Pi/180, km/geo.EarthRadiusKm
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(th))
	lon2 := lon1 + math.Atan2(math.Sin(th)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
	lon := math.Mod(lon2*180/math.Pi+540, 360) - 180
	return geo.Point{Lat: lat2 * 180 / math.Pi, Lon: lon}
}

// midpoint is the great-circle midpoint of a and b.
func midpoint(a, b geo.Point) geo.Point {
	return destination(a, geo.InitialBearingDeg(a, b), geo.DistanceKm(a, b)/2)
}

// across returns fixes km/2 either side of the middle of the pair from ->
// to, on the line through both stations: a sparse pair of fixes km apart.
func across(tb testing.TB, from, to unlocode.Code, km float64) (geo.Point, geo.Point) {
	a, b := place(tb, from), place(tb, to)
	m := midpoint(a, b)
	brg := geo.InitialBearingDeg(m, b)
	return destination(m, brg+180, km/2), destination(m, brg, km/2)
}

var t0 = time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)

func fix(p geo.Point, d time.Duration, id string) geofence.Fix {
	return geofence.Fix{Point: p, At: t0.Add(d), EventID: id}
}

// summary is "<kind> <fence id>" per transition, in order.
func summary(ts []geofence.Transition) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Kind.String() + " " + t.Fence.ID
	}
	return out
}

func TestNewIndexFences(t *testing.T) {
	n := network(t)
	ix := index(t)
	fences := ix.Fences()
	if want := len(n.Locations()) + len(n.Terminals()); len(fences) != want {
		t.Fatalf("%d fences, want %d (every location and terminal)", len(fences), want)
	}
	tests := []struct {
		id       string
		role     corridor.Role
		radiusKm float64
		terminal string
	}{
		{"CNJZH", corridor.RoleOrigin, geofence.PlaceRadiusKm, ""},
		{"CNQIN", corridor.RolePort, geofence.PlaceRadiusKm, ""},
		{"CNURM", corridor.RoleTransit, geofence.PlaceRadiusKm, ""},
		{"CNHRS", corridor.RoleBorder, geofence.BorderRadiusKm, ""},
		{"KZHOR", corridor.RoleBorder, geofence.BorderRadiusKm, ""},
		{"DEDUI", corridor.RoleDestination, geofence.PlaceRadiusKm, ""},
		{"CNQIN:QQCTN", corridor.RolePort, geofence.TerminalRadiusKm, "QQCTN"},
		{"CNQIN:QQCTX", corridor.RolePort, geofence.TerminalRadiusKm, "QQCTX"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f, ok := ix.Fence(tt.id)
			if !ok {
				t.Fatalf("no fence %s", tt.id)
			}
			if f.Role != tt.role || f.Area.RadiusKm != tt.radiusKm || f.Terminal != tt.terminal {
				t.Errorf("got role %s, radius %g km, terminal %q; want %s, %g, %q", f.Role, f.Area.RadiusKm, f.Terminal, tt.role, tt.radiusKm, tt.terminal)
			}
			if f.Country != f.Code.Country() {
				t.Errorf("country %s, code %s", f.Country, f.Code)
			}
		})
	}
	seen := map[string]bool{}
	for _, f := range fences {
		if seen[f.ID] {
			t.Errorf("fence id %s used twice", f.ID)
		}
		seen[f.ID] = true
	}
}

func TestNewIndexOptions(t *testing.T) {
	ix := index(t,
		geofence.WithRoleRadius(corridor.RoleBorder, 2),
		geofence.WithTerminalRadius(0.5),
		geofence.WithRoleRadius(corridor.RoleDestination, -1), // ignored
		geofence.WithTerminalRadius(math.NaN()),               // ignored
	)
	for id, want := range map[string]float64{"CNHRS": 2, "CNQIN:QQCTN": 0.5, "DEDUI": geofence.PlaceRadiusKm, "CNURM": geofence.PlaceRadiusKm} {
		if f, _ := ix.Fence(id); f.Area.RadiusKm != want {
			t.Errorf("%s: radius %g km, want %g", id, f.Area.RadiusKm, want)
		}
	}
	if got := geofence.NewIndex(nil).Transitions(fix(place(t, "CNURM"), 0, "a"), fix(place(t, "KZALA"), time.Hour, "b")); got != nil {
		t.Errorf("empty index: %v", summary(got))
	}
}

func TestTransitions(t *testing.T) {
	urumqi := place(t, "CNURM")
	qqctn := terminal(t, "QQCTN")
	hrsCN, hrsKZ := across(t, "CNHRS", "KZHOR", 200)
	aklCN, aklKZ := across(t, "CNAKL", "KZDOS", 200)
	// A line that crosses the CNHRS/KZHOR bisector 500 km from the pair.
	m := midpoint(place(t, "CNHRS"), place(t, "KZHOR"))
	brg := geo.InitialBearingDeg(place(t, "CNHRS"), place(t, "KZHOR"))
	far := destination(m, brg+90, 500)
	farCN, farKZ := destination(far, brg+180, 100), destination(far, brg, 100)

	tests := []struct {
		name       string
		prev, next geofence.Fix
		only       string // compare only this fence's transitions; "" for all
		want       []string
	}{
		{
			name: "outside to inside enters",
			prev: fix(destination(urumqi, 90, 30), 0, "p"), next: fix(urumqi, time.Hour, "n"),
			want: []string{"enter CNURM"},
		},
		{
			name: "inside to outside exits",
			prev: fix(urumqi, 0, "p"), next: fix(destination(urumqi, 270, 30), time.Hour, "n"),
			want: []string{"exit CNURM"},
		},
		{
			name: "inside to inside is nothing",
			prev: fix(urumqi, 0, "p"), next: fix(destination(urumqi, 0, 3), time.Hour, "n"),
		},
		{
			name: "both outside across a small terminal fence enters and exits",
			prev: fix(destination(qqctn, 180, 5), 0, "p"), next: fix(destination(qqctn, 0, 5), 20*time.Minute, "n"),
			only: "CNQIN:QQCTN",
			want: []string{"enter CNQIN:QQCTN", "exit CNQIN:QQCTN"},
		},
		{
			name: "both outside and missing the terminal is nothing there",
			prev: fix(destination(destination(qqctn, 90, 2), 180, 5), 0, "p"), next: fix(destination(destination(qqctn, 90, 2), 0, 5), 20*time.Minute, "n"),
			only: "CNQIN:QQCTN",
		},
		{
			name: "Khorgos CN to KZ, fixes 200 km apart",
			prev: fix(hrsCN, 0, "p"), next: fix(hrsKZ, 4*time.Hour, "n"),
			want: []string{"enter CNHRS", "exit CNHRS", "border_crossed KZHOR", "enter KZHOR", "exit KZHOR"},
		},
		{
			name: "Khorgos KZ to CN",
			prev: fix(hrsKZ, 0, "p"), next: fix(hrsCN, 4*time.Hour, "n"),
			want: []string{"enter KZHOR", "exit KZHOR", "border_crossed CNHRS", "enter CNHRS", "exit CNHRS"},
		},
		{
			name: "Alashankou CN to Dostyk KZ, overlapping station fences",
			prev: fix(aklCN, 0, "p"), next: fix(aklKZ, 4*time.Hour, "n"),
			want: []string{"enter CNAKL", "enter KZDOS", "border_crossed KZDOS", "exit CNAKL", "exit KZDOS"},
		},
		{
			name: "Dostyk KZ to Alashankou CN",
			prev: fix(aklKZ, 0, "p"), next: fix(aklCN, 4*time.Hour, "n"),
			want: []string{"enter KZDOS", "enter CNAKL", "border_crossed CNAKL", "exit KZDOS", "exit CNAKL"},
		},
		{
			name: "inside China far from any border",
			prev: fix(geo.Point{Lat: 36.06, Lon: 103.83}, 0, "p"), next: fix(geo.Point{Lat: 34.34, Lon: 108.94}, 8*time.Hour, "n"),
		},
		{
			name: "across the bisector 500 km from the pair",
			prev: fix(farCN, 0, "p"), next: fix(farKZ, 4*time.Hour, "n"),
		},
		{
			name: "next at the same time as prev",
			prev: fix(hrsCN, time.Hour, "p"), next: fix(hrsKZ, time.Hour, "n"),
		},
		{
			name: "next older than prev",
			prev: fix(hrsCN, time.Hour, "p"), next: fix(hrsKZ, 0, "n"),
		},
		{
			name: "segment over 2,000 km is a gap in the data",
			prev: fix(place(t, "CNJZH"), 0, "p"), next: fix(place(t, "KZALA"), 72*time.Hour, "n"),
		},
		{
			name: "invalid point",
			prev: fix(geo.Point{Lat: 91, Lon: 0}, 0, "p"), next: fix(urumqi, time.Hour, "n"),
		},
	}
	ix := index(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ix.Transitions(tt.prev, tt.next)
			checkTimes(t, tt.prev, tt.next, ts)
			if tt.only != "" {
				ts = slices.DeleteFunc(ts, func(tr geofence.Transition) bool { return tr.Fence.ID != tt.only })
			}
			if got := summary(ts); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}

	t.Run("the far line does cross the bisector", func(t *testing.T) {
		// Guards the case above: with a wide reach it counts, so it was the
		// reach that ruled it out.
		ts := index(t, geofence.WithBorderReach(1000)).Transitions(fix(farCN, 0, "p"), fix(farKZ, time.Hour, "n"))
		if got := summary(ts); !slices.Equal(got, []string{"border_crossed KZHOR"}) {
			t.Errorf("got %q", got)
		}
	})
}

// checkTimes checks that transitions are in time order within the fixes.
func checkTimes(t *testing.T, prev, next geofence.Fix, ts []geofence.Transition) {
	t.Helper()
	for i, tr := range ts {
		if tr.At.Before(prev.At) || tr.At.After(next.At) {
			t.Errorf("%s %s at %v, outside [%v, %v]", tr.Kind, tr.Fence.ID, tr.At, prev.At, next.At)
		}
		if i > 0 && tr.At.Before(ts[i-1].At) {
			t.Errorf("%s %s at %v, before the previous transition at %v", tr.Kind, tr.Fence.ID, tr.At, ts[i-1].At)
		}
	}
}

func TestTransitionTimesInterpolated(t *testing.T) {
	ix := index(t)
	// 10 km at constant speed over 20 minutes through the middle of a
	// 1.5 km fence: in at 3.5 km (7 min), out at 6.5 km (13 min).
	qqctn := terminal(t, "QQCTN")
	prev, next := fix(destination(qqctn, 180, 5), 0, "p"), fix(destination(qqctn, 0, 5), 20*time.Minute, "n")
	var got []time.Duration
	for _, tr := range ix.Transitions(prev, next) {
		if tr.Fence.ID == "CNQIN:QQCTN" {
			got = append(got, tr.At.Sub(t0))
		}
	}
	want := []time.Duration{7 * time.Minute, 13 * time.Minute}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if d := (got[i] - want[i]).Abs(); d > time.Second {
			t.Errorf("transition %d at %v, want %v (±1s)", i, got[i], want[i])
		}
	}

	// The border crossing is halfway between fixes symmetric about the pair.
	a, b := across(t, "CNHRS", "KZHOR", 200)
	for _, tr := range ix.Transitions(fix(a, 0, "p"), fix(b, 4*time.Hour, "n")) {
		if tr.Kind == geofence.BorderCrossed {
			if d := (tr.At.Sub(t0) - 2*time.Hour).Abs(); d > time.Second {
				t.Errorf("border crossed at +%v, want +2h", tr.At.Sub(t0))
			}
		}
	}
}

func TestBorderCrossing(t *testing.T) {
	tests := []struct {
		from, to          unlocode.Code
		fromGauge, toGage int
	}{
		{"CNHRS", "KZHOR", 1435, 1520},
		{"KZHOR", "CNHRS", 1520, 1435},
		{"CNAKL", "KZDOS", 1435, 1520},
		{"KZDOS", "CNAKL", 1520, 1435},
		{"CNERC", "MNZUU", 1435, 1520},
		{"CNMLX", "RUZBK", 1435, 1520},
		{"BYBQT", "PLMAA", 1520, 1435},
		{"PLMAA", "BYBQT", 1435, 1520},
		{"CNPIN", "VNHAN", 1435, 1000},
	}
	ix := index(t)
	for _, tt := range tests {
		t.Run(string(tt.from)+"-"+string(tt.to), func(t *testing.T) {
			a, b := across(t, tt.from, tt.to, 200)
			var crossed []geofence.Transition
			for _, tr := range ix.Transitions(fix(a, 0, "p"), fix(b, 4*time.Hour, "n")) {
				if tr.Kind == geofence.BorderCrossed {
					crossed = append(crossed, tr)
				}
			}
			if len(crossed) != 1 {
				t.Fatalf("%d border crossings, want 1", len(crossed))
			}
			c := crossed[0].Crossing
			if c == nil || c.From != tt.from || c.To != tt.to || c.FromGaugeMM != tt.fromGauge || c.ToGaugeMM != tt.toGage || len(c.Routes) == 0 {
				t.Errorf("crossing %+v, want %s (%d mm) -> %s (%d mm) with its routes", c, tt.from, tt.fromGauge, tt.to, tt.toGage)
			}
			if crossed[0].Fence.Code != tt.to {
				t.Errorf("fence %s, want the entry station %s", crossed[0].Fence.ID, tt.to)
			}
		})
	}
}

func TestTransitionsDoNotShareState(t *testing.T) {
	ix := index(t)
	a, b := across(t, "CNHRS", "KZHOR", 200)
	for _, tr := range ix.Transitions(fix(a, 0, "p"), fix(b, time.Hour, "n")) {
		if tr.Crossing != nil {
			tr.Crossing.Routes[0] = "changed"
		}
	}
	for _, tr := range ix.Transitions(fix(a, 0, "p"), fix(b, time.Hour, "n")) {
		if tr.Crossing != nil && tr.Crossing.Routes[0] == "changed" {
			t.Fatal("a caller's change to a transition's crossing reached the index")
		}
	}
}

func ExampleIndex_Transitions() {
	n, err := corridor.Load()
	if err != nil {
		panic(err)
	}
	ix := geofence.NewIndex(n)
	// A train reporting every 4 hours: one fix about 100 km inside China,
	// the next about 100 km inside Kazakhstan, on the line through Horgos
	// and Khorgos/Altynkol.
	at := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	prev := geofence.Fix{Point: geo.Point{Lat: 43.7047, Lon: 81.7035}, At: at, EventID: "fix-1"}
	next := geofence.Fix{Point: geo.Point{Lat: 44.5592, Lon: 79.4982}, At: at.Add(4 * time.Hour), EventID: "fix-2"}
	for _, t := range ix.Transitions(prev, next) {
		line := fmt.Sprintf("%s %-6s %s", t.At.Format("15:04"), t.Fence.ID, t.Kind)
		if c := t.Crossing; c != nil {
			line += fmt.Sprintf(" %s->%s %d->%d mm", c.From.Country(), c.To.Country(), c.FromGaugeMM, c.ToGaugeMM)
		}
		fmt.Println(line)
	}
	// Output:
	// 09:29 CNHRS  enter
	// 09:41 CNHRS  exit
	// 09:59 KZHOR  border_crossed CN->KZ 1435->1520 mm
	// 10:18 KZHOR  enter
	// 10:30 KZHOR  exit
}
