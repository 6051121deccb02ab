package events

import (
	"errors"
	"fmt"
	"strings"

	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Streams: one JetStream stream per producing service.
const (
	StreamTracking     = "TRACKING"
	StreamSchedule     = "SCHEDULE"
	StreamNotification = "NOTIFICATION"
)

// Subject prefixes, versioned with the proto package: a breaking change to the contracts gets a
// new package (v2) and new subjects, side by side with v1.
const (
	PrefixTracking     = "tracking.v1."
	PrefixSchedule     = "schedule.v1."
	PrefixNotification = "notification.v1."
)

// Filter subjects for streams and consumers.
const (
	FilterTracking     = PrefixTracking + ">" // everything tracking publishes or ingests
	FilterContainer    = PrefixTracking + "container.>"
	FilterTrain        = PrefixTracking + "train.>"
	FilterIngest       = PrefixTracking + "ingest.>"
	FilterDeadLetter   = PrefixTracking + "deadletter.>"
	FilterSchedule     = PrefixSchedule + ">"
	FilterDeparture    = PrefixSchedule + "departure.>"
	FilterBooking      = PrefixSchedule + "booking.>"
	FilterEta          = PrefixSchedule + "eta.>"
	FilterShipment     = PrefixSchedule + "shipment.>"
	FilterException    = PrefixSchedule + "exception.>"
	FilterNotification = PrefixNotification + ">"
	FilterDelivery     = PrefixNotification + "delivery.>"
	FilterSubscription = PrefixNotification + "subscription.>"
)

// Stream names a JetStream stream and the subjects it captures.
type Stream struct {
	Name     string
	Subjects []string
}

// Streams returns the streams of the contract, one per producing service. Each captures its
// whole prefix, so raw ingest and dead letters are part of the TRACKING log too.
func Streams() []Stream {
	return []Stream{
		{Name: StreamTracking, Subjects: []string{FilterTracking}},
		{Name: StreamSchedule, Subjects: []string{FilterSchedule}},
		{Name: StreamNotification, Subjects: []string{FilterNotification}},
	}
}

// Kinds of ContainerEvent: the names of its payload oneof fields and the <kind> subject token.
const (
	KindEquipment = "equipment"
	KindTransport = "transport"
	KindShipment  = "shipment"
	KindPosition  = "position"
)

// ErrNoPayload is returned when an event's oneof (payload, change or outcome) is not set, so the
// event has no subject.
var ErrNoPayload = errors.New("events: event has no payload set")

// ErrInvalidToken is returned when a value cannot be a subject token: a malformed container
// number, an empty train number, or a source id with characters outside [A-Za-z0-9_-].
var ErrInvalidToken = errors.New("events: invalid subject token")

// Subject returns the subject ev is published on, whatever its type.
func Subject(ev Event) (string, error) {
	switch ev := ev.(type) {
	case *trackingv1.ContainerEvent:
		return ContainerSubject(ev)
	case *schedulev1.DepartureEvent:
		return DepartureSubject(ev)
	case *schedulev1.BookingEvent:
		return BookingSubject(ev)
	case *schedulev1.EtaEvent:
		return EtaSubject(ev)
	case *schedulev1.ShipmentEvent:
		return ShipmentSubject(ev)
	case *schedulev1.ExceptionEvent:
		return ExceptionSubject(ev)
	case *notificationv1.DeliveryEvent:
		return DeliverySubject(ev)
	case *notificationv1.SubscriptionEvent:
		return SubscriptionSubject(ev)
	default:
		return "", fmt.Errorf("events: no subject for %T", ev)
	}
}

// ContainerKind returns the kind of ev (KindEquipment, KindTransport, KindShipment or
// KindPosition) from its payload, or "" when no payload is set.
func ContainerKind(ev *trackingv1.ContainerEvent) string {
	switch ev.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment:
		return KindEquipment
	case *trackingv1.ContainerEvent_Transport:
		return KindTransport
	case *trackingv1.ContainerEvent_Shipment:
		return KindShipment
	case *trackingv1.ContainerEvent_Position:
		return KindPosition
	default:
		return ""
	}
}

// ContainerSubject returns the subject of a container event:
//
//	tracking.v1.container.<kind>.<equipment_reference>
//
// A position fix or transport event without a container number but with a train number (a
// locomotive tracker, a train movement not yet matched to its containers) goes to
//
//	tracking.v1.train.<kind>.<SanitizeToken(train number)>
//
// The container number must be 11 characters of [A-Z0-9] (ISO 6346 shape; the check digit is the
// validator's business, not the subject's).
func ContainerSubject(ev *trackingv1.ContainerEvent) (string, error) {
	kind := ContainerKind(ev)
	if kind == "" {
		return "", fmt.Errorf("%w: container event %q", ErrNoPayload, EventID(ev))
	}
	if ref := ev.GetEquipmentReference(); ref != "" {
		if !isContainerNumber(ref) {
			return "", fmt.Errorf("%w: container number %q is not 11 characters of [A-Z0-9]", ErrInvalidToken, ref)
		}
		return PrefixTracking + "container." + kind + "." + ref, nil
	}
	var train string
	switch kind {
	case KindPosition:
		train = ev.GetPosition().GetTrainNumber()
	case KindTransport:
		train = ev.GetTransport().GetTransportCall().GetRail().GetTrainNumber()
	}
	if train == "" {
		return "", fmt.Errorf("%w: %s event %q has no equipment_reference (nor a train number)", ErrInvalidToken, kind, EventID(ev))
	}
	tok, err := SanitizeToken(train)
	if err != nil {
		return "", err
	}
	return PrefixTracking + "train." + kind + "." + tok, nil
}

// IngestSubject returns tracking.v1.ingest.<source>, where raw IoT telemetry from a gateway is
// published. source must already be a valid token ([A-Za-z0-9_-]+): it is our own gateway id,
// and NATS permissions are granted per subject, so it is checked, not rewritten.
func IngestSubject(source string) (string, error) {
	if !isToken(source) {
		return "", fmt.Errorf("%w: ingest source %q", ErrInvalidToken, source)
	}
	return PrefixTracking + "ingest." + source, nil
}

// DeadLetterSubject returns tracking.v1.deadletter.<source>, where ingest messages that could not
// be decoded or validated are kept for inspection and replay. source follows IngestSubject's rule.
func DeadLetterSubject(source string) (string, error) {
	if !isToken(source) {
		return "", fmt.Errorf("%w: dead-letter source %q", ErrInvalidToken, source)
	}
	return PrefixTracking + "deadletter." + source, nil
}

// DepartureSubject returns schedule.v1.departure.<change>.
func DepartureSubject(ev *schedulev1.DepartureEvent) (string, error) {
	var change string
	switch ev.GetChange().(type) {
	case *schedulev1.DepartureEvent_Planned:
		change = "planned"
	case *schedulev1.DepartureEvent_Opened:
		change = "opened"
	case *schedulev1.DepartureEvent_Closed:
		change = "closed"
	case *schedulev1.DepartureEvent_Delayed:
		change = "delayed"
	case *schedulev1.DepartureEvent_Cancelled:
		change = "cancelled"
	case *schedulev1.DepartureEvent_Departed:
		change = "departed"
	case *schedulev1.DepartureEvent_Arrived:
		change = "arrived"
	case *schedulev1.DepartureEvent_CapacityChanged:
		change = "capacity_changed"
	default:
		return "", fmt.Errorf("%w: departure event %q", ErrNoPayload, EventID(ev))
	}
	return PrefixSchedule + "departure." + change, nil
}

// BookingSubject returns schedule.v1.booking.<change>.
func BookingSubject(ev *schedulev1.BookingEvent) (string, error) {
	var change string
	switch ev.GetChange().(type) {
	case *schedulev1.BookingEvent_Created:
		change = "created"
	case *schedulev1.BookingEvent_Confirmed:
		change = "confirmed"
	case *schedulev1.BookingEvent_Moved:
		change = "moved"
	case *schedulev1.BookingEvent_Cancelled:
		change = "cancelled"
	case *schedulev1.BookingEvent_Waitlisted:
		change = "waitlisted"
	case *schedulev1.BookingEvent_StatusChanged:
		change = "status_changed"
	default:
		return "", fmt.Errorf("%w: booking event %q", ErrNoPayload, EventID(ev))
	}
	return PrefixSchedule + "booking." + change, nil
}

// EtaSubject returns schedule.v1.eta.<change>.
func EtaSubject(ev *schedulev1.EtaEvent) (string, error) {
	switch ev.GetChange().(type) {
	case *schedulev1.EtaEvent_Changed:
		return PrefixSchedule + "eta.changed", nil
	default:
		return "", fmt.Errorf("%w: eta event %q", ErrNoPayload, EventID(ev))
	}
}

// ShipmentSubject returns schedule.v1.shipment.<change>.
func ShipmentSubject(ev *schedulev1.ShipmentEvent) (string, error) {
	var change string
	switch ev.GetChange().(type) {
	case *schedulev1.ShipmentEvent_Created:
		change = "created"
	case *schedulev1.ShipmentEvent_LegAdded:
		change = "leg_added"
	case *schedulev1.ShipmentEvent_StatusChanged:
		change = "status_changed"
	case *schedulev1.ShipmentEvent_LegUpdated:
		change = "leg_updated"
	default:
		return "", fmt.Errorf("%w: shipment event %q", ErrNoPayload, EventID(ev))
	}
	return PrefixSchedule + "shipment." + change, nil
}

// ExceptionSubject returns schedule.v1.exception.<change>.
func ExceptionSubject(ev *schedulev1.ExceptionEvent) (string, error) {
	var change string
	switch ev.GetChange().(type) {
	case *schedulev1.ExceptionEvent_MissedCutoff:
		change = "missed_cutoff"
	case *schedulev1.ExceptionEvent_DepartureLate:
		change = "departure_late"
	case *schedulev1.ExceptionEvent_BorderDwell:
		change = "border_dwell"
	case *schedulev1.ExceptionEvent_Waitlisted:
		change = "waitlisted"
	default:
		return "", fmt.Errorf("%w: exception event %q", ErrNoPayload, EventID(ev))
	}
	return PrefixSchedule + "exception." + change, nil
}

// DeliverySubject returns notification.v1.delivery.<outcome>.
func DeliverySubject(ev *notificationv1.DeliveryEvent) (string, error) {
	var outcome string
	switch ev.GetOutcome().(type) {
	case *notificationv1.DeliveryEvent_Succeeded:
		outcome = "succeeded"
	case *notificationv1.DeliveryEvent_AttemptFailed:
		outcome = "attempt_failed"
	case *notificationv1.DeliveryEvent_DeadLettered:
		outcome = "dead_lettered"
	default:
		return "", fmt.Errorf("%w: delivery event %q", ErrNoPayload, EventID(ev))
	}
	return PrefixNotification + "delivery." + outcome, nil
}

// SubscriptionSubject returns notification.v1.subscription.<change>.
func SubscriptionSubject(ev *notificationv1.SubscriptionEvent) (string, error) {
	switch ev.GetChange().(type) {
	case *notificationv1.SubscriptionEvent_Disabled:
		return PrefixNotification + "subscription.disabled", nil
	default:
		return "", fmt.Errorf("%w: subscription event %q", ErrNoPayload, EventID(ev))
	}
}

// maxTokenLen bounds a sanitised token; longer input is an error rather than a huge subject.
const maxTokenLen = 64

// SanitizeToken turns an external identifier (a train number such as "X8024/8023") into a
// NATS-safe subject token: surrounding space is trimmed and every character outside
// [A-Za-z0-9_-] becomes "_" ("X8024_8023"). It fails, wrapping ErrInvalidToken, when nothing
// alphanumeric is left or the token would exceed 64 bytes.
func SanitizeToken(s string) (string, error) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	alnum := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			alnum = true
			b.WriteRune(r)
		case r == '-' || r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() > maxTokenLen {
			return "", fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidToken, s, maxTokenLen)
		}
	}
	if !alnum {
		return "", fmt.Errorf("%w: %q has no letters or digits", ErrInvalidToken, s)
	}
	return b.String(), nil
}

// isToken reports whether s is a non-empty token of at most maxTokenLen characters of
// [A-Za-z0-9_-].
func isToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isContainerNumber reports whether s has the shape of an ISO 6346 container number as it
// appears in subjects: 11 characters of [A-Z0-9].
func isContainerNumber(s string) bool {
	if len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// SubjectTemplate replaces the id token of a subject with a placeholder, giving the
// low-cardinality name that spans and metrics use (messaging.destination.template):
// tracking.v1.container.equipment.CSQU3054383 -> tracking.v1.container.equipment.{containerNo}.
// Subjects without an id token are returned as they are.
func SubjectTemplate(subject string) string {
	tokens := strings.Split(subject, ".")
	if len(tokens) < 4 || tokens[0] != "tracking" {
		return subject
	}
	switch {
	case tokens[2] == "container" && len(tokens) == 5:
		tokens[4] = "{containerNo}"
	case tokens[2] == "train" && len(tokens) == 5:
		tokens[4] = "{trainNo}"
	case (tokens[2] == "ingest" || tokens[2] == "deadletter") && len(tokens) == 4:
		tokens[3] = "{source}"
	default:
		return subject
	}
	return strings.Join(tokens, ".")
}

// OrderKey is the key consumers keep order by: the container number for
// tracking.v1.container.<kind>.<containerNo> (so one container's equipment, transport and
// position events stay in stream order together), the train for tracking.v1.train.<kind>.<train>,
// and the subject itself for anything else.
func OrderKey(subject string) string {
	for _, prefix := range []string{PrefixTracking + "container.", PrefixTracking + "train."} {
		if rest, ok := strings.CutPrefix(subject, prefix); ok {
			if _, id, ok := strings.Cut(rest, "."); ok && id != "" {
				return prefix + id
			}
		}
	}
	return subject
}
