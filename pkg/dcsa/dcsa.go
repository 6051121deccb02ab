// Package dcsa holds the code lists of the DCSA Track & Trace 2.2 standard
// (API 2.2.0 of 28 October 2021, built on Event Domain 1.0.4 and DCSA Domain
// 1.0.3) that SCODA Track uses, as typed string constants, plus two documented
// extensions: the POSITION event type and the AIR mode of transport.
//
// Each code type has Valid, Description (one line, fit to show a shipper)
// and a Parse function whose error lists the allowed values. Parse functions
// trim surrounding white space and accept lower case ("act" is ACT); DCSA
// itself sends upper case.
package dcsa

import (
	"fmt"
	"strings"
)

// Version is the DCSA Track & Trace version these code lists come from.
const Version = "2.2.0"

// ParseError reports a value that is not in a code list. Reason is a short
// phrase fit to show a client (problem+json "reason"); Allowed lists the
// accepted values in their canonical order.
type ParseError struct {
	Field   string   // DCSA field name, e.g. "equipmentEventTypeCode"
	Input   string   // the value as given
	Reason  string   // e.g. `"FOO" is not one of LOAD, DISC, ...`
	Allowed []string // the accepted values
}

func (e *ParseError) Error() string { return "dcsa: " + e.Field + ": " + e.Reason }

// codeList is one DCSA code list: its field name, its values in order and a
// one-line meaning of each.
type codeList[T ~string] struct {
	field string
	codes []T
	desc  map[T]string
}

// entry is a code and its one-line meaning.
type entry[T ~string] struct {
	code T
	desc string
}

func newCodeList[T ~string](field string, entries []entry[T]) codeList[T] {
	l := codeList[T]{field: field, desc: make(map[T]string, len(entries))}
	for _, e := range entries {
		l.codes = append(l.codes, e.code)
		l.desc[e.code] = e.desc
	}
	return l
}

func (l codeList[T]) valid(c T) bool {
	_, ok := l.desc[c]
	return ok
}

func (l codeList[T]) allowed() []string {
	s := make([]string, len(l.codes))
	for i, c := range l.codes {
		s[i] = string(c)
	}
	return s
}

// normalize trims white space and upper-cases ASCII letters (only ASCII, so
// that no other character folds into a code letter).
func normalize(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func (l codeList[T]) parse(s string) (T, error) {
	c := T(normalize(s))
	if l.valid(c) {
		return c, nil
	}
	allowed := l.allowed()
	shown := s
	if len(shown) > 20 {
		shown = shown[:20] + "..."
	}
	reason := fmt.Sprintf("%q is not one of %s", shown, strings.Join(allowed, ", "))
	if strings.TrimSpace(s) == "" {
		reason = "required; one of " + strings.Join(allowed, ", ")
	}
	return "", &ParseError{Field: l.field, Input: s, Reason: reason, Allowed: allowed}
}

func (l codeList[T]) values() []T { return append([]T(nil), l.codes...) }

// EventType is the kind of event (DCSA eventType).
type EventType string

// Event types: the three of DCSA Track & Trace and our POSITION extension.
const (
	EventTypeEquipment EventType = "EQUIPMENT" // something happened to a container
	EventTypeTransport EventType = "TRANSPORT" // a vessel, train, truck or barge arrived or departed
	EventTypeShipment  EventType = "SHIPMENT"  // a booking or document changed status
	// EventTypePosition is a SCODA Track extension, not in DCSA: a telemetry fix
	// (where a container is, from a GPS/IoT device or a rail operator's
	// report), with no type code.
	EventTypePosition EventType = "POSITION"
)

var eventTypes = newCodeList("eventType", []entry[EventType]{
	{EventTypeEquipment, "Container event (loaded, discharged, gated in or out, ...)"},
	{EventTypeTransport, "Arrival or departure of a vessel, train, truck or barge"},
	{EventTypeShipment, "Status change of a booking or shipping document"},
	{EventTypePosition, "Position report from a tracking device or operator"},
})

// EventTypes returns all event types, DCSA's first.
func EventTypes() []EventType { return eventTypes.values() }

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return eventTypes.valid(t) }

// Description returns a one-line meaning of t, or "" if t is not valid.
func (t EventType) Description() string { return eventTypes.desc[t] }

// ParseEventType returns the event type named by s.
func ParseEventType(s string) (EventType, error) { return eventTypes.parse(s) }

// EventClassifierCode says whether an event is planned, estimated or actual.
type EventClassifierCode string

// Event classifier codes. DCSA T&T 2.2 allows all three for equipment,
// transport and shipment events.
const (
	ClassifierPlanned   EventClassifierCode = "PLN"
	ClassifierEstimated EventClassifierCode = "EST"
	ClassifierActual    EventClassifierCode = "ACT"
)

var classifiers = newCodeList("eventClassifierCode", []entry[EventClassifierCode]{
	{ClassifierPlanned, "Planned: part of the schedule or transport plan"},
	{ClassifierEstimated, "Estimated: expected to happen at this time"},
	{ClassifierActual, "Actual: has happened"},
})

// EventClassifierCodes returns all classifier codes.
func EventClassifierCodes() []EventClassifierCode { return classifiers.values() }

// Valid reports whether c is a known classifier code.
func (c EventClassifierCode) Valid() bool { return classifiers.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c EventClassifierCode) Description() string { return classifiers.desc[c] }

// ParseEventClassifierCode returns the classifier code named by s.
func ParseEventClassifierCode(s string) (EventClassifierCode, error) { return classifiers.parse(s) }

// EquipmentEventTypeCode is what happened to a container.
type EquipmentEventTypeCode string

// Equipment event type codes (PICK, DROP, INSP, RSEA and RMVD were added in
// T&T 2.1.2 and are part of 2.2).
const (
	EquipmentLoaded     EquipmentEventTypeCode = "LOAD"
	EquipmentDischarged EquipmentEventTypeCode = "DISC"
	EquipmentGatedIn    EquipmentEventTypeCode = "GTIN"
	EquipmentGatedOut   EquipmentEventTypeCode = "GTOT"
	EquipmentStuffed    EquipmentEventTypeCode = "STUF"
	EquipmentStripped   EquipmentEventTypeCode = "STRP"
	EquipmentPickedUp   EquipmentEventTypeCode = "PICK"
	EquipmentDroppedOff EquipmentEventTypeCode = "DROP"
	EquipmentInspected  EquipmentEventTypeCode = "INSP"
	EquipmentResealed   EquipmentEventTypeCode = "RSEA"
	EquipmentRemoved    EquipmentEventTypeCode = "RMVD"
)

var equipmentCodes = newCodeList("equipmentEventTypeCode", []entry[EquipmentEventTypeCode]{
	{EquipmentLoaded, "Loaded onto a vessel, train, truck or barge"},
	{EquipmentDischarged, "Discharged from a vessel, train, truck or barge"},
	{EquipmentGatedIn, "Gated in: entered a terminal or depot"},
	{EquipmentGatedOut, "Gated out: left a terminal or depot"},
	{EquipmentStuffed, "Stuffed: cargo packed into the container"},
	{EquipmentStripped, "Stripped: cargo unpacked from the container"},
	{EquipmentPickedUp, "Picked up by the haulier"},
	{EquipmentDroppedOff, "Dropped off by the haulier"},
	{EquipmentInspected, "Inspected (e.g. by customs)"},
	{EquipmentResealed, "Resealed after the seal was opened"},
	{EquipmentRemoved, "Removed from its planned transport"},
})

// EquipmentEventTypeCodes returns all equipment event type codes.
func EquipmentEventTypeCodes() []EquipmentEventTypeCode { return equipmentCodes.values() }

// Valid reports whether c is a known equipment event type code.
func (c EquipmentEventTypeCode) Valid() bool { return equipmentCodes.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c EquipmentEventTypeCode) Description() string { return equipmentCodes.desc[c] }

// ParseEquipmentEventTypeCode returns the equipment event type code named by s.
func ParseEquipmentEventTypeCode(s string) (EquipmentEventTypeCode, error) {
	return equipmentCodes.parse(s)
}

// TransportEventTypeCode is what a means of transport did.
type TransportEventTypeCode string

// Transport event type codes.
const (
	TransportArrived  TransportEventTypeCode = "ARRI"
	TransportDeparted TransportEventTypeCode = "DEPA"
)

var transportCodes = newCodeList("transportEventTypeCode", []entry[TransportEventTypeCode]{
	{TransportArrived, "Arrived at the location"},
	{TransportDeparted, "Departed from the location"},
})

// TransportEventTypeCodes returns all transport event type codes.
func TransportEventTypeCodes() []TransportEventTypeCode { return transportCodes.values() }

// Valid reports whether c is a known transport event type code.
func (c TransportEventTypeCode) Valid() bool { return transportCodes.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c TransportEventTypeCode) Description() string { return transportCodes.desc[c] }

// ParseTransportEventTypeCode returns the transport event type code named by s.
func ParseTransportEventTypeCode(s string) (TransportEventTypeCode, error) {
	return transportCodes.parse(s)
}

// ShipmentEventTypeCode is the status a booking or document reached.
type ShipmentEventTypeCode string

// Shipment event type codes (REQS, CMPL, HOLD and RELS were added in
// Event Domain 1.0.4, i.e. T&T 2.2).
const (
	ShipmentReceived        ShipmentEventTypeCode = "RECE"
	ShipmentDrafted         ShipmentEventTypeCode = "DRFT"
	ShipmentPendingApproval ShipmentEventTypeCode = "PENA"
	ShipmentPendingUpdate   ShipmentEventTypeCode = "PENU"
	ShipmentRejected        ShipmentEventTypeCode = "REJE"
	ShipmentApproved        ShipmentEventTypeCode = "APPR"
	ShipmentIssued          ShipmentEventTypeCode = "ISSU"
	ShipmentSurrendered     ShipmentEventTypeCode = "SURR"
	ShipmentSubmitted       ShipmentEventTypeCode = "SUBM"
	ShipmentVoid            ShipmentEventTypeCode = "VOID"
	ShipmentConfirmed       ShipmentEventTypeCode = "CONF"
	ShipmentRequested       ShipmentEventTypeCode = "REQS"
	ShipmentCompleted       ShipmentEventTypeCode = "CMPL"
	ShipmentOnHold          ShipmentEventTypeCode = "HOLD"
	ShipmentReleased        ShipmentEventTypeCode = "RELS"
)

var shipmentCodes = newCodeList("shipmentEventTypeCode", []entry[ShipmentEventTypeCode]{
	{ShipmentReceived, "Received by the carrier"},
	{ShipmentDrafted, "Drafted"},
	{ShipmentPendingApproval, "Pending approval"},
	{ShipmentPendingUpdate, "Pending an update from the shipper"},
	{ShipmentRejected, "Rejected"},
	{ShipmentApproved, "Approved"},
	{ShipmentIssued, "Issued"},
	{ShipmentSurrendered, "Surrendered (original bill of lading handed in)"},
	{ShipmentSubmitted, "Submitted"},
	{ShipmentVoid, "Void: cancelled and no longer valid"},
	{ShipmentConfirmed, "Confirmed by the carrier"},
	{ShipmentRequested, "Requested"},
	{ShipmentCompleted, "Completed"},
	{ShipmentOnHold, "On hold"},
	{ShipmentReleased, "Released"},
})

// ShipmentEventTypeCodes returns all shipment event type codes.
func ShipmentEventTypeCodes() []ShipmentEventTypeCode { return shipmentCodes.values() }

// Valid reports whether c is a known shipment event type code.
func (c ShipmentEventTypeCode) Valid() bool { return shipmentCodes.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c ShipmentEventTypeCode) Description() string { return shipmentCodes.desc[c] }

// ParseShipmentEventTypeCode returns the shipment event type code named by s.
func ParseShipmentEventTypeCode(s string) (ShipmentEventTypeCode, error) {
	return shipmentCodes.parse(s)
}

// DocumentTypeCode is the kind of document a shipment event's documentID
// points to.
type DocumentTypeCode string

// Document type codes.
const (
	DocumentCarrierBookingRequest DocumentTypeCode = "CBR"
	DocumentBooking               DocumentTypeCode = "BKG"
	DocumentShippingInstruction   DocumentTypeCode = "SHI"
	DocumentVerifiedGrossMass     DocumentTypeCode = "VGM"
	DocumentShipmentRelease       DocumentTypeCode = "SRM"
	DocumentTransportDocument     DocumentTypeCode = "TRD"
	DocumentArrivalNotice         DocumentTypeCode = "ARN"
	DocumentCargoSurvey           DocumentTypeCode = "CAS"
	DocumentCustomsInspection     DocumentTypeCode = "CUS"
	DocumentDangerousGoods        DocumentTypeCode = "DGD"
	DocumentOutOfGauge            DocumentTypeCode = "OOG"
)

var documentCodes = newCodeList("documentTypeCode", []entry[DocumentTypeCode]{
	{DocumentCarrierBookingRequest, "Carrier booking request"},
	{DocumentBooking, "Booking"},
	{DocumentShippingInstruction, "Shipping instruction"},
	{DocumentVerifiedGrossMass, "Verified gross mass (VGM) declaration"},
	{DocumentShipmentRelease, "Shipment release message"},
	{DocumentTransportDocument, "Transport document (bill of lading or sea waybill)"},
	{DocumentArrivalNotice, "Arrival notice"},
	{DocumentCargoSurvey, "Cargo survey"},
	{DocumentCustomsInspection, "Customs inspection"},
	{DocumentDangerousGoods, "Dangerous goods declaration"},
	{DocumentOutOfGauge, "Out-of-gauge cargo"},
})

// DocumentTypeCodes returns all document type codes.
func DocumentTypeCodes() []DocumentTypeCode { return documentCodes.values() }

// Valid reports whether c is a known document type code.
func (c DocumentTypeCode) Valid() bool { return documentCodes.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c DocumentTypeCode) Description() string { return documentCodes.desc[c] }

// ParseDocumentTypeCode returns the document type code named by s.
func ParseDocumentTypeCode(s string) (DocumentTypeCode, error) { return documentCodes.parse(s) }

// ModeOfTransport is how a leg is carried.
type ModeOfTransport string

// Modes of transport: DCSA's four, and AIR.
const (
	ModeVessel ModeOfTransport = "VESSEL"
	ModeRail   ModeOfTransport = "RAIL"
	ModeTruck  ModeOfTransport = "TRUCK"
	ModeBarge  ModeOfTransport = "BARGE"
	// ModeAir is a SCODA Track extension, not in DCSA T&T 2.2: the hub's air
	// legs (e.g. via Qingdao Jiaodong airport).
	ModeAir ModeOfTransport = "AIR"
)

var modes = newCodeList("modeOfTransport", []entry[ModeOfTransport]{
	{ModeVessel, "By sea, on a vessel"},
	{ModeRail, "By rail"},
	{ModeTruck, "By road, on a truck"},
	{ModeBarge, "By inland waterway, on a barge"},
	{ModeAir, "By air"},
})

// ModesOfTransport returns all modes, DCSA's first.
func ModesOfTransport() []ModeOfTransport { return modes.values() }

// Valid reports whether m is a known mode of transport.
func (m ModeOfTransport) Valid() bool { return modes.valid(m) }

// Description returns a one-line meaning of m, or "" if m is not valid.
func (m ModeOfTransport) Description() string { return modes.desc[m] }

// IsDCSA reports whether m is in the DCSA list (false for AIR), for
// interfaces that must speak plain DCSA.
func (m ModeOfTransport) IsDCSA() bool { return m.Valid() && m != ModeAir }

// ParseModeOfTransport returns the mode of transport named by s.
func ParseModeOfTransport(s string) (ModeOfTransport, error) { return modes.parse(s) }

// EmptyIndicatorCode says whether a container is empty or laden.
type EmptyIndicatorCode string

// Empty indicator codes.
const (
	Empty EmptyIndicatorCode = "EMPTY"
	Laden EmptyIndicatorCode = "LADEN"
)

var emptyCodes = newCodeList("emptyIndicatorCode", []entry[EmptyIndicatorCode]{
	{Empty, "Empty container"},
	{Laden, "Laden: the container holds cargo"},
})

// EmptyIndicatorCodes returns both empty indicator codes.
func EmptyIndicatorCodes() []EmptyIndicatorCode { return emptyCodes.values() }

// Valid reports whether c is a known empty indicator code.
func (c EmptyIndicatorCode) Valid() bool { return emptyCodes.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c EmptyIndicatorCode) Description() string { return emptyCodes.desc[c] }

// ParseEmptyIndicatorCode returns the empty indicator code named by s.
func ParseEmptyIndicatorCode(s string) (EmptyIndicatorCode, error) { return emptyCodes.parse(s) }

// FacilityTypeCode is the kind of facility where an event took place.
type FacilityTypeCode string

// Facility type codes: the union of DCSA Domain 1.0.3's facilityTypeCode and
// facilityTypeCodeTRN (the list for transport calls, which adds RAMP and has
// no PBPL or BRTH; see InTransportCall).
const (
	FacilityBorderCrossing   FacilityTypeCode = "BOCR"
	FacilityCustomerLocation FacilityTypeCode = "CLOC"
	FacilityFreightStation   FacilityTypeCode = "COFS"
	FacilityOffDockStorage   FacilityTypeCode = "OFFD"
	FacilityDepot            FacilityTypeCode = "DEPO"
	FacilityInlandTerminal   FacilityTypeCode = "INTE"
	FacilityPortTerminal     FacilityTypeCode = "POTE"
	FacilityPilotBoarding    FacilityTypeCode = "PBPL"
	FacilityBerth            FacilityTypeCode = "BRTH"
	FacilityRamp             FacilityTypeCode = "RAMP"
)

// facilityDeprecated maps codes DCSA 2.2 still lists but deprecates to their
// replacement: COYA (container yard) is "deprecated - use OFFD instead".
var facilityDeprecated = map[string]FacilityTypeCode{"COYA": FacilityOffDockStorage}

var facilities = newCodeList("facilityTypeCode", []entry[FacilityTypeCode]{
	{FacilityBorderCrossing, "Border crossing"},
	{FacilityCustomerLocation, "Customer location"},
	{FacilityFreightStation, "Container freight station"},
	{FacilityOffDockStorage, "Off-dock storage"},
	{FacilityDepot, "Depot"},
	{FacilityInlandTerminal, "Inland terminal (e.g. a rail terminal)"},
	{FacilityPortTerminal, "Port terminal"},
	{FacilityPilotBoarding, "Pilot boarding place"},
	{FacilityBerth, "Berth"},
	{FacilityRamp, "Ramp (rail ramp)"},
})

// FacilityTypeCodes returns all facility type codes.
func FacilityTypeCodes() []FacilityTypeCode { return facilities.values() }

// Valid reports whether c is a known facility type code.
func (c FacilityTypeCode) Valid() bool { return facilities.valid(c) }

// Description returns a one-line meaning of c, or "" if c is not valid.
func (c FacilityTypeCode) Description() string { return facilities.desc[c] }

// InTransportCall reports whether DCSA T&T 2.2 allows c in a transport call
// (facilityTypeCodeTRN): every code but PBPL and BRTH, which belong to
// operations (port call) events.
func (c FacilityTypeCode) InTransportCall() bool {
	return c.Valid() && c != FacilityPilotBoarding && c != FacilityBerth
}

// ParseFacilityTypeCode returns the facility type code named by s. The
// deprecated COYA is read as OFFD, as DCSA directs.
func ParseFacilityTypeCode(s string) (FacilityTypeCode, error) {
	if c, ok := facilityDeprecated[normalize(s)]; ok {
		return c, nil
	}
	return facilities.parse(s)
}

// CheckTypeCode checks that code is in the type-code list of event type t, as
// DCSA T&T 2.2 pairs them: equipmentEventTypeCode for EQUIPMENT,
// transportEventTypeCode for TRANSPORT, shipmentEventTypeCode for SHIPMENT.
// POSITION events (our extension) carry no type code, so code must be "".
// The error is a *ParseError naming the field that was expected.
func CheckTypeCode(t EventType, code string) error {
	var err error
	switch t {
	case EventTypeEquipment:
		_, err = ParseEquipmentEventTypeCode(code)
	case EventTypeTransport:
		_, err = ParseTransportEventTypeCode(code)
	case EventTypeShipment:
		_, err = ParseShipmentEventTypeCode(code)
	case EventTypePosition:
		if strings.TrimSpace(code) != "" {
			err = &ParseError{Field: "eventType", Input: code, Reason: "POSITION events carry no type code"}
		}
	default:
		_, err = ParseEventType(string(t))
	}
	return err
}

// CheckClassifier checks that classifier c may be used with event type t.
// DCSA T&T 2.2 allows PLN, EST and ACT for equipment, transport and shipment
// events alike (its schemas list all three for each), so for those it only
// checks that c is valid. A POSITION event (our extension) reports where a
// container was, so it must be ACT.
func CheckClassifier(t EventType, c EventClassifierCode) error {
	if !t.Valid() {
		_, err := ParseEventType(string(t))
		return err
	}
	cc, err := ParseEventClassifierCode(string(c))
	if err != nil {
		return err
	}
	if t == EventTypePosition && cc != ClassifierActual {
		return &ParseError{Field: "eventClassifierCode", Input: string(c), Reason: "POSITION events must be ACT", Allowed: []string{string(ClassifierActual)}}
	}
	return nil
}
