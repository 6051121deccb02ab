package domain

import (
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// DCSAVersion is the Track & Trace version the /v2 publisher speaks (API-Version header).
const DCSAVersion = "2.2.0"

// Facts are the indexed attributes of an event: what history is filtered by and what the
// live state shows.
type Facts struct {
	EventType  string            // EQUIPMENT, TRANSPORT, SHIPMENT, POSITION
	TypeCode   string            // LOAD, ARRI, ...; "" for POSITION
	Classifier string            // PLN, EST, ACT
	Location   string            // UN/LOCODE or ""
	Mode       string            // RAIL, VESSEL, TRUCK, BARGE, AIR or ""
	Vehicle    string            // train number, vessel IMO, vehicle reference or ""
	References map[string]string // document and other references by code (TRD, CBR, BKG, CNN, ...)
}

// FactsOf extracts the facts of ev.
func FactsOf(ev *trackingv1.ContainerEvent) Facts {
	f := Facts{
		EventType:  EventKind(ev),
		TypeCode:   TypeCode(ev),
		Classifier: classifierCode(ev.GetClassifier()),
		Location:   Location(ev),
	}
	var call *trackingv1.TransportCall
	switch {
	case ev.GetEquipment() != nil:
		call = ev.GetEquipment().GetTransportCall()
	case ev.GetTransport() != nil:
		call = ev.GetTransport().GetTransportCall()
	case ev.GetPosition() != nil:
		p := ev.GetPosition()
		f.Mode = modeCode(p.GetModeOfTransport())
		f.Vehicle = p.GetTrainNumber()
	}
	if call != nil {
		f.Mode = modeCode(call.GetModeOfTransport())
		switch {
		case call.GetRail().GetTrainNumber() != "":
			f.Vehicle = call.GetRail().GetTrainNumber()
		case call.GetVessel().GetImoNumber() != "":
			f.Vehicle = call.GetVessel().GetImoNumber()
		default:
			f.Vehicle = call.GetVehicleReference()
		}
	}
	env := ev.GetEnvelope()
	if n := len(env.GetDocumentReferences()) + len(env.GetReferences()); n > 0 {
		f.References = make(map[string]string, n)
		for _, r := range env.GetReferences() {
			f.References[referenceCode(r.GetType())] = r.GetValue()
		}
		for _, r := range env.GetDocumentReferences() {
			f.References[documentReferenceCode(r.GetType())] = r.GetValue()
		}
	}
	return f
}
