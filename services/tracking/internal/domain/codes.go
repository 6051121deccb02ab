package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scodalabs/scoda/pkg/dcsa"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Codes on the wire and the protobuf enums they map to. The DCSA code lists are checked by
// pkg/dcsa; where the protobuf enum value is named <PREFIX><CODE> the mapping goes through the
// generated name table, so the two cannot drift apart silently (an unmapped code is reported,
// see toEnum). The SCODA code lists below are ours.

// codeSet is a closed list of wire codes, in the order shown to clients.
type codeSet struct {
	field string
	codes []string
}

// parse normalises s (trim, ASCII upper case) and checks it against the list.
func (c codeSet) parse(s string) (string, error) {
	n := normCode(s)
	for _, code := range c.codes {
		if n == code {
			return code, nil
		}
	}
	return "", &dcsa.ParseError{Field: c.field, Input: s, Allowed: c.codes}
}

// normCode trims white space and upper-cases ASCII letters (only ASCII, so that no other
// character folds into a code letter).
func normCode(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// codeReason turns a code-list error into the reason shown to the client:
// `unknown equipmentEventTypeCode "LAOD" (allowed: LOAD, DISC, ...)`.
func codeReason(field string, err error) string {
	var pe *dcsa.ParseError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	if pe.Reason != "" && len(pe.Allowed) == 0 {
		return pe.Reason
	}
	if strings.TrimSpace(pe.Input) == "" {
		return "required (one of " + strings.Join(pe.Allowed, ", ") + ")"
	}
	return fmt.Sprintf("unknown %s %s (allowed: %s)", field, quoteShort(pe.Input), strings.Join(pe.Allowed, ", "))
}

// quoteShort quotes s for a reason, cut to 24 runes so a client cannot echo megabytes back.
func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 24 {
		return fmt.Sprintf("%q...", string(r[:24]))
	}
	return fmt.Sprintf("%q", s)
}

// toEnum maps a checked wire code to the protobuf enum value named prefix+code.
func toEnum(names map[string]int32, prefix, code string) (int32, bool) {
	v, ok := names[prefix+code]
	return v, ok && v != 0
}

// fromEnum is toEnum's inverse: the wire code of a protobuf enum value, "" for unspecified.
func fromEnum(name, prefix string, v int32) string {
	if v == 0 {
		return ""
	}
	return strings.TrimPrefix(name, prefix)
}

// Prefixes of the generated enum value names.
const (
	prefixClassifier   = "EVENT_CLASSIFIER_"
	prefixEquipment    = "EQUIPMENT_EVENT_TYPE_"
	prefixTransport    = "TRANSPORT_EVENT_TYPE_"
	prefixShipment     = "SHIPMENT_EVENT_TYPE_"
	prefixDocument     = "DOCUMENT_TYPE_"
	prefixEmpty        = "EMPTY_INDICATOR_"
	prefixMode         = "MODE_OF_TRANSPORT_"
	prefixFacilityType = "FACILITY_TYPE_"
	prefixProvider     = "FACILITY_CODE_LIST_PROVIDER_"
	prefixSealSource   = "SEAL_SOURCE_"
	prefixSealType     = "SEAL_TYPE_"
	prefixPosSource    = "POSITION_SOURCE_"
	prefixTransition   = "GEOFENCE_TRANSITION_"
)

// SCODA code lists (and DCSA lists pkg/dcsa does not hold).
var (
	// facilityCodeListProviders: DCSA's SMDG and BIC, and SCODA's own codes for rail stations
	// and yards.
	facilityCodeListProviders = codeSet{"facilityCodeListProvider", []string{"SMDG", "BIC", "SCODA"}}
	sealSources               = codeSet{"sealSource", []string{"CAR", "SHI", "PHY", "VET", "CUS"}}
	sealTypes                 = codeSet{"sealType", []string{"KLP", "BLT", "WIR"}}
	positionSources           = codeSet{"positionSource", []string{"GNSS", "AIS", "RFID", "OCR", "CELLULAR", "MANUAL"}}
	transitions               = codeSet{"transition", []string{"ENTER", "EXIT"}}
)

// referenceTypes maps DCSA referenceType codes to the contract. CNN (a CIM/SMGS consignment
// note, SCODA extension) is not a Reference in the contract but a DocumentReference; see
// cnnReference.
var referenceTypes = map[string]commonv1.ReferenceType{
	"FF":  commonv1.ReferenceType_REFERENCE_TYPE_FREIGHT_FORWARDER,
	"SI":  commonv1.ReferenceType_REFERENCE_TYPE_SHIPPER,
	"PO":  commonv1.ReferenceType_REFERENCE_TYPE_PURCHASE_ORDER,
	"CR":  commonv1.ReferenceType_REFERENCE_TYPE_CUSTOMER,
	"AAO": commonv1.ReferenceType_REFERENCE_TYPE_CONSIGNEE,
	"ECR": commonv1.ReferenceType_REFERENCE_TYPE_EMPTY_CONTAINER_RELEASE,
	"CSI": commonv1.ReferenceType_REFERENCE_TYPE_CUSTOMER_SHIPMENT,
	"BPR": commonv1.ReferenceType_REFERENCE_TYPE_BOOKING_PARTY,
	"BID": commonv1.ReferenceType_REFERENCE_TYPE_BOOKING_REQUEST,
}

// cnnReference is the referenceType SCODA accepts for a common CIM/SMGS consignment note. It
// is stored as a DocumentReference of type CIM_SMGS_CONSIGNMENT_NOTE (rendered back under
// documentReferences with type CNN).
const cnnReference = "CNN"

var referenceTypeSet = codeSet{"referenceType", []string{"FF", "SI", "PO", "CR", "AAO", "ECR", "CSI", "BPR", "BID", cnnReference}}

// documentReferenceTypes maps documentReferenceType codes to the contract: DCSA's BKG and TRD,
// then SCODA extensions for the hub's own documents and its rail, road and air legs.
var documentReferenceTypes = []struct {
	code string
	typ  commonv1.DocumentReferenceType
}{
	{"BKG", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CARRIER_BOOKING},
	{"TRD", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_TRANSPORT_DOCUMENT},
	{"SBK", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_BOOKING},  // SCODA booking (scheduling)
	{"SSH", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_SHIPMENT}, // SCODA shipment (scheduling)
	{"CIM", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CIM_CONSIGNMENT_NOTE},
	{"SMGS", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_SMGS_CONSIGNMENT_NOTE},
	{"CNN", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CIM_SMGS_CONSIGNMENT_NOTE},
	{"CMR", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CMR_CONSIGNMENT_NOTE},
	{"AWB", commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_AIR_WAYBILL},
}

var documentReferenceTypeSet = func() codeSet {
	c := codeSet{field: "documentReferenceType"}
	for _, d := range documentReferenceTypes {
		c.codes = append(c.codes, d.code)
	}
	return c
}()

func documentReferenceType(code string) commonv1.DocumentReferenceType {
	for _, d := range documentReferenceTypes {
		if d.code == code {
			return d.typ
		}
	}
	return commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_UNSPECIFIED
}

func documentReferenceCode(t commonv1.DocumentReferenceType) string {
	for _, d := range documentReferenceTypes {
		if d.typ == t {
			return d.code
		}
	}
	return ""
}

func referenceCode(t commonv1.ReferenceType) string {
	for code, rt := range referenceTypes {
		if rt == t {
			return code
		}
	}
	return ""
}

// airTerminal is the SCODA facilityTypeCode extension for an air cargo terminal (the
// contract's FACILITY_TYPE_AIRT), which pkg/dcsa does not list.
const airTerminal = "AIRT"

// facilityType parses a facilityTypeCode. inCall restricts it to DCSA's list for transport
// calls (facilityTypeCodeTRN).
func facilityType(s string, inCall bool) (commonv1.FacilityType, string) {
	if normCode(s) == airTerminal {
		return commonv1.FacilityType_FACILITY_TYPE_AIRT, ""
	}
	c, err := dcsa.ParseFacilityTypeCode(s)
	if err != nil {
		var pe *dcsa.ParseError
		if errors.As(err, &pe) {
			pe.Allowed = append(pe.Allowed, airTerminal)
		}
		return 0, codeReason("facilityTypeCode", err)
	}
	if inCall && !c.InTransportCall() {
		return 0, fmt.Sprintf("%s is not allowed in a transport call", c)
	}
	v, ok := toEnum(commonv1.FacilityType_value, prefixFacilityType, string(c))
	if !ok {
		return 0, fmt.Sprintf("%s is not supported by SCODA", c)
	}
	return commonv1.FacilityType(v), ""
}

// mode parses a modeOfTransport.
func mode(s string) (commonv1.ModeOfTransport, string) {
	m, err := dcsa.ParseModeOfTransport(s)
	if err != nil {
		return 0, codeReason("modeOfTransport", err)
	}
	v, ok := toEnum(commonv1.ModeOfTransport_value, prefixMode, string(m))
	if !ok {
		return 0, fmt.Sprintf("%s is not supported by SCODA", m)
	}
	return commonv1.ModeOfTransport(v), ""
}

// enumCode returns the wire code of a tracking or common enum value given its String().
func modeCode(m commonv1.ModeOfTransport) string {
	return fromEnum(m.String(), prefixMode, int32(m))
}

func facilityTypeCode(t commonv1.FacilityType) string {
	return fromEnum(t.String(), prefixFacilityType, int32(t))
}

func providerCode(p commonv1.FacilityCodeListProvider) string {
	return fromEnum(p.String(), prefixProvider, int32(p))
}

func classifierCode(c trackingv1.EventClassifier) string {
	return fromEnum(c.String(), prefixClassifier, int32(c))
}
