package tracking

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
	"github.com/scodalabs/scoda/services/tracking/internal/geofence"
)

// Config is the tracking service's own configuration (beyond the runtime's).
type Config struct {
	FutureHorizon  time.Duration // TRACKING_FUTURE_HORIZON: how far in the future an event may be (24h)
	PublishTimeout time.Duration // TRACKING_PUBLISH_TIMEOUT: bound on waiting for the stream's acks (10s)
	RebuildWindow  time.Duration // TRACKING_REBUILD_WINDOW: history replayed into an emptied cache (90 days)
	RebuildCheck   time.Duration // TRACKING_REBUILD_CHECK: how often to look for an emptied cache (2s)
}

// Ports: what the service needs of the world, implemented by the adapters.
type (
	// History is the store of record.
	History interface {
		Record(ctx context.Context, evs []*trackingv1.ContainerEvent, payloads [][]byte) ([]bool, error)
		History(ctx context.Context, container string, f pgstore.Filter, after *pgstore.Cursor, limit int) (pgstore.Page, error)
		List(ctx context.Context, f pgstore.Filter, after *pgstore.Cursor, limit int) (pgstore.Page, error)
		Latest(ctx context.Context, container string) (position, milestone *trackingv1.ContainerEvent, err error)
		LatestSince(ctx context.Context, since time.Time, batch int, fn func([]*trackingv1.ContainerEvent) error) error
		Owns(ctx context.Context, tenant, container string) (bool, error)
	}
	// Live is the cache of every container's current state.
	Live interface {
		Apply(ctx context.Context, ups []redislive.Update) ([]redislive.Result, error)
		Get(ctx context.Context, container string) (redislive.Live, bool, error)
		Near(ctx context.Context, lat, lon, radiusKm float64, limit int) ([]redislive.Nearby, error)
		Sentinel(ctx context.Context) (bool, error)
		MarkRebuilt(ctx context.Context) error
	}
	// Publisher puts events in the log of record.
	Publisher interface {
		PublishBatch(ctx context.Context, msgs []natsx.Msg) ([]*jetstream.PubAck, error)
	}
)

// Tracker is the tracking service's behaviour, independent of transports.
type Tracker struct {
	cfg     Config
	history History
	live    Live
	pub     Publisher
	fences  *geofence.Index
	clock   func() time.Time
	metrics metrics
}

type metrics struct {
	ingested  metric.Int64Counter
	rejected  metric.Int64Counter
	projected metric.Int64Counter
	derived   metric.Int64Counter
	rebuilds  metric.Int64Counter
}

// NewTracker wires the service to its adapters.
func NewTracker(cfg Config, history History, live Live, pub Publisher, fences *geofence.Index) *Tracker {
	m := otel.Meter("github.com/scodalabs/scoda/services/tracking")
	s := &Tracker{cfg: cfg, history: history, live: live, pub: pub, fences: fences, clock: time.Now}
	s.metrics.ingested, _ = m.Int64Counter("scoda.tracking.events.accepted", metric.WithUnit("{event}"),
		metric.WithDescription("Events accepted into the log (HTTP and NATS ingest), duplicates excluded."))
	s.metrics.rejected, _ = m.Int64Counter("scoda.tracking.events.rejected", metric.WithUnit("{event}"),
		metric.WithDescription("Events rejected by validation on the NATS ingest path (dead-lettered)."))
	s.metrics.projected, _ = m.Int64Counter("scoda.tracking.events.projected", metric.WithUnit("{event}"),
		metric.WithDescription("Events written to history (new ids only) and applied to the live cache."))
	s.metrics.derived, _ = m.Int64Counter("scoda.tracking.events.derived", metric.WithUnit("{event}"),
		metric.WithDescription("Geofence milestones derived from positions."))
	s.metrics.rebuilds, _ = m.Int64Counter("scoda.tracking.live.rebuilds", metric.WithUnit("{rebuild}"),
		metric.WithDescription("Rebuilds of the live cache after it was found empty."))
	return s
}
