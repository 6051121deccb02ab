package main

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
)

var dep0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func testTrip(t *testing.T, code string, seed uint64) (trip, []fix) {
	t.Helper()
	n, err := corridor.Load()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := n.Route(code)
	if !ok {
		t.Fatalf("no route %s", code)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	tr := planTrip(n, r, "X8001", dep0, rng, true)
	return tr, tr.fixes(10*time.Minute, rng)
}

func TestMovement(t *testing.T) {
	for _, code := range []string{"SCO-KZ-ALA", "SCO-DE-DUI", "SCO-VN-HAN", "SCO-LA-VTE"} {
		t.Run(code, func(t *testing.T) {
			tr, fixes := testTrip(t, code, 7)
			if len(fixes) < 10 {
				t.Fatalf("%d fixes", len(fixes))
			}
			for i, f := range fixes {
				from, to := tr.Stops[f.Segment], tr.Stops[f.Segment+1]
				if f.At.Before(from.Depart) || !f.At.Before(to.Arrive) {
					t.Fatalf("fix %d at %v outside its segment %v-%v", i, f.At, from.Depart, to.Arrive)
				}
				// Near the path: the detour through the fix is tiny.
				if detour := geo.DistanceKm(from.Point, f.Point) + geo.DistanceKm(f.Point, to.Point) - tr.Kms[f.Segment]; detour > 0.5 {
					t.Fatalf("fix %d is %.2f km off the path", i, detour)
				}
				if f.SpeedKmh < minSpeedKmh*0.9 || f.SpeedKmh > maxSpeedKmh*1.1 {
					t.Fatalf("fix %d reports %.1f km/h", i, f.SpeedKmh)
				}
				if i == 0 {
					continue
				}
				prev := fixes[i-1]
				if !f.At.After(prev.At) || f.Along <= prev.Along {
					t.Fatalf("fix %d does not progress: %v %.1f km after %v %.1f km", i, f.At, f.Along, prev.At, prev.Along)
				}
				if f.Segment == prev.Segment {
					kmh := geo.DistanceKm(prev.Point, f.Point) / f.At.Sub(prev.At).Hours()
					if kmh < minSpeedKmh*0.95 || kmh > maxSpeedKmh*1.05 {
						t.Fatalf("fixes %d-%d move at %.1f km/h", i-1, i, kmh)
					}
				}
			}
			for i := 1; i < len(tr.Stops); i++ {
				if !tr.Stops[i].Arrive.After(tr.Stops[i-1].Depart) {
					t.Fatalf("stop %d: arrives %v before leaving the previous %v", i, tr.Stops[i].Arrive, tr.Stops[i-1].Depart)
				}
				if i < len(tr.Stops)-1 && !tr.Stops[i].Depart.After(tr.Stops[i].Arrive) {
					t.Fatalf("stop %d: no dwell", i)
				}
			}
		})
	}
}

func TestMovementIsReproducible(t *testing.T) {
	a, fa := testTrip(t, "SCO-DE-HAM", 42)
	b, fb := testTrip(t, "SCO-DE-HAM", 42)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(fa, fb) {
		t.Fatal("the same seed planned two different trips")
	}
	c, _ := testTrip(t, "SCO-DE-HAM", 43)
	if reflect.DeepEqual(a, c) {
		t.Fatal("another seed planned the same trip")
	}
}

func TestContainerPlan(t *testing.T) {
	// SCO-KZ-ALA: CNJZH CNURM CNHRS KZHOR KZALA; the gauge changes between CNHRS and KZHOR.
	tr, fixes := testTrip(t, "SCO-KZ-ALA", 3)
	evs := containerPlan(tr, box{No: "SCDU1234564", ISOCode: "45G1"}, fixes, dep0.Add(-cutoffBefore), rand.New(rand.NewPCG(1, 2)))
	var codes []string
	for i, e := range evs {
		if i > 0 && e.At.Before(evs[i-1].At) {
			t.Fatalf("event %d (%s) at %v before %v", i, e.Code, e.At, evs[i-1].At)
		}
		if e.Code == "POSITION" {
			if len(codes) == 0 || codes[len(codes)-1] != "POSITION" {
				codes = append(codes, "POSITION")
			}
			continue
		}
		codes = append(codes, e.Code+"@"+e.Location)
	}
	want := []string{"GTIN@CNJZH", "LOAD@CNJZH", "DEPA@CNJZH", "POSITION", "ARRI@CNURM", "DEPA@CNURM", "POSITION",
		"ARRI@CNHRS", "DEPA@CNHRS", "POSITION", "ARRI@KZHOR", "DISC@KZHOR", "LOAD@KZHOR", "DEPA@KZHOR", "POSITION",
		"ARRI@KZALA", "DISC@KZALA", "GTOT@KZALA"}
	if !reflect.DeepEqual(codes, want) {
		t.Fatalf("plan\n got %v\nwant %v", codes, want)
	}
	for _, e := range evs {
		if e.Code == "ARRI" && e.Location == "KZHOR" && (!e.Crossed || e.GaugeFrom != 1435 || e.GaugeTo != 1520) {
			t.Fatalf("border arrival without crossing details: %+v", e)
		}
	}
}

func TestLateGateInIsAfterTheCutoff(t *testing.T) {
	tr, _ := testTrip(t, "SCO-MN-ULN", 5)
	cutoff := dep0.Add(-cutoffBefore)
	evs := containerPlan(tr, box{No: "SCDU1234564", ISOCode: "22G1", LateGateIn: true}, nil, cutoff, rand.New(rand.NewPCG(1, 2)))
	if evs[0].Code != "GTIN" || !evs[0].At.After(cutoff) || !evs[1].At.Before(dep0) {
		t.Fatalf("late gate-in %v, load %v, cutoff %v, departure %v", evs[0].At, evs[1].At, cutoff, dep0)
	}
}

func TestClock(t *testing.T) {
	real := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	now := real
	c := newClock(func() time.Time { return now }, 1440, 48*time.Hour, 20*time.Hour)
	if got := c.Now(); !got.Equal(real.Add(-48 * time.Hour)) {
		t.Fatalf("start %v", got)
	}
	now = real.Add(time.Minute)
	if got := c.Now(); !got.Equal(real.Add(-24 * time.Hour)) {
		t.Fatalf("after a minute %v", got)
	}
	if d := c.Until(real); d != time.Minute {
		t.Fatalf("until real start: %v", d)
	}
	now = real.Add(10 * time.Minute) // far past the catch-up: capped at real + lead
	if got := c.Now(); !got.Equal(now.Add(20 * time.Hour)) {
		t.Fatalf("capped %v", got)
	}
	if d := c.Until(now.Add(21 * time.Hour)); d != time.Hour {
		t.Fatalf("until beyond the lead: %v", d)
	}
}
