package main

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
)

// Speeds and dwells of a simulated train. A freight train on the corridor averages 40-60 km/h
// between stops (on the great-circle line between them, so the real rail distance is longer);
// it stops for hours at stations and for most of a day where containers change wagons.
const (
	minSpeedKmh = 40.0
	maxSpeedKmh = 60.0
)

// stopPlan is one stop of a trip: where, and when the train arrives and leaves (Arrive is zero
// at the origin, Depart at the destination).
type stopPlan struct {
	Code    string
	Point   geo.Point
	Country string
	GaugeMM int
	Arrive  time.Time
	Depart  time.Time
	// Reload: containers change wagons here (a break of gauge between the previous stop and
	// this one, not at the destination): DISC then LOAD during the dwell.
	Reload bool
	// Crossed: the train entered another country on the way to this stop.
	Crossed bool
}

// trip is a train's run along its route: stop times and a speed per segment.
type trip struct {
	Route  string
	Train  string
	Stops  []stopPlan
	Speeds []float64 // km/h on the segment from Stops[i] to Stops[i+1]
	Kms    []float64 // great-circle length of that segment
}

// planTrip plans a train on r leaving its origin at dep: a speed in [minSpeedKmh, maxSpeedKmh]
// per segment and a dwell per intermediate stop (2-5 h at a station, 3-8 h at a border, 6-14 h
// where the gauge changes); longDwell adds 24-36 h at the first border (a queue at customs).
func planTrip(n *corridor.Network, r corridor.Route, train string, dep time.Time, rng *rand.Rand, longDwell bool) trip {
	tr := trip{Route: r.Code, Train: train}
	for _, code := range r.Stops {
		loc, _ := n.Location(code)
		tr.Stops = append(tr.Stops, stopPlan{Code: string(loc.Code), Point: loc.Point, Country: loc.Country, GaugeMM: loc.GaugeMM})
	}
	last := len(tr.Stops) - 1
	tr.Stops[0].Depart = dep
	at := dep
	bordered := false
	for i := 1; i <= last; i++ {
		prev, st := &tr.Stops[i-1], &tr.Stops[i]
		km := geo.DistanceKm(prev.Point, st.Point)
		speed := minSpeedKmh + (maxSpeedKmh-minSpeedKmh)*rng.Float64()
		tr.Kms = append(tr.Kms, km)
		tr.Speeds = append(tr.Speeds, speed)
		at = at.Add(time.Duration(km / speed * float64(time.Hour))).Truncate(time.Second)
		if !at.After(prev.Depart) {
			at = prev.Depart.Add(time.Minute)
		}
		st.Arrive = at
		st.Crossed = st.Country != prev.Country
		st.Reload = prev.GaugeMM != st.GaugeMM && i != last
		if i == last {
			break
		}
		var dwell time.Duration
		switch loc, _ := n.Location(r.Stops[i]); {
		case st.Reload:
			dwell = hours(rng, 6, 14)
		case loc.Role == corridor.RoleBorder:
			dwell = hours(rng, 3, 8)
		default:
			dwell = hours(rng, 2, 5)
		}
		if longDwell && !bordered && (st.Reload || st.Crossed) {
			dwell += hours(rng, 24, 36)
			bordered = true
		}
		at = at.Add(dwell).Truncate(time.Second)
		st.Depart = at
	}
	return tr
}

// hours is a random duration between lo and hi hours, to the minute.
func hours(rng *rand.Rand, lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*rng.Float64()) * float64(time.Hour)).Truncate(time.Minute)
}

// Arrival is when the train reaches its destination.
func (tr trip) Arrival() time.Time { return tr.Stops[len(tr.Stops)-1].Arrive }

// fix is one GNSS position of the train at a time.
type fix struct {
	At         time.Time
	Point      geo.Point
	SpeedKmh   float64
	HeadingDeg float64
	Segment    int     // the segment it is on
	Along      float64 // km from the origin along the route
}

// fixes are the train's positions every `every` while it runs between stops (none during
// dwells: trackers report on movement), with up to ~10 m of GNSS noise and the reported speed
// within ±10 % of the segment's average.
func (tr trip) fixes(every time.Duration, rng *rand.Rand) []fix {
	var out []fix
	done := 0.0
	for i := 0; i+1 < len(tr.Stops); i++ {
		from, to := tr.Stops[i], tr.Stops[i+1]
		span := to.Arrive.Sub(from.Depart)
		heading := geo.InitialBearingDeg(from.Point, to.Point)
		for t := from.Depart.Truncate(every).Add(every); t.Before(to.Arrive); t = t.Add(every) {
			f := float64(t.Sub(from.Depart)) / float64(span)
			p := interpolate(from.Point, to.Point, f)
			p.Lat += (rng.Float64() - 0.5) * 0.0001
			p.Lon += (rng.Float64() - 0.5) * 0.0001
			out = append(out, fix{At: t, Point: p, SpeedKmh: round1(tr.Speeds[i] * (0.9 + 0.2*rng.Float64())),
				HeadingDeg: round1(heading), Segment: i, Along: done + f*tr.Kms[i]})
		}
		done += tr.Kms[i]
	}
	return out
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// interpolate is the point a fraction f of the way from a to b on the great circle.
func interpolate(a, b geo.Point, f float64) geo.Point {
	d := geo.DistanceKm(a, b) / geo.EarthRadiusKm
	if d < 1e-12 {
		return a
	}
	rad := math.Pi / 180
	φ1, λ1, φ2, λ2 := a.Lat*rad, a.Lon*rad, b.Lat*rad, b.Lon*rad
	wa, wb := math.Sin((1-f)*d)/math.Sin(d), math.Sin(f*d)/math.Sin(d)
	x := wa*math.Cos(φ1)*math.Cos(λ1) + wb*math.Cos(φ2)*math.Cos(λ2)
	y := wa*math.Cos(φ1)*math.Sin(λ1) + wb*math.Cos(φ2)*math.Sin(λ2)
	z := wa*math.Sin(φ1) + wb*math.Sin(φ2)
	return geo.Point{Lat: math.Atan2(z, math.Hypot(x, y)) / rad, Lon: math.Atan2(y, x) / rad}
}
