package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
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
			}, app.BatchEventOptions{MaxWait: 50 * time.Millisecond})
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
		if i == 10 {
			// Poison, and a duplicate of an event already published under another msg id.
			nc, _ := natstest.Connect(t, h.NATS.URL)
			poison := nats.NewMsg("tracking.v1.container.equipment.CSQU3054383")
			poison.Header.Set(events.HeaderContentType, events.ContentTypeContainerEvent)
			poison.Data = []byte{0xff}
			dup := nats.NewMsg("tracking.v1.container.equipment.MSKU9070323")
			dup.Header.Set(events.HeaderContentType, events.ContentTypeContainerEvent)
			data, err := events.Marshal(servicetest.GateIn(want[4], "MSKU9070323"))
			if err != nil {
				t.Fatal(err)
			}
			dup.Data = data
			for _, m := range []*nats.Msg{poison, dup} {
				if err := nc.PublishMsg(m); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	pool, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
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
	t.Logf("%d handler calls for %d events", batches.Load(), len(want))
}
