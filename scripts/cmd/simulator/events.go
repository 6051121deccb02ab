package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// box is a container booked on a train.
type box struct {
	No       string
	Tenant   string
	ISOCode  string // 22G1 (20') or 45G1 (40' high cube)
	WeightKg int
	// LateGateIn: the truck reaches the terminal after the booking cut-off.
	LateGateIn bool
}

// plannedEvent is one thing a carrier, terminal or tracker will report, at a simulated time.
type plannedEvent struct {
	At        time.Time
	Container string
	Code      string // GTIN LOAD DEPA ARRI DISC GTOT POSITION
	Stop      int    // index of the stop on the route; -1 for a POSITION
	Location  string // UN/LOCODE of the stop
	Train     string
	ISOCode   string
	Fix       fix
	// Border crossing details on the ARRI after one.
	Crossed              bool
	ExitCountry, Country string
	GaugeFrom, GaugeTo   int
}

// containerPlan is everything reported about one container on tr, in time order: gate-in at the
// origin, LOAD, DEPA, positions, ARRI and DEPA at each stop (DISC and LOAD where the gauge
// changes), ARRI at the destination, DISC, gate-out. cutoff is the booking cut-off: a late box
// gates in after it, shortly before departure.
func containerPlan(tr trip, b box, fixes []fix, cutoff time.Time, rng *rand.Rand) []plannedEvent {
	first, last := tr.Stops[0], tr.Stops[len(tr.Stops)-1]
	ev := func(at time.Time, code string, stop int) plannedEvent {
		return plannedEvent{At: at, Container: b.No, Code: code, Stop: stop, Location: tr.Stops[stop].Code, Train: tr.Train, ISOCode: b.ISOCode}
	}
	gateIn := first.Depart.Add(-hours(rng, 8, 30))
	if b.LateGateIn {
		gateIn = cutoff.Add(hours(rng, 0.2, 0.8) * 2)
	}
	load := gateIn.Add(hours(rng, 0.5, 2))
	if !load.Before(first.Depart) {
		load = first.Depart.Add(-10 * time.Minute)
	}
	if !gateIn.Before(load) {
		gateIn = load.Add(-20 * time.Minute)
	}
	out := []plannedEvent{ev(gateIn, "GTIN", 0), ev(load, "LOAD", 0), ev(first.Depart, "DEPA", 0)}
	for i := 1; i < len(tr.Stops); i++ {
		st := tr.Stops[i]
		arri := ev(st.Arrive, "ARRI", i)
		if st.Crossed {
			prev := tr.Stops[i-1]
			arri.Crossed, arri.ExitCountry, arri.Country = true, prev.Country, st.Country
			if prev.GaugeMM != st.GaugeMM {
				arri.GaugeFrom, arri.GaugeTo = prev.GaugeMM, st.GaugeMM
			}
		}
		out = append(out, arri)
		if i == len(tr.Stops)-1 {
			break
		}
		if st.Reload {
			dwell := st.Depart.Sub(st.Arrive)
			disc := st.Arrive.Add(time.Duration(float64(dwell) * (0.1 + 0.3*rng.Float64()))).Truncate(time.Second)
			reload := disc.Add(time.Duration(float64(dwell) * (0.1 + 0.3*rng.Float64()))).Truncate(time.Second)
			out = append(out, ev(disc, "DISC", i), ev(reload, "LOAD", i))
		}
		out = append(out, ev(st.Depart, "DEPA", i))
	}
	disc := last.Arrive.Add(hours(rng, 1, 5))
	out = append(out, ev(disc, "DISC", len(tr.Stops)-1), ev(disc.Add(hours(rng, 4, 30)), "GTOT", len(tr.Stops)-1))
	for _, f := range fixes {
		out = append(out, plannedEvent{At: f.At, Container: b.No, Code: "POSITION", Stop: -1, Train: tr.Train, Fix: f})
	}
	slices.SortStableFunc(out, func(a, b plannedEvent) int { return a.At.Compare(b.At) })
	return out
}

// wire is the DCSA 2.2 JSON of e as tracking's POST /v1/events takes it.
func (e plannedEvent) wire(id string) map[string]any {
	at := e.At.UTC().Format(time.RFC3339)
	m := map[string]any{"eventID": id, "eventClassifierCode": "ACT", "eventDateTime": at, "equipmentReference": e.Container}
	switch e.Code {
	case "POSITION":
		m["eventType"] = "POSITION"
		m["latitude"], m["longitude"] = round6(e.Fix.Point.Lat), round6(e.Fix.Point.Lon)
		m["speedKmh"], m["headingDeg"] = e.Fix.SpeedKmh, e.Fix.HeadingDeg
		m["positionSource"], m["deviceID"], m["accuracyM"] = "GNSS", "trk-"+e.Container, 10
		m["trainNumber"], m["modeOfTransport"] = e.Train, "RAIL"
		return m
	case "DEPA", "ARRI":
		m["eventType"], m["transportEventTypeCode"] = "TRANSPORT", e.Code
	default:
		m["eventType"], m["equipmentEventTypeCode"] = "EQUIPMENT", e.Code
		m["ISOEquipmentCode"], m["emptyIndicatorCode"] = e.ISOCode, "LADEN"
		m["eventLocation"] = map[string]any{"UNLocationCode": e.Location}
	}
	m["eventCreatedDateTime"] = at
	if e.Code == "GTIN" || e.Code == "GTOT" {
		m["transportCall"] = map[string]any{"modeOfTransport": "TRUCK", "UNLocationCode": e.Location}
		return m
	}
	rail := map[string]any{"trainNumber": e.Train}
	if e.Crossed {
		rail["borderCrossing"], rail["exitCountryCode"], rail["entryCountryCode"] = true, e.ExitCountry, e.Country
		if e.GaugeFrom != 0 {
			rail["gaugeFromMM"], rail["gaugeToMM"] = e.GaugeFrom, e.GaugeTo
		}
	}
	m["transportCall"] = map[string]any{"modeOfTransport": "RAIL", "UNLocationCode": e.Location,
		"transportCallSequenceNumber": e.Stop + 1, "rail": rail}
	return m
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
