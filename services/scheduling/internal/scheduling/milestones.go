package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// bookingStatuses maps the store's booking statuses to the contract's.
var bookingStatuses = map[string]schedulev1.BookingStatus{
	pgstore.BookingConfirmed:  schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED,
	pgstore.BookingWaitlisted: schedulev1.BookingStatus_BOOKING_STATUS_WAITLISTED,
	pgstore.BookingCancelled:  schedulev1.BookingStatus_BOOKING_STATUS_CANCELLED,
	pgstore.BookingReceived:   schedulev1.BookingStatus_BOOKING_STATUS_RECEIVED,
	pgstore.BookingLoaded:     schedulev1.BookingStatus_BOOKING_STATUS_LOADED,
	pgstore.BookingInTransit:  schedulev1.BookingStatus_BOOKING_STATUS_IN_TRANSIT,
	pgstore.BookingArrived:    schedulev1.BookingStatus_BOOKING_STATUS_ARRIVED,
	pgstore.BookingDelivered:  schedulev1.BookingStatus_BOOKING_STATUS_DELIVERED,
}

// Milestones applies a batch of tracking container events in stream order, as Milestone applies
// each, in the inbox transaction tx: first one query finds which of their containers have a
// booking (most events are about containers nobody booked here), then Milestone runs for the
// events about those. A booking made while the batch is applied counts from the next batch on,
// as it would for an event consumed a moment earlier: bookings and milestones come by different
// paths, in no order between them.
func (s *Scheduler) Milestones(ctx context.Context, tx pgx.Tx, evs []app.BatchEvent) error {
	var containers []string
	var candidates []app.BatchEvent // in stream order
	for _, ev := range evs {
		if ce, ok := milestoneOf(ev.Event); ok {
			containers = append(containers, ce.GetEquipmentReference())
			candidates = append(candidates, ev)
		}
	}
	booked, err := s.store.Booked(ctx, tx, containers)
	if err != nil {
		return err
	}
	for i, ev := range candidates {
		if !booked[containers[i]] {
			continue
		}
		if err := s.Milestone(ev.Ctx, tx, ev.Event); err != nil {
			return err
		}
	}
	return nil
}

// milestoneOf returns ev as a container event that may move a booking: an actual equipment or
// transport event about a container.
func milestoneOf(ev events.Event) (*trackingv1.ContainerEvent, bool) {
	ce, ok := ev.(*trackingv1.ContainerEvent)
	if !ok || ce.GetEquipmentReference() == "" ||
		ce.GetClassifier() == trackingv1.EventClassifier_EVENT_CLASSIFIER_PLN ||
		ce.GetClassifier() == trackingv1.EventClassifier_EVENT_CLASSIFIER_EST {
		return nil, false
	}
	switch ce.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment, *trackingv1.ContainerEvent_Transport:
		return ce, true
	}
	return nil, false
}

// Milestone applies a tracking container event to the container's active booking and its
// departure, inside the inbox transaction tx (so it runs once per event id): gate-in at the
// origin -> received; LOAD -> loaded; DEPA at the first stop or by the departure's train ->
// departure departed (actual time at that stop) and booking in transit; ARRI at a stop -> its
// actual arrival, and at the destination -> arrived; DISC or GTOT at the destination ->
// delivered. Statuses only move forward; each change is enqueued as an event in tx. An actual
// departure or arrival also recomputes the ETAs of the departure's bookings and checks it for
// exceptions (see actualsChanged). Events about other things, or about containers without an
// active booking, are ignored.
func (s *Scheduler) Milestone(ctx context.Context, tx pgx.Tx, ev events.Event) error {
	ce, ok := milestoneOf(ev)
	if !ok {
		return nil // position fixes and shipment events move no booking: no query for them
	}
	r, ok, err := s.store.ActiveBookingFor(ctx, tx, ce.GetEquipmentReference())
	if err != nil || !ok {
		return err
	}
	at := s.now()
	if ts := ce.GetEnvelope().GetOccurredAt(); ts != nil {
		at = ts.AsTime()
	}
	b := r.Booking
	stop := func(code string) int {
		for i, c := range r.Stops {
			if c == code && code != "" {
				return i
			}
		}
		return -1
	}
	// advance moves the booking to status; refresh also refreshes its shipment (a transport
	// event leaves that to actualsChanged, which refreshes every booking of the train once).
	advance := func(status, loc string, refresh bool) error {
		prev, moved, err := s.store.AdvanceBooking(ctx, tx, b.ID, status)
		if err != nil || !moved {
			return err
		}
		if err := enqueue(ctx, tx, &schedulev1.BookingEvent{
			Envelope: envelope(b.Tenant, s.now()), BookingId: b.ID, DepartureId: b.DepartureID, RouteCode: r.Route,
			TrainNumber: r.TrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_StatusChanged{StatusChanged: &schedulev1.BookingStatusChanged{
				PreviousStatus: bookingStatuses[prev], Status: bookingStatuses[status],
				Location: location(loc)}},
		}); err != nil || !refresh {
			return err
		}
		return s.refreshShipments(ctx, tx, b.ID)
	}
	switch p := ce.GetPayload().(type) {
	case *trackingv1.ContainerEvent_Equipment:
		eq := p.Equipment
		loc := eq.GetEventLocation().GetUnLocationCode()
		if loc == "" {
			loc = eq.GetTransportCall().GetLocation().GetUnLocationCode()
		}
		switch eq.GetEventType() {
		case trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN:
			if seq := stop(loc); seq >= 0 && seq == b.FromSeq {
				return advance(pgstore.BookingReceived, loc, true)
			}
		case trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD:
			return advance(pgstore.BookingLoaded, loc, true)
		case trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_DISC, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTOT:
			if seq := stop(loc); seq >= 0 && seq == b.ToSeq {
				return advance(pgstore.BookingDelivered, loc, true)
			}
		}
	case *trackingv1.ContainerEvent_Transport:
		call := p.Transport.GetTransportCall()
		loc := call.GetLocation().GetUnLocationCode()
		seq := stop(loc)
		switch p.Transport.GetEventType() {
		case trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA:
			byTrain := call.GetRail().GetTrainNumber() != "" && call.GetRail().GetTrainNumber() == r.TrainNumber
			if seq != 0 && !byTrain {
				return nil
			}
			if len(r.Stops) == 0 {
				return nil
			}
			if seq < 0 {
				seq = 0 // the train, reported without a stop of its own: it left its origin
			}
			return s.departed(ctx, tx, r, seq, at, advance)
		case trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI:
			if seq < 0 {
				return nil
			}
			recorded, final, err := s.store.RecordArrival(ctx, tx, b.DepartureID, seq, at)
			if err != nil {
				return err
			}
			if recorded {
				if err := enqueue(ctx, tx, &schedulev1.DepartureEvent{Envelope: envelope("", s.now()),
					DepartureId: b.DepartureID, RouteCode: r.Route, TrainNumber: r.TrainNumber,
					Change: &schedulev1.DepartureEvent_Arrived{Arrived: &schedulev1.DepartureArrived{
						ActualArrivalAt: timestamppb.New(at), Location: location(loc), StopSequence: int32(seq + 1),
						Final: final}}}); err != nil {
					return err
				}
			}
			if seq == b.ToSeq {
				if err := advance(pgstore.BookingArrived, loc, false); err != nil {
					return err
				}
			}
			return s.actualsChanged(ctx, tx, b.DepartureID, -1)
		}
	}
	return nil
}

// departed records that r's departure left stop seq at, announces it when the departure has
// just departed, and puts the booking in transit.
func (s *Scheduler) departed(ctx context.Context, tx pgx.Tx, r pgstore.Riding, seq int, at time.Time,
	advance func(status, loc string, refresh bool) error) error {
	changed, err := s.store.MarkDeparted(ctx, tx, r.Booking.DepartureID, seq, at)
	if err != nil {
		return err
	}
	if changed {
		if err := enqueue(ctx, tx, &schedulev1.DepartureEvent{Envelope: envelope("", s.now()),
			DepartureId: r.Booking.DepartureID, RouteCode: r.Route, TrainNumber: r.TrainNumber,
			Change: &schedulev1.DepartureEvent_Departed{Departed: &schedulev1.DepartureDeparted{
				ActualDepartureAt: timestamppb.New(at), Location: location(r.Stops[seq]),
				StopSequence: int32(seq + 1)}}}); err != nil {
			return err
		}
	}
	if err := advance(pgstore.BookingInTransit, r.Stops[seq], false); err != nil {
		return err
	}
	return s.actualsChanged(ctx, tx, r.Booking.DepartureID, seq)
}

// actualsChanged follows an actual time recorded on a departure: the ETAs of its bookings
// (announced when they moved by more than cfg.ETAThreshold), departure_late when it now runs
// later than its first plan by more than cfg.LateThreshold, and, when it has just left stop
// leftSeq (-1: it arrived somewhere), border_dwell when that is a border stop it stayed at too
// long.
func (s *Scheduler) actualsChanged(ctx context.Context, tx pgx.Tx, departureID string, leftSeq int) error {
	if err := s.recomputeETAs(ctx, tx, departureID, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_MILESTONE, "actual times reported"); err != nil {
		return err
	}
	d, err := s.store.DepartureIn(ctx, tx, departureID)
	if err != nil {
		return err
	}
	if err := s.checkLate(ctx, tx, d); err != nil {
		return err
	}
	if leftSeq < 0 {
		return nil
	}
	return s.checkBorderDepartureDwell(ctx, tx, d, leftSeq)
}

func location(code string) *commonv1.Location {
	if code == "" {
		return nil
	}
	return &commonv1.Location{UnLocationCode: code}
}
