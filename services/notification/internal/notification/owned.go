package notification

import (
	"context"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

// ownedListener keeps the store's set of owned containers in sync (pgstore.OwnedSet): most
// container events are about containers nobody subscribed to, and with the set the tracking
// consumer's batches of those ask PostgreSQL nothing. While the listener is down the set is out
// of sync and matching asks the database for every container, so losing it costs speed, never
// deliveries. It exports the set's size and state as metrics.
func ownedListener(store *pgstore.Store, set *pgstore.OwnedSet, log *slog.Logger) app.Worker {
	m := otel.Meter("github.com/scodalabs/scoda/services/notification")
	_, _ = m.Int64ObservableGauge("notification.owned_containers",
		metric.WithDescription("Containers in the in-memory set of owned containers"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(set.Len()))
			return nil
		}))
	_, _ = m.Int64ObservableGauge("notification.owned_containers.synced",
		metric.WithDescription("1 while the set of owned containers is in sync with PostgreSQL, 0 while matching asks the database for every container"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			var v int64
			if set.Synced() {
				v = 1
			}
			o.Observe(v)
			return nil
		}))
	return app.WorkerFunc(func(ctx context.Context) error {
		keepListening(ctx, log, "owned-containers listener lost, matching asks the database until it is back", store.ListenOwned)
		return nil
	})
}

// containerOfSubject returns the container number a tracking container subject ends with
// (tracking.v1.container.<kind>.<number>, as events.ContainerSubject names it from the event's
// equipment reference, which matching goes by).
func containerOfSubject(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, events.PrefixTracking+"container.")
	if !ok {
		return "", false
	}
	_, c, ok := strings.Cut(rest, ".")
	if !ok || c == "" || strings.Contains(c, ".") {
		return "", false
	}
	return c, true
}
