package notification

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Envelope is the JSON body of a webhook delivery: a CloudEvents 1.0 event (structured mode,
// https://cloudevents.io) with two SCODA extension attributes. For example:
//
//	{
//	  "specversion": "1.0",
//	  "id": "0b7d4c8e-5f0e-4a43-9d0c-7d1f1a2b3c4d",          the SCODA event id (one per event)
//	  "source": "scoda/tracking",                              the producing service
//	  "type": "scoda.tracking.container.equipment",            scoda.<family>.<what>[.<change>]
//	  "subject": "MSCU1234565",                                container, else booking, document or shipment
//	  "time": "2026-11-27T08:00:00Z",                          when it happened
//	  "datacontenttype": "application/json",
//	  "tenant": "acme",                                        the subscriber's tenant
//	  "eventtype": "GTIN",                                     the type code subscriptions filter on
//	  "data": { "equipmentReference": "MSCU1234565", ... }     the event, protobuf JSON mapping
//	}
//
// Extension names are lower case, as CloudEvents requires. data is the event message in the
// protobuf JSON mapping (lowerCamelCase fields, enum names, RFC 3339 times) without its internal
// envelope (producer metadata, which may name other parties); its id and time are the
// attributes above. The DCSA scheme sends a JSON array of these objects. The same event always
// has the same body for one subscriber, and the same webhook-id on every retry.
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Tenant          string          `json:"tenant"`
	EventType       string          `json:"eventtype"`
	Data            json.RawMessage `json:"data"`
}

// Delivery event type codes besides the DCSA equipment, transport and shipment codes.
const (
	TypePosition  = "POSITION"
	TypeETA       = "ETA"
	TypeBooking   = "BOOKING"
	TypeShipment  = "SHIPMENT"
	TypeException = "EXCEPTION"
	TypeCancelled = "CANCELLED" // a booking cancelled
	TypeDelay     = "DELAY"     // a departure running late (exception departure_late)
)

// facts are what matching and the envelope need to know about an event.
type facts struct {
	code    string // delivery event type: GTIN, DEPA, POSITION, ETA, BOOKING, ...
	ceType  string // CloudEvents type
	source  string // CloudEvents source
	subject string // what it is about: container, else booking, document, shipment
	lane    string // ordering lane: container:<no>, else booking:<id>, document:<tdr>, shipment:<id>
	// keys are the references the event is about; the tenant key is added per owner.
	container, booking, document string
	// tenant is the owner of a schedule event (its envelope's tenant); container events are
	// owned through the ownership projection instead.
	tenant      string
	byOwnership bool
}

// factsOf classifies ev. ok is false for events delivered to no subscriber: departure events
// (hub-wide, no tenant; the booking-level ETA events carry what shippers need), and events
// with no payload or nothing to key them on.
func factsOf(ev events.Event) (f facts, ok bool) {
	switch ev := ev.(type) {
	case *trackingv1.ContainerEvent:
		kind := events.ContainerKind(ev)
		if kind == "" || ev.GetEquipmentReference() == "" {
			return f, false
		}
		f = facts{ceType: "scoda.tracking.container." + kind, source: "scoda/tracking",
			container: ev.GetEquipmentReference(), byOwnership: true}
		switch p := ev.GetPayload().(type) {
		case *trackingv1.ContainerEvent_Equipment:
			f.code = strings.TrimPrefix(p.Equipment.GetEventType().String(), "EQUIPMENT_EVENT_TYPE_")
		case *trackingv1.ContainerEvent_Transport:
			f.code = strings.TrimPrefix(p.Transport.GetEventType().String(), "TRANSPORT_EVENT_TYPE_")
		case *trackingv1.ContainerEvent_Shipment:
			f.code = strings.TrimPrefix(p.Shipment.GetEventType().String(), "SHIPMENT_EVENT_TYPE_")
		case *trackingv1.ContainerEvent_Position:
			f.code = TypePosition
		}
	case *schedulev1.BookingEvent:
		f = facts{code: TypeBooking, container: ev.GetEquipmentReference(), booking: ev.GetBookingId(),
			document: ev.GetTransportDocumentReference()}
		if ev.GetCancelled() != nil {
			f.code = TypeCancelled
		}
		if ev.GetShipmentId() != "" {
			f.lane, f.subject = "shipment:"+ev.GetShipmentId(), ev.GetShipmentId()
		}
	case *schedulev1.EtaEvent:
		f = facts{code: TypeETA, container: ev.GetEquipmentReference(), booking: ev.GetBookingId(),
			document: ev.GetTransportDocumentReference()}
		if ev.GetShipmentId() != "" {
			f.lane, f.subject = "shipment:"+ev.GetShipmentId(), ev.GetShipmentId()
		}
	case *schedulev1.ShipmentEvent:
		f = facts{code: TypeShipment, document: ev.GetTransportDocumentReference(),
			lane: "shipment:" + ev.GetShipmentId(), subject: ev.GetShipmentId()}
	case *schedulev1.ExceptionEvent:
		f = facts{code: TypeException, container: ev.GetEquipmentReference(), booking: ev.GetBookingId(),
			document: ev.GetTransportDocumentReference()}
		if ev.GetDepartureLate() != nil {
			f.code = TypeDelay
		}
		if ev.GetShipmentId() != "" {
			f.lane, f.subject = "shipment:"+ev.GetShipmentId(), ev.GetShipmentId()
		}
	default: // departure events, and notification's own
		return f, false
	}
	if !f.byOwnership {
		subject, err := events.Subject(ev)
		if err != nil {
			return f, false
		}
		f.ceType = "scoda.schedule." + strings.TrimPrefix(subject, events.PrefixSchedule)
		f.source = "scoda/scheduling"
		f.tenant = ev.GetEnvelope().GetTenantId()
	}
	// The lane and subject: the container when there is one, else the booking, the document,
	// the shipment (set above).
	switch {
	case f.container != "":
		f.lane, f.subject = "container:"+f.container, f.container
	case f.booking != "":
		f.lane, f.subject = "booking:"+f.booking, f.booking
	case f.document != "":
		f.lane, f.subject = "document:"+f.document, f.document
	}
	if f.lane == "" || f.lane == "shipment:" {
		return f, false
	}
	return f, true
}

// envelopeBody is the JSON body delivered to tenant's subscriptions for ev.
func envelopeBody(ev events.Event, f facts, tenant string) ([]byte, error) {
	data := proto.Clone(ev)
	data.ProtoReflect().Clear(data.ProtoReflect().Descriptor().Fields().ByName("envelope"))
	raw, err := protojson.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("envelope of %s: %w", events.EventID(ev), err)
	}
	env := Envelope{SpecVersion: "1.0", ID: events.EventID(ev), Source: f.source, Type: f.ceType, Subject: f.subject,
		Time: ev.GetEnvelope().GetOccurredAt().AsTime().UTC(), DataContentType: "application/json",
		Tenant: tenant, EventType: f.code, Data: raw}
	return json.Marshal(env)
}

// dcsaBody is what a DCSA-scheme subscription receives: an array of events, here the one
// stored envelope.
func dcsaBody(body []byte) []byte {
	out := make([]byte, 0, len(body)+2)
	out = append(out, '[')
	out = append(out, body...)
	return append(out, ']')
}
