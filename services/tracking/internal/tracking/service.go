// Package tracking is the tracking service: it owns container events (positions and
// milestones), their history and the live position of every container. It publishes
// tracking.v1.* on the TRACKING stream.
//
// The accept path is HTTP (or NATS ingest) -> validation -> JetStream, acknowledged to the
// client only after the stream's ack: the stream is the log of record. Postgres and Redis are
// projections written by the projector consumer, off the accept path.
package tracking

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
	"github.com/scodalabs/scoda/services/tracking/internal/geofence"
	"github.com/scodalabs/scoda/services/tracking/migrations"
)

//go:embed openapi.json
var openAPI []byte

// Name is the service's name: its process, schema and NATS client name.
const Name = "tracking"

// Durable consumers of the tracking service.
var (
	// ProjectorConsumer writes history and the live cache from every container event. It has a
	// single filter subject on purpose: the server serves a one-filter consumer from its
	// per-subject index, while several filters over a stream with a subject per container cost
	// it a full core at a few thousand messages per second (measured; see docs/benchmarks.md).
	ProjectorConsumer = natsx.Consumer{
		Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("tracking-projector", []string{events.FilterContainer},
			natsx.WithMaxAckPending(8192),
			natsx.WithDescription("tracking: container events -> history (Postgres) and live state (Redis)")),
	}
	// TrainConsumer projects the fixes and calls of trains that carry no container number into
	// history, with the same handler.
	TrainConsumer = natsx.Consumer{
		Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("tracking-trains", []string{events.FilterTrain},
			natsx.WithMaxAckPending(1024),
			natsx.WithDescription("tracking: train events -> history (Postgres)")),
	}
	// IngestConsumer validates what gateways publish on tracking.v1.ingest.<source>.
	IngestConsumer = natsx.Consumer{
		Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("tracking-ingest", []string{events.FilterIngest},
			natsx.WithDescription("tracking: raw gateway input -> validated events or dead letters")),
	}
	// OwnershipConsumer keeps tracking's projection of which tenant owns which container. It
	// reads the whole SCHEDULE stream (one filter subject: servers before 2.10 refuse several)
	// and ignores what is neither a booking nor a shipment.
	OwnershipConsumer = natsx.Consumer{
		Stream: events.StreamSchedule,
		Config: natsx.DurableConsumer("tracking-ownership", []string{events.FilterSchedule},
			natsx.WithDescription("tracking: bookings and shipments -> which shipper sees which container")),
	}
)

// LoadConfig reads the tracking service's own variables.
func LoadConfig() (Config, error) {
	var errs [4]error
	var c Config
	c.FutureHorizon, errs[0] = app.Duration("TRACKING_FUTURE_HORIZON", 24*time.Hour)
	c.PublishTimeout, errs[1] = app.Duration("TRACKING_PUBLISH_TIMEOUT", 10*time.Second)
	c.RebuildWindow, errs[2] = app.Duration("TRACKING_REBUILD_WINDOW", 90*24*time.Hour)
	c.RebuildCheck, errs[3] = app.Duration("TRACKING_REBUILD_CHECK", 2*time.Second)
	return c, errors.Join(errs[:]...)
}

// Service describes the tracking service to the runtime.
func Service(version string) app.Service {
	return app.Service{
		Name:        Name,
		Version:     version,
		DefaultAddr: ":8081",
		Migrations:  migrations.FS,
		OpenAPI:     openAPI,
		Consumers:   []natsx.Consumer{ProjectorConsumer, TrainConsumer, IngestConsumer, OwnershipConsumer},
		Build:       build,
	}
}

func build(ctx context.Context, d *app.Deps) ([]app.Worker, error) {
	cfg, err := LoadConfig()
	if err != nil {
		return nil, err
	}
	network, err := corridor.Load()
	if err != nil {
		return nil, err
	}
	store := pgstore.New(d.DB)
	if err := store.EnsurePartitions(ctx, time.Now(), 24, 3); err != nil {
		return nil, err
	}
	pub := natsx.NewPublisher(d.JetStream, natsx.WithSubjectTemplate(events.SubjectTemplate))
	live := redislive.New(d.Redis, d.Config.RedisPrefix)
	svc := NewTracker(cfg, store, live, pub, geofence.NewIndex(network))
	MountHTTP(d.API, svc, d.Log)

	projector, err := natsx.NewBatchSubscriber(d.JetStream, ProjectorConsumer.Stream, ProjectorConsumer.Config.Durable, svc.Project,
		natsx.BatchOptions{MaxBatch: 1000, Workers: 4, MessageSpans: true, Logger: d.Log, SubjectTemplate: events.SubjectTemplate})
	if err != nil {
		return nil, err
	}
	trains, err := natsx.NewBatchSubscriber(d.JetStream, TrainConsumer.Stream, TrainConsumer.Config.Durable, svc.Project,
		natsx.BatchOptions{MaxBatch: 500, MessageSpans: true, Logger: d.Log, SubjectTemplate: events.SubjectTemplate})
	if err != nil {
		return nil, err
	}
	ingest, err := natsx.NewSubscriber(d.JetStream, IngestConsumer.Stream, IngestConsumer.Config.Durable, svc.IngestMessage,
		natsx.SubscriberOptions{Workers: 4, Logger: d.Log, SubjectTemplate: events.SubjectTemplate})
	if err != nil {
		return nil, err
	}
	ownership, err := app.EventConsumer(d, OwnershipConsumer, 2, func(ctx context.Context, tx pgx.Tx, ev events.Event) error {
		return applyOwnership(ctx, store.WithTx(tx), ev)
	})
	if err != nil {
		return nil, err
	}
	cache := app.WorkerFunc(func(ctx context.Context) error {
		return svc.WatchCache(ctx, func(n int, took time.Duration, err error) {
			if err != nil {
				d.Log.ErrorContext(ctx, "live cache rebuild failed", "err", err)
				return
			}
			d.Log.InfoContext(ctx, "live cache rebuilt from history", "containers", n, "took_ms", took.Milliseconds())
		})
	})
	partitions := app.WorkerFunc(func(ctx context.Context) error {
		t := time.NewTicker(24 * time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case now := <-t.C:
				if err := store.EnsurePartitions(ctx, now, 1, 3); err != nil {
					d.Log.ErrorContext(ctx, "partition maintenance failed", "err", err)
				}
			}
		}
	})
	return []app.Worker{projector, trains, ingest, ownership, cache, partitions}, nil
}

// applyOwnership keeps the tenant -> container projection: a booking or a shipment grants its
// tenant the right to see its containers; a cancelled booking takes that right back.
func applyOwnership(ctx context.Context, store *pgstore.Store, ev events.Event) error {
	tenant := ev.GetEnvelope().GetTenantId()
	switch e := ev.(type) {
	case *schedulev1.BookingEvent:
		by := "booking:" + e.GetBookingId()
		if e.GetCancelled() != nil {
			return store.Revoke(ctx, by)
		}
		if tenant == "" || e.GetEquipmentReference() == "" {
			return nil
		}
		return store.Grant(ctx, tenant, e.GetEquipmentReference(), by)
	case *schedulev1.ShipmentEvent:
		if tenant == "" {
			return nil
		}
		for _, c := range e.GetCreated().GetEquipmentReferences() {
			if err := store.Grant(ctx, tenant, c, "shipment:"+e.GetShipmentId()); err != nil {
				return err
			}
		}
	}
	return nil
}
