package domain

import (
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/rfc3339"
)

// Event kinds, as EventKind returns them (DCSA eventType, plus POSITION).
const (
	KindEquipment = "EQUIPMENT"
	KindTransport = "TRANSPORT"
	KindShipment  = "SHIPMENT"
	KindPosition  = "POSITION"
)

// EventKind returns ev's kind: EQUIPMENT, TRANSPORT, SHIPMENT or POSITION ("" when no payload
// is set).
// It is the DCSA spelling of events.ContainerKind, the subject token.
func EventKind(ev *trackingv1.ContainerEvent) string {
	return strings.ToUpper(events.ContainerKind(ev))
}

// TypeCode returns ev's DCSA type code (LOAD, GTIN, ARRI, ISSU, ...), or "" for a position fix.
func TypeCode(ev *trackingv1.ContainerEvent) string {
	switch p := ev.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment:
		t := p.Equipment.GetEventType()
		return fromEnum(t.String(), prefixEquipment, int32(t))
	case *trackingv1.ContainerEvent_Transport:
		t := p.Transport.GetEventType()
		return fromEnum(t.String(), prefixTransport, int32(t))
	case *trackingv1.ContainerEvent_Shipment:
		t := p.Shipment.GetEventType()
		return fromEnum(t.String(), prefixShipment, int32(t))
	}
	return ""
}

// Location returns the UN/LOCODE where ev happened: its transport call's, else its event
// location's, else "" (position fixes, shipment events).
func Location(ev *trackingv1.ContainerEvent) string {
	switch p := ev.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment:
		if c := p.Equipment.GetTransportCall().GetLocation().GetUnLocationCode(); c != "" {
			return c
		}
		return p.Equipment.GetEventLocation().GetUnLocationCode()
	case *trackingv1.ContainerEvent_Transport:
		return p.Transport.GetTransportCall().GetLocation().GetUnLocationCode()
	}
	return ""
}

// contentNamespace is the UUIDv5 namespace of ContentID. Never change it: ids of events
// already in the log would no longer match their re-sent copies.
var contentNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:scoda:tracking:v1:container-event"))

// ContentID returns the deterministic event id of ev's content: the UUIDv5 (SHA-1) in
// contentNamespace of ToDCSA(ev) marshalled to JSON without eventID. Parse gives it to events
// sent without an eventID, so a carrier that re-sends the same event gets the same id and the
// log keeps one copy.
//
// "The same event" is the same normalised content: aliases, letter case and the printed forms
// of container numbers do not matter (CNTAO and CNQIN give the same id), the instants do but
// not the offset of eventCreatedDateTime (it is not kept). What SCODA adds (RecordedAt, Source)
// and fields ToDCSA does not render (TenantId, CausationId) are not content, so the same event
// arriving from two gateways also has one id. Derived events include their derivedFrom, so a
// re-derivation from the same position fix yields the same id too.
//
// The id depends on ToDCSA's rendering: a new field rendered only when set keeps existing ids,
// but changing how an existing field renders changes them (testdata/golden pins both).
func ContentID(ev *trackingv1.ContainerEvent) string {
	d := ToDCSA(ev)
	d.EventID = ""
	b, err := json.Marshal(d)
	if err != nil { // unreachable: ToDCSA renders only finite numbers and strings
		b = []byte(err.Error())
	}
	return uuid.NewSHA1(contentNamespace, b).String()
}

// ToDCSA renders ev as DCSA Track & Trace 2.2 JSON (see DCSAEvent): times in the offset the
// source used for eventDateTime, codes as DCSA writes them, SCODA's extensions (POSITION
// fields, rail details, derivedFrom) beside them. Parse(ToDCSA(ev)) gives ev back for every
// event Parse accepted, but for RecordedAt and Source.
func ToDCSA(ev *trackingv1.ContainerEvent) DCSAEvent {
	env := ev.GetEnvelope()
	off := int(env.GetOccurredOffsetSeconds())
	out := DCSAEvent{
		EventID:              env.GetEventId(),
		EventType:            EventKind(ev),
		EventClassifierCode:  classifierCode(ev.GetClassifier()),
		EventDateTime:        formatTime(env.GetOccurredAt(), off),
		EventCreatedDateTime: formatTime(env.GetCreatedAt(), off),
		EquipmentReference:   ev.GetEquipmentReference(),
	}
	for _, r := range env.GetReferences() {
		out.References = append(out.References, DCSAReference{ReferenceType: referenceCode(r.GetType()), ReferenceValue: r.GetValue()})
	}
	for _, d := range env.GetDocumentReferences() {
		out.DocumentReferences = append(out.DocumentReferences, DCSADocumentReference{DocumentReferenceType: documentReferenceCode(d.GetType()), DocumentReferenceValue: d.GetValue()})
	}
	switch p := ev.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment:
		e := p.Equipment
		out.EquipmentEventTypeCode = TypeCode(ev)
		out.ISOEquipmentCode = e.GetIsoEquipmentCode()
		out.EmptyIndicatorCode = fromEnum(e.GetEmptyIndicator().String(), prefixEmpty, int32(e.GetEmptyIndicator()))
		if l := e.GetEventLocation(); l != nil {
			out.EventLocation = &DCSALocation{
				LocationName:             l.GetName(),
				UNLocationCode:           l.GetUnLocationCode(),
				FacilityCode:             l.GetFacilityCode(),
				FacilityCodeListProvider: providerCode(l.GetFacilityCodeListProvider()),
				FacilityTypeCode:         facilityTypeCode(l.GetFacilityType()),
			}
		}
		out.TransportCall = renderCall(e.GetTransportCall())
		for _, s := range e.GetSeals() {
			out.Seals = append(out.Seals, DCSASeal{
				SealNumber: s.GetSealNumber(),
				SealSource: fromEnum(s.GetSource().String(), prefixSealSource, int32(s.GetSource())),
				SealType:   fromEnum(s.GetType().String(), prefixSealType, int32(s.GetType())),
			})
		}
	case *trackingv1.ContainerEvent_Transport:
		out.TransportEventTypeCode = TypeCode(ev)
		out.TransportCall = renderCall(p.Transport.GetTransportCall())
		out.DelayReasonCode = p.Transport.GetDelayReasonCode()
		out.ChangeRemark = p.Transport.GetChangeRemark()
	case *trackingv1.ContainerEvent_Shipment:
		s := p.Shipment
		out.ShipmentEventTypeCode = TypeCode(ev)
		out.DocumentTypeCode = fromEnum(s.GetDocumentType().String(), prefixDocument, int32(s.GetDocumentType()))
		out.DocumentID = s.GetDocumentId()
		out.Reason = s.GetReason()
	case *trackingv1.ContainerEvent_Position:
		f := p.Position
		out.Latitude = finite(f.Latitude)
		out.Longitude = finite(f.Longitude)
		if f.SpeedKmh != nil {
			out.SpeedKmh = finite(*f.SpeedKmh)
		}
		if f.HeadingDeg != nil {
			out.HeadingDeg = finite(*f.HeadingDeg)
		}
		if f.AccuracyM != nil {
			out.AccuracyM = finite(*f.AccuracyM)
		}
		out.PositionSource = fromEnum(f.GetSource().String(), prefixPosSource, int32(f.GetSource()))
		out.DeviceID = f.GetDeviceId()
		out.TrainNumber = f.GetTrainNumber()
		out.ModeOfTransport = modeCode(f.GetModeOfTransport())
	}
	if d := ev.GetDerivation(); d != nil {
		out.DerivedFrom = &DCSADerivation{
			GeofenceID:      d.GetGeofenceId(),
			Transition:      fromEnum(d.GetTransition().String(), prefixTransition, int32(d.GetTransition())),
			PositionEventID: d.GetPositionEventId(),
		}
	}
	return out
}

func renderCall(tc *trackingv1.TransportCall) *DCSATransport {
	if tc == nil {
		return nil
	}
	out := &DCSATransport{
		TransportCallReference: tc.GetTransportCallReference(),
		CarrierServiceCode:     tc.GetCarrierServiceCode(),
		ExportVoyageNumber:     tc.GetExportVoyageNumber(),
		ImportVoyageNumber:     tc.GetImportVoyageNumber(),
		ModeOfTransport:        modeCode(tc.GetModeOfTransport()),
		VehicleReference:       tc.GetVehicleReference(),
	}
	if tc.SequenceNumber != nil {
		n := int64(*tc.SequenceNumber)
		out.TransportCallSequenceNumber = &n
	}
	if l := tc.GetLocation(); l != nil {
		out.UNLocationCode = l.GetUnLocationCode()
		out.FacilityCode = l.GetFacilityCode()
		out.FacilityCodeListProvider = providerCode(l.GetFacilityCodeListProvider())
		out.FacilityTypeCode = facilityTypeCode(l.GetFacilityType())
		if l.GetName() != "" {
			out.Location = &DCSALocation{LocationName: l.GetName()}
		}
	}
	if v := tc.GetVessel(); v != nil {
		out.Vessel = &DCSAVessel{
			VesselIMONumber:           v.GetImoNumber(),
			VesselName:                v.GetName(),
			VesselFlag:                v.GetFlag(),
			VesselCallSignNumber:      v.GetCallSign(),
			VesselOperatorCarrierCode: v.GetOperatorCarrierCode(),
		}
	}
	if r := tc.GetRail(); r != nil {
		out.Rail = &DCSARail{
			TrainNumber:      r.GetTrainNumber(),
			WagonNumber:      r.GetWagonNumber(),
			BorderCrossing:   r.GetBorderCrossing(),
			ExitCountryCode:  r.GetExitCountryCode(),
			EntryCountryCode: r.GetEntryCountryCode(),
		}
		if r.GaugeFromMm != nil {
			g := int64(*r.GaugeFromMm)
			out.Rail.GaugeFromMM = &g
		}
		if r.GaugeToMm != nil {
			g := int64(*r.GaugeToMm)
			out.Rail.GaugeToMM = &g
		}
	}
	return out
}

// formatTime writes ts in the UTC offset off (seconds east), as RFC 3339; "" for no time.
func formatTime(ts *timestamppb.Timestamp, off int) string {
	if ts == nil {
		return ""
	}
	return rfc3339.FromTime(ts.AsTime().In(time.FixedZone("", off))).String()
}

// finite returns a pointer to v, or nil when v is not finite (JSON cannot carry it).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
