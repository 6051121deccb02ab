package scheduling

import (
	"testing"
	"time"

	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

func at(t time.Time) *time.Time { return &t }

// plan is a departure of four stops leaving t0, a day between stops and an hour at each.
func plan(t0 time.Time) pgstore.Departure {
	d := pgstore.Departure{ID: "d"}
	for i := range 4 {
		st := pgstore.DepartureStop{Seq: i}
		if i > 0 {
			st.PlannedArrival = at(t0.Add(time.Duration(i)*24*time.Hour - time.Hour))
		}
		if i < 3 {
			st.PlannedDeparture = at(t0.Add(time.Duration(i) * 24 * time.Hour))
		}
		d.Stops = append(d.Stops, st)
	}
	return d
}

func TestEstimateArrivals(t *testing.T) {
	t0 := time.Date(2027, 3, 1, 6, 0, 0, 0, time.UTC)
	before := t0.Add(-48 * time.Hour) // "now" long before the train leaves
	for _, tc := range []struct {
		name   string
		now    time.Time
		actual func(d *pgstore.Departure)
		want   []time.Duration // estimate minus plan at stops 1..3
	}{
		{"not started: the plan", before, func(*pgstore.Departure) {}, []time.Duration{0, 0, 0}},
		{"left 45 min late: every later stop 45 min late", before, func(d *pgstore.Departure) {
			d.Stops[0].ActualDeparture = at(d.Stops[0].PlannedDeparture.Add(45 * time.Minute))
		}, []time.Duration{45 * time.Minute, 45 * time.Minute, 45 * time.Minute}},
		{"the latest report counts: late start, made up by stop 1", before, func(d *pgstore.Departure) {
			d.Stops[0].ActualDeparture = at(d.Stops[0].PlannedDeparture.Add(3 * time.Hour))
			d.Stops[1].ActualArrival = at(d.Stops[1].PlannedArrival.Add(time.Hour))
		}, []time.Duration{time.Hour, time.Hour, time.Hour}},
		{"a departure counts over the arrival at the same stop", before, func(d *pgstore.Departure) {
			d.Stops[1].ActualArrival = at(d.Stops[1].PlannedArrival.Add(time.Hour))
			d.Stops[1].ActualDeparture = at(d.Stops[1].PlannedDeparture.Add(5 * time.Hour))
		}, []time.Duration{time.Hour, 5 * time.Hour, 5 * time.Hour}},
		{"early: estimates come forward", before, func(d *pgstore.Departure) {
			d.Stops[0].ActualDeparture = at(d.Stops[0].PlannedDeparture.Add(-2 * time.Hour))
		}, []time.Duration{-2 * time.Hour, -2 * time.Hour, -2 * time.Hour}},
		{"early, but never before now", t0.Add(47 * time.Hour), func(d *pgstore.Departure) {
			d.Stops[1].ActualDeparture = at(d.Stops[1].PlannedDeparture.Add(-6 * time.Hour))
		}, []time.Duration{0, 0, 0}}, // stop 1: no actual arrival, planned; stop 2 clamped below
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := plan(t0)
			tc.actual(&d)
			got := estimateArrivals(d, tc.now)
			if got[0] != nil {
				t.Errorf("an estimate at the origin: %v", got[0])
			}
			for i, w := range tc.want {
				st := d.Stops[i+1]
				want := st.PlannedArrival.Add(w)
				if tc.name == "early, but never before now" {
					switch i {
					case 0:
						want = st.PlannedArrival.Add(-6 * time.Hour) // reached: not clamped
					default:
						want = tc.now
						if p := st.PlannedArrival.Add(-6 * time.Hour); p.After(tc.now) {
							want = p
						}
					}
				}
				if got[i+1] == nil || !got[i+1].Equal(want) {
					t.Errorf("stop %d: estimate %v, want %v", i+1, got[i+1], want)
				}
			}
		})
	}
}

func TestETAMovedIsStrictlyOverTheThreshold(t *testing.T) {
	t0 := time.Date(2027, 3, 1, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		prev *time.Time
		eta  time.Time
		want bool
	}{
		{nil, t0, true},
		{at(t0), t0.Add(20 * time.Minute), false},
		{at(t0), t0.Add(30 * time.Minute), false},
		{at(t0), t0.Add(31 * time.Minute), true},
		{at(t0), t0.Add(-45 * time.Minute), true},
	} {
		if got := etaMoved(tc.prev, tc.eta, 30*time.Minute); got != tc.want {
			t.Errorf("etaMoved(%v, %v) = %v, want %v", tc.prev, tc.eta, got, tc.want)
		}
	}
}

func TestLatenessAgainstTheBaseline(t *testing.T) {
	t0 := time.Date(2027, 3, 1, 6, 0, 0, 0, time.UTC)
	d := plan(t0)
	for i := range d.Stops {
		d.Stops[i].BaselineArrival, d.Stops[i].BaselineDeparture = d.Stops[i].PlannedArrival, d.Stops[i].PlannedDeparture
	}
	if seq, _, _, late := lateness(d); late != 0 || seq != 0 {
		t.Fatalf("on plan: late %v at %d", late, seq)
	}
	// Left 3 h late, then re-planned 1 h later still: the larger lateness wins.
	d.Stops[0].ActualDeparture = at(t0.Add(3 * time.Hour))
	d.Stops[2].PlannedArrival = at(d.Stops[2].BaselineArrival.Add(4 * time.Hour))
	seq, base, actual, late := lateness(d)
	if seq != 2 || late != 4*time.Hour || !base.Equal(*d.Stops[2].BaselineArrival) || !actual.Equal(*d.Stops[2].PlannedArrival) {
		t.Fatalf("lateness = stop %d, %v (%v -> %v)", seq, late, base, actual)
	}
}
