package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
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
			moved, err := reaccommodate(ctx, tx, b, next)
			if err != nil {
				return err
			}
			if moved != nil {
				out.Moved = append(out.Moved, *moved)
				continue
			}
			if err := tx.QueryRow(ctx, `
				UPDATE bookings SET status = $2, version = version + 1, waitlisted_at = now()
				WHERE id = $1 RETURNING status, version, waitlisted_at`,
				b.ID, BookingWaitlisted).Scan(&b.Status, &b.Version, &b.WaitlistedAt); err != nil {
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
// transaction usable.
func reaccommodate(ctx context.Context, tx pgx.Tx, b Booking, next []candidate) (*Move, error) {
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
				UPDATE bookings SET departure_id = $2::text::uuid, version = version + 1 WHERE id = $1
				RETURNING departure_id::text, version`, b.ID, c.id).Scan(&moved.DepartureID, &moved.Version)
		})
		_, full := pgError(err, codeCheckViolation)
		_, dup := pgError(err, codeUniqueViolation)
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
