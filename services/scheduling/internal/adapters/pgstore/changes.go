package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// bumpVersion is the optimistic lock of every change to an existing departure: it moves the
// departure from version to version+1 in tx, which also takes the departure's row lock (so
// bookings, which hold it FOR SHARE, wait for the change and the change for them). No row means
// the departure does not exist (apperr.ErrNotFound) or has moved on (apperr.ErrPreconditionFailed).
func bumpVersion(ctx context.Context, tx pgx.Tx, id string, version int) error {
	tag, err := tx.Exec(ctx, `
		UPDATE departures SET version = version + 1, updated_at = now()
		WHERE id = $1::text::uuid AND version = $2`, id, version)
	if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad {
		return fmt.Errorf("departure %s: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM departures WHERE id = $1::text::uuid)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("departure %s: %w", id, apperr.ErrNotFound)
	}
	return fmt.Errorf("departure %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
}

// passErr returns the errors callers act on (domain errors) as they are and wraps the rest.
func passErr(op string, err error) error {
	var ve *apperr.ValidationError
	var ce *CapacityError
	var le *LowerCapacityError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve), errors.As(err, &ce), errors.As(err, &le),
		errors.Is(err, apperr.ErrNotFound), errors.Is(err, apperr.ErrConflict),
		errors.Is(err, apperr.ErrPreconditionFailed):
		return err
	default:
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
}

// activeBookings are the bookings on a departure that are not cancelled, in booking order.
func activeBookings(ctx context.Context, tx pgx.Tx, departureID string) ([]Booking, error) {
	rows, err := tx.Query(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.departure_id = $1 AND b.status <> $2 ORDER BY b.created_at, b.id`, departureID, BookingCancelled)
	if err != nil {
		return nil, err
	}
	return collectBookings(rows)
}

// DelayThen shifts the planned times of a departure by `by` at every stop it has not yet left
// (a planned arrival only where the train has not yet arrived), when the departure is at
// version; the version is bumped. then runs in the same transaction with the departure before
// and after the delay and its active bookings, so the events it writes commit with the change.
//
// Errors: apperr.ErrNotFound, apperr.ErrPreconditionFailed (another version), apperr.ErrConflict
// (the departure is cancelled or has arrived), *apperr.ValidationError (by not positive).
func (s *Store) DelayThen(ctx context.Context, id string, version int, by time.Duration,
	then func(tx pgx.Tx, before, after Departure, bookings []Booking) error) (Departure, error) {
	if by <= 0 {
		return Departure{}, apperr.Invalid("by", "must be positive")
	}
	var out Departure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := bumpVersion(ctx, tx, id, version); err != nil {
			return err
		}
		before, err := departure(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Status == StatusCancelled || before.Status == StatusArrived {
			return fmt.Errorf("departure %s is %s and cannot be delayed: %w", id, before.Status, apperr.ErrConflict)
		}
		micros := by.Microseconds()
		if _, err := tx.Exec(ctx, `
			UPDATE departure_stops SET
				planned_arrival_at = CASE WHEN actual_arrival_at IS NULL
					THEN planned_arrival_at + $2::bigint * interval '1 microsecond' ELSE planned_arrival_at END,
				planned_departure_at = planned_departure_at + $2::bigint * interval '1 microsecond'
			WHERE departure_id = $1 AND actual_departure_at IS NULL`, before.ID, micros); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE departures d SET planned_departure_at = s.planned_departure_at
			FROM departure_stops s WHERE d.id = $1 AND s.departure_id = d.id AND s.seq = 0
				AND s.planned_departure_at IS NOT NULL`, before.ID); err != nil {
			return err
		}
		out, err = departure(ctx, tx, id)
		if err != nil || then == nil {
			return err
		}
		bookings, err := activeBookings(ctx, tx, id)
		if err != nil {
			return err
		}
		return then(tx, before, out, bookings)
	})
	if err != nil {
		return Departure{}, passErr("delay "+id, err)
	}
	return out, nil
}

// CapacitySpec is the capacity of every segment of a departure: TEU on the Chinese section
// (up to and including the segment crossing the first border), TEU beyond it, and gross kg.
type CapacitySpec struct {
	TEUCN     int
	TEUAbroad int
	WeightKg  int64
}

// LowerCapacityError says that a new capacity is below what is booked on a segment, and which
// bookings (newest first) would have to move for it to fit. It wraps apperr.ErrConflict.
type LowerCapacityError struct {
	Segment   int
	From, To  string
	Reason    string // ReasonTEU or ReasonWeight
	Requested int64  // TEU or kg asked for
	Booked    int64  // TEU or kg booked
	Bookings  []string
}

// Error implements error.
func (e *LowerCapacityError) Error() string {
	unit := " TEU"
	if e.Reason == ReasonWeight {
		unit = " kg"
	}
	return "segment " + strconv.Itoa(e.Segment) + " " + e.From + "-" + e.To + " has " + strconv.FormatInt(e.Booked, 10) + unit +
		" booked, more than the " + strconv.FormatInt(e.Requested, 10) + unit + " asked for; bookings that would have to move: " +
		strings.Join(e.Bookings, ", ")
}

// Unwrap makes errors.Is(err, apperr.ErrConflict) hold.
func (e *LowerCapacityError) Unwrap() error { return apperr.ErrConflict }

// SetCapacityThen sets the capacity of every segment of a departure at version and bumps the
// version. A capacity below what is booked on any segment changes nothing and is a
// *LowerCapacityError naming the segment and the bookings that would have to move. then runs in
// the same transaction with the departure before and after.
func (s *Store) SetCapacityThen(ctx context.Context, id string, version int, spec CapacitySpec,
	then func(tx pgx.Tx, before, after Departure) error) (Departure, error) {
	if spec.TEUCN < 0 || spec.TEUAbroad < 0 || spec.WeightKg < 0 {
		return Departure{}, apperr.Invalid("capacity", "must not be negative")
	}
	var out Departure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := bumpVersion(ctx, tx, id, version); err != nil {
			return err
		}
		before, err := departure(ctx, tx, id)
		if err != nil {
			return err
		}
		r, err := route(ctx, tx, before.Route)
		if err != nil {
			return err
		}
		// Lock the segments: what is booked cannot change under the check.
		segs, err := segments(ctx, tx, before.ID, 0, len(before.Stops), true)
		if err != nil {
			return err
		}
		abroad := firstAbroad(r.Stops)
		var bookings []Booking
		for _, g := range segs {
			teu := spec.TEUCN
			if g.Seq >= abroad {
				teu = spec.TEUAbroad
			}
			e := &LowerCapacityError{Segment: g.Seq, From: g.From, To: g.To}
			switch {
			case int64(g.TEUBooked) > int64(teu):
				e.Reason, e.Requested, e.Booked = ReasonTEU, int64(teu), int64(g.TEUBooked)
			case g.WeightBookedKg > spec.WeightKg:
				e.Reason, e.Requested, e.Booked = ReasonWeight, spec.WeightKg, g.WeightBookedKg
			default:
				continue
			}
			if bookings == nil {
				if bookings, err = activeBookings(ctx, tx, before.ID); err != nil {
					return err
				}
			}
			excess := e.Booked - e.Requested
			for i := len(bookings) - 1; i >= 0 && excess > 0; i-- { // newest first
				b := bookings[i]
				if b.FromSeq > g.Seq || b.ToSeq <= g.Seq {
					continue
				}
				e.Bookings = append(e.Bookings, b.ID)
				if e.Reason == ReasonTEU {
					excess -= int64(b.TEU)
				} else {
					excess -= b.GrossWeightKg
				}
			}
			return e
		}
		if _, err := tx.Exec(ctx, `
			UPDATE departure_segments
			SET teu_capacity = CASE WHEN seq < $2::integer THEN $3::integer ELSE $4::integer END, weight_capacity_kg = $5::bigint
			WHERE departure_id = $1`, before.ID, abroad, spec.TEUCN, spec.TEUAbroad, spec.WeightKg); err != nil {
			return err
		}
		out, err = departure(ctx, tx, id)
		if err != nil || then == nil {
			return err
		}
		return then(tx, before, out)
	})
	if err != nil {
		return Departure{}, passErr("set capacity of "+id, err)
	}
	return out, nil
}
