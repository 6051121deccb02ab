package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// estimateArrivals is a departure's current estimate of its arrival at every stop (nil where
// there is none: the origin), from its planned and actual times.
//
// The running delay is the actual minus the planned time at the latest stop with an actual time
// (its departure when the train has left it, else its arrival); zero before the train has
// started. A stop the train has arrived at is estimated at its actual arrival; a stop it has
// not reached yet at its planned arrival plus the running delay. The delay is signed: a train
// running early brings its estimates forward, but a stop not reached yet is never estimated
// earlier than now (the train cannot be there in the past).
func estimateArrivals(d pgstore.Departure, now time.Time) []*time.Time {
	var delay time.Duration
	last := -1
	for i, st := range d.Stops {
		switch {
		case st.ActualDeparture != nil && st.PlannedDeparture != nil:
			delay, last = st.ActualDeparture.Sub(*st.PlannedDeparture), i
		case st.ActualArrival != nil && st.PlannedArrival != nil:
			delay, last = st.ActualArrival.Sub(*st.PlannedArrival), i
		case st.ActualDeparture != nil || st.ActualArrival != nil:
			last = i
		}
	}
	out := make([]*time.Time, len(d.Stops))
	for i, st := range d.Stops {
		switch {
		case st.ActualArrival != nil:
			at := *st.ActualArrival
			out[i] = &at
		case st.PlannedArrival != nil:
			at := st.PlannedArrival.Add(delay)
			if i > last && at.Before(now) {
				at = now
			}
			out[i] = &at
		}
	}
	return out
}

// etaMoved says whether an estimate is to be announced: there was none before, or it moved by
// more than threshold from the one last announced.
func etaMoved(previous *time.Time, eta time.Time, threshold time.Duration) bool {
	if previous == nil {
		return true
	}
	diff := eta.Sub(*previous)
	return diff > threshold || -diff > threshold
}

// recomputeETAs estimates departure id again (see estimateArrivals) for every booking riding
// it, and announces and stores the ETAs that moved by more than cfg.ETAThreshold from the one
// last announced (a smaller change is neither announced nor stored, so drift accumulates against
// the last announced value). The shipments of its bookings are refreshed.
func (s *Scheduler) recomputeETAs(ctx context.Context, tx pgx.Tx, id string, reason schedulev1.EtaChangeReason, detail string) error {
	d, err := s.store.DepartureIn(ctx, tx, id)
	if err != nil {
		return err
	}
	bookings, err := s.store.RidingBookings(ctx, tx, id)
	if err != nil {
		return err
	}
	return s.announceETAs(ctx, tx, d, bookings, reason, detail)
}

// announceETAs announces and stores the ETAs of bookings (riding d) that moved by more than
// cfg.ETAThreshold, then refreshes their shipments.
func (s *Scheduler) announceETAs(ctx context.Context, tx pgx.Tx, d pgstore.Departure, bookings []pgstore.Booking,
	reason schedulev1.EtaChangeReason, detail string) error {
	if len(bookings) == 0 {
		return nil
	}
	now := s.now()
	est := estimateArrivals(d, now)
	var evs []events.Event
	var moved []pgstore.Booking
	ids := make([]string, 0, len(bookings))
	for _, b := range bookings {
		ids = append(ids, b.ID)
		if b.ToSeq < 0 || b.ToSeq >= len(est) || est[b.ToSeq] == nil || !etaMoved(b.ETA, *est[b.ToSeq], s.cfg.ETAThreshold) {
			continue
		}
		moved = append(moved, b)
	}
	if len(moved) > 0 {
		movedIDs := make([]string, len(moved))
		for i, b := range moved {
			movedIDs[i] = b.ID
		}
		ships, err := s.store.ShipmentsOf(ctx, tx, movedIDs)
		if err != nil {
			return err
		}
		for _, b := range moved {
			eta := *est[b.ToSeq]
			if err := s.store.SetETA(ctx, tx, b.ID, eta); err != nil {
				return err
			}
			ship := ships[b.ID]
			evs = append(evs, &schedulev1.EtaEvent{Envelope: envelope(b.Tenant, now), BookingId: b.ID,
				ShipmentId: ship.ID, TransportDocumentReference: ship.TransportDocumentReference,
				EquipmentReference: b.Container, DepartureId: d.ID,
				Change: &schedulev1.EtaEvent_Changed{Changed: &schedulev1.EtaChanged{
					PreviousEta: ts(b.ETA), Eta: ts(&eta), Location: location(d.Stops[b.ToSeq].UNLocationCode),
					Reason: reason, Detail: detail}}})
		}
		if err := enqueue(ctx, tx, evs...); err != nil {
			return err
		}
	}
	return s.refreshShipments(ctx, tx, ids...)
}
