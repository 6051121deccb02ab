package domain

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// DCSAEvent is the JSON shape of one event, in and out: a DCSA Track & Trace 2.2
// EquipmentEvent, TransportEvent or ShipmentEvent (DCSA field names), or a SCODA POSITION
// event. Which fields apply depends on EventType; Parse rejects fields of another type.
//
// Empty strings and absent fields mean the same. Numbers that may be absent are pointers, so
// that 0 (a stopped train, a heading due north) is not lost.
type DCSAEvent struct {
	EventID              string `json:"eventID,omitempty"`
	EventType            string `json:"eventType"`
	EventClassifierCode  string `json:"eventClassifierCode,omitempty"`
	EventDateTime        string `json:"eventDateTime"`
	EventCreatedDateTime string `json:"eventCreatedDateTime,omitempty"`

	// Type codes: exactly the one of EventType (none for POSITION).
	EquipmentEventTypeCode string `json:"equipmentEventTypeCode,omitempty"`
	TransportEventTypeCode string `json:"transportEventTypeCode,omitempty"`
	ShipmentEventTypeCode  string `json:"shipmentEventTypeCode,omitempty"`

	// SHIPMENT.
	DocumentTypeCode string `json:"documentTypeCode,omitempty"`
	DocumentID       string `json:"documentID,omitempty"`
	Reason           string `json:"reason,omitempty"`

	// The container: required for EQUIPMENT, and for POSITION unless trainNumber is given.
	EquipmentReference string `json:"equipmentReference,omitempty"`

	// EQUIPMENT.
	ISOEquipmentCode   string         `json:"ISOEquipmentCode,omitempty"`
	EmptyIndicatorCode string         `json:"emptyIndicatorCode,omitempty"`
	EventLocation      *DCSALocation  `json:"eventLocation,omitempty"`
	Seals              []DCSASeal     `json:"seals,omitempty"`
	TransportCall      *DCSATransport `json:"transportCall,omitempty"` // EQUIPMENT (optional), TRANSPORT (required)

	// TRANSPORT.
	DelayReasonCode string `json:"delayReasonCode,omitempty"`
	ChangeRemark    string `json:"changeRemark,omitempty"`

	// All types.
	DocumentReferences []DCSADocumentReference `json:"documentReferences,omitempty"`
	References         []DCSAReference         `json:"references,omitempty"`

	// POSITION (SCODA extension).
	Latitude        *float64 `json:"latitude,omitempty"`
	Longitude       *float64 `json:"longitude,omitempty"`
	SpeedKmh        *float64 `json:"speedKmh,omitempty"`
	HeadingDeg      *float64 `json:"headingDeg,omitempty"`
	AccuracyM       *float64 `json:"accuracyM,omitempty"`
	PositionSource  string   `json:"positionSource,omitempty"`
	DeviceID        string   `json:"deviceID,omitempty"`
	TrainNumber     string   `json:"trainNumber,omitempty"`
	ModeOfTransport string   `json:"modeOfTransport,omitempty"`

	// DerivedFrom is set on events SCODA derived from position fixes crossing a geofence
	// (SCODA extension). Only SCODA's own producers may send it (Options.AcceptDerived).
	DerivedFrom *DCSADerivation `json:"derivedFrom,omitempty"`
}

// DCSALocation is a DCSA Location as used by eventLocation (and transportCall.location).
// DCSA sends latitude and longitude as strings; numbers are accepted too. They are checked
// but not kept: the contract's Location has no coordinates (positions travel as POSITION
// events).
type DCSALocation struct {
	LocationName             string     `json:"locationName,omitempty"`
	UNLocationCode           string     `json:"UNLocationCode,omitempty"`
	Latitude                 looseFloat `json:"latitude,omitzero"`
	Longitude                looseFloat `json:"longitude,omitzero"`
	FacilityCode             string     `json:"facilityCode,omitempty"`
	FacilityCodeListProvider string     `json:"facilityCodeListProvider,omitempty"`
	// FacilityTypeCode is a SCODA extension on eventLocation (DCSA has it on transport calls
	// only), so that a facility's kind survives the round trip.
	FacilityTypeCode string `json:"facilityTypeCode,omitempty"`
}

// DCSATransport is a DCSA TransportCall, extended with rail details and a vehicle reference.
type DCSATransport struct {
	TransportCallReference      string        `json:"transportCallReference,omitempty"`
	TransportCallSequenceNumber *int64        `json:"transportCallSequenceNumber,omitempty"`
	CarrierServiceCode          string        `json:"carrierServiceCode,omitempty"`
	ExportVoyageNumber          string        `json:"exportVoyageNumber,omitempty"`
	ImportVoyageNumber          string        `json:"importVoyageNumber,omitempty"`
	UNLocationCode              string        `json:"UNLocationCode,omitempty"`
	FacilityCode                string        `json:"facilityCode,omitempty"`
	FacilityCodeListProvider    string        `json:"facilityCodeListProvider,omitempty"`
	FacilityTypeCode            string        `json:"facilityTypeCode,omitempty"`
	ModeOfTransport             string        `json:"modeOfTransport"`
	Location                    *DCSALocation `json:"location,omitempty"`
	Vessel                      *DCSAVessel   `json:"vessel,omitempty"`
	Rail                        *DCSARail     `json:"rail,omitempty"`
	VehicleReference            string        `json:"vehicleReference,omitempty"`
}

// DCSAVessel is a DCSA Vessel.
type DCSAVessel struct {
	VesselIMONumber           string `json:"vesselIMONumber,omitempty"`
	VesselName                string `json:"vesselName,omitempty"`
	VesselFlag                string `json:"vesselFlag,omitempty"`
	VesselCallSignNumber      string `json:"vesselCallSignNumber,omitempty"`
	VesselOperatorCarrierCode string `json:"vesselOperatorCarrierCode,omitempty"`
}

// DCSARail is the SCODA rail extension of a transport call.
type DCSARail struct {
	TrainNumber      string `json:"trainNumber,omitempty"`
	WagonNumber      string `json:"wagonNumber,omitempty"`
	BorderCrossing   bool   `json:"borderCrossing,omitempty"`
	ExitCountryCode  string `json:"exitCountryCode,omitempty"`
	EntryCountryCode string `json:"entryCountryCode,omitempty"`
	GaugeFromMM      *int64 `json:"gaugeFromMM,omitempty"`
	GaugeToMM        *int64 `json:"gaugeToMM,omitempty"`
}

// DCSADocumentReference is a DCSA DocumentReference.
type DCSADocumentReference struct {
	DocumentReferenceType  string `json:"documentReferenceType"`
	DocumentReferenceValue string `json:"documentReferenceValue"`
}

// DCSAReference is a DCSA Reference.
type DCSAReference struct {
	ReferenceType  string `json:"referenceType"`
	ReferenceValue string `json:"referenceValue"`
}

// DCSASeal is a DCSA Seal.
type DCSASeal struct {
	SealNumber string `json:"sealNumber"`
	SealSource string `json:"sealSource,omitempty"`
	SealType   string `json:"sealType,omitempty"`
}

// DCSADerivation says which geofence crossing an event was derived from (SCODA extension).
type DCSADerivation struct {
	GeofenceID      string `json:"geofenceID"`
	Transition      string `json:"transition"` // ENTER or EXIT
	PositionEventID string `json:"positionEventID"`
}

// looseFloat is a coordinate DCSA sends as a string ("48.8585500") and others as a number.
// Decoding never fails, so a wrong type is reported by the validator with its field path.
type looseFloat struct {
	raw string // the number's text, unquoted
	set bool
	bad bool // neither a number nor a string
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *looseFloat) UnmarshalJSON(b []byte) error {
	*f = looseFloat{}
	switch {
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			f.set, f.bad = true, true
			return nil
		}
		f.raw, f.set = s, s != ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		f.raw, f.set = string(b), true
	default:
		f.set, f.bad = true, true
	}
	return nil
}

// MarshalJSON implements json.Marshaler (as DCSA does, a string).
func (f looseFloat) MarshalJSON() ([]byte, error) {
	return json.Marshal(f.raw)
}

// IsZero reports whether no coordinate was given (for omitzero).
func (f looseFloat) IsZero() bool { return !f.set }

// value returns the coordinate, or ok false when it is not a finite number.
func (f looseFloat) value() (v float64, ok bool) {
	if f.bad {
		return 0, false
	}
	v, err := strconv.ParseFloat(f.raw, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
