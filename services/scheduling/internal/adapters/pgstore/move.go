package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// MovedBooking is a booking moved by MoveThen: Booking is as it is now (on the target), From
// the departure it left.
type MovedBooking struct {
	Booking         Booking
	FromDepartureID string
	FromTrainNumber string
}

// MoveThen moves the bookings ids to departure to, all or nothing, in one transaction. The
// target must be open or planned; every booking must exist, be confirmed or received (not yet
// loaded, not cancelled, waitlisted, arrived or delivered) and ride a departure of the target's
// route. Each booking's TEU and weight are released on its old departure's segments and added
// to the target's with the same capacity update as Book, the CHECKs on departure_segments
// deciding; the first refusal rolls everything back. Each moved booking's version is bumped.
// then runs in the same transaction with the target and the moves, so the events it writes
// commit with the change.
//
// Errors: apperr.ErrNotFound (the target or a booking), *apperr.ValidationError (no bookings,
// a booking twice or already on the target), apperr.ErrConflict (a booking's state or route,
// the target's status, the container already on the target), *CapacityError (no room).
func (s *Store) MoveThen(ctx context.Context, ids []string, to string,
	then func(tx pgx.Tx, target Departure, moves []MovedBooking) error) ([]MovedBooking, error) {
	if len(ids) == 0 {
		return nil, apperr.Invalid("bookingIDs", "name at least one booking")
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, apperr.Invalid("bookingIDs", "booking "+id+" is named twice")
		}
		seen[id] = true
	}
	var out []MovedBooking
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		out = make([]MovedBooking, 0, len(ids))
		var target Departure
		// FOR SHARE, as Book does: the target cannot be closed or cancelled under us.
		err := tx.QueryRow(ctx, `
			SELECT id::text, route_code, train_number, status FROM departures
			WHERE id = $1::text::uuid FOR SHARE`, to).Scan(&target.ID, &target.Route, &target.TrainNumber, &target.Status)
		if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad || errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("departure %s: %w", to, apperr.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if target.Status != StatusOpen && target.Status != StatusPlanned {
			return fmt.Errorf("departure %s is %s, not open or planned: %w", to, target.Status, apperr.ErrConflict)
		}
		for _, id := range ids {
			m, err := moveOne(ctx, tx, id, target)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		if then == nil {
			return nil
		}
		full, err := departure(ctx, tx, target.ID)
		if err != nil {
			return err
		}
		return then(tx, full, out)
	})
	if err != nil {
		return nil, passErr("move bookings", err)
	}
	return out, nil
}

// moveOne moves booking id to target inside tx.
func moveOne(ctx context.Context, tx pgx.Tx, id string, target Departure) (MovedBooking, error) {
	var b Booking
	var m MovedBooking
	var route, fromStatus string
	err := tx.QueryRow(ctx, `
		SELECT `+bookingColumns+`, d.route_code, d.train_number, d.status
		FROM bookings b JOIN departures d ON d.id = b.departure_id
		WHERE b.id = $1::text::uuid FOR UPDATE OF b`, id).Scan(b.dest(&route, &m.FromTrainNumber, &fromStatus)...)
	if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad || errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("booking %s: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	switch {
	case b.Status != BookingConfirmed && b.Status != BookingReceived:
		return m, fmt.Errorf("booking %s is %s and cannot move: %w", id, b.Status, apperr.ErrConflict)
	case route != target.Route:
		return m, fmt.Errorf("booking %s is on route %s, not %s: %w", id, route, target.Route, apperr.ErrConflict)
	case b.DepartureID == target.ID:
		return m, apperr.Invalid("bookingIDs", "booking "+id+" is already on departure "+target.ID)
	case fromStatus == StatusCancelled:
		return m, fmt.Errorf("booking %s: its departure is cancelled: %w", id, apperr.ErrConflict)
	}
	m.FromDepartureID = b.DepartureID
	// Lock the segments in departure-id order, so two moves between the same trains never deadlock.
	var locked []Segment
	order := []string{b.DepartureID, target.ID}
	if target.ID < b.DepartureID {
		order[0], order[1] = order[1], order[0]
	}
	for _, dep := range order {
		segs, err := segments(ctx, tx, dep, b.FromSeq, b.ToSeq, true)
		if err != nil {
			return m, err
		}
		if dep == target.ID {
			locked = segs
		}
	}
	if len(locked) != b.ToSeq-b.FromSeq {
		return m, fmt.Errorf("booking %s: departure %s has no segments %d to %d: %w",
			id, target.ID, b.FromSeq, b.ToSeq, apperr.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `
		UPDATE departure_segments SET teu_booked = teu_booked - $4, weight_booked_kg = weight_booked_kg - $5
		WHERE departure_id = $1 AND seq >= $2 AND seq < $3`, b.DepartureID, b.FromSeq, b.ToSeq, b.TEU, b.GrossWeightKg); err != nil {
		return m, err
	}
	_, err = tx.Exec(ctx, `
		UPDATE departure_segments SET teu_booked = teu_booked + $4, weight_booked_kg = weight_booked_kg + $5
		WHERE departure_id = $1 AND seq >= $2 AND seq < $3`, target.ID, b.FromSeq, b.ToSeq, b.TEU, b.GrossWeightKg)
	if pe, full := postgres.ErrorCode(err, postgres.CodeCheckViolation); full && pe.TableName == "departure_segments" {
		return m, capacityError(locked, pe.ConstraintName, BookingSpec{FromSeq: b.FromSeq, TEU: b.TEU, GrossWeightKg: b.GrossWeightKg})
	}
	if err != nil {
		return m, err
	}
	err = tx.QueryRow(ctx, `
		UPDATE bookings SET departure_id = $2::text::uuid, version = version + 1 WHERE id = $1::text::uuid
		RETURNING departure_id::text, version`, b.ID, target.ID).Scan(&b.DepartureID, &b.Version)
	if _, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation); dup {
		return m, fmt.Errorf("container %s is already booked on departure %s: %w", b.Container, target.ID, apperr.ErrConflict)
	}
	m.Booking = b
	return m, err
}
