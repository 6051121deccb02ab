package domain

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
)

// FuzzParse feeds any body to DecodeBatch and Parse. Neither may panic, and whatever is
// accepted must be a valid event: a kind, a UUID, UTC times with the offset kept, a canonical
// container number, coordinates in range, and a rendering that parses back to the same event.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte(`{"events":[{"eventType":"POSITION","latitude":-0,"longitude":1e-320,"trainNumber":"X1","eventDateTime":"1970-01-01T00:00:00-23:59"}]}`), false)
	f.Add([]byte(`{"eventType":"EQUIPMENT","derivedFrom":{"geofenceID":"g","transition":"EXIT"},"equipmentReference":"csqu 305438-3"}`), true)

	f.Fuzz(func(t *testing.T, body []byte, derived bool) {
		items, err := DecodeBatch(body)
		if err != nil {
			return
		}
		opt := testOptions()
		opt.AcceptDerived = derived
		evs, err := Parse(items, opt)
		if err != nil {
			if evs != nil {
				t.Fatal("events and an error")
			}
			return
		}
		if len(evs) != len(items) {
			t.Fatalf("%d events for %d items", len(evs), len(items))
		}
		for _, ev := range evs {
			checkAccepted(t, ev)
			b, err := json.Marshal(ToDCSA(ev))
			if err != nil {
				t.Fatalf("ToDCSA: %v", err)
			}
			back, err := Parse([]json.RawMessage{b}, opt)
			if err != nil {
				t.Fatalf("rendered event rejected: %v\n%s", err, b)
			}
			if !proto.Equal(back[0], ev) {
				t.Fatalf("round trip changed the event\n got %v\nwant %v", back[0], ev)
			}
		}
	})
}

// FuzzParseFields reaches deeper than FuzzParse, whose inputs are mostly not JSON: it fuzzes
// the values of a well-formed event's fields.
func FuzzParseFields(f *testing.F) {
	f.Add("EQUIPMENT", "LOAD", "ACT", "2026-05-01T10:00:00+08:00", "2026-05-01T10:00:30+08:00", "CSQU3054383", "CNTAO", 36.05, 120.3, 12.5, "318045781230", "9321483", "CNN", "CS-1", "RAIL")
	f.Add("TRANSPORT", "ARRI", "EST", "2026-06-01T10:00:00-03:30", "2026-05-01T10:00:30Z", "", "KZDOS", 0.0, 0.0, 0.0, "52345678", "", "BKG", "B", "VESSEL")
	f.Add("POSITION", "", "", "2026-05-01T23:59:59.999999999+14:00", "", "csqu 305438-3", "", -90.0, 180.0, 400.0, "", "", "PO", "x", "AIR")
	f.Add("SHIPMENT", "ISSU", "PLN", "2026-05-01T10:00:00+08:00", "2026-05-01T10:00:00+08:00", "MSKU9070323", "DEHAM", 1.0, 1.0, 1.0, "", "", "TRD", "BL-1", "BARGE")
	f.Fuzz(func(t *testing.T, kind, code, classifier, occurred, created, container, locode string, lat, lon, speed float64, wagon, imo, refType, refValue, mode string) {
		ev := map[string]any{
			"eventType": kind, "eventClassifierCode": classifier, "eventDateTime": occurred,
			"equipmentReference": container,
			"references":         []any{map[string]any{"referenceType": refType, "referenceValue": refValue}},
		}
		if created != "" {
			ev["eventCreatedDateTime"] = created
		}
		call := map[string]any{"modeOfTransport": mode, "UNLocationCode": locode, "rail": map[string]any{"wagonNumber": wagon, "trainNumber": refValue}}
		if imo != "" {
			call["vessel"] = map[string]any{"vesselIMONumber": imo}
		}
		switch kind {
		case "EQUIPMENT":
			ev["equipmentEventTypeCode"] = code
			ev["transportCall"] = call
			ev["eventLocation"] = map[string]any{"UNLocationCode": locode, "latitude": lat, "longitude": lon}
		case "TRANSPORT":
			ev["transportEventTypeCode"] = code
			ev["transportCall"] = call
		case "SHIPMENT":
			ev["shipmentEventTypeCode"] = code
			ev["documentTypeCode"] = refType
			ev["documentID"] = refValue
		default:
			ev["latitude"], ev["longitude"], ev["speedKmh"], ev["trainNumber"], ev["modeOfTransport"] = lat, lon, speed, wagon, mode
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return // NaN or infinity: not JSON
		}
		opt := testOptions()
		evs, err := Parse([]json.RawMessage{b}, opt)
		if err != nil {
			return
		}
		checkAccepted(t, evs[0])
		out, err := json.Marshal(ToDCSA(evs[0]))
		if err != nil {
			t.Fatalf("ToDCSA: %v", err)
		}
		back, err := Parse([]json.RawMessage{out}, opt)
		if err != nil || !proto.Equal(back[0], evs[0]) {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
	})
}

func checkAccepted(t *testing.T, ev *trackingv1.ContainerEvent) {
	t.Helper()
	env := ev.GetEnvelope()
	if EventKind(ev) == "" {
		t.Fatal("no payload")
	}
	if id, err := uuid.Parse(env.GetEventId()); err != nil || id.String() != env.GetEventId() || id == uuid.Nil {
		t.Fatalf("event id %q", env.GetEventId())
	}
	if env.OccurredOffsetSeconds == nil || env.GetOccurredAt().CheckValid() != nil || env.GetCreatedAt().CheckValid() != nil || env.GetRecordedAt().CheckValid() != nil {
		t.Fatalf("times: %v", env)
	}
	if ev.GetClassifier() == trackingv1.EventClassifier_EVENT_CLASSIFIER_UNSPECIFIED {
		t.Fatal("no classifier")
	}
	if ref := ev.GetEquipmentReference(); ref != "" {
		if n, err := iso6346.Parse(ref); err != nil || n.String() != ref {
			t.Fatalf("equipment reference %q: %v", ref, err)
		}
	} else if EventKind(ev) == KindEquipment {
		t.Fatal("equipment event without a container")
	}
	if p := ev.GetPosition(); p != nil {
		if !(p.Latitude >= -90 && p.Latitude <= 90 && p.Longitude >= -180 && p.Longitude <= 180) {
			t.Fatalf("position %v,%v", p.Latitude, p.Longitude)
		}
		for _, v := range []*float64{p.SpeedKmh, p.HeadingDeg, p.AccuracyM} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
				t.Fatalf("position value %v", *v)
			}
		}
		if ev.GetEquipmentReference() == "" && p.GetTrainNumber() == "" {
			t.Fatal("position of nothing")
		}
		if ev.GetClassifier() != trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT {
			t.Fatal("position not ACT")
		}
	}
	if n := len(env.GetReferences()) + len(ev.GetEquipment().GetSeals()); n > 2*MaxListItems {
		t.Fatalf("%d references and seals", n)
	}
}
