package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

const batchSpanName = "process " + testStream + " batch"

// batchCalls records every batch handler call: the batch sizes, and per message id each call
// (as calls does for the Subscriber).
type batchCalls struct {
	calls
	sizes []int // guarded by calls.mu
}

// handler records each batch and returns what fn returns for the n-th batch (0-based).
func (c *batchCalls) handler(fn func(ctx context.Context, msgs []*natsx.Message, n int) ([]error, error)) natsx.BatchHandler {
	return func(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
		ids := make([]string, len(msgs))
		idx := make([]int, len(msgs))
		c.mu.Lock()
		if c.got == nil {
			c.got = map[string][]call{}
		}
		n := len(c.sizes)
		c.sizes = append(c.sizes, len(msgs))
		for i, m := range msgs {
			ids[i], idx[i] = m.MsgID, len(c.got[m.MsgID])
			c.got[m.MsgID] = append(c.got[m.MsgID], call{delivered: m.NumDelivered, start: time.Now()})
		}
		c.mu.Unlock()

		defer func() { // also when fn panics
			c.mu.Lock()
			for i, id := range ids {
				c.got[id][idx[i]].end = time.Now()
				c.got[id][idx[i]].ctxErr = ctx.Err()
			}
			c.mu.Unlock()
		}()
		return fn(ctx, msgs, n)
	}
}

func (c *batchCalls) batchSizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sizes)
}

// ackAll is a batch handler body that succeeds.
func ackAll(context.Context, []*natsx.Message, int) ([]error, error) { return nil, nil }

// batchSubscriber builds a BatchSubscriber wired to the env's telemetry; opts fill the rest.
func (e *env) batchSubscriber(t *testing.T, consumer string, h natsx.BatchHandler, opts natsx.BatchOptions) *natsx.BatchSubscriber {
	t.Helper()
	opts.Logger, opts.TracerProvider, opts.MeterProvider, opts.Propagator = e.log, e.tp, e.mp, e.prop
	s, err := natsx.NewBatchSubscriber(e.js, testStream, consumer, h, opts)
	if err != nil {
		t.Fatalf("new batch subscriber: %v", err)
	}
	return s
}

// publishAll publishes the ids with one PublishBatch, each with its PRODUCER span.
func (e *env) publishAll(ctx context.Context, t *testing.T, ids ...string) {
	t.Helper()
	msgs := make([]natsx.Msg, len(ids))
	for i, id := range ids {
		msgs[i] = natsx.Msg{Subject: testSubject, MsgID: id, Data: []byte("payload-" + id)}
	}
	if _, err := e.publisher().PublishBatch(ctx, msgs); err != nil {
		t.Fatalf("publish batch: %v", err)
	}
}

// batchSpans returns the ended batch spans.
func (e *env) batchSpans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range e.spans.Ended() {
		if sp.Name() == batchSpanName {
			out = append(out, sp)
		}
	}
	return out
}

// int64Histogram returns the observation count and sum of the int64 histogram name.
func (e *env) int64Histogram(t *testing.T, name string) (count uint64, sum int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == name {
				for _, p := range h.DataPoints {
					count, sum = count+p.Count, sum+p.Sum
				}
			}
		}
	}
	return count, sum
}

func intAttr(sp sdktrace.ReadOnlySpan, key string) int64 {
	for _, a := range sp.Attributes() {
		if string(a.Key) == key {
			return a.Value.AsInt64()
		}
	}
	return -1
}

func TestBatchSubscriberHandlesEveryMessageOnceInBatches(t *testing.T) {
	t.Parallel()
	const n, maxBatch = 2000, 250
	e := newEnv(t)
	e.ensure(t, testConsumer("c", natsx.WithMaxAckPending(4*maxBatch)))
	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(ackAll), natsx.BatchOptions{MaxBatch: maxBatch, Workers: 2}))

	ids := make([]string, n)
	for i := range ids {
		ids[i] = "evt-" + strconv.Itoa(i)
	}
	ctx, ingest := e.tp.Tracer("test").Start(t.Context(), "POST /v1/events:batch")
	for chunk := range slices.Chunk(ids, 500) { // arriving while the subscriber runs
		e.publishAll(ctx, t, chunk...)
	}
	ingest.End()
	testkit.Eventually(t, waitFor, e.settled(t, "c", n))
	e.wantCounter(t, n, consumed, outcome("ack"))

	for _, id := range ids {
		if got := c.of(id); len(got) != 1 {
			t.Fatalf("%s handled %d times, want once", id, len(got))
		}
	}
	sizes := c.batchSizes()
	if len(sizes) >= n/2 {
		t.Errorf("%d batches for %d messages, want fewer than %d", len(sizes), n, n/2)
	}
	if m := slices.Max(sizes); m > maxBatch {
		t.Errorf("largest batch %d, want at most %d", m, maxBatch)
	}
	t.Logf("%d batches, sizes %v", len(sizes), sizes)
	if count, sum := e.int64Histogram(t, "messaging.nats.batch.size"); count != uint64(len(sizes)) || sum != n {
		t.Errorf("batch size histogram count %d sum %d, want %d and %d", count, sum, len(sizes), n)
	}
	if got := e.histogramCount(t, "messaging.process.duration"); got < uint64(len(sizes)) {
		t.Errorf("process duration recorded %d times, want once per batch (%d)", got, len(sizes))
	}

	// One CONSUMER span per batch, a root linked to the producer spans (at most 128 links).
	var spans []sdktrace.ReadOnlySpan
	testkit.Eventually(t, waitFor, func() error {
		if spans = e.batchSpans(); len(spans) != len(sizes) {
			return fmt.Errorf("%d batch spans, want %d", len(spans), len(sizes))
		}
		return nil
	})
	var total int64
	for _, sp := range spans {
		count := intAttr(sp, "messaging.batch.message_count")
		total += count
		if sp.SpanKind() != trace.SpanKindConsumer || sp.Parent().IsValid() {
			t.Fatalf("batch span kind %s, parent %v; want a CONSUMER root", sp.SpanKind(), sp.Parent())
		}
		if want := min(int(count), 128); len(sp.Links()) != want {
			t.Fatalf("batch of %d has %d links, want %d", count, len(sp.Links()), want)
		}
		for _, l := range sp.Links() {
			if l.SpanContext.TraceID() != ingest.SpanContext().TraceID() {
				t.Fatalf("link to trace %s, want the ingest trace %s", l.SpanContext.TraceID(), ingest.SpanContext().TraceID())
			}
		}
	}
	if total != n {
		t.Errorf("batch spans count %d messages, want %d", total, n)
	}
}

func TestBatchSubscriberSettlesEachMessageByItsError(t *testing.T) {
	t.Parallel()
	const backoff = 100 * time.Millisecond
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	e.publishAll(t.Context(), t, "A", "B", "C") // stored before the subscriber starts: one batch

	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(func(_ context.Context, msgs []*natsx.Message, _ int) ([]error, error) {
		slices.Reverse(msgs) // a handler may reorder its batch; errs follows its order
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			switch {
			case m.MsgID == "A":
				errs[i] = natsx.Permanent(errors.New("unknown event code XYZ"))
			case m.MsgID == "B" && m.NumDelivered == 1:
				errs[i] = errors.New("postgres: connection refused")
			}
		}
		return errs, nil
	}), natsx.BatchOptions{MaxBatch: 3, MaxWait: 200 * time.Millisecond, Backoff: natsx.Backoff{Base: backoff}}))

	b := c.atLeast(t, "B", 2)
	testkit.Eventually(t, waitFor, e.settled(t, "c", 3))
	if sizes := c.batchSizes(); sizes[0] != 3 {
		t.Fatalf("first batch held %d messages, want A, B and C together", sizes[0])
	}
	if b[0].delivered != 1 || b[1].delivered != 2 {
		t.Errorf("B NumDelivered %d then %d, want 1 then 2", b[0].delivered, b[1].delivered)
	}
	if gap := b[1].start.Sub(b[0].end); gap < backoff {
		t.Errorf("B redelivered %s after failing, want at least the %s backoff", gap, backoff)
	}
	if na, nc := len(c.of("A")), len(c.of("C")); na != 1 || nc != 1 {
		t.Errorf("A handled %d times, C %d times; want once each", na, nc)
	}
	e.wantCounter(t, 1, consumed, outcome("term"))
	e.wantCounter(t, 1, consumed, outcome("nak"))
	e.wantCounter(t, 2, consumed, outcome("ack")) // C, then B's second delivery
	if info := e.consumerInfo(t, "c"); info.Delivered.Consumer != 4 {
		t.Errorf("consumer delivered %d times, want 4 (A, B, C, then B again)", info.Delivered.Consumer)
	}
	if _, ok := e.logs.find("WARN", "terminated", "msg_id=A"); !ok {
		t.Error("termination of A was not logged")
	}
	if _, ok := e.logs.find("WARN", "redelivered", "msg_id=B", "postgres"); !ok {
		t.Error("failure of B was not logged")
	}
}

func TestBatchSubscriberRedeliversTheBatchOnBatchError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	ids := []string{"evt-1", "evt-2", "evt-3"}
	e.publishAll(t.Context(), t, ids...)

	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(func(_ context.Context, _ []*natsx.Message, n int) ([]error, error) {
		if n == 0 {
			return nil, errors.New("redis: pipeline failed")
		}
		return nil, nil
	}), natsx.BatchOptions{MaxBatch: 3, MaxWait: 200 * time.Millisecond, Backoff: natsx.Backoff{Base: 50 * time.Millisecond}}))

	for _, id := range ids {
		if got := c.atLeast(t, id, 2); got[1].delivered != 2 {
			t.Errorf("%s redelivered with NumDelivered %d, want 2", id, got[1].delivered)
		}
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 3))
	e.wantCounter(t, 3, consumed, outcome("nak"))
	e.wantCounter(t, 3, consumed, outcome("ack"))
	if _, ok := e.logs.find("WARN", "batch handler failed", "messages=3", "redis: pipeline failed"); !ok {
		t.Error("batch failure was not logged once for the batch")
	}
}

func TestBatchSubscriberRecoversPanics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	e.publishAll(t.Context(), t, "evt-1", "evt-2")

	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(func(_ context.Context, _ []*natsx.Message, n int) ([]error, error) {
		if n == 0 {
			panic("projector bug: nil map")
		}
		return nil, nil
	}), natsx.BatchOptions{MaxBatch: 2, MaxWait: 200 * time.Millisecond}))

	for _, id := range []string{"evt-1", "evt-2"} {
		if got := c.atLeast(t, id, 2); got[1].delivered != 2 {
			t.Errorf("%s redelivered with NumDelivered %d, want 2", id, got[1].delivered)
		}
	}
	e.publish(t, "evt-after") // the subscriber keeps working
	c.atLeast(t, "evt-after", 1)
	testkit.Eventually(t, waitFor, e.settled(t, "c", 3))
	e.wantCounter(t, 2, consumed, outcome("panic"))
	if rec, ok := e.logs.find("ERROR", "panicked", "projector bug: nil map", "stack="); !ok {
		t.Error("panic was not logged with its stack")
	} else if len(rec) < 200 {
		t.Errorf("logged stack looks too short: %q", rec)
	}
}

func TestBatchSubscriberKeepsLongBatchInProgress(t *testing.T) {
	t.Parallel()
	const ackWait = 300 * time.Millisecond
	e := newEnv(t)
	e.ensure(t, testConsumer("c", natsx.WithAckWait(ackWait)))
	e.publishAll(t.Context(), t, "evt-1", "evt-2")

	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(func(ctx context.Context, _ []*natsx.Message, _ int) ([]error, error) {
		work := time.NewTimer(4 * ackWait) // simulated work, four times the ack wait
		defer work.Stop()
		select {
		case <-work.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}), natsx.BatchOptions{MaxBatch: 2, MaxWait: 200 * time.Millisecond, Workers: 2})) // a redelivery would reach the idle worker

	got := c.atLeast(t, "evt-1", 1)
	if d := got[0].end.Sub(got[0].start); d < 4*ackWait {
		t.Fatalf("handler ran %s, want at least %s", d, 4*ackWait)
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 2))
	info := e.consumerInfo(t, "c")
	if n := len(c.of("evt-1")) + len(c.of("evt-2")); n != 2 || info.Delivered.Consumer != 2 || info.NumRedelivered != 0 {
		t.Errorf("handled %d times, delivered %d, redelivered %d; want 2, 2, 0", n, info.Delivered.Consumer, info.NumRedelivered)
	}
}

func TestBatchSubscriberDrainFinishesInFlightBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	ids := []string{"evt-1", "evt-2", "evt-3", "evt-4", "evt-5"}
	e.publishAll(t.Context(), t, ids...)

	var c batchCalls
	started, release := make(chan struct{}), make(chan struct{})
	sub := e.batchSubscriber(t, "c", c.handler(func(_ context.Context, _ []*natsx.Message, n int) ([]error, error) {
		if n == 0 {
			close(started)
			<-release
		}
		return nil, nil
	}), natsx.BatchOptions{MaxBatch: 2, MaxWait: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error, 1)
	go func() { stopped <- sub.Run(ctx) }()
	receive(t, started)

	cancel() // shutdown begins while the first batch is in flight
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a batch was in flight", err)
	default:
	}
	close(release)
	if err := receive(t, stopped); err != nil {
		t.Fatalf("Run after drain: %v", err)
	}

	// Run returned after the in-flight batch was handled and acked, its ctx alive throughout;
	// the buffered messages were handed back, not started.
	for _, id := range ids[:2] {
		if got := c.of(id); len(got) != 1 || got[0].end.IsZero() || got[0].ctxErr != nil {
			t.Fatalf("%s calls %+v, want one finished call with a live ctx", id, got)
		}
	}
	testkit.Eventually(t, waitFor, func() error { // acks flushed; the server applies them asynchronously
		if info := e.consumerInfo(t, "c"); info.AckFloor.Stream != 2 {
			return fmt.Errorf("after drain ack floor %d, want 2 (the first batch acked)", info.AckFloor.Stream)
		}
		return nil
	})
	if sizes := c.batchSizes(); len(sizes) != 1 {
		t.Errorf("%d batches started, want only the one in flight at shutdown", len(sizes))
	}

	// Nothing was lost: the next subscriber processes the rest.
	var next batchCalls
	start(t, e.batchSubscriber(t, "c", next.handler(ackAll), natsx.BatchOptions{MaxWait: time.Millisecond}))
	for _, id := range ids[2:] {
		next.atLeast(t, id, 1)
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 5))
}

// publishEachInItsTrace publishes each of ids from a request span of its own (one trace per
// message, as from separate carriers' requests) and returns those spans, in order.
func (e *env) publishEachInItsTrace(t *testing.T, tracer trace.Tracer, ids ...string) []trace.Span {
	t.Helper()
	spans := make([]trace.Span, 0, len(ids))
	for _, id := range ids {
		ctx, ingest := tracer.Start(t.Context(), "POST /v1/events")
		e.publishAll(ctx, t, id)
		ingest.End()
		spans = append(spans, ingest)
	}
	return spans
}

// Each message of a batch continues its own trace: the handler starts the message's span from
// Message.Context, and the batch span links to every producer.
func TestBatchSubscriberHandlerContinuesEachMessageTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	tracer := e.tp.Tracer("test")
	ingests := e.publishEachInItsTrace(t, tracer, "evt-1", "evt-2")

	handled := make(chan struct{})
	var once atomic.Bool
	start(t, e.batchSubscriber(t, "c", func(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
		for _, m := range msgs {
			_, span := tracer.Start(m.Context(ctx), "project "+m.MsgID, trace.WithLinks(trace.LinkFromContext(ctx)))
			span.End()
		}
		if once.CompareAndSwap(false, true) {
			close(handled)
		}
		return nil, nil
	}, natsx.BatchOptions{MaxBatch: 2, MaxWait: time.Second}))
	receive(t, handled)

	byName := map[string]sdktrace.ReadOnlySpan{}
	testkit.Eventually(t, waitFor, func() error {
		for _, sp := range e.spans.Ended() {
			if sp.SpanKind() == trace.SpanKindProducer {
				byName["producer "+sp.SpanContext().TraceID().String()] = sp
			} else {
				byName[sp.Name()] = sp
			}
		}
		if byName[batchSpanName] == nil || byName["project evt-1"] == nil || byName["project evt-2"] == nil {
			return errors.New("batch or message spans not ended yet")
		}
		return nil
	})
	batch := byName[batchSpanName]
	wantAttrs(t, "batch", batch.Attributes(), map[string]string{
		"messaging.system":              "nats",
		"messaging.operation.type":      "process",
		"messaging.batch.message_count": "2",
		"messaging.consumer.group.name": "c",
		"messaging.destination.name":    testSubject,
		"outcome.ack":                   "2",
	})
	if len(batch.Links()) != 2 {
		t.Fatalf("batch span links %v, want one per message", batch.Links())
	}
	for i, id := range []string{"evt-1", "evt-2"} {
		want := ingests[i].SpanContext().TraceID()
		producer := byName["producer "+want.String()]
		msgSpan := byName["project "+id]
		if producer == nil {
			t.Fatalf("no producer span in trace %s", want)
		}
		if msgSpan.SpanContext().TraceID() != want || msgSpan.Parent().SpanID() != producer.SpanContext().SpanID() {
			t.Errorf("%s span: trace %s parent %s, want trace %s parent the producer %s", id,
				msgSpan.SpanContext().TraceID(), msgSpan.Parent().SpanID(), want, producer.SpanContext().SpanID())
		}
		if l := msgSpan.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != batch.SpanContext().SpanID() {
			t.Errorf("%s span links %v, want the batch span", id, l)
		}
		if !slices.ContainsFunc(batch.Links(), func(l sdktrace.Link) bool {
			return l.SpanContext.SpanID() == producer.SpanContext().SpanID()
		}) {
			t.Errorf("batch span does not link to the producer of %s", id)
		}
	}
}

// With MessageSpans each message has its own CONSUMER span, a child of its producer's span,
// linked to the batch, carrying its outcome; the handler's work for it is a child of that.
func TestBatchSubscriberStartsMessageSpans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	tracer := e.tp.Tracer("test")
	ingests := e.publishEachInItsTrace(t, tracer, "evt-1", "evt-2")
	handled := make(chan struct{})
	var once atomic.Bool
	start(t, e.batchSubscriber(t, "c", func(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			_, span := tracer.Start(m.SpanContext(ctx), "work "+m.MsgID)
			span.End()
			if m.MsgID == "evt-2" {
				errs[i] = natsx.Permanent(errors.New("bad"))
			}
		}
		if once.CompareAndSwap(false, true) {
			close(handled)
		}
		return errs, nil
	}, natsx.BatchOptions{MaxBatch: 2, MaxWait: time.Second, MessageSpans: true}))
	receive(t, handled)

	var batch sdktrace.ReadOnlySpan
	producers := map[trace.TraceID]sdktrace.ReadOnlySpan{}
	process := map[trace.TraceID]sdktrace.ReadOnlySpan{}
	work := map[string]sdktrace.ReadOnlySpan{}
	testkit.Eventually(t, waitFor, func() error {
		for _, sp := range e.spans.Ended() {
			switch {
			case sp.Name() == batchSpanName:
				batch = sp
			case sp.SpanKind() == trace.SpanKindProducer:
				producers[sp.SpanContext().TraceID()] = sp
			case sp.SpanKind() == trace.SpanKindConsumer:
				process[sp.SpanContext().TraceID()] = sp
			default:
				work[sp.Name()] = sp
			}
		}
		if batch == nil || len(process) < 2 || len(work) < 2 {
			return errors.New("spans not ended yet")
		}
		return nil
	})
	for i, id := range []string{"evt-1", "evt-2"} {
		tid := ingests[i].SpanContext().TraceID()
		p, pr, w := process[tid], producers[tid], work["work "+id]
		if p == nil || pr == nil || w == nil {
			t.Fatalf("%s: trace %s lacks its process, producer or work span", id, tid)
		}
		if p.Name() != "process "+testSubject || p.Parent().SpanID() != pr.SpanContext().SpanID() {
			t.Errorf("%s: span %q with parent %s, want %q under the producer", id, p.Name(), p.Parent().SpanID(), "process "+testSubject)
		}
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != batch.SpanContext().SpanID() {
			t.Errorf("%s: process span links %v, want the batch span", id, l)
		}
		if w.Parent().SpanID() != p.SpanContext().SpanID() {
			t.Errorf("%s: the handler's work is not a child of the message's span", id)
		}
		outcome := map[string]string{"evt-1": "ack", "evt-2": "term"}[id]
		wantAttrs(t, id, p.Attributes(), map[string]string{"outcome": outcome, "messaging.message.id": id,
			"messaging.consumer.group.name": "c"})
	}
}

func TestBatchSubscriberOptionsAndMissingConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	for name, opts := range map[string]natsx.BatchOptions{
		"negative MaxBatch": {MaxBatch: -1},
		"negative Workers":  {Workers: -1},
		"negative MaxWait":  {MaxWait: -time.Second},
	} {
		if _, err := natsx.NewBatchSubscriber(e.js, testStream, "c", func(context.Context, []*natsx.Message) ([]error, error) { return nil, nil }, opts); err == nil {
			t.Errorf("%s: NewBatchSubscriber accepted it", name)
		}
	}
	if _, err := natsx.NewBatchSubscriber(e.js, testStream, "c", nil, natsx.BatchOptions{}); err == nil {
		t.Error("NewBatchSubscriber accepted a nil handler")
	}
	sub := e.batchSubscriber(t, "missing", func(context.Context, []*natsx.Message) ([]error, error) { return nil, nil }, natsx.BatchOptions{})
	if err := sub.Run(t.Context()); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("Run = %v, want ErrConsumerNotFound", err)
	}
}

// A projector handles a batch with one COPY and one Redis pipeline, and gives each message a
// span in its producer's trace with Message.Context. (Compiled, not run: it needs a server.)
func ExampleBatchSubscriber() {
	run := func(ctx context.Context, js jetstream.JetStream, tracer trace.Tracer) error {
		project := func(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
			errs := make([]error, len(msgs))
			for i, m := range msgs {
				mctx, span := tracer.Start(m.Context(ctx), "decode "+m.Subject,
					trace.WithLinks(trace.LinkFromContext(ctx))) // m's trace, linked to the batch
				if len(m.Data) == 0 {
					errs[i] = fmt.Errorf("%w: empty event", natsx.ErrDecode) // this one terminated
				}
				_ = mctx // log with mctx: the line carries m's trace id
				span.End()
			}
			// ... COPY the decoded rows, then the Redis pipeline; on failure
			// return nil, err so the whole batch is redelivered with backoff ...
			return errs, nil
		}
		sub, err := natsx.NewBatchSubscriber(js, "TRACKING", "tracking-projector", project,
			natsx.BatchOptions{MaxBatch: 500, MaxWait: 20 * time.Millisecond})
		if err != nil {
			return err
		}
		return sub.Run(ctx) // drains on ctx's end, like Subscriber.Run
	}
	_ = run
}

// BenchmarkBatchSubscriber measures messages per second from the stream through a no-op batch
// handler to the ack, on the embedded server. The messages are stored before the timer starts.
//
//	go test -run '^$' -bench BatchSubscriber -benchtime 100000x ./natsx/
func BenchmarkBatchSubscriber(b *testing.B) {
	srv := natstest.Start(b)
	_, js := natstest.Connect(b, srv.URL)
	ctx := b.Context()
	top := natsx.Topology{
		Streams: []jetstream.StreamConfig{natsx.DefaultStream(testStream, "events.>")},
		Consumers: []natsx.Consumer{{Stream: testStream, Config: natsx.DurableConsumer("bench", []string{"events.>"},
			natsx.WithMaxAckPending(4*natsx.DefaultMaxBatch))}},
	}
	if err := top.Ensure(ctx, js); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 256) // about a tracking event
	for i := range b.N {
		msg := &nats.Msg{Subject: testSubject, Data: data, Header: nats.Header{}}
		for {
			_, err := js.PublishMsgAsync(msg, jetstream.WithMsgID("evt-"+strconv.Itoa(i)))
			if err == nil {
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				b.Fatal(err)
			}
			<-js.PublishAsyncComplete()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing did not complete")
	}

	var handled atomic.Int64
	done := make(chan struct{})
	sub, err := natsx.NewBatchSubscriber(js, testStream, "bench", func(_ context.Context, msgs []*natsx.Message) ([]error, error) {
		if handled.Add(int64(len(msgs))) == int64(b.N) {
			close(done)
		}
		return nil, nil
	}, natsx.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)

	b.ResetTimer()
	go func() { errc <- sub.Run(runCtx) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("handled %d of %d messages", handled.Load(), b.N)
	}
	cancel()
	if err := <-errc; err != nil { // drained: the last acks flushed to the server
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")

	cons, err := js.Consumer(ctx, testStream, "bench")
	if err != nil {
		b.Fatal(err)
	}
	testkit.Eventually(b, 10*time.Second, func() error { // the server applies acks asynchronously
		info, err := cons.Info(ctx)
		if err == nil && (info.AckFloor.Stream != uint64(b.N) || info.NumRedelivered != 0) {
			err = fmt.Errorf("ack floor %d, redelivered %d; want %d and 0", info.AckFloor.Stream, info.NumRedelivered, b.N)
		}
		return err
	})
}

// Messages on subjects Skip names are acked without reaching the handler and without spans of
// their own; a batch of skipped messages alone makes no batch span; they count as "skip".
func TestBatchSubscriberSkipsSubjects(t *testing.T) {
	t.Parallel()
	const skipSubject = "events.v1.container.position"
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	var c batchCalls
	start(t, e.batchSubscriber(t, "c", c.handler(ackAll), natsx.BatchOptions{MaxBatch: 100, MessageSpans: true,
		Skip: func(subject string) bool { return subject == skipSubject }}))

	// First only skipped messages, then a mix, in one stream.
	var msgs []natsx.Msg
	for i := range 40 {
		subject := skipSubject
		if i >= 20 && i%2 == 0 {
			subject = testSubject
		}
		msgs = append(msgs, natsx.Msg{Subject: subject, MsgID: "m-" + strconv.Itoa(i), Data: []byte("x")})
	}
	if _, err := e.publisher().PublishBatch(t.Context(), msgs[:20]); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 20))
	if sizes := c.batchSizes(); len(sizes) != 0 {
		t.Fatalf("the handler got batches %v of skipped messages only", sizes)
	}
	if spans := e.batchSpans(); len(spans) != 0 {
		t.Fatalf("%d batch spans for skipped messages only", len(spans))
	}
	if _, err := e.publisher().PublishBatch(t.Context(), msgs[20:]); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 40))
	for i, m := range msgs {
		if got, want := len(c.of(m.MsgID)), map[bool]int{true: 1}[m.Subject == testSubject]; got != want {
			t.Fatalf("message %d on %s handled %d times, want %d", i, m.Subject, got, want)
		}
	}
	e.wantCounter(t, 30, consumed, outcome("skip"))
	e.wantCounter(t, 10, consumed, outcome("ack"))
	for _, sp := range e.spans.Ended() {
		if sp.Name() == "process "+skipSubject {
			t.Fatalf("a skipped message has a span: %s", sp.Name())
		}
	}
}
