// Package events is the NATS contract of SCODA's events: the streams, the subjects every event is
// published on, the Content-Type header that names its protobuf message, and the wire encoding
// of the messages generated from proto/ (package github.com/scodalabs/scoda/pkg/gen/...).
//
// A publisher builds the subject with [Subject] (or the per-family builders), encodes with
// [Marshal], sets the header [HeaderContentType] to [ContentType] of the message and publishes
// with Nats-Msg-Id = [EventID]. A consumer decodes with [Decode] (from the header) or [Unmarshal]
// (when the subject already says the type).
package events

import (
	"errors"
	"fmt"
	"mime"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Event is implemented by every top-level event message: each carries a common Envelope.
type Event interface {
	proto.Message
	GetEnvelope() *commonv1.Envelope
}

// Compile-time checks that every top-level message is an Event.
var (
	_ Event = (*trackingv1.ContainerEvent)(nil)
	_ Event = (*schedulev1.DepartureEvent)(nil)
	_ Event = (*schedulev1.BookingEvent)(nil)
	_ Event = (*schedulev1.EtaEvent)(nil)
	_ Event = (*schedulev1.ShipmentEvent)(nil)
	_ Event = (*schedulev1.ExceptionEvent)(nil)
	_ Event = (*notificationv1.DeliveryEvent)(nil)
	_ Event = (*notificationv1.SubscriptionEvent)(nil)
)

// EventID returns the event's id (envelope.event_id), which publishers use as Nats-Msg-Id and
// consumers as their idempotency key. It is empty when the envelope or id is missing.
func EventID(ev Event) string {
	return ev.GetEnvelope().GetEventId()
}

// HeaderContentType is the NATS message header naming the payload's encoding and message type.
// nats.Header is case-sensitive: use this exact spelling.
const HeaderContentType = "Content-Type"

// MediaType is the media type of every SCODA event payload: binary protobuf.
const MediaType = "application/protobuf"

// Content types of the top-level event messages: MediaType with a proto parameter naming the
// message, the value of the HeaderContentType header.
const (
	ContentTypeContainerEvent    = MediaType + "; proto=scoda.tracking.v1.ContainerEvent"
	ContentTypeDepartureEvent    = MediaType + "; proto=scoda.schedule.v1.DepartureEvent"
	ContentTypeBookingEvent      = MediaType + "; proto=scoda.schedule.v1.BookingEvent"
	ContentTypeEtaEvent          = MediaType + "; proto=scoda.schedule.v1.EtaEvent"
	ContentTypeShipmentEvent     = MediaType + "; proto=scoda.schedule.v1.ShipmentEvent"
	ContentTypeExceptionEvent    = MediaType + "; proto=scoda.schedule.v1.ExceptionEvent"
	ContentTypeDeliveryEvent     = MediaType + "; proto=scoda.notification.v1.DeliveryEvent"
	ContentTypeSubscriptionEvent = MediaType + "; proto=scoda.notification.v1.SubscriptionEvent"
)

// ContentType returns the HeaderContentType value for m:
// "application/protobuf; proto=<full message name>".
func ContentType(m proto.Message) string {
	return MediaType + "; proto=" + string(m.ProtoReflect().Descriptor().FullName())
}

// ErrUnknownContentType is returned by Decode for a content type that is not a SCODA event.
var ErrUnknownContentType = errors.New("events: unknown content type")

// ErrDecode wraps every payload decoding error, so consumers can tell a poison message (terminate
// it) from a transient fault.
var ErrDecode = errors.New("events: cannot decode payload")

// known maps the message names that may arrive on the bus to constructors. Decode only
// instantiates these, whatever a peer puts in its headers.
var known = map[protoreflect.FullName]func() Event{
	"scoda.tracking.v1.ContainerEvent":        func() Event { return new(trackingv1.ContainerEvent) },
	"scoda.schedule.v1.DepartureEvent":        func() Event { return new(schedulev1.DepartureEvent) },
	"scoda.schedule.v1.BookingEvent":          func() Event { return new(schedulev1.BookingEvent) },
	"scoda.schedule.v1.EtaEvent":              func() Event { return new(schedulev1.EtaEvent) },
	"scoda.schedule.v1.ShipmentEvent":         func() Event { return new(schedulev1.ShipmentEvent) },
	"scoda.schedule.v1.ExceptionEvent":        func() Event { return new(schedulev1.ExceptionEvent) },
	"scoda.notification.v1.DeliveryEvent":     func() Event { return new(notificationv1.DeliveryEvent) },
	"scoda.notification.v1.SubscriptionEvent": func() Event { return new(notificationv1.SubscriptionEvent) },
}

// Marshal encodes m in the wire format: binary protobuf, deterministic, so the same event always
// has the same bytes (golden files in testdata pin them).
func Marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("events: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return b, nil
}

// Unmarshal decodes data into m. Unknown fields (from a newer producer) are kept. Errors wrap
// ErrDecode.
func Unmarshal(data []byte, m proto.Message) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrDecode, m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// Decode decodes a payload whose type is named by contentType (the HeaderContentType header).
// It returns an error wrapping ErrUnknownContentType when the header does not name a SCODA event,
// and one wrapping ErrDecode when the payload does not decode.
func Decode(contentType string, data []byte) (Event, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != MediaType {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContentType, contentType)
	}
	newEvent, ok := known[protoreflect.FullName(params["proto"])]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContentType, contentType)
	}
	ev := newEvent()
	if err := Unmarshal(data, ev); err != nil {
		return nil, err
	}
	return ev, nil
}
