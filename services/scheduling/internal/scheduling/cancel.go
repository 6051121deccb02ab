package scheduling

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// CancelRequest cancels a departure; Reason is carried in the events.
type CancelRequest struct {
	Reason string `json:"reason"`
}

// ReasonFromWaitlist is the reason of a booking moved off its route's waitlist.
const ReasonFromWaitlist = "re-accommodated from the waitlist"

// Cancel cancels a departure when it is at the version ifMatch names. Its bookings are
// re-accommodated on the next departures of the same route with room, in booking order, and
// the rest waitlisted (see pgstore.Store.CancelThen). In the same transaction it announces
// schedule.v1.departure.cancelled and exactly one booking event per affected booking:
// schedule.v1.booking.moved, or schedule.v1.booking.waitlisted with its position on the route's
// waitlist (route-wide: after everyone waitlisted on the route before) together with
// schedule.v1.exception.waitlisted. A moved booking's ETA on its new departure is announced
// (schedule.v1.eta.changed) when it moved by more than cfg.ETAThreshold.
//
// The cancellation makes no room on the route, so the waitlist is not tried here.
func (s *Scheduler) Cancel(ctx context.Context, id, ifMatch string, req CancelRequest) (pgstore.Cancellation, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Cancellation{}, err
	}
	return s.store.CancelThen(ctx, id, version, func(tx pgx.Tx, before pgstore.Departure, c pgstore.Cancellation) error {
		ids := make([]string, len(c.Waitlisted))
		for i, b := range c.Waitlisted {
			ids[i] = b.ID
		}
		positions, err := s.store.WaitlistPositions(ctx, tx, before.Route, ids)
		if err != nil {
			return err
		}
		now := s.now()
		if err := enqueue(ctx, tx, cancelEvents(before, c, positions, req.Reason, now)...); err != nil {
			return err
		}
		if err := s.announceMoves(ctx, tx, movesOf(c.Moved), schedulev1.EtaChangeReason_ETA_CHANGE_REASON_BOOKING_MOVED, cancelWhy(req.Reason)); err != nil {
			return err
		}
		ships, err := s.store.ShipmentsOf(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, b := range c.Waitlisted {
			pos := int32(positions[b.ID])
			if err := s.raise(ctx, tx, waitlistedException(before, b, ships[b.ID], pos, cancelWhy(req.Reason), now)); err != nil {
				return err
			}
		}
		return s.refreshShipments(ctx, tx, ids...)
	})
}

func cancelWhy(reason string) string {
	why := "departure cancelled"
	if reason != "" {
		why += ": " + reason
	}
	return why
}

// movesOf groups the bookings moved by a cancellation by the departure they moved to.
func movesOf(moved []pgstore.Move) map[string][]pgstore.Booking {
	out := map[string][]pgstore.Booking{}
	for _, m := range moved {
		out[m.ToDepartureID] = append(out[m.ToDepartureID], m.Booking)
	}
	return out
}

// announceMoves announces the ETAs of bookings that moved, by the departure they moved to, on
// that departure (see announceETAs).
func (s *Scheduler) announceMoves(ctx context.Context, tx pgx.Tx, byDeparture map[string][]pgstore.Booking,
	reason schedulev1.EtaChangeReason, detail string) error {
	for dep, bookings := range byDeparture {
		d, err := s.store.DepartureIn(ctx, tx, dep)
		if err != nil {
			return err
		}
		if err := s.announceETAs(ctx, tx, d, bookings, reason, detail); err != nil {
			return err
		}
	}
	return nil
}

func cancelEvents(before pgstore.Departure, c pgstore.Cancellation, positions map[string]int, reason string, now time.Time) []events.Event {
	why := cancelWhy(reason)
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
	for _, b := range c.Waitlisted {
		pos := int32(positions[b.ID])
		evs = append(evs, &schedulev1.BookingEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
			DepartureId: before.ID, RouteCode: before.Route, TrainNumber: before.TrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_Waitlisted{Waitlisted: &schedulev1.BookingWaitlisted{Position: &pos,
				Reason: why + "; no room on the next departures of the route"}}})
	}
	return evs
}

// waitlistedException is the exception raised with a booking's waitlisting, once per stay on
// the waitlist (its key holds the time it joined).
func waitlistedException(d pgstore.Departure, b pgstore.Booking, ship pgstore.ShipmentRef, pos int32, why string, now time.Time) exception {
	var joined int64
	if b.WaitlistedAt != nil {
		joined = b.WaitlistedAt.Unix()
	}
	return exception{
		row: pgstore.Exception{Key: fmt.Sprintf("%s:%s:%d", pgstore.ExceptionWaitlisted, b.ID, joined),
			Kind: pgstore.ExceptionWaitlisted, DepartureID: d.ID, BookingID: b.ID, Tenant: b.Tenant,
			Detail: fmt.Sprintf("container %s waitlisted at position %d on route %s: %s", b.Container, pos, d.Route, why)},
		event: &schedulev1.ExceptionEvent{Envelope: envelope(b.Tenant, now), DepartureId: d.ID, RouteCode: d.Route,
			TrainNumber: d.TrainNumber, BookingId: b.ID, EquipmentReference: b.Container,
			ShipmentId: ship.ID, TransportDocumentReference: ship.TransportDocumentReference,
			Change: &schedulev1.ExceptionEvent_Waitlisted{Waitlisted: &schedulev1.BookingWaitlisted{Position: &pos, Reason: why}}},
	}
}

// promoteWaitlist tries the waitlisted bookings of route, in waitlist order, on its open or
// planned departures leaving after now (see pgstore.Store.PromoteWaitlist), in tx. Each booking
// placed is confirmed on its new departure and announced: schedule.v1.booking.moved (reason
// ReasonFromWaitlist) and, when its ETA moved by more than cfg.ETAThreshold,
// schedule.v1.eta.changed. Call it wherever room may appear on a route.
func (s *Scheduler) promoteWaitlist(ctx context.Context, tx pgx.Tx, route string) error {
	ps, err := s.store.PromoteWaitlist(ctx, tx, route, s.now())
	if err != nil || len(ps) == 0 {
		return err
	}
	now := s.now()
	evs := make([]events.Event, 0, len(ps))
	byDeparture := map[string][]pgstore.Booking{}
	for _, p := range ps {
		b := p.Booking
		evs = append(evs, &schedulev1.BookingEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
			DepartureId: p.ToDepartureID, RouteCode: route, TrainNumber: p.ToTrainNumber, EquipmentReference: b.Container,
			Change: &schedulev1.BookingEvent_Moved{Moved: &schedulev1.BookingMoved{FromDepartureId: p.FromDepartureID,
				ToDepartureId: p.ToDepartureID, FromTrainNumber: p.FromTrainNumber, Reason: ReasonFromWaitlist}}})
		byDeparture[p.ToDepartureID] = append(byDeparture[p.ToDepartureID], b)
	}
	if err := enqueue(ctx, tx, evs...); err != nil {
		return err
	}
	return s.announceMoves(ctx, tx, byDeparture, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_BOOKING_MOVED, ReasonFromWaitlist)
}
