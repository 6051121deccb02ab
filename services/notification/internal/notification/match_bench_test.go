package notification_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
)

// benchContainers is how many containers the matching benchmark's events are about.
const benchContainers = 20000

// BenchmarkMatchBatch measures matching alone, as the tracking consumer does it: batches of 500
// position fixes about 20,000 containers, of which 5% are owned by 50 tenants, each with an
// "all my containers" subscription and one to a container of its own; one transaction per
// batch. events/s is the rate of events matched.
//
//	go test -run '^$' -bench BenchmarkMatchBatch -benchtime 10x ./internal/notification/
//
// batch-owned-set is batch with the in-memory set of owned containers, as the service runs;
// per-event matches the same way the consumers did before batches, one transaction per event.
func BenchmarkMatchBatch(b *testing.B) {
	const owned, tenants = benchContainers / 20, 50
	ctx := context.Background()
	pool := migratedPool(b, "notifmatchbench")
	box := func(i int) string {
		n, err := iso6346.Make("BNC", 'U', 100000+i)
		if err != nil {
			b.Fatal(err)
		}
		return string(n)
	}
	for i := range owned {
		tenant := fmt.Sprintf("t%d", i%tenants)
		if _, err := pool.Exec(ctx, `INSERT INTO ownership (tenant_id, kind, value) VALUES ($1, 'container', $2)`, tenant, box(i*(benchContainers/owned))); err != nil {
			b.Fatal(err)
		}
	}
	for t := range tenants {
		tenant := fmt.Sprintf("t%d", t)
		for _, key := range []string{"tenant:" + tenant, "container:" + box(t*(benchContainers/owned))} {
			var id string
			if err := pool.QueryRow(ctx, `INSERT INTO subscriptions (tenant_id, callback_url, secret)
VALUES ($1, 'https://example.com/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') RETURNING id`, tenant).Scan(&id); err != nil {
				b.Fatal(err)
			}
			kind, value, _ := strings.Cut(key, ":")
			if _, err := pool.Exec(ctx, `INSERT INTO subscription_keys (kind, value, subscription_id) VALUES ($1, $2, $3)`, kind, value, id); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	n := notification.NewNotifier(pgstore.New(pool), notification.Config{})
	round := 0
	b.Run("batch", func(b *testing.B) {
		benchMatch(b, pool, box, &round, func(evs []app.BatchEvent) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return n.MatchBatch(ctx, tx, evs) })
		})
	})
	// As the service runs it: with the set of owned containers in memory (pgstore.OwnedSet),
	// the owners are asked for only for the batch's owned containers.
	b.Run("batch-owned-set", func(b *testing.B) {
		set := pgstore.NewOwnedSet()
		store := pgstore.New(pool).WithOwnedSet(set)
		lctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- store.ListenOwned(lctx) }()
		defer func() { stop(); <-done }()
		testkit.Eventually(b, 10*time.Second, func() error {
			if !set.Synced() {
				return errors.New("the owned set is not in sync")
			}
			return nil
		})
		n := notification.NewNotifier(store, notification.Config{})
		benchMatch(b, pool, box, &round, func(evs []app.BatchEvent) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return n.MatchBatch(ctx, tx, evs) })
		})
	})
	// What the consumers did before batches, for comparison: a transaction per event.
	b.Run("per-event", func(b *testing.B) {
		benchMatch(b, pool, box, &round, func(evs []app.BatchEvent) error {
			for _, ev := range evs {
				if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return n.Match(ev.Ctx, tx, ev.Event) }); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// benchMatch times match on batches of fresh position fixes about the containers box names.
func benchMatch(b *testing.B, pool *pgxpool.Pool, box func(int) string, round *int, match func([]app.BatchEvent) error) {
	const batch = 500
	ctx := context.Background()
	var before int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&before); err != nil {
		b.Fatal(err)
	}
	var matched int
	var elapsed time.Duration
	for ; b.Loop(); *round++ {
		round := *round
		b.StopTimer()
		evs := make([]app.BatchEvent, batch)
		for i := range evs {
			ev := &trackingv1.ContainerEvent{Envelope: matchEnvelope("carrier-x"), EquipmentReference: box((round*batch + i*7919) % benchContainers),
				Classifier: trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload:    &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{Latitude: 36.1, Longitude: 120.3}}}
			evs[i] = traced(i, events.Event(ev))
		}
		b.StartTimer()
		start := time.Now()
		if err := match(evs); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		matched += batch
	}
	var deliveries int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&deliveries); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(matched)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(deliveries-before)/float64(matched), "deliveries/event")
}
