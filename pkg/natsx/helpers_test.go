package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

const (
	testStream  = "EVENTS"
	testSubject = "events.v1.container.gate_in"
	waitFor     = 10 * time.Second
)

// env is one embedded server with its own telemetry, so tests can run in parallel.
type env struct {
	url    string
	nc     *nats.Conn
	js     jetstream.JetStream
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	prop   propagation.TextMapPropagator
	logs   *logRecorder
	log    *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := natstest.Connect(t, srv.URL)
	e := &env{
		url:    srv.URL,
		nc:     nc,
		js:     js,
		spans:  tracetest.NewSpanRecorder(),
		reader: sdkmetric.NewManualReader(),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		logs:   &logRecorder{},
	}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	e.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	e.log = slog.New(e.logs)
	t.Cleanup(func() {
		if t.Failed() {
			e.logs.mu.Lock()
			for _, r := range e.logs.records {
				t.Log("log:", r)
			}
			e.logs.mu.Unlock()
		}
		_ = e.tp.Shutdown(context.Background())
		_ = e.mp.Shutdown(context.Background())
	})
	return e
}

// ensure declares the test stream and the given consumers.
func (e *env) ensure(t *testing.T, consumers ...jetstream.ConsumerConfig) {
	t.Helper()
	top := natsx.Topology{Streams: []jetstream.StreamConfig{natsx.DefaultStream(testStream, "events.>")}}
	for _, c := range consumers {
		top.Consumers = append(top.Consumers, natsx.Consumer{Stream: testStream, Config: c})
	}
	if err := top.Ensure(t.Context(), e.js); err != nil {
		t.Fatalf("ensure topology: %v", err)
	}
}

func (e *env) publisher(opts ...natsx.PublisherOption) *natsx.Publisher {
	return natsx.NewPublisher(e.js, append([]natsx.PublisherOption{
		natsx.WithTracerProvider(e.tp), natsx.WithMeterProvider(e.mp), natsx.WithPropagator(e.prop),
	}, opts...)...)
}

func (e *env) publish(t *testing.T, msgID string) *jetstream.PubAck {
	t.Helper()
	ack, err := e.publisher().Publish(t.Context(), testSubject, msgID, []byte("payload-"+msgID), nil)
	if err != nil {
		t.Fatalf("publish %s: %v", msgID, err)
	}
	return ack
}

// subscriber builds a Subscriber wired to the env's telemetry; opts fill the rest.
func (e *env) subscriber(t *testing.T, js jetstream.JetStream, consumer string, h natsx.Handler, opts natsx.SubscriberOptions) *natsx.Subscriber {
	t.Helper()
	opts.Logger, opts.TracerProvider, opts.MeterProvider, opts.Propagator = e.log, e.tp, e.mp, e.prop
	s, err := natsx.NewSubscriber(js, testStream, consumer, h, opts)
	if err != nil {
		t.Fatalf("new subscriber: %v", err)
	}
	return s
}

// runner is a Subscriber or a BatchSubscriber.
type runner interface{ Run(context.Context) error }

// start runs s until the returned stop is called (or the test ends) and returns Run's error.
func start(t *testing.T, s runner) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(waitFor):
				err = errors.New("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func (e *env) consumerInfo(t *testing.T, name string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := e.js.Consumer(t.Context(), testStream, name)
	if err != nil {
		t.Fatalf("consumer %s: %v", name, err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatalf("consumer info %s: %v", name, err)
	}
	return info
}

// settled reports nil once the consumer has every message up to seq acked or terminated.
func (e *env) settled(t *testing.T, consumer string, seq uint64) func() error {
	return func() error {
		info := e.consumerInfo(t, consumer)
		if info.AckFloor.Stream < seq || info.NumAckPending != 0 {
			return fmt.Errorf("ack floor %d (want %d), ack pending %d", info.AckFloor.Stream, seq, info.NumAckPending)
		}
		return nil
	}
}

// counter sums the int64 sum metric name over data points having all attrs.
func (e *env) counter(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("metric %s is %T, not an int64 sum", name, m.Data)
			}
		dp:
			for _, p := range sum.DataPoints {
				for _, a := range attrs {
					if v, ok := p.Attributes.Value(a.Key); !ok || v.String() != a.Value.String() {
						continue dp
					}
				}
				total += p.Value
			}
		}
	}
	return total
}

// histogramCount counts the observations of the float64 histogram name.
func (e *env) histogramCount(t *testing.T, name string) uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name {
				for _, p := range h.DataPoints {
					n += p.Count
				}
			}
		}
	}
	return n
}

func outcome(v string) attribute.KeyValue { return attribute.String("outcome", v) }

// wantCounter waits until the counter reaches want.
func (e *env) wantCounter(t *testing.T, want int64, name string, attrs ...attribute.KeyValue) {
	t.Helper()
	testkit.Eventually(t, waitFor, func() error {
		if got := e.counter(t, name, attrs...); got != want {
			return fmt.Errorf("%s%v = %d, want %d", name, attrs, got, want)
		}
		return nil
	})
}

// logRecorder is a slog.Handler keeping records in memory, so tests can assert on logs and
// late log calls never write to a finished test.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sharedRecorder{root: l, attrs: attrs}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// find returns the first record containing every one of parts.
func (l *logRecorder) find(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, r := range l.records {
		for _, p := range parts {
			if !strings.Contains(r, p) {
				continue next
			}
		}
		return r, true
	}
	return "", false
}

// sharedRecorder is a logRecorder with extra attributes writing to its root's records.
type sharedRecorder struct {
	root  *logRecorder
	attrs []slog.Attr
}

func (s *sharedRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (s *sharedRecorder) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(s.attrs...)
	return s.root.Handle(ctx, r)
}

func (s *sharedRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sharedRecorder{root: s.root, attrs: append(append([]slog.Attr(nil), s.attrs...), attrs...)}
}

func (s *sharedRecorder) WithGroup(string) slog.Handler { return s }

// receive waits for a value on ch, failing the test after waitFor.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("nothing received within %s", waitFor)
		panic("unreachable")
	}
}
