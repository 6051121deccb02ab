package dcsa

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// list is what the tests need of one code list, whatever its type.
type list struct {
	field  string
	values []string
	parse  func(string) (string, error)
	valid  func(string) bool
	desc   func(string) string
}

func mk[T ~string](field string, values []T, parse func(string) (T, error), valid func(T) bool, desc func(T) string) list {
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = string(v)
	}
	return list{
		field:  field,
		values: vs,
		parse:  func(s string) (string, error) { v, err := parse(s); return string(v), err },
		valid:  func(s string) bool { return valid(T(s)) },
		desc:   func(s string) string { return desc(T(s)) },
	}
}

var lists = []list{
	mk("eventType", EventTypes(), ParseEventType, EventType.Valid, EventType.Description),
	mk("eventClassifierCode", EventClassifierCodes(), ParseEventClassifierCode, EventClassifierCode.Valid, EventClassifierCode.Description),
	mk("equipmentEventTypeCode", EquipmentEventTypeCodes(), ParseEquipmentEventTypeCode, EquipmentEventTypeCode.Valid, EquipmentEventTypeCode.Description),
	mk("transportEventTypeCode", TransportEventTypeCodes(), ParseTransportEventTypeCode, TransportEventTypeCode.Valid, TransportEventTypeCode.Description),
	mk("shipmentEventTypeCode", ShipmentEventTypeCodes(), ParseShipmentEventTypeCode, ShipmentEventTypeCode.Valid, ShipmentEventTypeCode.Description),
	mk("documentTypeCode", DocumentTypeCodes(), ParseDocumentTypeCode, DocumentTypeCode.Valid, DocumentTypeCode.Description),
	mk("modeOfTransport", ModesOfTransport(), ParseModeOfTransport, ModeOfTransport.Valid, ModeOfTransport.Description),
	mk("emptyIndicatorCode", EmptyIndicatorCodes(), ParseEmptyIndicatorCode, EmptyIndicatorCode.Valid, EmptyIndicatorCode.Description),
	mk("facilityTypeCode", FacilityTypeCodes(), ParseFacilityTypeCode, FacilityTypeCode.Valid, FacilityTypeCode.Description),
}

// TestCodeLists pins every list to the DCSA T&T 2.2.0 enums (Event Domain
// 1.0.4, DCSA Domain 1.0.3), in DCSA's order, plus our extensions.
func TestCodeLists(t *testing.T) {
	want := map[string]string{
		"eventType":              "EQUIPMENT TRANSPORT SHIPMENT POSITION",
		"eventClassifierCode":    "PLN EST ACT",
		"equipmentEventTypeCode": "LOAD DISC GTIN GTOT STUF STRP PICK DROP INSP RSEA RMVD",
		"transportEventTypeCode": "ARRI DEPA",
		"shipmentEventTypeCode":  "RECE DRFT PENA PENU REJE APPR ISSU SURR SUBM VOID CONF REQS CMPL HOLD RELS",
		"documentTypeCode":       "CBR BKG SHI VGM SRM TRD ARN CAS CUS DGD OOG",
		"modeOfTransport":        "VESSEL RAIL TRUCK BARGE AIR",
		"emptyIndicatorCode":     "EMPTY LADEN",
		"facilityTypeCode":       "BOCR CLOC COFS OFFD DEPO INTE POTE PBPL BRTH RAMP",
	}
	for _, l := range lists {
		t.Run(l.field, func(t *testing.T) {
			if got := strings.Join(l.values, " "); got != want[l.field] {
				t.Errorf("values:\n got %s\nwant %s", got, want[l.field])
			}
			for _, v := range l.values {
				if !l.valid(v) {
					t.Errorf("%s not Valid", v)
				}
				d := l.desc(v)
				if d == "" || strings.Contains(d, "\n") || len(d) > 80 {
					t.Errorf("%s: description %q is not one short line", v, d)
				}
				if got, err := l.parse(v); err != nil || got != v {
					t.Errorf("parse(%q) = %q, %v", v, got, err)
				}
				if got, err := l.parse(" " + strings.ToLower(v) + "\t"); err != nil || got != v {
					t.Errorf("parse(lower %q) = %q, %v", v, got, err)
				}
			}
			if l.valid("") || l.valid("XXXX") || l.desc("XXXX") != "" {
				t.Error("invalid values accepted")
			}
		})
	}
}

func TestValuesReturnsCopy(t *testing.T) {
	v := EquipmentEventTypeCodes()
	v[0] = "XXXX"
	if EquipmentEventTypeCodes()[0] != EquipmentLoaded {
		t.Error("EquipmentEventTypeCodes exposes the internal slice")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(string) (string, error)
		in      string
		field   string
		reason  string
		allowed []string
	}{
		{name: "unknown equipment code", parse: lists[2].parse, in: "LOADED", field: "equipmentEventTypeCode",
			reason:  `"LOADED" is not one of LOAD, DISC, GTIN, GTOT, STUF, STRP, PICK, DROP, INSP, RSEA, RMVD`,
			allowed: []string{"LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD"}},
		{name: "empty classifier", parse: lists[1].parse, in: " ", field: "eventClassifierCode",
			reason: "required; one of PLN, EST, ACT", allowed: []string{"PLN", "EST", "ACT"}},
		{name: "REQ is an operations classifier, not T&T", parse: lists[1].parse, in: "REQ", field: "eventClassifierCode",
			reason: `"REQ" is not one of PLN, EST, ACT`, allowed: []string{"PLN", "EST", "ACT"}},
		{name: "OPERATIONS is not a T&T event type", parse: lists[0].parse, in: "OPERATIONS", field: "eventType",
			reason: `"OPERATIONS" is not one of EQUIPMENT, TRANSPORT, SHIPMENT, POSITION`, allowed: []string{"EQUIPMENT", "TRANSPORT", "SHIPMENT", "POSITION"}},
		{name: "long input clipped", parse: lists[3].parse, in: strings.Repeat("A", 100), field: "transportEventTypeCode",
			reason: `"AAAAAAAAAAAAAAAAAAAA..." is not one of ARRI, DEPA`, allowed: []string{"ARRI", "DEPA"}},
		{name: "no Unicode case folding", parse: lists[8].parse, in: "ſTUF", field: "facilityTypeCode",
			reason: `"ſTUF" is not one of`, allowed: lists[8].values},
		{name: "later-version code", parse: lists[4].parse, in: "PENC", field: "shipmentEventTypeCode",
			reason: `"PENC" is not one of`, allowed: lists[4].values},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("parse(%q) = %q, %v; want *ParseError", tt.in, got, err)
			}
			if pe.Field != tt.field || pe.Input != tt.in || !strings.HasPrefix(pe.Reason, tt.reason) || !reflect.DeepEqual(pe.Allowed, tt.allowed) {
				t.Errorf("ParseError = %+v", pe)
			}
			if !strings.HasPrefix(err.Error(), "dcsa: "+tt.field+": ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestFacilityTypeCode(t *testing.T) {
	tests := []struct {
		in              string
		want            FacilityTypeCode
		inTransportCall bool
	}{
		{"POTE", FacilityPortTerminal, true},
		{"INTE", FacilityInlandTerminal, true},
		{"RAMP", FacilityRamp, true},
		{"BOCR", FacilityBorderCrossing, true},
		{"BRTH", FacilityBerth, false},
		{"PBPL", FacilityPilotBoarding, false},
		{"COYA", FacilityOffDockStorage, true}, // deprecated, read as OFFD
		{"coya", FacilityOffDockStorage, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFacilityTypeCode(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseFacilityTypeCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if got.InTransportCall() != tt.inTransportCall {
				t.Errorf("InTransportCall = %v, want %v", got.InTransportCall(), tt.inTransportCall)
			}
		})
	}
	if FacilityTypeCode("COYA").Valid() || FacilityTypeCode("XXXX").InTransportCall() {
		t.Error("COYA is not a canonical value")
	}
}

func TestModeOfTransport(t *testing.T) {
	for _, m := range ModesOfTransport() {
		if got, want := m.IsDCSA(), m != ModeAir; got != want {
			t.Errorf("%s.IsDCSA() = %v, want %v", m, got, want)
		}
	}
	if ModeOfTransport("SHIP").IsDCSA() {
		t.Error("unknown mode IsDCSA")
	}
}

func TestCheckTypeCode(t *testing.T) {
	tests := []struct {
		name    string
		et      EventType
		code    string
		wantErr string // substring of the Reason; "" means OK
		field   string
	}{
		{name: "equipment LOAD", et: EventTypeEquipment, code: "LOAD"},
		{name: "equipment lower case", et: EventTypeEquipment, code: "gtin"},
		{name: "transport DEPA", et: EventTypeTransport, code: "DEPA"},
		{name: "shipment ISSU", et: EventTypeShipment, code: "ISSU"},
		{name: "position without code", et: EventTypePosition, code: ""},
		{name: "equipment with transport code", et: EventTypeEquipment, code: "ARRI", wantErr: `"ARRI" is not one of LOAD`, field: "equipmentEventTypeCode"},
		{name: "transport with equipment code", et: EventTypeTransport, code: "LOAD", wantErr: `"LOAD" is not one of ARRI, DEPA`, field: "transportEventTypeCode"},
		{name: "shipment with equipment code", et: EventTypeShipment, code: "GTIN", wantErr: `"GTIN" is not one of RECE`, field: "shipmentEventTypeCode"},
		{name: "equipment without code", et: EventTypeEquipment, code: "", wantErr: "required", field: "equipmentEventTypeCode"},
		{name: "position with code", et: EventTypePosition, code: "LOAD", wantErr: "POSITION events carry no type code", field: "eventType"},
		{name: "unknown event type", et: "OPERATIONS", code: "STRT", wantErr: `"OPERATIONS" is not one of`, field: "eventType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTypeCode(tt.et, tt.code)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckTypeCode(%s, %q) = %v", tt.et, tt.code, err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Field != tt.field || !strings.Contains(pe.Reason, tt.wantErr) {
				t.Fatalf("CheckTypeCode(%s, %q) = %v; want field %s, reason containing %q", tt.et, tt.code, err, tt.field, tt.wantErr)
			}
		})
	}
}

func TestCheckClassifier(t *testing.T) {
	for _, et := range []EventType{EventTypeEquipment, EventTypeTransport, EventTypeShipment} {
		for _, c := range EventClassifierCodes() {
			if err := CheckClassifier(et, c); err != nil {
				t.Errorf("CheckClassifier(%s, %s) = %v; DCSA 2.2 allows it", et, c, err)
			}
		}
	}
	tests := []struct {
		et      EventType
		c       EventClassifierCode
		wantErr string
	}{
		{EventTypePosition, ClassifierActual, ""},
		{EventTypePosition, "act", ""},
		{EventTypePosition, ClassifierEstimated, "POSITION events must be ACT"},
		{EventTypePosition, ClassifierPlanned, "POSITION events must be ACT"},
		{EventTypeEquipment, "REQ", `"REQ" is not one of PLN, EST, ACT`},
		{"NOPE", ClassifierActual, `"NOPE" is not one of`},
	}
	for _, tt := range tests {
		t.Run(string(tt.et)+"/"+string(tt.c), func(t *testing.T) {
			err := CheckClassifier(tt.et, tt.c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.wantErr) {
				t.Fatalf("CheckClassifier = %v, want reason containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range lists {
		for _, v := range l.values {
			f.Add(v)
		}
	}
	for _, s := range []string{"", " load ", "COYA", "REQ", "ſTUF", "LOAD\x00", "Loaded"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range lists {
			got, err := l.parse(s)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Field != l.field || pe.Input != s || pe.Reason == "" || len(pe.Allowed) != len(l.values) {
					t.Fatalf("%s: parse(%q) error %v is not a well-formed *ParseError", l.field, s, err)
				}
				continue
			}
			if !l.valid(got) || !slices.Contains(l.values, got) {
				t.Fatalf("%s: parse(%q) = %q, which is not Valid", l.field, s, got)
			}
			if again, err := l.parse(got); err != nil || again != got {
				t.Fatalf("%s: parse(%q) = %q, which re-parses to %q, %v", l.field, s, got, again, err)
			}
		}
	})
}

func ExampleParseEquipmentEventTypeCode() {
	c, err := ParseEquipmentEventTypeCode("gtin")
	fmt.Println(c, c.Description(), err)

	_, err = ParseEquipmentEventTypeCode("GATE-IN")
	fmt.Println(err)
	// Output:
	// GTIN Gated in: entered a terminal or depot <nil>
	// dcsa: equipmentEventTypeCode: "GATE-IN" is not one of LOAD, DISC, GTIN, GTOT, STUF, STRP, PICK, DROP, INSP, RSEA, RMVD
}

func ExampleCheckTypeCode() {
	fmt.Println(CheckTypeCode(EventTypeTransport, "DEPA"))
	fmt.Println(CheckTypeCode(EventTypeTransport, "LOAD"))
	// Output:
	// <nil>
	// dcsa: transportEventTypeCode: "LOAD" is not one of ARRI, DEPA
}
