package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
)

var batchMigrations = fstest.MapFS{
	"000001_create_inbox.up.sql": {Data: []byte(`CREATE TABLE inbox (consumer text, event_id text, subject text, processed_at timestamptz DEFAULT now(), PRIMARY KEY (consumer, event_id));
		CREATE TABLE handled (seq bigserial PRIMARY KEY, event_id text NOT NULL, container text NOT NULL, batch int NOT NULL);`)},
	"000001_create_inbox.down.sql": {Data: []byte(`DROP TABLE handled; DROP TABLE inbox;`)},
}

// TestBatchEventConsumerHandlesEachEventOnceInOrder: events published together are handled in
// few transactions, each exactly once and in stream order; a poison message is terminated, a
// duplicate skipped, and an event whose handling fails is retried alone (the rest of its
// batch is not held back) until it succeeds.
func TestBatchEventConsumerHandlesEachEventOnceInOrder(t *testing.T) {
	consumer := natsx.Consumer{Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("batchtest", []string{events.FilterContainer})}
	var batches, failures atomic.Int64
	const failing = "MSKU9070323-ev-7" // fails its first two deliveries
	svc := app.Service{
		Name:       "batchtest",
		Migrations: batchMigrations,
		Consumers:  []natsx.Consumer{consumer},
		Build: func(_ context.Context, d *app.Deps) ([]app.Worker, error) {
			w, err := app.BatchEventConsumer(d, consumer, func(ctx context.Context, tx pgx.Tx, evs []app.BatchEvent) error {
				b := batches.Add(1)
				for _, ev := range evs {
					id := events.EventID(ev.Event)
					if id == failing && failures.Add(1) <= 2 {
						return errors.New("cannot handle this one yet")
					}
					if ev.Ctx == nil {
						return errors.New("no context for the event")
					}
					c := ev.Event.(*trackingv1.ContainerEvent).GetEquipmentReference()
					if _, err := tx.Exec(ctx, `INSERT INTO handled (event_id, container, batch) VALUES ($1, $2, $3)`, id, c, b); err != nil {
						return err
					}
				}
				return nil
			}, app.BatchEventOptions{MaxWait: 50 * time.Millisecond, Skip: func(subject string) bool {
				return strings.HasPrefix(subject, "tracking.v1.container.position.")
			}})
			if err != nil {
				return nil, err
			}
			return []app.Worker{w}, nil
		},
	}
	h := servicetest.Start(t, svc)

	containers := []string{"CSQU3054383", "MSKU9070323", "TGHU1234563"}
	var want []string
	for i := range 30 {
		c := containers[i%len(containers)]
		id := fmt.Sprintf("%s-ev-%d", c, i)
		want = append(want, id)
		h.Publish(t, servicetest.GateIn(id, c))
		if i == 5 {
			// A position fix, on a subject the consumer skips: never handled, no inbox row.
			h.Publish(t, &trackingv1.ContainerEvent{
				Envelope:           &commonv1.Envelope{EventId: "skipped-fix", OccurredAt: timestamppb.Now(), RecordedAt: timestamppb.Now()},
				EquipmentReference: c,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload:            &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{Latitude: 36.3, Longitude: 120.0}},
			})
		}
		if i == 10 {
			// Poison, and a duplicate of an event already published under another msg id.
			nc, _ := natstest.Connect(t, h.NATS.URL)
			poison := nats.NewMsg("tracking.v1.container.equipment.CSQU3054383")
			poison.Header.Set(events.HeaderContentType, events.ContentTypeContainerEvent)
			poison.Data = []byte{0xff}
			if err := nc.PublishMsg(poison); err != nil {
				t.Fatal(err)
			}
			h.PublishCopy(t, servicetest.GateIn(want[4], "MSKU9070323"))
		}
	}

	pool := servicePool(t, h)
	var got []string
	var containerOf = map[string]string{}
	testkit.Eventually(t, 30*time.Second, func() error {
		rows, err := pool.Query(context.Background(), `SELECT event_id, container FROM handled ORDER BY seq`)
		if err != nil {
			return err
		}
		got = got[:0]
		for rows.Next() {
			var id, c string
			if err := rows.Scan(&id, &c); err != nil {
				return err
			}
			got = append(got, id)
			containerOf[id] = c
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(got) < len(want) {
			return fmt.Errorf("%d of %d events handled", len(got), len(want))
		}
		return nil
	})
	if len(got) != len(want) {
		t.Fatalf("handled %d events, want %d (each once): %v", len(got), len(want), got)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("event %s handled twice", id)
		}
		seen[id] = true
	}
	// Stream order per container, except the failing event, which comes after the ones acked
	// around it (as with one transaction per event).
	last := map[string]int{}
	for _, id := range got {
		if id == failing {
			continue
		}
		var n int
		var c string
		if _, err := fmt.Sscanf(id, "%11s-ev-%d", &c, &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[c]; ok && n < prev {
			t.Fatalf("container %s: event %d handled after %d", c, n, prev)
		}
		last[c] = n
	}
	if failures.Load() < 3 {
		t.Fatalf("the failing event was tried %d times, want 3", failures.Load())
	}
	var skipped int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM inbox WHERE event_id = 'skipped-fix'`).Scan(&skipped); err != nil || skipped != 0 {
		t.Fatalf("the skipped fix has %d inbox rows (%v), want none", skipped, err)
	}
	t.Logf("%d handler calls for %d events", batches.Load(), len(want))
}

// An idempotent handler writes no inbox rows: it gets each event of a batch once (a repeat of
// an id within the batch is left out) and keeps itself idempotent across redeliveries.
func TestBatchEventConsumerIdempotentWritesNoInbox(t *testing.T) {
	consumer := natsx.Consumer{Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("idemtest", []string{events.FilterContainer})}
	var calls atomic.Int64
	svc := app.Service{
		Name:       "idemtest",
		Migrations: batchMigrations,
		Consumers:  []natsx.Consumer{consumer},
		Build: func(_ context.Context, d *app.Deps) ([]app.Worker, error) {
			w, err := app.BatchEventConsumer(d, consumer, func(ctx context.Context, tx pgx.Tx, evs []app.BatchEvent) error {
				calls.Add(int64(len(evs)))
				for _, ev := range evs {
					if _, err := tx.Exec(ctx, `INSERT INTO handled (event_id, container, batch) VALUES ($1, $2, 0)`,
						events.EventID(ev.Event), ev.Event.(*trackingv1.ContainerEvent).GetEquipmentReference()); err != nil {
						return err
					}
				}
				return nil
			}, app.BatchEventOptions{MaxWait: 200 * time.Millisecond, Idempotent: true})
			if err != nil {
				return nil, err
			}
			return []app.Worker{w}, nil
		},
	}
	h := servicetest.Start(t, svc)
	for i := range 10 {
		ev := servicetest.GateIn(fmt.Sprintf("idem-%d", i), "CSQU3054383")
		for range 2 { // each event twice, without a msg id: the stream keeps both
			h.PublishCopy(t, ev)
		}
	}
	pool := servicePool(t, h)
	count := func(q string) int {
		var n int
		if err := pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := count(`SELECT count(DISTINCT event_id) FROM handled`); n < 10 {
			return fmt.Errorf("%d of 10 events handled", n)
		}
		return nil
	})
	if n := count(`SELECT count(*) FROM inbox`); n != 0 {
		t.Fatalf("%d inbox rows, want none", n)
	}
	// Repeats that fell in one batch were handed once; repeats in different batches ran again
	// (the handler's own keys keep it idempotent in a real service).
	if got := calls.Load(); got < 10 || got > 20 {
		t.Fatalf("fn got %d events for 10 events published twice", got)
	}
}

// servicePool connects to the service's schema for the test's checks.
func servicePool(t *testing.T, h *servicetest.Harness) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
