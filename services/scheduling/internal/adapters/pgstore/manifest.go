package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DepartureBookings returns the bookings of a departure in booking order (created_at, then id),
// every status included. An unknown departure has none.
func (s *Store) DepartureBookings(ctx context.Context, departureID string) ([]Booking, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id::text, departure_id::text, tenant_id, equipment_reference, iso_equipment_code, teu,
			gross_weight_kg, from_seq, to_seq, status, created_at, version
		FROM bookings WHERE departure_id = $1::text::uuid
		ORDER BY created_at, id`, departureID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: bookings of departure %s: %w", departureID, err)
	}
	bs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Booking, error) {
		var b Booking
		err := row.Scan(&b.ID, &b.DepartureID, &b.Tenant, &b.Container, &b.ISOCode, &b.TEU, &b.GrossWeightKg,
			&b.FromSeq, &b.ToSeq, &b.Status, &b.CreatedAt, &b.Version)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: bookings of departure %s: %w", departureID, err)
	}
	return bs, nil
}
