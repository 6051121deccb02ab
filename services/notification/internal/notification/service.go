// Package notification is the notification service: subscriptions, webhook endpoints,
// deliveries and live streams. It consumes tracking.v1.* and schedule.v1.* and publishes
// notification.v1.* on the NOTIFICATION stream.
package notification

import (
	"context"
	_ "embed"
	"time"

	"github.com/scodalabs/scoda/pkg/apidocs"
	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

// The OpenAPI document is kept in parts, one per area of the API, merged when the service is
// described (a conflict between them fails the service's tests at once).
var (
	//go:embed openapi.json
	openAPIBase []byte
	//go:embed openapi_subscriptions.json
	openAPISubscriptions []byte
	//go:embed openapi_deliveries.json
	openAPIDeliveries []byte
	//go:embed openapi_stream.json
	openAPIStream []byte
)

// openAPI returns the service's OpenAPI document: its parts merged.
func openAPI() []byte {
	doc := openAPIBase
	for _, part := range [][]byte{openAPISubscriptions, openAPIDeliveries, openAPIStream} {
		var err error
		if doc, err = apidocs.Merge(doc, part); err != nil {
			panic("notification: openapi parts: " + err.Error()) // embedded documents: a build-time error
		}
	}
	return doc
}

// Name is the service's name: its process, schema and NATS client name.
const Name = "notification"

// Consumers of the notification service: one per stream it matches subscriptions against.
var (
	TrackingConsumer = natsx.Consumer{
		Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("notification-tracking", []string{events.FilterContainer},
			natsx.WithMaxAckPending(4096), // batches of up to 1,000 (Service)
			natsx.WithDescription("notification: container events -> matching subscriptions")),
	}
	ScheduleConsumer = natsx.Consumer{
		Stream: events.StreamSchedule,
		Config: natsx.DurableConsumer("notification-schedule", []string{events.FilterSchedule},
			natsx.WithDescription("notification: schedule events (ETA, delays) -> matching subscriptions")),
	}
)

// Service describes the notification service to the runtime.
func Service(version string) app.Service {
	return app.Service{
		Name:        Name,
		Version:     version,
		DefaultAddr: ":8083",
		Migrations:  migrations.FS,
		OpenAPI:     openAPI(),
		Consumers:   []natsx.Consumer{TrackingConsumer, ScheduleConsumer},
		Build: func(_ context.Context, d *app.Deps) ([]app.Worker, error) {
			cfg, err := LoadConfig(d.Config.Local())
			if err != nil {
				return nil, err
			}
			owned := pgstore.NewOwnedSet() // see ownedListener
			store := pgstore.New(d.DB).WithOwnedSet(owned)
			n := NewNotifier(store, cfg)
			MountHTTP(d.API, n, d.Log)
			live := NewStreamer(d.JetStream, n.store, d.Log) // GET /v1/stream (stream.go)
			live.Mount(d.API)
			// Each consumer matches a batch of events in one inbox transaction (MatchBatch).
			tracking, err := app.BatchEventConsumer(d, TrackingConsumer, n.MatchBatch,
				// Matching is idempotent by itself (one delivery per subscription and event, ON
				// CONFLICT DO NOTHING): no inbox row per container event, and a batch that
				// matches nothing (most of them) writes nothing and commits without a WAL flush.
				// An event about a container nobody owns (by its subject) is acked unread. The
				// deliveries are visible to the dispatcher as soon as they commit, before their
				// WAL is on disk; the events are acked only once it is (VisibleFirst). A batch
				// lingers 2 ms for more events, not the default 10: this consumer is on every
				// webhook's path, and most of what it reads is skipped for free (at 5,000/s,
				// webhook p50 55 -> 38 ms for ~0.03 of a core more; docs/benchmarks.md).
				app.BatchEventOptions{MaxBatch: 1000, MaxWait: 2 * time.Millisecond, Idempotent: true, VisibleFirst: true, Skip: func(subject string) bool {
					c, ok := containerOfSubject(subject)
					return ok && owned.Unowned(c)
				}})
			if err != nil {
				return nil, err
			}
			// Schedule events first make their tenant the owner of what they are about, then
			// match subscriptions (OwnAndMatch). Their deliveries too are visible before their
			// WAL is on disk, and their lanes looked at again after the commit (AfterCommit).
			schedule, err := app.BatchEventConsumer(d, ScheduleConsumer, n.OwnAndMatch, app.BatchEventOptions{VisibleFirst: true})
			if err != nil {
				return nil, err
			}
			// notification.v1.* events leave Postgres through the outbox (deliveries.go).
			relay := postgres.NewRelay(d.DB, natsx.NewPublisher(d.JetStream, natsx.WithSubjectTemplate(events.SubjectTemplate)),
				postgres.RelayOptions{Logger: d.Log})
			workers := []app.Worker{tracking, schedule, n.Dispatcher(d.Log), relay, live, ownedListener(store, owned, d.Log)}
			return workers, nil
		},
	}
}
