package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
)

const outboxStream = "OUTBOX_TEST"

// The relay runs goroutines (its loop and its listener): none may outlive Run.
func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// outboxEnv is one test's outbox table (own schema), NATS server and publisher.
type outboxEnv struct {
	ctx  context.Context
	pool *pgxpool.Pool
	nc   *nats.Conn
	js   jetstream.JetStream
	pub  *natsx.Publisher
}

func newOutboxEnv(t *testing.T, pubOpts ...natsx.PublisherOption) *outboxEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	url, schema := pgtest.Schema(t, "outbox")
	pool, err := postgres.Connect(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, postgres.OutboxDDL); err != nil {
		t.Fatalf("outbox ddl: %v", err)
	}
	srv := natstest.Start(t)
	nc, js := natstest.Connect(t, srv.URL)
	return &outboxEnv{ctx: ctx, pool: pool, nc: nc, js: js, pub: natsx.NewPublisher(js, pubOpts...)}
}

func (e *outboxEnv) createStream(t *testing.T) jetstream.Stream {
	t.Helper()
	s, err := e.js.CreateStream(e.ctx, jetstream.StreamConfig{
		Name: outboxStream, Subjects: []string{"outbox.test.>"}, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	return s
}

// startRelay runs a relay until the test ends and checks that Run returned nil.
func (e *outboxEnv) startRelay(t *testing.T, opts postgres.RelayOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	r := postgres.NewRelay(e.pool, e.pub, opts)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay Run: %v", err)
		}
	})
}

func (e *outboxEnv) enqueue(t *testing.T, ctx context.Context, msgs ...postgres.OutboxMessage) {
	t.Helper()
	if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error { return postgres.Enqueue(ctx, tx, msgs...) }); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

func (e *outboxEnv) outboxRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatalf("count outbox: %v", err)
	}
	return n
}

// waitDrained waits until the outbox is empty and the stream holds want messages.
func (e *outboxEnv) waitDrained(t *testing.T, s jetstream.Stream, want uint64) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := e.outboxRows(t); n != 0 {
			return fmt.Errorf("%d rows still in the outbox", n)
		}
		info, err := s.Info(e.ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != want {
			return fmt.Errorf("stream holds %d messages, want %d", info.State.Msgs, want)
		}
		return nil
	})
}

// countPublishes counts every publish on the outbox subjects by message id with a core NATS
// subscription, which sees a repeated publish even when the stream dedupes it.
func (e *outboxEnv) countPublishes(t *testing.T) func() map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	sub, err := e.nc.Subscribe("outbox.test.>", func(m *nats.Msg) {
		mu.Lock()
		seen[m.Header.Get(jetstream.MsgIDHeader)]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

func msgs(prefix string, n int) []postgres.OutboxMessage {
	out := make([]postgres.OutboxMessage, n)
	for i := range out {
		out[i] = postgres.OutboxMessage{
			Subject: "outbox.test." + prefix,
			MsgID:   fmt.Sprintf("%s-%05d", prefix, i),
			Data:    []byte(fmt.Sprintf(`{"n":%d}`, i)),
		}
	}
	return out
}

func wantEachOnce(t *testing.T, got map[string]int, want []postgres.OutboxMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d distinct message ids published, want %d", len(got), len(want))
	}
	for _, m := range want {
		if got[m.MsgID] != 1 {
			t.Errorf("message %s published %d times, want once", m.MsgID, got[m.MsgID])
		}
	}
}

func TestOutboxCommittedIsPublishedAndDeleted(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	e.startRelay(t, postgres.RelayOptions{})

	e.enqueue(t, e.ctx, postgres.OutboxMessage{
		Subject: "outbox.test.created",
		MsgID:   "evt-1",
		Header:  nats.Header{"Content-Type": []string{"application/json"}},
		Data:    []byte(`{"id":1}`),
	})
	e.waitDrained(t, s, 1)

	got, err := s.GetMsg(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "outbox.test.created" || string(got.Data) != `{"id":1}` {
		t.Errorf("published %s %q", got.Subject, got.Data)
	}
	if v := got.Header.Get(jetstream.MsgIDHeader); v != "evt-1" {
		t.Errorf("Nats-Msg-Id = %q, want evt-1", v)
	}
	if v := got.Header.Get("Content-Type"); v != "application/json" {
		t.Errorf("Content-Type header = %q", v)
	}
}

func TestOutboxRelayWakesOnNotify(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	// Polling alone would take an hour: only the notification can wake the relay.
	e.startRelay(t, postgres.RelayOptions{Interval: time.Hour})
	e.enqueue(t, e.ctx, msgs("first", 1)...)
	e.waitDrained(t, s, 1)
	e.enqueue(t, e.ctx, msgs("second", 1)...)
	e.waitDrained(t, s, 2)
}

func TestOutboxRolledBackIsNeverPublished(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	count := e.countPublishes(t)
	e.startRelay(t, postgres.RelayOptions{Interval: 50 * time.Millisecond})

	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.Enqueue(e.ctx, tx, postgres.OutboxMessage{Subject: "outbox.test.x", MsgID: "rolled-back", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	// A later commit is relayed; the rolled-back message, enqueued before it, must not be.
	marker := postgres.OutboxMessage{Subject: "outbox.test.x", MsgID: "committed", Data: []byte("y")}
	e.enqueue(t, e.ctx, marker)
	e.waitDrained(t, s, 1)
	wantEachOnce(t, count(), []postgres.OutboxMessage{marker})
}

func TestOutboxCommittedBeforeRelayStartsIsNotLost(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	count := e.countPublishes(t)

	// "Crash between commit and publish": rows committed while no relay runs.
	all := msgs("crash", 1200)
	for i := 0; i < len(all); i += 300 {
		e.enqueue(t, e.ctx, all[i:i+300]...)
	}
	// Enqueueing an id again is a no-op.
	e.enqueue(t, e.ctx, all[0])
	if n := e.outboxRows(t); n != len(all) {
		t.Fatalf("outbox holds %d rows, want %d", n, len(all))
	}

	e.startRelay(t, postgres.RelayOptions{Batch: 100})
	e.waitDrained(t, s, uint64(len(all)))
	wantEachOnce(t, count(), all)

	// One relay publishes in id order.
	for seq := uint64(1); seq <= uint64(len(all)); seq += 97 {
		m, err := s.GetMsg(e.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != all[seq-1].MsgID {
			t.Fatalf("stream seq %d holds %s, want %s", seq, id, all[seq-1].MsgID)
		}
	}
}

func TestOutboxRepublishAfterCrashIsDeduped(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	all := msgs("dup", 20)
	e.enqueue(t, e.ctx, all...)
	// Crash after publishing the first half but before deleting their rows.
	for _, m := range all[:10] {
		if _, err := e.pub.Publish(e.ctx, m.Subject, m.MsgID, m.Data, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.startRelay(t, postgres.RelayOptions{})
	e.waitDrained(t, s, uint64(len(all)))
}

func TestOutboxPublishFailureKeepsRowsThenRecovers(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	all := msgs("fail", 3)
	e.startRelay(t, postgres.RelayOptions{Interval: 50 * time.Millisecond})
	e.enqueue(t, e.ctx, all...) // no stream yet: every publish fails

	testkit.Eventually(t, 10*time.Second, func() error {
		rows, err := e.pool.Query(e.ctx, `SELECT msg_id, attempts, coalesce(last_error, '') FROM outbox ORDER BY id`)
		if err != nil {
			return err
		}
		type row struct {
			id       string
			attempts int
			lastErr  string
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.attempts, &x.lastErr)
			return x, err
		})
		if err != nil {
			return err
		}
		if len(got) != len(all) {
			return fmt.Errorf("outbox holds %d rows, want %d", len(got), len(all))
		}
		for _, x := range got {
			if x.attempts < 1 || x.lastErr == "" {
				return fmt.Errorf("row %s: attempts %d, last_error %q", x.id, x.attempts, x.lastErr)
			}
		}
		return nil
	})

	s := e.createStream(t)
	e.waitDrained(t, s, uint64(len(all)))
}

func TestOutboxTwoRelaysPublishEachOnce(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	s := e.createStream(t)
	count := e.countPublishes(t)
	all := msgs("pair", 1000)
	e.enqueue(t, e.ctx, all[:500]...)
	e.startRelay(t, postgres.RelayOptions{Batch: 25, Interval: 20 * time.Millisecond})
	e.startRelay(t, postgres.RelayOptions{Batch: 25, Interval: 20 * time.Millisecond})
	for i := 500; i < len(all); i += 50 {
		e.enqueue(t, e.ctx, all[i:i+50]...)
	}
	e.waitDrained(t, s, uint64(len(all)))
	wantEachOnce(t, count(), all)
}

// Not parallel: it sets the global propagator, which Enqueue injects with.
func TestOutboxPublishContinuesEnqueueTrace(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newOutboxEnv(t, natsx.WithTracerProvider(tp), natsx.WithPropagator(propagation.TraceContext{}))
	s := e.createStream(t)

	reqCtx, reqSpan := tp.Tracer("test").Start(e.ctx, "POST /departures")
	e.enqueue(t, reqCtx, msgs("traced", 2)...)
	reqSpan.End()
	e.startRelay(t, postgres.RelayOptions{})
	e.waitDrained(t, s, 2)

	want := reqSpan.SpanContext().TraceID()
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := s.GetMsg(e.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got := trace.SpanContextFromContext(natsx.Extract(context.Background(), m.Header))
		if !got.IsValid() || got.TraceID() != want {
			t.Errorf("message %d: traceparent %q, want trace %s", seq, m.Header.Get("traceparent"), want)
		}
	}
	var producer bool
	for _, sp := range spans.Ended() {
		if sp.SpanKind() == trace.SpanKindProducer && sp.SpanContext().TraceID() == want &&
			sp.Parent().SpanID() == reqSpan.SpanContext().SpanID() {
			producer = true
		}
	}
	if !producer {
		t.Error("no PRODUCER span continuing the enqueueing request's trace")
	}
}

func TestOutboxEnqueueRejectsMissingMsgID(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		return postgres.Enqueue(e.ctx, tx, postgres.OutboxMessage{Subject: "outbox.test.x"})
	})
	if !errors.Is(err, natsx.ErrNoMsgID) {
		t.Fatalf("err = %v, want ErrNoMsgID", err)
	}
}
