package geofence_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/unlocode"
	"github.com/scodalabs/scoda/services/tracking/internal/geofence"
)

const (
	container = "CSQU3054383"
	train     = "X8024"
	posID     = "5f1c2a9e-3b4d-4e6f-8a7b-9c0d1e2f3a4b"
)

var now = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

// positionEvent is the position event of fix f, as ingest publishes it.
func positionEvent(f geofence.Fix, mode commonv1.ModeOfTransport, trainNo string) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope: &commonv1.Envelope{
			EventId:    f.EventID,
			OccurredAt: timestamppb.New(f.At),
			CreatedAt:  timestamppb.New(f.At),
			RecordedAt: timestamppb.New(f.At.Add(time.Second)),
			TenantId:   "tenant-haier",
			Source:     &commonv1.Source{Type: commonv1.SourceType_SOURCE_TYPE_GATEWAY, Id: "gw-1"},
			References: []*commonv1.Reference{{Type: commonv1.ReferenceType_REFERENCE_TYPE_SHIPPER, Value: "SHP-1"}},
		},
		EquipmentReference: container,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{
			Latitude: f.Point.Lat, Longitude: f.Point.Lon, TrainNumber: trainNo, ModeOfTransport: mode,
			Source: trackingv1.PositionSource_POSITION_SOURCE_GNSS,
		}},
	}
}

// crossingFixes returns fixes 200 km apart across the pair from -> to, the
// newer one's position event, and the transitions between them.
func crossingFixes(t *testing.T, from, to unlocode.Code) (*trackingv1.ContainerEvent, []geofence.Transition) {
	t.Helper()
	a, b := across(t, from, to, 200)
	prev, next := fix(a, 0, "prev-id"), fix(b, 4*time.Hour, posID)
	ts := index(t).Transitions(prev, next)
	if len(ts) == 0 {
		t.Fatal("no transitions")
	}
	return positionEvent(next, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, train), ts
}

func TestDeriveBorderCrossing(t *testing.T) {
	tests := []struct {
		from, to           unlocode.Code
		exit, entry        string
		gaugeFrom, gaugeTo int32
	}{
		{"CNHRS", "KZHOR", "CN", "KZ", 1435, 1520},
		{"KZHOR", "CNHRS", "KZ", "CN", 1520, 1435},
		{"CNAKL", "KZDOS", "CN", "KZ", 1435, 1520},
		{"KZDOS", "CNAKL", "KZ", "CN", 1520, 1435},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"-"+string(tt.to), func(t *testing.T) {
			pos, ts := crossingFixes(t, tt.from, tt.to)
			evs := geofence.Derive(container, pos, ts, now)
			if len(evs) != len(ts) {
				t.Fatalf("%d events for %d transitions", len(evs), len(ts))
			}
			var ev *trackingv1.ContainerEvent
			var tr geofence.Transition
			for i, e := range evs {
				if e.GetTransport().GetTransportCall().GetRail().GetBorderCrossing() {
					if ev != nil {
						t.Fatal("two border-crossing events")
					}
					ev, tr = e, ts[i]
				}
			}
			if ev == nil {
				t.Fatal("no border-crossing event")
			}
			call := ev.GetTransport().GetTransportCall()
			rail := call.GetRail()
			checks := []struct {
				what      string
				got, want any
			}{
				{"event type", ev.GetTransport().GetEventType(), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI},
				{"location", call.GetLocation().GetUnLocationCode(), string(tt.to)},
				{"facility type", call.GetLocation().GetFacilityType(), commonv1.FacilityType_FACILITY_TYPE_BOCR},
				{"mode", call.GetModeOfTransport(), commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL},
				{"train", rail.GetTrainNumber(), train},
				{"exit country", rail.GetExitCountryCode(), tt.exit},
				{"entry country", rail.GetEntryCountryCode(), tt.entry},
				{"gauge from", rail.GetGaugeFromMm(), tt.gaugeFrom},
				{"gauge to", rail.GetGaugeToMm(), tt.gaugeTo},
				{"classifier", ev.GetClassifier(), trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT},
				{"geofence id", ev.GetDerivation().GetGeofenceId(), geofence.BorderID(tt.from, tt.to)},
				{"transition", ev.GetDerivation().GetTransition(), trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER},
				{"position event id", ev.GetDerivation().GetPositionEventId(), posID},
				{"occurred at", ev.GetEnvelope().GetOccurredAt().AsTime(), tr.At},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestDeriveEnvelopeAndPayload(t *testing.T) {
	qqctn := terminal(t, "QQCTN")
	prev, next := fix(destination(qqctn, 180, 5), 0, "prev-id"), fix(destination(qqctn, 0, 5), 20*time.Minute, posID)
	var ts []geofence.Transition
	for _, tr := range index(t).Transitions(prev, next) {
		if tr.Fence.ID == "CNQIN:QQCTN" {
			ts = append(ts, tr)
		}
	}
	pos := positionEvent(next, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK, "")
	evs := geofence.Derive(container, pos, ts, now)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	wantType := []trackingv1.TransportEventType{trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA}
	wantTransition := []trackingv1.GeofenceTransition{trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER, trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_EXIT}
	for i, ev := range evs {
		env, call := ev.GetEnvelope(), ev.GetTransport().GetTransportCall()
		checks := []struct {
			what      string
			got, want any
		}{
			{"equipment reference", ev.GetEquipmentReference(), container},
			{"classifier", ev.GetClassifier(), trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT},
			{"event type", ev.GetTransport().GetEventType(), wantType[i]},
			{"transition", ev.GetDerivation().GetTransition(), wantTransition[i]},
			{"geofence id", ev.GetDerivation().GetGeofenceId(), "CNQIN:QQCTN"},
			{"position event id", ev.GetDerivation().GetPositionEventId(), posID},
			{"mode", call.GetModeOfTransport(), commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK},
			{"rail", call.GetRail() == nil, true},
			{"location", call.GetLocation().GetUnLocationCode(), "CNQIN"},
			{"facility", call.GetLocation().GetFacilityCode(), "QQCTN"},
			{"facility list", call.GetLocation().GetFacilityCodeListProvider(), commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SMDG},
			{"facility type", call.GetLocation().GetFacilityType(), commonv1.FacilityType_FACILITY_TYPE_POTE},
			{"occurred at", env.GetOccurredAt().AsTime(), ts[i].At},
			{"created at", env.GetCreatedAt().AsTime(), now},
			{"recorded at", env.GetRecordedAt().AsTime(), now},
			{"source type", env.GetSource().GetType(), commonv1.SourceType_SOURCE_TYPE_SCODA},
			{"source id", env.GetSource().GetId(), geofence.SourceID},
			{"causation id", env.GetCausationId(), posID},
			{"tenant", env.GetTenantId(), "tenant-haier"},
			{"references", proto.Equal(env.GetReferences()[0], pos.GetEnvelope().GetReferences()[0]), true},
			{"references cloned", env.GetReferences()[0] != pos.GetEnvelope().GetReferences()[0], true},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("event %d: %s: got %v, want %v", i, c.what, c.got, c.want)
			}
		}
	}
	if !evs[0].GetEnvelope().GetOccurredAt().AsTime().Before(evs[1].GetEnvelope().GetOccurredAt().AsTime()) {
		t.Error("arrival not before departure")
	}
}

func TestDeriveMode(t *testing.T) {
	urumqi := place(t, "CNURM")
	prev, next := fix(destination(urumqi, 90, 30), 0, "p"), fix(urumqi, time.Hour, posID)
	ts := index(t).Transitions(prev, next)
	tests := []struct {
		name      string
		mode      commonv1.ModeOfTransport
		trainNo   string
		wantMode  commonv1.ModeOfTransport
		wantTrain bool
	}{
		{"rail with train", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, train, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, true},
		{"train number implies rail", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_UNSPECIFIED, train, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, true},
		{"truck", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK, "", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK, false},
		{"unknown stays unknown", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_UNSPECIFIED, "", commonv1.ModeOfTransport_MODE_OF_TRANSPORT_UNSPECIFIED, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := geofence.Derive(container, positionEvent(next, tt.mode, tt.trainNo), ts, now)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			call := evs[0].GetTransport().GetTransportCall()
			if call.GetModeOfTransport() != tt.wantMode {
				t.Errorf("mode %v, want %v", call.GetModeOfTransport(), tt.wantMode)
			}
			if got := call.GetRail().GetTrainNumber() == train; got != tt.wantTrain {
				t.Errorf("rail %v, want train number: %v", call.GetRail(), tt.wantTrain)
			}
		})
	}
}

func TestDeriveIDs(t *testing.T) {
	pos, ts := crossingFixes(t, "CNHRS", "KZHOR")
	first := geofence.Derive(container, pos, ts, now)
	again := geofence.Derive(container, pos, ts, now.Add(time.Hour)) // a redelivery, later
	ids := map[string]bool{}
	for i := range first {
		id := first[i].GetEnvelope().GetEventId()
		if id != again[i].GetEnvelope().GetEventId() {
			t.Errorf("event %d: id %s on first derivation, %s on the second", i, id, again[i].GetEnvelope().GetEventId())
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 5 || u.String() != id {
			t.Errorf("event %d: id %q is not a canonical UUIDv5 (%v)", i, id, err)
		}
		if ids[id] {
			t.Errorf("event %d: id %s used twice", i, id)
		}
		ids[id] = true
	}
	// Enter and border crossing at KZHOR, enter and exit at CNHRS: one fix,
	// one fence, different kinds.
	differ := []struct{ a, b string }{
		{geofence.DerivedEventID(container, "CNHRS", geofence.Enter, posID), geofence.DerivedEventID(container, "CNHRS", geofence.Exit, posID)},
		{geofence.DerivedEventID(container, "KZHOR", geofence.Enter, posID), geofence.DerivedEventID(container, "KZHOR", geofence.BorderCrossed, posID)},
		{geofence.DerivedEventID(container, "CNHRS", geofence.Enter, posID), geofence.DerivedEventID(container, "CNHRS", geofence.Enter, "other-fix")},
		{geofence.DerivedEventID(container, "CNHRS", geofence.Enter, posID), geofence.DerivedEventID("MSKU9070323", "CNHRS", geofence.Enter, posID)},
		{geofence.DerivedEventID(container, "CNHRS", geofence.Enter, posID), geofence.DerivedEventID(container, "KZHOR", geofence.Enter, posID)},
	}
	for i, d := range differ {
		if d.a == d.b {
			t.Errorf("pair %d: same id %s", i, d.a)
		}
	}
	if got := geofence.Derive(container, pos, nil, now); got != nil {
		t.Errorf("no transitions: %d events", len(got))
	}
}

func TestDeriveSubjects(t *testing.T) {
	pos, ts := crossingFixes(t, "CNHRS", "KZHOR")
	trainPos := proto.Clone(pos).(*trackingv1.ContainerEvent)
	trainPos.EquipmentReference = ""
	tests := []struct {
		name      string
		container string
		pos       *trackingv1.ContainerEvent
		want      string
	}{
		{"container", container, pos, "tracking.v1.container.transport." + container},
		{"train without container", "", trainPos, "tracking.v1.train.transport." + train},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := geofence.Derive(tt.container, tt.pos, ts, now)
			if len(evs) == 0 {
				t.Fatal("no events")
			}
			for i, ev := range evs {
				subject, err := events.Subject(ev)
				if err != nil || subject != tt.want {
					t.Errorf("event %d: subject %q, %v; want %q", i, subject, err, tt.want)
				}
				data, err := events.Marshal(ev)
				if err != nil {
					t.Fatalf("event %d: marshal: %v", i, err)
				}
				var back trackingv1.ContainerEvent
				if err := events.Unmarshal(data, &back); err != nil || !proto.Equal(&back, ev) {
					t.Errorf("event %d: round trip: %v", i, err)
				}
			}
		})
	}
}

func TestFixFromEvent(t *testing.T) {
	f := fix(geo.Point{Lat: 44.05, Lon: 80.833}, time.Hour, posID)
	got, ok := geofence.FixFromEvent(positionEvent(f, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, train))
	if !ok || got.Point != f.Point || !got.At.Equal(f.At) || got.EventID != posID {
		t.Errorf("got %+v, %v; want %+v", got, ok, f)
	}
	bad := positionEvent(fix(geo.Point{Lat: 95, Lon: 0}, 0, posID), commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, train)
	notPosition := &trackingv1.ContainerEvent{Envelope: bad.GetEnvelope(), Payload: &trackingv1.ContainerEvent_Transport{}}
	for i, ev := range []*trackingv1.ContainerEvent{bad, notPosition, nil} {
		if _, ok := geofence.FixFromEvent(ev); ok {
			t.Errorf("case %d: a fix from %v", i, ev)
		}
	}
}

func FuzzTransitions(f *testing.F) {
	ix := index(f)
	fences := ix.Fences()
	f.Add(43.70, 81.70, 44.56, 79.50, uint8(0), int64(1_700_000_000), int64(4*time.Hour))
	f.Add(0.0, -0.05, 0.0, 0.05, uint8(35), int64(0), int64(20*time.Minute))
	f.Add(0.02, 0.0, -0.02, 0.0, uint8(3), int64(-5), int64(time.Hour))
	f.Add(0.0, 0.0, 0.0, 0.0, uint8(1), int64(0), int64(1))
	f.Add(89.9, 179.9, 89.9, -179.9, uint8(0), int64(0), int64(time.Minute))
	f.Add(1e9, 0.0, 0.0, 0.0, uint8(0), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, lat1, lon1, lat2, lon2 float64, near uint8, sec, dt int64) {
		p1, p2 := geo.Point{Lat: lat1, Lon: lon1}, geo.Point{Lat: lat2, Lon: lon2}
		if near > 0 {
			// Offsets of up to ±1° around a fence, so the fences get hit.
			c := fences[int(near)%len(fences)].Area.Center
			p1 = geo.Point{Lat: c.Lat + frac(lat1), Lon: c.Lon + frac(lon1)}
			p2 = geo.Point{Lat: c.Lat + frac(lat2), Lon: c.Lon + frac(lon2)}
		}
		prev := geofence.Fix{Point: p1, At: time.Unix(sec, 0), EventID: "p"}
		next := geofence.Fix{Point: p2, At: prev.At.Add(time.Duration(dt)), EventID: "n"}
		ts := ix.Transitions(prev, next)
		checkTimes(t, prev, next, ts)
		if len(ts) > 0 && !next.At.After(prev.At) {
			t.Fatal("transitions between fixes not in time order")
		}
		for _, tr := range ts {
			if (tr.Kind == geofence.BorderCrossed) != (tr.Crossing != nil) {
				t.Fatalf("%s with crossing %v", tr.Kind, tr.Crossing)
			}
		}
		evs := geofence.Derive(container, positionEvent(next, commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, train), ts, now)
		if len(evs) != len(ts) {
			t.Fatalf("%d events for %d transitions", len(evs), len(ts))
		}
		ids := map[string]bool{}
		for _, ev := range evs {
			if _, err := events.Subject(ev); err != nil {
				t.Fatal(err)
			}
			id := ev.GetEnvelope().GetEventId()
			if ids[id] {
				t.Fatalf("id %s used twice", id)
			}
			ids[id] = true
		}
	})
}

// frac maps any float to [-1, 1] (NaN stays NaN, which makes the point
// invalid).
func frac(v float64) float64 {
	if v > 1 || v < -1 {
		return v - float64(int64(v))
	}
	return v
}

func BenchmarkTransitions(b *testing.B) {
	ix := index(b)
	hrsCN, hrsKZ := across(b, "CNHRS", "KZHOR", 200)
	steppe := geo.Point{Lat: 44.5, Lon: 85.0}
	cases := []struct {
		name       string
		prev, next geo.Point
	}{
		{"20min-far-from-fences", steppe, destination(steppe, 270, 20)},
		{"20min-into-Horgos", destination(place(b, "CNHRS"), 110, 18), place(b, "CNHRS")},
		{"200km-across-Khorgos", hrsCN, hrsKZ},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			prev, next := fix(c.prev, 0, "p"), fix(c.next, 20*time.Minute, "n")
			want := len(ix.Transitions(prev, next))
			b.ReportAllocs()
			b.ReportMetric(float64(len(ix.Fences())), "fences")
			for b.Loop() {
				if len(ix.Transitions(prev, next)) != want {
					b.Fatal("unstable")
				}
			}
		})
	}
}
