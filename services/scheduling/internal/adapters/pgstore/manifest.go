package pgstore

import (
	"context"
	"fmt"
)

// DepartureBookings returns the bookings of a departure in booking order (created_at, then id),
// every status included. An unknown departure has none.
func (s *Store) DepartureBookings(ctx context.Context, departureID string) ([]Booking, error) {
	rows, err := s.db.Query(ctx, `
		SELECT `+bookingColumns+` FROM bookings b WHERE b.departure_id = $1::text::uuid
		ORDER BY b.created_at, b.id`, departureID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: bookings of departure %s: %w", departureID, err)
	}
	bs, err := collectBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: bookings of departure %s: %w", departureID, err)
	}
	return bs, nil
}
