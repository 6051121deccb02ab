package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// CancelRequest cancels a departure; Reason is carried in the events.
type CancelRequest struct {
	Reason string `json:"reason"`
}

// Cancel cancels a departure when it is at the version ifMatch names. Its bookings are
// re-accommodated on the next departures of the same route with room, in booking order, and
// the rest waitlisted (see pgstore.Store.CancelThen). In the same transaction it announces
// schedule.v1.departure.cancelled and exactly one event per affected booking:
// schedule.v1.booking.moved or schedule.v1.booking.waitlisted with its position.
func (s *Scheduler) Cancel(ctx context.Context, id, ifMatch string, req CancelRequest) (pgstore.Cancellation, error) {
	version, err := IfMatch(ifMatch)
	if err != nil {
		return pgstore.Cancellation{}, err
	}
	return s.store.CancelThen(ctx, id, version, func(tx pgx.Tx, before pgstore.Departure, c pgstore.Cancellation) error {
		return enqueue(ctx, tx, cancelEvents(before, c, req.Reason, s.now())...)
	})
}

func cancelEvents(before pgstore.Departure, c pgstore.Cancellation, reason string, now time.Time) []events.Event {
	why := "departure cancelled"
	if reason != "" {
		why += ": " + reason
	}
	evs := make([]events.Event, 0, 1+len(c.Moved)+len(c.Waitlisted))
	evs = append(evs, &schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: before.ID, RouteCode: before.Route,
		TrainNumber: before.TrainNumber, Change: &schedulev1.DepartureEvent_Cancelled{
			Cancelled: &schedulev1.DepartureCancelled{Reason: reason}}})
	for _, m := range c.Moved {
		b := m.Booking
		evs = append(evs, &schedulev1.BookingEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
			DepartureId: m.ToDepartureID, RouteCode: before.Route, TrainNumber: m.ToTrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_Moved{Moved: &schedulev1.BookingMoved{FromDepartureId: before.ID,
				ToDepartureId: m.ToDepartureID, FromTrainNumber: before.TrainNumber, Reason: why}}})
	}
	for i, b := range c.Waitlisted {
		pos := int32(i + 1)
		evs = append(evs, &schedulev1.BookingEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
			DepartureId: before.ID, RouteCode: before.Route, TrainNumber: before.TrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_Waitlisted{Waitlisted: &schedulev1.BookingWaitlisted{Position: &pos,
				Reason: why + "; no room on the next departures of the route"}}})
	}
	return evs
}
