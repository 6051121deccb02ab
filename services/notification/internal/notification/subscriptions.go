package notification

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
)

// mountSubscriptions registers the subscription routes.
func mountSubscriptions(route router, n *Notifier) {}

// Own keeps the ownership projection, in the inbox transaction tx: a booking or shipment event
// makes its tenant the owner of its container, booking and transport document.
func (n *Notifier) Own(ctx context.Context, tx pgx.Tx, ev events.Event) error { return nil }
