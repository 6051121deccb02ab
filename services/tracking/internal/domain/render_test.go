package domain

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from ToDCSA")

// roundTrip renders ev with ToDCSA, marshals it, and parses it back with other options (a
// later clock, another sender). It fails the test when the result is not ev but for
// RecordedAt and Source.
func roundTrip(t testing.TB, ev *trackingv1.ContainerEvent) {
	t.Helper()
	b, err := json.Marshal(ToDCSA(ev))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	opt := testOptions()
	opt.Now = func() time.Time { return now.Add(time.Hour) }
	opt.Source = "replay"
	opt.AcceptDerived = true
	back, err := Parse([]json.RawMessage{b}, opt)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", b, err)
	}
	want := proto.Clone(ev).(*trackingv1.ContainerEvent)
	got := back[0]
	for _, e := range []*trackingv1.ContainerEvent{want, got} {
		e.Envelope.RecordedAt = nil
		e.Envelope.Source = nil
	}
	if !proto.Equal(got, want) {
		t.Fatalf("round trip changed the event\n got %v\nwant %v\njson %s", got, want, b)
	}
}

func TestRoundTripSamples(t *testing.T) {
	for _, name := range sampleNames(t) {
		t.Run(name, func(t *testing.T) {
			evs, err := Parse([]json.RawMessage{sample(t, name)}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, evs[0])
		})
	}
}

// TestRoundTripBuilt: events that did not come through Parse (a derived event as the geofence
// projector builds it, a fully set vessel call) survive ToDCSA and Parse too.
func TestRoundTripBuilt(t *testing.T) {
	at := func(s string) *timestamppb.Timestamp {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return timestamppb.New(tm)
	}
	env := func(id string) *commonv1.Envelope {
		return &commonv1.Envelope{
			EventId:               id,
			OccurredAt:            at("2026-05-01T02:00:00Z"),
			OccurredOffsetSeconds: proto.Int32(8 * 3600),
			CreatedAt:             at("2026-05-01T02:00:31Z"),
			References:            []*commonv1.Reference{{Type: commonv1.ReferenceType_REFERENCE_TYPE_CONSIGNEE, Value: "C-1"}},
			DocumentReferences: []*commonv1.DocumentReference{
				{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_AIR_WAYBILL, Value: "784-12345675"},
				{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_BOOKING, Value: "bkg_01"},
			},
		}
	}
	tests := []struct {
		name string
		ev   *trackingv1.ContainerEvent
	}{
		{"derived gate-in", &trackingv1.ContainerEvent{
			Envelope:           env("1f0e2d3c-4b5a-5968-8776-655443322110"),
			EquipmentReference: "SCDU1234564",
			Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
			Derivation: &trackingv1.GeofenceDerivation{
				GeofenceId:      "geofence-qdmlc-gate",
				Transition:      trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER,
				PositionEventId: "5f1c2a9e-3b4d-4e6f-8a7b-9c0d1e2f3a4b",
			},
			Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
				EventType: trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN,
				EventLocation: &commonv1.Location{
					UnLocationCode: "CNJZH", FacilityCode: "QDMLC", Name: "Jiaozhou",
					FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
					FacilityType:             commonv1.FacilityType_FACILITY_TYPE_INTE,
				},
			}},
		}},
		{"vessel departure", &trackingv1.ContainerEvent{
			Envelope:   env("2f0e2d3c-4b5a-4968-8776-655443322110"),
			Classifier: trackingv1.EventClassifier_EVENT_CLASSIFIER_PLN,
			Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
				EventType: trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA,
				TransportCall: &trackingv1.TransportCall{
					TransportCallReference: "TC-1", ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_VESSEL,
					Location:           &commonv1.Location{UnLocationCode: "CNQDG"},
					CarrierServiceCode: "AE7", ExportVoyageNumber: "2619W", ImportVoyageNumber: "2618E", SequenceNumber: proto.Int32(2),
					Vessel: &trackingv1.Vessel{ImoNumber: "9321483", Name: "Emma Maersk", Flag: "DK", CallSign: "OYGR2", OperatorCarrierCode: "MAEU"},
				},
				DelayReasonCode: "WEA",
			}},
		}},
		{"position with every field", &trackingv1.ContainerEvent{
			Envelope:           &commonv1.Envelope{EventId: "3f0e2d3c-4b5a-4968-8776-655443322110", OccurredAt: at("2026-05-01T02:00:00.123456789Z"), OccurredOffsetSeconds: proto.Int32(-3 * 3600), CreatedAt: at("2026-05-01T02:00:00.123456789Z")},
			EquipmentReference: "CSQU3054383",
			Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
			Payload: &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{
				Latitude: -33.8688197, Longitude: 151.2092955, SpeedKmh: proto.Float64(0), HeadingDeg: proto.Float64(0), AccuracyM: proto.Float64(0),
				Source: trackingv1.PositionSource_POSITION_SOURCE_AIS, DeviceId: "MMSI-219018271", ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_VESSEL,
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.ev) })
	}
}

func TestToDCSATimesInSourceOffset(t *testing.T) {
	evs, err := Parse([]json.RawMessage{sample(t, "equipment_load_rail"), sample(t, "transport_border_rail")}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ev               *trackingv1.ContainerEvent
		occurred, create string
	}{
		{evs[0], "2026-05-01T10:00:00+08:00", "2026-05-01T10:00:30+08:00"},
		{evs[1], "2026-04-28T14:20:00+06:00", "2026-04-28T14:25:00+06:00"},
	}
	for _, tt := range tests {
		t.Run(tt.occurred, func(t *testing.T) {
			d := ToDCSA(tt.ev)
			if d.EventDateTime != tt.occurred || d.EventCreatedDateTime != tt.create {
				t.Errorf("got %s / %s, want %s / %s", d.EventDateTime, d.EventCreatedDateTime, tt.occurred, tt.create)
			}
		})
	}
}

// TestToDCSAGolden pins the rendered JSON of every sample (go test -update rewrites it).
func TestToDCSAGolden(t *testing.T) {
	for _, name := range sampleNames(t) {
		t.Run(name, func(t *testing.T) {
			evs, err := Parse([]json.RawMessage{sample(t, name)}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(ToDCSA(evs[0]), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ToDCSA(%s) changed:\n%s\nwant\n%s", name, got, want)
			}
		})
	}
}

func TestEventKindTypeCodeLocationOfEmpty(t *testing.T) {
	for _, ev := range []*trackingv1.ContainerEvent{nil, {}} {
		if EventKind(ev) != "" || TypeCode(ev) != "" || Location(ev) != "" {
			t.Errorf("%v: %q %q %q", ev, EventKind(ev), TypeCode(ev), Location(ev))
		}
	}
	ev := &trackingv1.ContainerEvent{Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
		EventType:     trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_INSP,
		EventLocation: &commonv1.Location{UnLocationCode: "KZALA"},
	}}}
	if EventKind(ev) != "EQUIPMENT" || TypeCode(ev) != "INSP" || Location(ev) != "KZALA" {
		t.Errorf("%q %q %q", EventKind(ev), TypeCode(ev), Location(ev))
	}
	if _, err := json.Marshal(ToDCSA(nil)); err != nil {
		t.Errorf("ToDCSA(nil): %v", err)
	}
}
