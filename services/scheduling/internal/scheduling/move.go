package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// MoveRequest moves bookings to another departure of their route; Reason is carried in the events.
type MoveRequest struct {
	BookingIDs    []string `json:"bookingIDs"`
	ToDepartureID string   `json:"toDepartureID"`
	Reason        string   `json:"reason"`
}

// Move moves every booking of req to req.ToDepartureID, all or nothing (see
// pgstore.Store.MoveThen). In the same transaction it announces exactly one
// schedule.v1.booking.moved per booking, and schedule.v1.eta.changed for each whose ETA on the
// target moved by more than cfg.ETAThreshold. The room the bookings left is offered to the
// route's waitlist (see promoteWaitlist).
func (s *Scheduler) Move(ctx context.Context, req MoveRequest) ([]pgstore.MovedBooking, error) {
	return s.store.MoveThen(ctx, req.BookingIDs, req.ToDepartureID,
		func(tx pgx.Tx, target pgstore.Departure, moves []pgstore.MovedBooking) error {
			if err := enqueue(ctx, tx, moveEvents(target, moves, req.Reason, s.now())...); err != nil {
				return err
			}
			bookings := make([]pgstore.Booking, len(moves))
			for i, m := range moves {
				bookings[i] = m.Booking
			}
			if err := s.announceETAs(ctx, tx, target, bookings, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_BOOKING_MOVED, req.Reason); err != nil {
				return err
			}
			return s.promoteWaitlist(ctx, tx, target.Route)
		})
}

func moveEvents(target pgstore.Departure, moves []pgstore.MovedBooking, reason string, now time.Time) []events.Event {
	evs := make([]events.Event, 0, len(moves))
	for _, m := range moves {
		b := m.Booking
		evs = append(evs, &schedulev1.BookingEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
			DepartureId: target.ID, RouteCode: target.Route, TrainNumber: target.TrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_Moved{Moved: &schedulev1.BookingMoved{FromDepartureId: m.FromDepartureID,
				ToDepartureId: target.ID, FromTrainNumber: m.FromTrainNumber, Reason: reason}}})
	}
	return evs
}
