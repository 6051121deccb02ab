package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/apperr"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// TestParseRules has a case per rule: every good case must parse, every bad one must fail
// with exactly the named field (and only problems on that field) and a reason containing want.
func TestParseRules(t *testing.T) {
	equipment := sampleMap(t, "equipment_load_rail")
	transport := sampleMap(t, "transport_border_rail")
	vessel := sampleMap(t, "transport_depa_vessel")
	shipment := sampleMap(t, "shipment_issu")
	position := sampleMap(t, "position_container")
	train := sampleMap(t, "position_train")

	type tc struct {
		name  string
		event map[string]any
		field string // "" for a good case
		want  string
	}
	p := func(base map[string]any, path string, v any) map[string]any { return patch(t, base, path, v) }
	many := func(n int, item map[string]any) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = item
		}
		return s
	}
	tests := []tc{
		// Samples and leniency.
		{name: "equipment sample", event: equipment},
		{name: "transport sample", event: transport},
		{name: "vessel sample", event: vessel},
		{name: "shipment sample", event: shipment},
		{name: "position sample", event: position},
		{name: "train position sample", event: train},
		{name: "unknown fields ignored", event: p(equipment, "transportCall.somethingNew", map[string]any{"x": []any{1, 2}})},
		{name: "lower-case codes", event: p(p(equipment, "eventType", "equipment"), "equipmentEventTypeCode", "load")},

		// eventType and eventID.
		{name: "eventType missing", event: p(equipment, "eventType", del), field: "eventType", want: "required (one of EQUIPMENT, TRANSPORT, SHIPMENT, POSITION)"},
		{name: "eventType unknown", event: p(equipment, "eventType", "OPERATIONS"), field: "eventType", want: `unknown eventType "OPERATIONS" (allowed: EQUIPMENT`},
		{name: "eventID not a UUID", event: p(equipment, "eventID", "42"), field: "eventID", want: `"42" is not a UUID`},
		{name: "eventID braces form", event: p(equipment, "eventID", "{0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b01}"), field: "eventID", want: "is not a UUID"},
		{name: "eventID nil UUID", event: p(equipment, "eventID", "00000000-0000-0000-0000-000000000000"), field: "eventID", want: "nil UUID"},
		{name: "eventID absent", event: p(equipment, "eventID", del)},

		// Classifier.
		{name: "classifier required for DCSA types", event: p(equipment, "eventClassifierCode", del), field: "eventClassifierCode", want: "required (one of PLN, EST, ACT)"},
		{name: "classifier unknown", event: p(equipment, "eventClassifierCode", "REQ"), field: "eventClassifierCode", want: `unknown eventClassifierCode "REQ" (allowed: PLN, EST, ACT)`},
		{name: "position defaults to ACT", event: p(position, "eventClassifierCode", del)},
		{name: "position must be ACT", event: p(position, "eventClassifierCode", "EST"), field: "eventClassifierCode", want: "POSITION events are always ACT, got EST"},
		{name: "estimated equipment event", event: p(equipment, "eventClassifierCode", "EST")},

		// Times.
		{name: "eventDateTime required", event: p(equipment, "eventDateTime", del), field: "eventDateTime", want: "required (RFC 3339 with offset"},
		{name: "eventDateTime without offset", event: p(equipment, "eventDateTime", "2026-05-01T10:00:00"), field: "eventDateTime", want: "offset required (e.g. 2026-05-01T10:00:00+08:00)"},
		{name: "eventDateTime with bad offset", event: p(equipment, "eventDateTime", "2026-05-01T10:00:00+0800"), field: "eventDateTime", want: "offset must be Z or ±hh:mm (e.g."},
		{name: "eventDateTime not a date", event: p(equipment, "eventDateTime", "yesterday"), field: "eventDateTime", want: "want YYYY-MM-DDThh:mm:ss"},
		{name: "eventDateTime before 1970", event: p(p(equipment, "eventDateTime", "1969-12-31T23:00:00Z"), "eventCreatedDateTime", "2026-05-01T10:00:30+08:00"), field: "eventDateTime", want: "outside the years 1970 to 2099"},
		{name: "eventDateTime a number", event: p(equipment, "eventDateTime", 1746000000), field: "eventDateTime", want: "must be a string, got a number"},
		{name: "eventCreatedDateTime required for DCSA types", event: p(equipment, "eventCreatedDateTime", del), field: "eventCreatedDateTime", want: "required"},
		{name: "eventCreatedDateTime optional for POSITION", event: p(train, "eventCreatedDateTime", del)},
		{name: "actual event 3 days ahead", event: p(p(equipment, "eventDateTime", "2026-05-05T00:00:00Z"), "eventCreatedDateTime", "2026-05-01T00:00:00Z"), field: "eventDateTime", want: "is 3 days in the future; at most 24h allowed"},
		{name: "actual event 23h ahead is within the horizon", event: p(p(equipment, "eventDateTime", "2026-05-02T23:00:00Z"), "eventCreatedDateTime", "2026-05-02T23:00:00Z")},
		{name: "position 2 days ahead", event: p(position, "eventDateTime", "2026-05-04T00:00:00Z"), field: "eventDateTime", want: "is 2 days in the future"},
		{name: "planned event 30 days ahead", event: p(p(equipment, "eventClassifierCode", "PLN"), "eventDateTime", "2026-06-01T00:00:00+02:00")},
		{name: "created 26h ahead", event: p(p(equipment, "eventClassifierCode", "PLN"), "eventCreatedDateTime", "2026-05-03T02:00:00Z"), field: "eventCreatedDateTime", want: "is 26h in the future; at most 24h allowed"},

		// equipmentReference.
		{name: "container check digit", event: p(equipment, "equipmentReference", "CSQU3054384"), field: "equipmentReference", want: "check digit is 4, expected 3"},
		{name: "container too short", event: p(equipment, "equipmentReference", "CSQU305438"), field: "equipmentReference", want: "expected 11"},
		{name: "container required for EQUIPMENT", event: p(equipment, "equipmentReference", del), field: "equipmentReference", want: "required for EQUIPMENT"},
		{name: "container optional for TRANSPORT", event: p(transport, "equipmentReference", del)},
		{name: "container optional for SHIPMENT", event: p(shipment, "equipmentReference", del)},
		{name: "container required for POSITION without a train", event: p(p(position, "equipmentReference", del), "trainNumber", del), field: "equipmentReference", want: "unless trainNumber is given"},
		{name: "equipmentReference a number", event: p(equipment, "equipmentReference", 12), field: "equipmentReference", want: "must be a string, got a number"},

		// Type codes and fields of other types.
		{name: "equipment type code misspelt", event: p(equipment, "equipmentEventTypeCode", "LAOD"), field: "equipmentEventTypeCode", want: `unknown equipmentEventTypeCode "LAOD" (allowed: LOAD, DISC, GTIN`},
		{name: "equipment type code missing", event: p(equipment, "equipmentEventTypeCode", del), field: "equipmentEventTypeCode", want: "required (one of LOAD"},
		{name: "transport type code unknown", event: p(transport, "transportEventTypeCode", "ARRV"), field: "transportEventTypeCode", want: `unknown transportEventTypeCode "ARRV" (allowed: ARRI, DEPA)`},
		{name: "shipment type code unknown", event: p(shipment, "shipmentEventTypeCode", "DONE"), field: "shipmentEventTypeCode", want: "allowed: RECE, DRFT"},
		{name: "type code of another type", event: p(transport, "equipmentEventTypeCode", "LOAD"), field: "equipmentEventTypeCode", want: "not used on TRANSPORT events (only on EQUIPMENT)"},
		{name: "seals on a transport event", event: p(transport, "seals", []any{map[string]any{"sealNumber": "S1"}}), field: "seals", want: "not used on TRANSPORT events"},
		{name: "latitude on an equipment event", event: p(equipment, "latitude", 1.5), field: "latitude", want: "not used on EQUIPMENT events (only on POSITION)"},
		{name: "transportCall on a position", event: p(position, "transportCall", map[string]any{"modeOfTransport": "RAIL"}), field: "transportCall", want: "only on EQUIPMENT, TRANSPORT"},

		// Equipment fields.
		{name: "ISO size type code", event: p(equipment, "ISOEquipmentCode", "45G"), field: "ISOEquipmentCode", want: "4 characters"},
		{name: "empty indicator", event: p(equipment, "emptyIndicatorCode", "FULL"), field: "emptyIndicatorCode", want: `unknown emptyIndicatorCode "FULL" (allowed: EMPTY, LADEN)`},
		{name: "seal without number", event: p(equipment, "seals", []any{map[string]any{"sealNumber": "S1"}, map[string]any{"sealSource": "CAR"}}), field: "seals[1].sealNumber", want: "required"},
		{name: "seal source", event: p(equipment, "seals", []any{map[string]any{"sealNumber": "S1", "sealSource": "ME"}}), field: "seals[0].sealSource", want: `unknown sealSource "ME" (allowed: CAR, SHI, PHY, VET, CUS)`},
		{name: "seal number too long", event: p(equipment, "seals", []any{map[string]any{"sealNumber": strings.Repeat("1", 16)}}), field: "seals[0].sealNumber", want: "is 16 characters long; at most 15 allowed"},
		{name: "seal number wrong type", event: p(equipment, "seals", []any{map[string]any{"sealNumber": "S1"}, map[string]any{"sealNumber": 7}}), field: "seals[1].sealNumber", want: "must be a string, got a number"},
		{name: "50 seals", event: p(equipment, "seals", many(50, map[string]any{"sealNumber": "S1"}))},
		{name: "51 seals", event: p(equipment, "seals", many(51, map[string]any{"sealNumber": "S1"})), field: "seals", want: "at most 50 seals per event, got 51"},

		// Locations.
		{name: "UN/LOCODE alias accepted", event: p(equipment, "transportCall.UNLocationCode", "cntao")},
		{name: "UN/LOCODE of no country", event: p(equipment, "transportCall.UNLocationCode", "XXABC"), field: "transportCall.UNLocationCode", want: `country "XX" is not an assigned ISO 3166-1 code`},
		{name: "UN/LOCODE too long", event: p(equipment, "eventLocation.UNLocationCode", "CNQING"), field: "eventLocation.UNLocationCode", want: "expected 5"},
		{name: "eventLocation latitude out of range", event: p(equipment, "eventLocation.latitude", "91.0"), field: "eventLocation.latitude", want: "latitude 91 is outside -90..90"},
		{name: "eventLocation longitude as number", event: p(equipment, "eventLocation.longitude", 120.5)},
		{name: "eventLocation latitude not a number", event: p(equipment, "eventLocation.latitude", "north"), field: "eventLocation.latitude", want: "must be a number"},
		{name: "eventLocation latitude an object", event: p(equipment, "eventLocation.latitude", map[string]any{}), field: "eventLocation.latitude", want: "must be a number"},
		{name: "facility code without provider", event: p(equipment, "eventLocation.facilityCodeListProvider", del), field: "eventLocation.facilityCodeListProvider", want: "required with facilityCode"},
		{name: "provider without facility code", event: p(vessel, "transportCall.facilityCode", del), field: "transportCall.facilityCode", want: "required with facilityCodeListProvider"},
		{name: "SMDG facility code too long", event: p(vessel, "transportCall.facilityCode", "QQCTNXX"), field: "transportCall.facilityCode", want: "at most 6"},
		{name: "facility provider unknown", event: p(vessel, "transportCall.facilityCodeListProvider", "UN"), field: "transportCall.facilityCodeListProvider", want: "allowed: SMDG, BIC, SCODA"},
		{name: "facility type not for transport calls", event: p(vessel, "transportCall.facilityTypeCode", "BRTH"), field: "transportCall.facilityTypeCode", want: "BRTH is not allowed in a transport call"},
		{name: "facility type unknown", event: p(vessel, "transportCall.facilityTypeCode", "DOCK"), field: "transportCall.facilityTypeCode", want: `unknown facilityTypeCode "DOCK"`},
		{name: "air terminal extension", event: p(p(equipment, "eventLocation.facilityTypeCode", "AIRT"), "eventLocation.facilityCodeListProvider", "SCODA")},
		{name: "nested location contradicts the call", event: p(transport, "transportCall.location.UNLocationCode", "CNAKL"), field: "transportCall.location.UNLocationCode", want: "contradicts transportCall.UNLocationCode KZDOS"},
		{name: "location name control character", event: p(equipment, "eventLocation.locationName", "Qingdao\x00"), field: "eventLocation.locationName", want: "control character"},

		// Transport calls.
		{name: "transport call required for TRANSPORT", event: p(transport, "transportCall", del), field: "transportCall", want: "required for TRANSPORT"},
		{name: "mode of transport required", event: p(transport, "transportCall.modeOfTransport", del), field: "transportCall.modeOfTransport", want: "required (one of VESSEL, RAIL, TRUCK, BARGE, AIR)"},
		{name: "mode of transport unknown", event: p(transport, "transportCall.modeOfTransport", "SHIP"), field: "transportCall.modeOfTransport", want: `unknown modeOfTransport "SHIP"`},
		{name: "air mode", event: p(p(equipment, "transportCall", map[string]any{"modeOfTransport": "AIR", "vehicleReference": "CK262"}), "eventLocation.facilityTypeCode", "AIRT")},
		{name: "sequence number 0", event: p(transport, "transportCall.transportCallSequenceNumber", 0), field: "transportCall.transportCallSequenceNumber", want: "0 is outside 1..2147483647"},
		{name: "sequence number fraction", event: p(transport, "transportCall.transportCallSequenceNumber", 1.5), field: "transportCall.transportCallSequenceNumber", want: "must be an integer, got number 1.5"},
		{name: "vessel IMO check digit", event: p(vessel, "transportCall.vessel.vesselIMONumber", "9321484"), field: "transportCall.vessel.vesselIMONumber", want: "IMO check digit is 4, expected 3"},
		{name: "vessel IMO length", event: p(vessel, "transportCall.vessel.vesselIMONumber", "932148"), field: "transportCall.vessel.vesselIMONumber", want: "has 6 digits; an IMO number has 7"},
		{name: "barge ENI number", event: p(p(vessel, "transportCall.modeOfTransport", "BARGE"), "transportCall.vessel.vesselIMONumber", "02326543")},
		{name: "vessel name wrong type", event: p(vessel, "transportCall.vessel.vesselName", 5), field: "transportCall.vessel.vesselName", want: "must be a string, got a number"},
		{name: "vessel flag", event: p(vessel, "transportCall.vessel.vesselFlag", "EU"), field: "transportCall.vessel.vesselFlag", want: "not an assigned ISO 3166-1 alpha-2"},
		{name: "vessel on a train", event: p(transport, "transportCall.vessel", map[string]any{"vesselName": "X"}), field: "transportCall.vessel", want: "only for modeOfTransport VESSEL or BARGE"},
		{name: "rail on a vessel", event: p(vessel, "transportCall.rail", map[string]any{"trainNumber": "X1"}), field: "transportCall.rail", want: "only for modeOfTransport RAIL"},
		{name: "licence plate on a train", event: p(transport, "transportCall.vehicleReference", "B-12345"), field: "transportCall.vehicleReference", want: "only for modeOfTransport TRUCK"},
		{name: "delay reason code", event: p(transport, "delayReasonCode", "WEATHER"), field: "delayReasonCode", want: "3 letters"},
		{name: "change remark too long", event: p(transport, "changeRemark", strings.Repeat("é", 251)), field: "changeRemark", want: "is 251 characters long; at most 250"},

		// Rail extension.
		{name: "gauge not in use", event: p(transport, "transportCall.rail.gaugeToMM", 1400), field: "transportCall.rail.gaugeToMM", want: "1400 is not a track gauge in use (allowed: 1000, 1067, 1435, 1520, 1524"},
		{name: "gauge alone", event: p(transport, "transportCall.rail.gaugeToMM", del), field: "transportCall.rail.gaugeToMM", want: "given together"},
		{name: "metre gauge to standard", event: p(p(transport, "transportCall.rail.gaugeFromMM", 1000), "transportCall.rail.gaugeToMM", 1435)},
		{name: "border crossing needs countries", event: p(transport, "transportCall.rail.entryCountryCode", del), field: "transportCall.rail.entryCountryCode", want: "required when borderCrossing is true"},
		{name: "border crossing into the same country", event: p(transport, "transportCall.rail.entryCountryCode", "cn"), field: "transportCall.rail.entryCountryCode", want: "must differ from exitCountryCode"},
		{name: "countries without border crossing", event: p(transport, "transportCall.rail.borderCrossing", false), field: "transportCall.rail.borderCrossing", want: "must be true"},
		{name: "border crossing not a bool", event: p(transport, "transportCall.rail.borderCrossing", "yes"), field: "transportCall.rail.borderCrossing", want: "must be true or false, got a string"},
		{name: "country code", event: p(transport, "transportCall.rail.exitCountryCode", "CHN"), field: "transportCall.rail.exitCountryCode", want: "not an assigned ISO 3166-1 alpha-2"},
		{name: "UIC wagon check digit", event: p(equipment, "transportCall.rail.wagonNumber", "318045781234"), field: "transportCall.rail.wagonNumber", want: "UIC check digit is 4, expected 0"},
		{name: "1520 mm wagon number", event: p(equipment, "transportCall.rail.wagonNumber", "52345678")},
		{name: "wagon number form", event: p(equipment, "transportCall.rail.wagonNumber", "W-1"), field: "transportCall.rail.wagonNumber", want: "not a wagon number"},
		{name: "train number too long", event: p(equipment, "transportCall.rail.trainNumber", strings.Repeat("X", 21)), field: "transportCall.rail.trainNumber", want: "at most 20"},

		// References.
		{name: "reference type unknown", event: p(equipment, "references", []any{map[string]any{"referenceType": "XX", "referenceValue": "1"}}), field: "references[0].referenceType", want: `unknown referenceType "XX" (allowed: FF, SI, PO, CR, AAO, ECR, CSI, BPR, BID, CNN)`},
		{name: "reference type missing", event: p(equipment, "references", []any{map[string]any{"referenceValue": "1"}}), field: "references[0].referenceType", want: "required (one of FF"},
		{name: "reference value missing", event: p(equipment, "references", []any{map[string]any{"referenceType": "PO"}}), field: "references[0].referenceValue", want: "required"},
		{name: "reference value 100 characters", event: p(equipment, "references", []any{map[string]any{"referenceType": "PO", "referenceValue": strings.Repeat("7", 100)}})},
		{name: "reference value 101 characters", event: p(equipment, "references", []any{map[string]any{"referenceType": "PO", "referenceValue": strings.Repeat("7", 101)}}), field: "references[0].referenceValue", want: "is 101 characters long; at most 100 allowed"},
		{name: "51 references", event: p(equipment, "references", many(51, map[string]any{"referenceType": "PO", "referenceValue": "1"})), field: "references", want: "at most 50 references per event, got 51"},
		{name: "51 document references", event: p(equipment, "documentReferences", many(51, map[string]any{"documentReferenceType": "BKG", "documentReferenceValue": "1"})), field: "documentReferences", want: "at most 50 document references per event, got 51"},
		{name: "document reference type", event: p(equipment, "documentReferences", []any{map[string]any{"documentReferenceType": "BL", "documentReferenceValue": "1"}}), field: "documentReferences[0].documentReferenceType", want: "allowed: BKG, TRD, SBK, SSH, CIM, SMGS, CNN, CMR, AWB"},
		{name: "references not an array", event: p(equipment, "references", map[string]any{}), field: "references", want: "must be an array, got an object"},

		// Shipment fields.
		{name: "documentID required", event: p(shipment, "documentID", del), field: "documentID", want: "required"},
		{name: "document type unknown", event: p(shipment, "documentTypeCode", "BOL"), field: "documentTypeCode", want: `unknown documentTypeCode "BOL"`},
		{name: "shipment reason too long", event: p(shipment, "reason", strings.Repeat("r", 251)), field: "reason", want: "at most 250"},

		// Position fields.
		{name: "latitude 91", event: p(position, "latitude", 91), field: "latitude", want: "latitude 91 is outside -90..90"},
		{name: "longitude -180.5", event: p(position, "longitude", -180.5), field: "longitude", want: "longitude -180.5 is outside -180..180"},
		{name: "latitude -90 and longitude 180", event: p(p(position, "latitude", -90), "longitude", 180)},
		{name: "latitude 0 and longitude 0", event: p(p(position, "latitude", 0), "longitude", 0)},
		{name: "latitude missing", event: p(position, "latitude", del), field: "latitude", want: "required for POSITION"},
		{name: "latitude a string", event: p(position, "latitude", "36.05"), field: "latitude", want: "must be a number, got a string"},
		{name: "latitude too large for a float", event: p(position, "latitude", json.Number("1e400")), field: "latitude", want: "must be a number, got number 1e400"},
		{name: "speed 401", event: p(position, "speedKmh", 401), field: "speedKmh", want: "speedKmh 401 is outside 0..400"},
		{name: "speed negative", event: p(position, "speedKmh", -1), field: "speedKmh", want: "outside 0..400"},
		{name: "heading 360", event: p(position, "headingDeg", 360), field: "headingDeg", want: "headingDeg 360 is outside 0..360 (360 excluded)"},
		{name: "heading 359.9", event: p(position, "headingDeg", 359.9)},
		{name: "accuracy negative", event: p(position, "accuracyM", -1), field: "accuracyM", want: "outside 0..100000"},
		{name: "position source unknown", event: p(position, "positionSource", "GPS"), field: "positionSource", want: `unknown positionSource "GPS" (allowed: GNSS, AIS, RFID, OCR, CELLULAR, MANUAL)`},
		{name: "position mode unknown", event: p(position, "modeOfTransport", "CAMEL"), field: "modeOfTransport", want: `unknown modeOfTransport "CAMEL"`},
		{name: "device id too long", event: p(position, "deviceID", strings.Repeat("d", 65)), field: "deviceID", want: "at most 64"},
		{name: "device id with a tab", event: p(position, "deviceID", "a\tb"), field: "deviceID", want: "control or white-space"},

		// Derivation.
		{name: "derivedFrom from a carrier", event: p(equipment, "derivedFrom", map[string]any{"geofenceID": "g", "transition": "ENTER", "positionEventID": "5f1c2a9e-3b4d-4e6f-8a7b-9c0d1e2f3a4b"}), field: "derivedFrom", want: "set by SCODA only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ve := parseOne(t, tt.event, testOptions())
			if tt.field == "" {
				if ve != nil {
					t.Fatalf("rejected: %+v", ve.Fields)
				}
				if ev == nil {
					t.Fatal("no event")
				}
				return
			}
			if ve == nil {
				t.Fatalf("accepted, want a problem on %s", tt.field)
			}
			found := false
			for _, f := range ve.Fields {
				if f.Index == nil || *f.Index != 0 {
					t.Errorf("problem without index 0: %+v", f)
				}
				if f.Field != tt.field {
					t.Errorf("unexpected problem %s: %s", f.Field, f.Reason)
					continue
				}
				found = true
				if !strings.Contains(f.Reason, tt.want) {
					t.Errorf("reason %q, want it to contain %q", f.Reason, tt.want)
				}
			}
			if !found {
				t.Errorf("no problem on %s in %+v", tt.field, ve.Fields)
			}
		})
	}
}

// TestParseMapping checks what the samples become, field by field.
func TestParseMapping(t *testing.T) {
	t.Run("equipment load on a train", func(t *testing.T) {
		ev, ve := parseOne(t, sampleMap(t, "equipment_load_rail"), testOptions())
		if ve != nil {
			t.Fatal(ve)
		}
		env := ev.GetEnvelope()
		checks := []struct {
			name     string
			got, exp any
		}{
			{"event id lower-cased", env.GetEventId(), "0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b01"},
			{"occurred in UTC", env.GetOccurredAt().AsTime(), time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)},
			{"offset kept", env.GetOccurredOffsetSeconds(), int32(8 * 3600)},
			{"created in UTC", env.GetCreatedAt().AsTime(), time.Date(2026, 5, 1, 2, 0, 30, 0, time.UTC)},
			{"recorded is now", env.GetRecordedAt().AsTime(), now},
			{"source", env.GetSource().GetId() + "/" + env.GetSource().GetType().String(), "CR-EXPRESS/SOURCE_TYPE_RAIL_OPERATOR"},
			{"container canonical", ev.GetEquipmentReference(), "CSQU3054383"},
			{"classifier", ev.GetClassifier(), trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT},
			{"type", ev.GetEquipment().GetEventType(), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD},
			{"event location alias", ev.GetEquipment().GetEventLocation().GetUnLocationCode(), "CNQIN"},
			{"event location facility type", ev.GetEquipment().GetEventLocation().GetFacilityType(), commonv1.FacilityType_FACILITY_TYPE_INTE},
			{"call alias", ev.GetEquipment().GetTransportCall().GetLocation().GetUnLocationCode(), "CNQIN"},
			{"call mode", ev.GetEquipment().GetTransportCall().GetModeOfTransport(), commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL},
			{"wagon printed form", ev.GetEquipment().GetTransportCall().GetRail().GetWagonNumber(), "318045781230"},
			{"sequence", ev.GetEquipment().GetTransportCall().GetSequenceNumber(), int32(1)},
			{"seals", len(ev.GetEquipment().GetSeals()), 2},
			{"seal source", ev.GetEquipment().GetSeals()[1].GetSource(), trackingv1.SealSource_SEAL_SOURCE_CUS},
			{"references without CNN", len(env.GetReferences()), 1},
			{"CNN reference is a document reference, last", env.GetDocumentReferences()[2].String(), (&commonv1.DocumentReference{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CIM_SMGS_CONSIGNMENT_NOTE, Value: "CS-31245"}).String()},
			{"kind", EventKind(ev), "EQUIPMENT"},
			{"type code", TypeCode(ev), "LOAD"},
			{"location", Location(ev), "CNQIN"},
		}
		for _, c := range checks {
			if fmt.Sprint(c.got) != fmt.Sprint(c.exp) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.exp)
			}
		}
	})
	t.Run("border crossing", func(t *testing.T) {
		ev, ve := parseOne(t, sampleMap(t, "transport_border_rail"), testOptions())
		if ve != nil {
			t.Fatal(ve)
		}
		want := &trackingv1.TransportEvent{
			EventType: trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI,
			TransportCall: &trackingv1.TransportCall{
				TransportCallReference: "X8024-20260428-DOSTYK",
				ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
				Location: &commonv1.Location{
					UnLocationCode:           "KZDOS",
					FacilityCode:             "BORDER-CN-KZ-1",
					FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
					FacilityType:             commonv1.FacilityType_FACILITY_TYPE_BOCR,
					Name:                     "Dostyk border station",
				},
				CarrierServiceCode: "QD-DUI",
				ExportVoyageNumber: "X8024/0501",
				SequenceNumber:     proto.Int32(4),
				Rail: &trackingv1.RailDetails{
					TrainNumber:      "X8024",
					BorderCrossing:   true,
					ExitCountryCode:  "CN",
					EntryCountryCode: "KZ",
					GaugeFromMm:      proto.Int32(1435),
					GaugeToMm:        proto.Int32(1520),
				},
			},
			DelayReasonCode: "CGN",
			ChangeRemark:    "waited 6 h for a transshipment slot",
		}
		if !proto.Equal(ev.GetTransport(), want) {
			t.Errorf("got %v\nwant %v", ev.GetTransport(), want)
		}
		if got := ev.GetEnvelope().GetOccurredOffsetSeconds(); got != 6*3600 {
			t.Errorf("offset %d, want 21600", got)
		}
		if TypeCode(ev) != "ARRI" || EventKind(ev) != "TRANSPORT" || Location(ev) != "KZDOS" {
			t.Errorf("kind %s type %s location %s", EventKind(ev), TypeCode(ev), Location(ev))
		}
	})
	t.Run("train position with defaults", func(t *testing.T) {
		m := patch(t, patch(t, patch(t, sampleMap(t, "position_train"), "eventCreatedDateTime", del), "eventClassifierCode", del), "positionSource", del)
		ev, ve := parseOne(t, m, testOptions())
		if ve != nil {
			t.Fatal(ve)
		}
		want := &trackingv1.PositionFix{
			Latitude: 45.2149, Longitude: 82.4601, SpeedKmh: proto.Float64(12.5), HeadingDeg: proto.Float64(271.5),
			Source: trackingv1.PositionSource_POSITION_SOURCE_GNSS, DeviceId: "loco-HXD1-1024", TrainNumber: "X8024",
		}
		if !proto.Equal(ev.GetPosition(), want) {
			t.Errorf("got %v\nwant %v", ev.GetPosition(), want)
		}
		if ev.GetClassifier() != trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT {
			t.Errorf("classifier %v", ev.GetClassifier())
		}
		if !ev.GetEnvelope().GetCreatedAt().AsTime().Equal(ev.GetEnvelope().GetOccurredAt().AsTime()) {
			t.Errorf("created %v, want the fix time", ev.GetEnvelope().GetCreatedAt().AsTime())
		}
		if ev.GetEquipmentReference() != "" || TypeCode(ev) != "" || Location(ev) != "" || EventKind(ev) != "POSITION" {
			t.Errorf("container %q type %q location %q kind %q", ev.GetEquipmentReference(), TypeCode(ev), Location(ev), EventKind(ev))
		}
		if got := ev.GetEnvelope().GetOccurredOffsetSeconds(); ev.GetEnvelope().OccurredOffsetSeconds == nil || got != 0 {
			t.Errorf("Z offset: got %v, want 0 and set", ev.GetEnvelope().OccurredOffsetSeconds)
		}
	})
	t.Run("speed and heading zero are kept", func(t *testing.T) {
		ev, ve := parseOne(t, sampleMap(t, "position_container"), testOptions())
		if ve != nil {
			t.Fatal(ve)
		}
		if ev.GetPosition().SpeedKmh == nil || ev.GetPosition().HeadingDeg == nil {
			t.Errorf("speed %v heading %v, want 0 and 0", ev.GetPosition().SpeedKmh, ev.GetPosition().HeadingDeg)
		}
	})
}

// TestParseCollectsEveryProblem: all problems of all items, each with its index, and no events.
func TestParseCollectsEveryProblem(t *testing.T) {
	good := sampleMap(t, "position_container")
	bad0 := patch(t, patch(t, patch(t, good, "latitude", 91), "equipmentReference", "CSQU3054384"), "eventDateTime", "2026-05-01T10:00:00")
	bad2 := patch(t, good, "speedKmh", 500)
	items := []json.RawMessage{raw(t, bad0), raw(t, good), raw(t, bad2), json.RawMessage(`[]`), json.RawMessage(` null`), json.RawMessage(`"x"`)}
	evs, err := Parse(items, testOptions())
	if evs != nil {
		t.Fatalf("events returned with problems")
	}
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, fmt.Sprintf("%d %s", *f.Index, f.Field))
	}
	want := []string{"0 eventDateTime", "0 equipmentReference", "0 latitude", "2 speedKmh", "3 event", "4 event", "5 event"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problems %v, want %v", got, want)
	}
}

// TestParseTypeErrorsDoNotHideOthers: encoding/json stops at the first field of the wrong
// type; Parse reports it, removes it, and goes on.
func TestParseTypeErrorsDoNotHideOthers(t *testing.T) {
	m := sampleMap(t, "equipment_load_rail")
	m = patch(t, m, "transportCall.vessel", map[string]any{"vesselName": 7})
	m = patch(t, m, "seals", []any{map[string]any{"sealNumber": "A"}, map[string]any{"sealNumber": 5}})
	m = patch(t, m, "ISOEquipmentCode", []any{})
	m = patch(t, m, "equipmentReference", "CSQU3054384")
	_, ve := parseOne(t, m, testOptions())
	if ve == nil {
		t.Fatal("accepted")
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field+": "+f.Reason)
	}
	want := []string{
		"ISOEquipmentCode: must be a string, got an array",
		"equipmentReference: check digit is 4, expected 3",
		"seals[1].sealNumber: must be a string, got a number",
		"transportCall.vessel.vesselName: must be a string, got a number",
		"transportCall.vessel: only for modeOfTransport VESSEL or BARGE",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseBatchOf1000WithOneBadItem(t *testing.T) {
	items := make([]json.RawMessage, 1000)
	for i := range items {
		lat := 36.0 + float64(i)/1000
		if i == 737 {
			lat = 91
		}
		items[i] = json.RawMessage(fmt.Sprintf(`{"eventType":"POSITION","eventDateTime":"2026-05-01T10:%02d:%02d+08:00","equipmentReference":"CSQU3054383","latitude":%g,"longitude":120.3}`, i/60, i%60, lat))
	}
	evs, err := Parse(items, testOptions())
	if evs != nil {
		t.Fatal("events returned for a batch with a bad item")
	}
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	if len(ve.Fields) != 1 || ve.Fields[0].Index == nil || *ve.Fields[0].Index != 737 || ve.Fields[0].Field != "latitude" {
		t.Fatalf("problems %+v, want exactly one on item 737's latitude", ve.Fields)
	}
	if want := "latitude 91 is outside -90..90"; ve.Fields[0].Reason != want {
		t.Errorf("reason %q, want %q", ve.Fields[0].Reason, want)
	}

	items[737] = items[736]
	evs, err = Parse(items, testOptions())
	if err != nil || len(evs) != 1000 {
		t.Fatalf("fixed batch: %d events, %v", len(evs), err)
	}
}

func TestParseBoundsProblems(t *testing.T) {
	items := make([]json.RawMessage, 1000)
	for i := range items {
		items[i] = json.RawMessage(`{"eventType":"POSITION","latitude":"x","longitude":"y"}`)
	}
	_, err := Parse(items, testOptions())
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if len(ve.Fields) != maxProblems+1 || !strings.Contains(ve.Fields[maxProblems].Reason, "too many problems") {
		t.Errorf("%d problems, last %+v", len(ve.Fields), ve.Fields[len(ve.Fields)-1])
	}
}

// TestParseDuplicateEventIDs: the same eventID twice in one batch is accepted and both events
// are returned; the log de-duplicates (first wins), as for two requests.
func TestParseDuplicateEventIDs(t *testing.T) {
	a := sampleMap(t, "shipment_issu")
	b := patch(t, a, "reason", "re-sent with another remark")
	evs, err := Parse([]json.RawMessage{raw(t, a), raw(t, b), raw(t, a)}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for _, ev := range evs {
		if ev.GetEnvelope().GetEventId() != "84db923d-2a19-4eb0-beb5-446c1ec57d34" {
			t.Errorf("id %s", ev.GetEnvelope().GetEventId())
		}
	}
}

func TestContentID(t *testing.T) {
	base := patch(t, sampleMap(t, "equipment_load_rail"), "eventID", del)
	idOf := func(t *testing.T, m map[string]any, opt Options) string {
		t.Helper()
		ev, ve := parseOne(t, m, opt)
		if ve != nil {
			t.Fatal(ve)
		}
		id := ev.GetEnvelope().GetEventId()
		if _, given := m["eventID"]; !given && id != ContentID(ev) {
			t.Errorf("id %s is not ContentID %s", id, ContentID(ev))
		}
		return id
	}
	id := idOf(t, base, testOptions())
	if v := id[14]; v != '5' {
		t.Errorf("id %s is not a version 5 UUID", id)
	}
	later := testOptions()
	later.Now = func() time.Time { return now.Add(time.Hour) }
	later.Source = "another-gateway"

	same := []struct {
		name string
		m    map[string]any
		opt  Options
	}{
		{"the same event again", base, testOptions()},
		{"received later from another sender", base, later},
		{"alias instead of the current code", patch(t, patch(t, base, "transportCall.UNLocationCode", "CNQIN"), "eventLocation.UNLocationCode", "cn qin"), Options{}},
		{"printed container number", patch(t, base, "equipmentReference", "csqu-305438-3"), Options{}},
		{"lower-case codes", patch(t, base, "equipmentEventTypeCode", "load"), Options{}},
		{"eventCreatedDateTime in another offset (only its instant is kept)", patch(t, base, "eventCreatedDateTime", "2026-05-01T02:00:30Z"), Options{}},
		{"unknown fields", patch(t, base, "carrierSpecificExtra", "other"), Options{}},
		{"eventLocation coordinates (not kept)", patch(t, base, "eventLocation.latitude", "36.1"), Options{}},
	}
	for _, s := range same {
		t.Run("same/"+s.name, func(t *testing.T) {
			opt := s.opt
			if opt.Now == nil {
				opt = testOptions()
			}
			if got := idOf(t, s.m, opt); got != id {
				t.Errorf("id %s, want %s", got, id)
			}
		})
	}
	different := []struct {
		name string
		m    map[string]any
	}{
		{"another container", patch(t, base, "equipmentReference", "SCDU1234564")},
		{"another time", patch(t, base, "eventDateTime", "2026-05-01T10:00:01+08:00")},
		{"another offset of the same instant", patch(t, base, "eventDateTime", "2026-05-01T07:00:00+05:00")},
		{"another type", patch(t, base, "equipmentEventTypeCode", "DISC")},
		{"another seal", patch(t, base, "seals", []any{map[string]any{"sealNumber": "X1"}})},
		{"another reference", patch(t, base, "references", []any{map[string]any{"referenceType": "PO", "referenceValue": "1"}})},
		{"estimated", patch(t, base, "eventClassifierCode", "EST")},
	}
	for _, d := range different {
		t.Run("different/"+d.name, func(t *testing.T) {
			if got := idOf(t, d.m, testOptions()); got == id {
				t.Errorf("same id %s for different content", got)
			}
		})
	}
	t.Run("given id wins", func(t *testing.T) {
		if got := idOf(t, patch(t, base, "eventID", "0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b99"), testOptions()); got != "0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b99" {
			t.Errorf("id %s", got)
		}
	})
}

func TestParseOptions(t *testing.T) {
	m := sampleMap(t, "position_train")
	t.Run("defaults", func(t *testing.T) {
		before := time.Now()
		ev, ve := parseOne(t, m, Options{})
		if ve != nil {
			t.Fatal(ve)
		}
		if rec := ev.GetEnvelope().GetRecordedAt().AsTime(); rec.Before(before) || rec.After(time.Now()) {
			t.Errorf("recorded %v, want the wall clock", rec)
		}
		if s := ev.GetEnvelope().GetSource(); s.GetType() != commonv1.SourceType_SOURCE_TYPE_CARRIER || s.GetId() != "" {
			t.Errorf("source %v", s)
		}
	})
	t.Run("horizon", func(t *testing.T) {
		opt := testOptions()
		opt.FutureHorizon = time.Hour
		opt.Now = func() time.Time { return time.Date(2026, 4, 28, 6, 30, 0, 0, time.UTC) }
		_, ve := parseOne(t, m, opt)
		if ve == nil || ve.Fields[0].Reason != "is 90m in the future; at most 1h allowed" {
			t.Errorf("got %+v", ve)
		}
	})
	t.Run("derivedFrom accepted from SCODA", func(t *testing.T) {
		opt := testOptions()
		opt.AcceptDerived = true
		d := patch(t, sampleMap(t, "equipment_gtin_truck"), "derivedFrom", map[string]any{"geofenceID": "geofence-qqctn-gate", "transition": "enter", "positionEventID": "5F1C2A9E-3B4D-4E6F-8A7B-9C0D1E2F3A4B"})
		ev, ve := parseOne(t, d, opt)
		if ve != nil {
			t.Fatal(ve)
		}
		want := &trackingv1.GeofenceDerivation{GeofenceId: "geofence-qqctn-gate", Transition: trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER, PositionEventId: "5f1c2a9e-3b4d-4e6f-8a7b-9c0d1e2f3a4b"}
		if !proto.Equal(ev.GetDerivation(), want) {
			t.Errorf("got %v", ev.GetDerivation())
		}
		_, ve = parseOne(t, patch(t, d, "derivedFrom.transition", "CROSS"), opt)
		if ve == nil || ve.Fields[0].Field != "derivedFrom.transition" {
			t.Errorf("got %+v", ve)
		}
	})
}

// TestCodeMappingsComplete: every code pkg/dcsa accepts maps to a value of the contract, so a
// new DCSA code cannot be accepted and then lost.
func TestCodeMappingsComplete(t *testing.T) {
	base := sampleMap(t, "equipment_load_rail")
	for _, code := range []string{"LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD"} {
		ev, ve := parseOne(t, patch(t, base, "equipmentEventTypeCode", code), testOptions())
		if ve != nil || TypeCode(ev) != code {
			t.Errorf("%s: %v %v", code, ve, TypeCode(ev))
		}
	}
	for _, mode := range []string{"VESSEL", "RAIL", "TRUCK", "BARGE", "AIR"} {
		ev, ve := parseOne(t, patch(t, sampleMap(t, "position_container"), "modeOfTransport", mode), testOptions())
		if ve != nil || modeCode(ev.GetPosition().GetModeOfTransport()) != mode {
			t.Errorf("%s: %v", mode, ve)
		}
	}
	for _, ft := range []string{"BOCR", "CLOC", "COFS", "OFFD", "DEPO", "INTE", "POTE", "RAMP", "AIRT"} {
		ev, ve := parseOne(t, patch(t, base, "transportCall.facilityTypeCode", ft), testOptions())
		if ve != nil || facilityTypeCode(ev.GetEquipment().GetTransportCall().GetLocation().GetFacilityType()) != ft {
			t.Errorf("%s: %v", ft, ve)
		}
	}
	ship := sampleMap(t, "shipment_issu")
	for _, code := range []string{"RECE", "DRFT", "PENA", "PENU", "REJE", "APPR", "ISSU", "SURR", "SUBM", "VOID", "CONF", "REQS", "CMPL", "HOLD", "RELS"} {
		if _, ve := parseOne(t, patch(t, ship, "shipmentEventTypeCode", code), testOptions()); ve != nil {
			t.Errorf("%s: %v", code, ve)
		}
	}
	for _, code := range []string{"CBR", "BKG", "SHI", "VGM", "SRM", "TRD", "ARN", "CAS", "CUS", "DGD", "OOG"} {
		if _, ve := parseOne(t, patch(t, ship, "documentTypeCode", code), testOptions()); ve != nil {
			t.Errorf("%s: %v", code, ve)
		}
	}
	for _, code := range referenceTypeSet.codes {
		ev, ve := parseOne(t, patch(t, base, "references", []any{map[string]any{"referenceType": code, "referenceValue": "R1"}}), testOptions())
		if ve != nil {
			t.Fatalf("%s: %v", code, ve)
		}
		rendered := ToDCSA(ev)
		if code == cnnReference {
			continue
		}
		if len(rendered.References) != 1 || rendered.References[0].ReferenceType != code {
			t.Errorf("%s rendered as %+v", code, rendered.References)
		}
	}
	if diff := len(referenceTypes) + 1 - len(referenceTypeSet.codes); diff != 0 {
		t.Errorf("referenceTypes and referenceTypeSet differ")
	}
}
