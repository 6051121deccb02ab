package notification_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
)

// BenchmarkDispatch measures the dispatcher alone: pending deliveries (inserted before the
// clock starts) sent to a local receiver answering 204 and recorded, with the service's
// defaults (NOTIFICATION_WORKERS, the pool Postgres gives a service on this machine). Each
// iteration sends one round of deliveries; deliveries/s is the rate from the wake-up to the
// last one recorded as succeeded.
//
//	go test -run '^$' -bench BenchmarkDispatch -benchtime 5x ./internal/notification/
//
// wide: every delivery in a lane of its own (a few events for many containers, as under load);
// deep: 100 lanes of 20 deliveries each, sent one after another within a lane.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []struct {
		name           string
		lanes, perLane int
		subscriptions  int
	}{
		{"wide", 4000, 1, 20},
		{"deep", 100, 20, 1},
	} {
		b.Run(bc.name, func(b *testing.B) { benchDispatch(b, bc.lanes, bc.perLane, bc.subscriptions) })
	}
}

func benchDispatch(b *testing.B, lanes, perLane, subscriptions int) {
	ctx := context.Background()
	pool := migratedPool(b, "notifbench")
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	for i := range subscriptions {
		if _, err := pool.Exec(ctx, `INSERT INTO subscriptions (tenant_id, callback_url, secret)
VALUES ('acme', $1, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`, fmt.Sprintf("%s/hook/%d", rc.URL, i)); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := notification.LoadConfig(true)
	if err != nil {
		b.Fatal(err)
	}
	cfg.AllowedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	n := notification.NewNotifier(pgstore.New(pool), cfg)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Dispatcher(slog.New(slog.DiscardHandler)).Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()

	total := lanes * perLane
	var sent int
	var elapsed time.Duration
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		insertPending(b, pool, round, lanes, perLane)
		b.StartTimer()
		start := time.Now()
		if _, err := pool.Exec(ctx, `SELECT pg_notify(left('deliveries_' || current_schema(), 63), '')`); err != nil {
			b.Fatal(err)
		}
		for {
			var pending bool
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending')`).Scan(&pending); err != nil {
				b.Fatal(err)
			}
			if !pending {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		elapsed += time.Since(start)
		sent += total
	}
	var failed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status <> 'succeeded'`).Scan(&failed); err != nil || failed > 0 {
		b.Fatalf("%d deliveries did not succeed (%v)", failed, err)
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "deliveries/s")
}

// insertPending inserts lanes x perLane pending deliveries with bodies the size of a
// container event's, spread over the subscriptions, without waking the dispatcher; all but
// the first of each lane are blocked behind it, as matching inserts them.
func insertPending(b *testing.B, pool *pgxpool.Pool, round, lanes, perLane int) {
	b.Helper()
	_, err := pool.Exec(context.Background(), `
		WITH subs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i, count(*) OVER () AS n FROM subscriptions)
		INSERT INTO deliveries (subscription_id, tenant_id, event_id, event_type, subject, lane, body, traceparent, blocked)
		SELECT s.id, 'acme', format('ev-%s-%s-%s', $1::int, l, k), 'DEPA', format('BOX%s', l), format('container:BOX%s', l),
		       convert_to(repeat('x', 700), 'UTF8'), '00-5c000000000000000000000000000001-0000000000000001-01', k > 0
		FROM generate_series(0, $2::int - 1) AS l, generate_series(0, $3::int - 1) AS k, subs s
		WHERE s.i = l % s.n
		ORDER BY k, l`, round, lanes, perLane)
	if err != nil {
		b.Fatal(err)
	}
}
