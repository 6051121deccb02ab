package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// BookingWaitlisted is the status of a booking that lost its slot and waits for one.
const BookingWaitlisted = "waitlisted"

// Move is a booking re-accommodated on another departure: Booking is as it is now (on To).
type Move struct {
	Booking       Booking
	ToDepartureID string
	ToTrainNumber string
}

// Cancellation is what cancelling a departure did: the departure after it, the bookings moved
// to later departures and those waitlisted (position i+1), each in booking order.
type Cancellation struct {
	Departure  Departure
	Moved      []Move
	Waitlisted []Booking
}

type candidate struct{ id, train string }

// CancelThen cancels a departure at version and bumps the version. Its active bookings, in
// booking order, are re-accommodated on the next departures of the same route (planned after
// it, open or planned, in time order): each tries them in turn with the same capacity update as
// Book, the CHECKs on departure_segments deciding, each attempt in its own savepoint. A booking
// that finds room moves there; one that finds none is waitlisted. The cancelled departure's
// segments are released. then runs in the same transaction with the departure before and what
// happened, so the events it writes commit with the change.
//
// Errors: apperr.ErrNotFound, apperr.ErrPreconditionFailed (another version), apperr.ErrConflict
// (the departure has departed, arrived or is cancelled already).
func (s *Store) CancelThen(ctx context.Context, id string, version int,
	then func(tx pgx.Tx, before Departure, c Cancellation) error) (Cancellation, error) {
	var out Cancellation
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		out = Cancellation{}
		if err := bumpVersion(ctx, tx, id, version); err != nil {
			return err
		}
		before, err := departure(ctx, tx, id)
		if err != nil {
			return err
		}
		switch before.Status {
		case StatusDeparted, StatusArrived, StatusCancelled:
			return fmt.Errorf("departure %s is %s and cannot be cancelled: %w", id, before.Status, apperr.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE departures SET status = $2 WHERE id = $1`, before.ID, StatusCancelled); err != nil {
			return err
		}
		bookings, err := activeBookings(ctx, tx, before.ID)
		if err != nil {
			return err
		}
		// FOR SHARE, as Book does: the later departures cannot be cancelled or closed under us.
		rows, err := tx.Query(ctx, `
			SELECT id::text, train_number FROM departures
			WHERE route_code = $1 AND planned_departure_at > $2 AND status IN ($3, $4) AND id <> $5
			ORDER BY planned_departure_at, id FOR SHARE`,
			before.Route, before.PlannedDeparture, StatusOpen, StatusPlanned, before.ID)
		if err != nil {
			return err
		}
		next, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (candidate, error) {
			var c candidate
			err := row.Scan(&c.id, &c.train)
			return c, err
		})
		if err != nil {
			return err
		}
		for _, b := range bookings {
			moved, err := reaccommodate(ctx, tx, b, next, false)
			if err != nil {
				return err
			}
			if moved != nil {
				out.Moved = append(out.Moved, *moved)
				continue
			}
			// They join the route's waitlist in booking order: one microsecond apart, as the
			// transaction's now() is the same for all of them.
			if err := tx.QueryRow(ctx, `
				UPDATE bookings SET status = $2, version = version + 1,
					waitlisted_at = now() + $3::integer * interval '1 microsecond'
				WHERE id = $1 RETURNING status, version, waitlisted_at`,
				b.ID, BookingWaitlisted, len(out.Waitlisted)).Scan(&b.Status, &b.Version, &b.WaitlistedAt); err != nil {
				return err
			}
			out.Waitlisted = append(out.Waitlisted, b)
		}
		// The train does not run: nothing is booked on it any more.
		if _, err := tx.Exec(ctx, `
			UPDATE departure_segments SET teu_booked = 0, weight_booked_kg = 0 WHERE departure_id = $1`, before.ID); err != nil {
			return err
		}
		out.Departure, err = departure(ctx, tx, id)
		if err != nil || then == nil {
			return err
		}
		return then(tx, before, out)
	})
	if err != nil {
		return Cancellation{}, passErr("cancel "+id, err)
	}
	return out, nil
}

// reaccommodate tries b on each of next in turn and moves it to the first with room on every
// segment it uses; nil when none has. Each attempt runs in a savepoint, so a refused update
// (a CHECK on departure_segments, or the container already riding that departure) leaves the
// transaction usable. confirm also makes the booking confirmed and takes it off the waitlist.
func reaccommodate(ctx context.Context, tx pgx.Tx, b Booking, next []candidate, confirm bool) (*Move, error) {
	for _, c := range next {
		var moved Booking
		err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			// Lock the segments in order first, as Book does, so racing bookings never deadlock.
			segs, err := segments(ctx, sp, c.id, b.FromSeq, b.ToSeq, true)
			if err != nil {
				return err
			}
			if len(segs) != b.ToSeq-b.FromSeq {
				return errNoRoom
			}
			if _, err := sp.Exec(ctx, `
				UPDATE departure_segments SET teu_booked = teu_booked + $4, weight_booked_kg = weight_booked_kg + $5
				WHERE departure_id = $1 AND seq >= $2 AND seq < $3`, c.id, b.FromSeq, b.ToSeq, b.TEU, b.GrossWeightKg); err != nil {
				return err
			}
			moved = b
			return sp.QueryRow(ctx, `
				UPDATE bookings SET departure_id = $2::text::uuid, version = version + 1,
					status = CASE WHEN $3 THEN $4 ELSE status END,
					waitlisted_at = CASE WHEN $3 THEN NULL ELSE waitlisted_at END
				WHERE id = $1
				RETURNING departure_id::text, version, status, waitlisted_at`, b.ID, c.id, confirm, BookingConfirmed).Scan(
				&moved.DepartureID, &moved.Version, &moved.Status, &moved.WaitlistedAt)
		})
		_, full := postgres.ErrorCode(err, postgres.CodeCheckViolation)
		_, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation)
		switch {
		case err == nil:
			return &Move{Booking: moved, ToDepartureID: c.id, ToTrainNumber: c.train}, nil
		case full, dup, errors.Is(err, errNoRoom):
			continue
		default:
			return nil, err
		}
	}
	return nil, nil
}

// errNoRoom rolls back an attempt on a departure that cannot take the booking.
var errNoRoom = errors.New("no room on this departure")

// WaitlistEntry is a booking on its route's waitlist: Position is its rank (from 1) among the
// route's waitlisted bookings by (waitlisted_at, id); From and To are its stops' UN/LOCODEs and
// TrainNumber the departure it lost its slot on.
type WaitlistEntry struct {
	Booking     Booking
	Position    int
	TrainNumber string
	From, To    string
}

// waitlistSQL lists a route's waitlist in order; $1 is the route.
const waitlistSQL = `
	SELECT ` + bookingColumns + `, row_number() OVER (ORDER BY b.waitlisted_at, b.id), d.train_number,
		coalesce(f.un_location_code, ''), coalesce(t.un_location_code, '')
	FROM bookings b
	JOIN departures d ON d.id = b.departure_id
	LEFT JOIN departure_stops f ON f.departure_id = b.departure_id AND f.seq = b.from_seq
	LEFT JOIN departure_stops t ON t.departure_id = b.departure_id AND t.seq = b.to_seq
	WHERE d.route_code = $1 AND b.status = 'waitlisted'
	ORDER BY b.waitlisted_at, b.id`

func collectWaitlist(rows pgx.Rows) ([]WaitlistEntry, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (WaitlistEntry, error) {
		var w WaitlistEntry
		err := row.Scan(w.Booking.dest(&w.Position, &w.TrainNumber, &w.From, &w.To)...)
		return w, err
	})
}

// Waitlist returns a route's waitlist in order; apperr.ErrNotFound when there is no such route.
func (s *Store) Waitlist(ctx context.Context, routeCode string) ([]WaitlistEntry, error) {
	if _, err := route(ctx, s.db, routeCode); err != nil {
		return nil, passErr("waitlist", err)
	}
	rows, err := s.db.Query(ctx, waitlistSQL, routeCode)
	if err != nil {
		return nil, passErr("waitlist", err)
	}
	out, err := collectWaitlist(rows)
	return out, passErr("waitlist", err)
}

// WaitlistPositions returns, in tx, the position on their route's waitlist of each of ids that
// is waitlisted.
func (s *Store) WaitlistPositions(ctx context.Context, tx pgx.Tx, routeCode string, ids []string) (map[string]int, error) {
	rows, err := tx.Query(ctx, waitlistSQL, routeCode)
	if err != nil {
		return nil, err
	}
	all, err := collectWaitlist(rows)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := make(map[string]int, len(ids))
	for _, w := range all {
		if want[w.Booking.ID] {
			out[w.Booking.ID] = w.Position
		}
	}
	return out, nil
}

// Promotion is a waitlisted booking placed on a departure: Booking is as it is now (confirmed,
// on ToDepartureID); From is the departure it had lost its slot on.
type Promotion struct {
	Booking         Booking
	FromDepartureID string
	FromTrainNumber string
	ToDepartureID   string
	ToTrainNumber   string
}

// PromoteWaitlist tries, in tx, the waitlisted bookings of a route in waitlist order on the
// route's open or planned departures that leave after now and whose cut-off has not passed
// (in time order), with the same capacity update as Book, each attempt in its own savepoint and
// the CHECKs on departure_segments deciding. A booking that finds room is confirmed on that
// departure and leaves the waitlist; the others keep their place.
func (s *Store) PromoteWaitlist(ctx context.Context, tx pgx.Tx, routeCode string, now time.Time) ([]Promotion, error) {
	rows, err := tx.Query(ctx, `
		SELECT `+bookingColumns+`, d.train_number FROM bookings b JOIN departures d ON d.id = b.departure_id
		WHERE d.route_code = $1 AND b.status = $2
		ORDER BY b.waitlisted_at, b.id FOR UPDATE OF b`, routeCode, BookingWaitlisted)
	if err != nil {
		return nil, err
	}
	type waiting struct {
		b     Booking
		train string
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (waiting, error) {
		var w waiting
		err := row.Scan(w.b.dest(&w.train)...)
		return w, err
	})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	// FOR SHARE, as Book does: the departures cannot be cancelled or closed under us. SKIP
	// LOCKED: a departure another transaction is changing (cancelling, resizing) is left for the
	// next time room appears, rather than waiting for it in an order that could deadlock.
	rows, err = tx.Query(ctx, `
		SELECT id::text, train_number FROM departures
		WHERE route_code = $1 AND status IN ($2, $3) AND planned_departure_at > $4 AND cutoff_at > $4
		ORDER BY planned_departure_at, id FOR SHARE SKIP LOCKED`, routeCode, StatusOpen, StatusPlanned, now)
	if err != nil {
		return nil, err
	}
	next, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (candidate, error) {
		var c candidate
		err := row.Scan(&c.id, &c.train)
		return c, err
	})
	if err != nil || len(next) == 0 {
		return nil, err
	}
	var out []Promotion
	for _, w := range list {
		m, err := reaccommodate(ctx, tx, w.b, next, true)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, Promotion{Booking: m.Booking, FromDepartureID: w.b.DepartureID, FromTrainNumber: w.train,
				ToDepartureID: m.ToDepartureID, ToTrainNumber: m.ToTrainNumber})
		}
	}
	return out, nil
}
