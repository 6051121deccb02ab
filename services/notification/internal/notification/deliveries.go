package notification

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
)

// mountDeliveries registers the delivery routes.
func mountDeliveries(route router, n *Notifier) {}

// Match records, in the inbox transaction tx, one delivery per subscription the event matches.
func (n *Notifier) Match(ctx context.Context, tx pgx.Tx, ev events.Event) error { return nil }

// Dispatcher sends due deliveries, retries failed ones and dead-letters the exhausted.
func (n *Notifier) Dispatcher(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
}
