package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
)

const consumed = "messaging.client.consumed.messages"

// calls records every handler call, per message id.
type calls struct {
	mu  sync.Mutex
	got map[string][]call
}

type call struct {
	delivered  uint64
	start, end time.Time
	ctxErr     error
}

// handler records each call and returns what fn returns for the n-th call (0-based) of a message.
func (c *calls) handler(fn func(ctx context.Context, m *natsx.Message, n int) error) natsx.Handler {
	return func(ctx context.Context, m *natsx.Message) error {
		c.mu.Lock()
		if c.got == nil {
			c.got = map[string][]call{}
		}
		n := len(c.got[m.MsgID])
		c.got[m.MsgID] = append(c.got[m.MsgID], call{delivered: m.NumDelivered, start: time.Now()})
		c.mu.Unlock()

		err := fn(ctx, m, n)

		c.mu.Lock()
		c.got[m.MsgID][n].end = time.Now()
		c.got[m.MsgID][n].ctxErr = ctx.Err()
		c.mu.Unlock()
		return err
	}
}

func (c *calls) of(msgID string) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]call(nil), c.got[msgID]...)
}

// atLeast waits until msgID was handled (and returned) n times.
func (c *calls) atLeast(t *testing.T, msgID string, n int) []call {
	t.Helper()
	var got []call
	testkit.Eventually(t, waitFor, func() error {
		got = c.of(msgID)
		if len(got) < n || got[n-1].end.IsZero() {
			return fmt.Errorf("%s handled %d times, want %d", msgID, len(got), n)
		}
		return nil
	})
	return got
}

func testConsumer(name string, opts ...natsx.ConsumerOption) jetstream.ConsumerConfig {
	return natsx.DurableConsumer(name, []string{"events.>"},
		append([]natsx.ConsumerOption{natsx.WithAckWait(time.Second), natsx.WithMaxDeliver(5)}, opts...)...)
}

func TestSubscriberAcksSuccessOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	var c calls
	start(t, e.subscriber(t, e.js, "c", c.handler(func(context.Context, *natsx.Message, int) error { return nil }),
		natsx.SubscriberOptions{Workers: 2, DoubleAck: true}))

	e.publish(t, "evt-1")
	c.atLeast(t, "evt-1", 1)
	testkit.Eventually(t, waitFor, e.settled(t, "c", 1))
	e.wantCounter(t, 1, consumed, outcome("ack"))

	info := e.consumerInfo(t, "c")
	if info.Delivered.Consumer != 1 || info.NumRedelivered != 0 || len(c.of("evt-1")) != 1 {
		t.Errorf("deliveries %d, redelivered %d, calls %d; want 1, 0, 1",
			info.Delivered.Consumer, info.NumRedelivered, len(c.of("evt-1")))
	}
}

func TestSubscriberTerminatesPermanentErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"Permanent", natsx.Permanent(errors.New("unknown event code XYZ"))},
		{"decode error", fmt.Errorf("%w: proto: cannot parse invalid wire-format data", natsx.ErrDecode)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ensure(t, testConsumer("c"))
			var c calls
			start(t, e.subscriber(t, e.js, "c", c.handler(func(_ context.Context, m *natsx.Message, _ int) error {
				if m.MsgID == "poison" {
					return tt.err
				}
				return nil
			}), natsx.SubscriberOptions{}))

			e.publish(t, "poison")
			testkit.Eventually(t, waitFor, e.settled(t, "c", 1)) // terminated counts as settled
			e.wantCounter(t, 1, consumed, outcome("term"))

			// A later message is processed, and the poison one was never delivered again:
			// the consumer delivered exactly two messages.
			e.publish(t, "good")
			testkit.Eventually(t, waitFor, e.settled(t, "c", 2))
			info := e.consumerInfo(t, "c")
			if n := len(c.of("poison")); n != 1 || info.Delivered.Consumer != 2 || info.NumRedelivered != 0 {
				t.Errorf("poison handled %d times, consumer delivered %d, redelivered %d; want 1, 2, 0",
					n, info.Delivered.Consumer, info.NumRedelivered)
			}
			if _, ok := e.logs.find("WARN", "terminated", "msg_id=poison"); !ok {
				t.Error("termination was not logged")
			}
		})
	}
}

func TestSubscriberRedeliversTransientErrorsAfterDelay(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		backoff natsx.Backoff
		floor   time.Duration
	}{
		{"transient error uses the backoff", errors.New("postgres: connection refused"),
			natsx.Backoff{Base: 300 * time.Millisecond, Max: time.Second, Jitter: 0.2}, 300 * time.Millisecond},
		{"Retry overrides the backoff", natsx.Retry(errors.New("rate limited"), 250*time.Millisecond),
			natsx.Backoff{Base: time.Minute, Max: time.Minute}, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ensure(t, testConsumer("c"))
			var c calls
			start(t, e.subscriber(t, e.js, "c", c.handler(func(_ context.Context, _ *natsx.Message, n int) error {
				if n == 0 {
					return tt.err
				}
				return nil
			}), natsx.SubscriberOptions{Backoff: tt.backoff}))

			e.publish(t, "evt-1")
			got := c.atLeast(t, "evt-1", 2)
			if got[0].delivered != 1 || got[1].delivered != 2 {
				t.Errorf("NumDelivered = %d then %d, want 1 then 2", got[0].delivered, got[1].delivered)
			}
			if gap := got[1].start.Sub(got[0].end); gap < tt.floor {
				t.Errorf("redelivered %s after the failure, want at least %s", gap, tt.floor)
			}
			testkit.Eventually(t, waitFor, e.settled(t, "c", 1))
			e.wantCounter(t, 1, consumed, outcome("nak"))
			e.wantCounter(t, 1, consumed, outcome("ack"))
		})
	}
}

func TestSubscriberRecoversPanics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	var c calls
	start(t, e.subscriber(t, e.js, "c", c.handler(func(_ context.Context, m *natsx.Message, n int) error {
		if m.MsgID == "evt-panic" && n == 0 {
			panic("handler bug: index out of range") // what a real bug looks like to the subscriber
		}
		return nil
	}), natsx.SubscriberOptions{}))

	e.publish(t, "evt-panic")
	got := c.atLeast(t, "evt-panic", 2)
	if got[1].delivered != 2 {
		t.Errorf("second call NumDelivered = %d, want 2", got[1].delivered)
	}
	e.publish(t, "evt-after")
	t.Cleanup(func() {
		if t.Failed() {
			c, _ := e.js.Consumer(context.Background(), testStream, "c")
			info, err := c.Info(context.Background())
			t.Logf("consumer info: %+v %v", info, err)
		}
	})
	c.atLeast(t, "evt-after", 1)
	testkit.Eventually(t, waitFor, e.settled(t, "c", 2))
	e.wantCounter(t, 1, consumed, outcome("panic"))
	if rec, ok := e.logs.find("ERROR", "panicked", "handler bug: index out of range", "stack="); !ok {
		t.Error("panic was not logged with its stack")
	} else if len(rec) < 200 {
		t.Errorf("logged stack looks too short: %q", rec)
	}
}

func TestSubscriberKeepsLongWorkInProgress(t *testing.T) {
	t.Parallel()
	const ackWait = 300 * time.Millisecond
	e := newEnv(t)
	e.ensure(t, testConsumer("c", natsx.WithAckWait(ackWait)))
	var c calls
	start(t, e.subscriber(t, e.js, "c", c.handler(func(ctx context.Context, _ *natsx.Message, _ int) error {
		work := time.NewTimer(4 * ackWait) // simulated work, four times the ack wait
		defer work.Stop()
		select {
		case <-work.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), natsx.SubscriberOptions{Workers: 2})) // a redelivery would reach the idle worker

	e.publish(t, "evt-long")
	got := c.atLeast(t, "evt-long", 1)
	if d := got[0].end.Sub(got[0].start); d < 4*ackWait {
		t.Fatalf("handler ran %s, want at least %s", d, 4*ackWait)
	}
	testkit.Eventually(t, waitFor, e.settled(t, "c", 1))
	info := e.consumerInfo(t, "c")
	if n := len(c.of("evt-long")); n != 1 || info.Delivered.Consumer != 1 || info.NumRedelivered != 0 {
		t.Errorf("handled %d times, delivered %d, redelivered %d; want 1, 1, 0", n, info.Delivered.Consumer, info.NumRedelivered)
	}
}

func TestSubscriberDrainFinishesInFlightWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	var c calls
	started, release := make(chan struct{}), make(chan struct{})
	sub := e.subscriber(t, e.js, "c", c.handler(func(_ context.Context, m *natsx.Message, _ int) error {
		if m.MsgID == "evt-1" {
			close(started)
			<-release
		}
		return nil
	}), natsx.SubscriberOptions{Workers: 1, Prefetch: 1})
	stop := start(t, sub)

	for _, id := range []string{"evt-1", "evt-2", "evt-3"} {
		e.publish(t, id)
	}
	receive(t, started)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Run must not return while the handler is still working.
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a handler was in flight", err)
	default:
	}
	close(release)
	if err := receive(t, stopped); err != nil {
		t.Fatalf("Run after drain: %v", err)
	}

	// Run returned only after the in-flight message was handled and acked; its handler's
	// ctx was not cancelled by the shutdown; nothing else was started.
	got := c.of("evt-1")
	if len(got) != 1 || got[0].end.IsZero() || got[0].ctxErr != nil {
		t.Fatalf("evt-1 calls %+v, want one finished call with a live ctx", got)
	}
	if info := e.consumerInfo(t, "c"); info.AckFloor.Stream != 1 {
		t.Errorf("ack floor after drain = %d, want 1 (evt-1 acked)", info.AckFloor.Stream)
	}
	if n := len(c.of("evt-2")) + len(c.of("evt-3")); n != 0 {
		t.Errorf("%d calls started after shutdown began", n)
	}

	// Nothing was lost: the next subscriber processes the rest.
	var next calls
	start(t, e.subscriber(t, e.js, "c", next.handler(func(context.Context, *natsx.Message, int) error { return nil }),
		natsx.SubscriberOptions{}))
	next.atLeast(t, "evt-2", 1)
	next.atLeast(t, "evt-3", 1)
	testkit.Eventually(t, waitFor, e.settled(t, "c", 3))
}

func TestSubscriberDrainTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	var c calls
	started := make(chan struct{}, 1)
	sub := e.subscriber(t, e.js, "c", c.handler(func(ctx context.Context, _ *natsx.Message, n int) error {
		if n > 0 {
			return nil
		}
		started <- struct{}{}
		<-ctx.Done() // a handler that only stops when told to
		return ctx.Err()
	}), natsx.SubscriberOptions{DrainTimeout: 200 * time.Millisecond, Backoff: natsx.Backoff{Base: time.Minute}})
	stop := start(t, sub)

	e.publish(t, "evt-1")
	receive(t, started)
	if err := stop(); !errors.Is(err, natsx.ErrDrainTimeout) {
		t.Fatalf("Run = %v, want ErrDrainTimeout", err)
	}
	if got := c.of("evt-1"); len(got) != 1 || !errors.Is(got[0].ctxErr, context.Canceled) {
		t.Fatalf("calls %+v, want one call whose ctx was cancelled", got)
	}

	// The cut-short message was handed back at once (not after the one-minute backoff).
	var next calls
	start(t, e.subscriber(t, e.js, "c", next.handler(func(context.Context, *natsx.Message, int) error { return nil }),
		natsx.SubscriberOptions{}))
	if got := next.atLeast(t, "evt-1", 1); got[0].delivered != 2 {
		t.Errorf("redelivery NumDelivered = %d, want 2", got[0].delivered)
	}
}

func TestSubscriberRunFailsWithoutConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	sub := e.subscriber(t, e.js, "missing", func(context.Context, *natsx.Message) error { return nil }, natsx.SubscriberOptions{})
	if err := sub.Run(t.Context()); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("Run = %v, want ErrConsumerNotFound", err)
	}
	if _, err := natsx.NewSubscriber(e.js, testStream, "c", nil, natsx.SubscriberOptions{}); err == nil {
		t.Error("NewSubscriber accepted a nil handler")
	}
}

// Consuming that stops on its own (the consumer is deleted under it) ends Run with an error,
// so the service exits and is restarted rather than idling.
func TestSubscriberStopsWhenConsumerDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c"))
	sub := e.subscriber(t, e.js, "c", func(context.Context, *natsx.Message) error { return nil }, natsx.SubscriberOptions{})
	errc := make(chan error, 1)
	go func() { errc <- sub.Run(t.Context()) }()
	testkit.Eventually(t, waitFor, func() error {
		if e.consumerInfo(t, "c").NumWaiting == 0 {
			return errors.New("subscriber not pulling yet")
		}
		return nil
	})
	if err := e.js.DeleteConsumer(t.Context(), testStream, "c"); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, errc); err == nil {
		t.Error("Run returned nil after its consumer was deleted")
	}
}

// With OrderBy naming the subject, the messages of one subject are handled one at a time in
// stream order, while another subject's run beside them.
func TestSubscriberOrderBy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("ordered"))
	var (
		mu      sync.Mutex
		order   = map[string][]string{} // subject -> message ids in handling order
		running = map[string]int{}      // subject -> handlers running now
		overlap bool                    // two subjects' handlers ran at once
		tooMany bool                    // two handlers of one subject ran at once
	)
	h := func(_ context.Context, m *natsx.Message) error {
		mu.Lock()
		running[m.Subject]++
		tooMany = tooMany || running[m.Subject] > 1
		overlap = overlap || len(running) > 1
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		order[m.Subject] = append(order[m.Subject], m.MsgID)
		if running[m.Subject]--; running[m.Subject] == 0 {
			delete(running, m.Subject)
		}
		mu.Unlock()
		return nil
	}
	const n = 40
	var want []string
	for i := range n {
		subject := "events.a"
		if i%2 == 1 {
			subject = "events.b"
		}
		id := fmt.Sprintf("m-%02d", i)
		if subject == "events.a" {
			want = append(want, id)
		}
		if _, err := e.publisher().Publish(t.Context(), subject, id, []byte(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	start(t, e.subscriber(t, e.js, "ordered", h, natsx.SubscriberOptions{Workers: 4, Prefetch: 16, OrderBy: func(s string) string { return s }}))
	testkit.Eventually(t, waitFor, func() error {
		mu.Lock()
		defer mu.Unlock()
		if got := len(order["events.a"]) + len(order["events.b"]); got != n {
			return fmt.Errorf("%d of %d handled", got, n)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if tooMany {
		t.Error("two messages of one subject were handled at once")
	}
	if !overlap {
		t.Error("the two subjects never ran side by side")
	}
	if fmt.Sprint(order["events.a"]) != fmt.Sprint(want) {
		t.Errorf("events.a handled in order %v, want %v", order["events.a"], want)
	}
}
