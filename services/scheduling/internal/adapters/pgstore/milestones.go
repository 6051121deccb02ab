package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Booking statuses a container's milestones move a booking through, in order. A booking only
// ever moves forward along them.
const (
	BookingReceived  = "received"
	BookingLoaded    = "loaded"
	BookingInTransit = "in_transit"
	BookingArrived   = "arrived"
	BookingDelivered = "delivered"
)

// progress is the forward order of booking statuses: confirmed and waitlisted come first.
var progress = []string{BookingConfirmed, BookingWaitlisted, BookingReceived, BookingLoaded,
	BookingInTransit, BookingArrived, BookingDelivered}

// before returns the statuses a booking may move to status from: those earlier in progress.
func before(status string) []string {
	for i, s := range progress {
		if s == status {
			if i < 2 { // confirmed and waitlisted are not reached by milestones
				return nil
			}
			return progress[:i]
		}
	}
	return nil
}

// Riding is a container's active booking with the departure it rides.
type Riding struct {
	Booking         Booking
	Route           string
	TrainNumber     string
	DepartureStatus string
	Stops           []string // UN/LOCODE by seq
}

// Booked returns which of containers have a booking that is not cancelled, in one query (by
// bookings_container_idx), so that a batch of milestones looks for the booking of only those
// (ActiveBookingFor), without locking anything.
//
// Each container is looked up on its own (a scalar subquery with a limit, run per container
// on the index). `equipment_reference = ANY ($1)` says the same, but over a parameter the
// planner does not know the array's length, and under load it chose to scan every booking and
// test each against the whole array: 2.5 ms a batch of ~100 in `make bench`.
func (s *Store) Booked(ctx context.Context, tx pgx.Tx, containers []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(containers) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT c.no FROM unnest($1::text[]) AS c (no)
		WHERE (SELECT true FROM bookings b WHERE b.equipment_reference = c.no AND b.status <> $2 LIMIT 1)`,
		containers, BookingCancelled)
	if err != nil {
		return nil, fmt.Errorf("pgstore: booked: %w", err)
	}
	var c string
	if _, err := pgx.ForEachRow(rows, []any{&c}, func() error { out[c] = true; return nil }); err != nil {
		return nil, fmt.Errorf("pgstore: booked: %w", err)
	}
	return out, nil
}

// ActiveBookingFor returns, in tx, the latest booking (by created_at) of container that is not
// cancelled, with its departure; ok is false when there is none. The departure is locked
// first (FOR NO KEY UPDATE), then the booking (FOR UPDATE): milestones of one train are applied
// one at a time, and in the order every other change takes its locks (departure, then its
// bookings), so that recomputing the ETAs of the train's bookings never deadlocks.
func (s *Store) ActiveBookingFor(ctx context.Context, tx pgx.Tx, container string) (r Riding, ok bool, err error) {
	b := &r.Booking
	const latest = `
		SELECT b.departure_id::text FROM bookings b
		WHERE b.equipment_reference = $1 AND b.status <> $2
		ORDER BY b.created_at DESC, b.id DESC LIMIT 1`
	for range 3 { // the booking may move to another departure between the reads: bounded retry
		var dep string
		err = tx.QueryRow(ctx, latest, container, BookingCancelled).Scan(&dep)
		if errors.Is(err, pgx.ErrNoRows) {
			return Riding{}, false, nil
		}
		if err != nil {
			return Riding{}, false, err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM departures WHERE id = $1::text::uuid FOR NO KEY UPDATE`, dep); err != nil {
			return Riding{}, false, err
		}
		err = tx.QueryRow(ctx, `
			SELECT `+bookingColumns+`, d.route_code, d.train_number, d.status
			FROM bookings b JOIN departures d ON d.id = b.departure_id
			WHERE b.equipment_reference = $1 AND b.status <> $2
			ORDER BY b.created_at DESC, b.id DESC LIMIT 1 FOR UPDATE OF b`, container, BookingCancelled).Scan(
			b.dest(&r.Route, &r.TrainNumber, &r.DepartureStatus)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return Riding{}, false, nil
		}
		if err != nil {
			return Riding{}, false, err
		}
		if b.DepartureID == dep {
			break
		}
	}
	rows, err := tx.Query(ctx, `SELECT un_location_code FROM departure_stops WHERE departure_id = $1 ORDER BY seq`, b.DepartureID)
	if err != nil {
		return Riding{}, false, err
	}
	r.Stops, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Riding{}, false, err
	}
	return r, true, nil
}

// AdvanceBooking moves a booking to status in tx when it is still at an earlier status, and
// returns the status it had; moved is false (and nothing changes) when it is already there or
// beyond, or cancelled.
func (s *Store) AdvanceBooking(ctx context.Context, tx pgx.Tx, id, status string) (previous string, moved bool, err error) {
	from := before(status)
	if from == nil {
		return "", false, nil
	}
	err = tx.QueryRow(ctx, `
		UPDATE bookings b SET status = $2, version = b.version + 1
		FROM bookings old WHERE old.id = b.id AND b.id = $1 AND b.status = ANY($3)
		RETURNING old.status`, id, status, from).Scan(&previous)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return previous, true, nil
}

// MarkDeparted records in tx that a departure left stop seq at: the stop's actual departure time
// (the first report wins) and, when the departure had not departed yet, its status. departed
// says whether the status changed.
func (s *Store) MarkDeparted(ctx context.Context, tx pgx.Tx, departureID string, seq int, at time.Time) (departed bool, err error) {
	if _, err := tx.Exec(ctx, `
		UPDATE departure_stops SET actual_departure_at = $3
		WHERE departure_id = $1 AND seq = $2 AND actual_departure_at IS NULL`, departureID, seq, at); err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `
		UPDATE departures SET status = $2, version = version + 1, updated_at = now()
		WHERE id = $1 AND status = ANY($3)`, departureID, StatusDeparted, []string{StatusPlanned, StatusOpen, StatusClosed})
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// RecordArrival records in tx that a departure reached stop seq at (the first report wins:
// recorded is false for any later one). At its last stop the departure has arrived: final is
// true, and its status becomes arrived.
func (s *Store) RecordArrival(ctx context.Context, tx pgx.Tx, departureID string, seq int, at time.Time) (recorded, final bool, err error) {
	err = tx.QueryRow(ctx, `
		UPDATE departure_stops s SET actual_arrival_at = $3
		WHERE s.departure_id = $1 AND s.seq = $2 AND s.actual_arrival_at IS NULL
		RETURNING NOT EXISTS (SELECT 1 FROM departure_stops n WHERE n.departure_id = s.departure_id AND n.seq > s.seq)`,
		departureID, seq, at).Scan(&final)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	if err != nil || !final {
		return err == nil, false, err
	}
	_, err = tx.Exec(ctx, `
		UPDATE departures SET status = $2, version = version + 1, updated_at = now()
		WHERE id = $1 AND status = ANY($3)`, departureID, StatusArrived, []string{StatusPlanned, StatusOpen, StatusClosed, StatusDeparted})
	return err == nil, err == nil, err
}
