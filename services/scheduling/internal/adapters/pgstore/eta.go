package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
)

// DepartureIn returns a departure as tx sees it (its own writes included); apperr.ErrNotFound
// when there is none.
func (s *Store) DepartureIn(ctx context.Context, tx pgx.Tx, id string) (Departure, error) {
	d, err := departure(ctx, tx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return Departure{}, fmt.Errorf("departure %s: %w", id, apperr.ErrNotFound)
	}
	return d, err
}

// RouteIn returns a route with its stops, read in tx; apperr.ErrNotFound when there is none.
func (s *Store) RouteIn(ctx context.Context, tx pgx.Tx, code string) (Route, error) {
	return route(ctx, tx, code)
}

// RidingBookings returns, in tx and locked for update, the bookings on a departure whose ETA
// is still followed: neither cancelled, waitlisted nor delivered, in booking order.
func (s *Store) RidingBookings(ctx context.Context, tx pgx.Tx, departureID string) ([]Booking, error) {
	rows, err := tx.Query(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.departure_id = $1::text::uuid AND b.status <> ALL($2)
		ORDER BY b.created_at, b.id FOR UPDATE OF b`,
		departureID, []string{BookingCancelled, BookingWaitlisted, BookingDelivered})
	if err != nil {
		return nil, err
	}
	return collectBookings(rows)
}

// SetETA stores in tx the ETA last announced for a booking.
func (s *Store) SetETA(ctx context.Context, tx pgx.Tx, bookingID string, eta time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE bookings SET eta = $2 WHERE id = $1::text::uuid`, bookingID, eta)
	return err
}

// ShipmentRef names the shipment a booking is a leg of.
type ShipmentRef struct {
	ID                         string
	TransportDocumentReference string
}

// ShipmentsOf returns, in tx, the shipment each of bookingIDs is a leg of; bookings in no
// shipment are absent from the map.
func (s *Store) ShipmentsOf(ctx context.Context, tx pgx.Tx, bookingIDs []string) (map[string]ShipmentRef, error) {
	out := map[string]ShipmentRef{}
	if len(bookingIDs) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT l.booking_id::text, s.id::text, s.transport_document_reference
		FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id
		WHERE l.booking_id = ANY($1::text[]::uuid[])`, bookingIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var ref ShipmentRef
		if err := rows.Scan(&id, &ref.ID, &ref.TransportDocumentReference); err != nil {
			return nil, err
		}
		out[id] = ref
	}
	return out, rows.Err()
}
