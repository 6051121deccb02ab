package natsx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ErrNoMsgID is returned for a message without a message id: JetStream dedupes on it, so every
// event we publish carries its event id.
var ErrNoMsgID = errors.New("natsx: message id is required")

// Publisher publishes to JetStream with a message id, a PRODUCER span and the trace context in
// the message headers. It is safe for concurrent use.
type Publisher struct {
	js        jetstream.JetStream
	tel       telemetry
	tracer    trace.Tracer
	stallWait time.Duration
	expect    string
	template  func(subject string) string

	sent     metric.Int64Counter
	duration metric.Float64Histogram
}

// PublisherOption configures a [Publisher].
type PublisherOption func(*Publisher)

// WithSubjectTemplate names subjects by a low-cardinality template (for example
// "tracking.v1.container.equipment.{containerNo}") in span names and metric attributes, so a
// subject with an id in it does not create a time series per id. Spans still carry the full
// subject as messaging.destination.name.
func WithSubjectTemplate(fn func(subject string) string) PublisherOption {
	return func(p *Publisher) { p.template = fn }
}

// WithTracerProvider sets the tracer provider (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) PublisherOption {
	return func(p *Publisher) { p.tel.tp = tp }
}

// WithMeterProvider sets the meter provider (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) PublisherOption {
	return func(p *Publisher) { p.tel.mp = mp }
}

// WithPropagator sets the propagator that writes trace headers (default: the global one).
func WithPropagator(prop propagation.TextMapPropagator) PublisherOption {
	return func(p *Publisher) { p.tel.prop = prop }
}

// WithExpectStream makes the server reject a publish whose subject is not stored by the named
// stream, catching a subject captured by the wrong stream after a topology change.
func WithExpectStream(stream string) PublisherOption {
	return func(p *Publisher) { p.expect = stream }
}

// WithStallWait bounds how long PublishBatch waits for room when the connection already has
// the maximum of asynchronous publishes in flight (4,000 by default). Default 2s.
func WithStallWait(d time.Duration) PublisherOption {
	return func(p *Publisher) { p.stallWait = d }
}

// NewPublisher returns a Publisher on js.
func NewPublisher(js jetstream.JetStream, opts ...PublisherOption) *Publisher {
	p := &Publisher{js: js, stallWait: 2 * time.Second, template: identity}
	for _, o := range opts {
		o(p)
	}
	p.tracer = p.tel.tracer()
	m := p.tel.meter()
	// Instrument creation only fails on an invalid name or unit, which these are not; the
	// returned instrument is then a no-op, never nil.
	p.sent, _ = m.Int64Counter("messaging.client.sent.messages",
		metric.WithUnit("{message}"),
		metric.WithDescription("Number of messages producer attempted to send to the broker."))
	p.duration, _ = m.Float64Histogram("messaging.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of messaging operation initiated by a producer or consumer client."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	return p
}

// Publish stores data on subject with the given message id and waits for the stream's ack.
//
// The server dedupes on msgID within the stream's Duplicates window: a re-send returns an ack
// with Duplicate set and stores nothing. hdr is copied, not modified; the trace context of ctx
// is added to the copy. When ctx carries no span (an outbox relay running in the background)
// and hdr already carries a trace context, the PRODUCER span continues that one.
func (p *Publisher) Publish(ctx context.Context, subject, msgID string, data []byte, hdr nats.Header) (*jetstream.PubAck, error) {
	if msgID == "" {
		return nil, fmt.Errorf("publish %s: %w", subject, ErrNoMsgID)
	}
	start := time.Now()
	ctx, span := p.startSpan(ctx, subject, msgID, data, hdr)
	defer span.End()
	ack, err := p.js.PublishMsg(ctx, p.message(ctx, subject, data, hdr), p.pubOpts(msgID)...)
	p.finish(ctx, span, subject, start, ack, err)
	if err != nil {
		return nil, fmt.Errorf("natsx: publish %s (msg id %s): %w", subject, msgID, err)
	}
	return ack, nil
}

// Msg is one message of a batch for [Publisher.PublishBatch].
type Msg struct {
	Subject string
	MsgID   string
	Data    []byte
	Header  nats.Header
}

// BatchError reports the messages of a batch that were not published. Errs has one entry per
// message of the batch, in order, nil for a message that was stored (or was a duplicate).
type BatchError struct {
	Errs []error
}

// Failed returns the indexes of the messages that were not published.
func (e *BatchError) Failed() []int {
	var idx []int
	for i, err := range e.Errs {
		if err != nil {
			idx = append(idx, i)
		}
	}
	return idx
}

func (e *BatchError) Error() string {
	failed := e.Failed()
	if len(failed) == 0 {
		return "natsx: batch published"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "natsx: %d of %d messages not published", len(failed), len(e.Errs))
	for n, i := range failed {
		if n == 3 {
			b.WriteString("; ...")
			break
		}
		fmt.Fprintf(&b, "; [%d]: %v", i, e.Errs[i])
	}
	return b.String()
}

// Unwrap returns the errors of the failed messages, for errors.Is and errors.As.
func (e *BatchError) Unwrap() []error {
	var errs []error
	for _, err := range e.Errs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// PublishBatch publishes msgs asynchronously (all sent before any ack is awaited) and waits for
// every ack, so a batch of a thousand events costs about one round trip rather than a thousand.
//
// acks[i] is the ack of msgs[i], nil when it failed. If any failed, the error is a
// *BatchError whose Errs[i] is the error of msgs[i]; the caller maps those to its batch
// indexes and can re-send just those with the same ids (dedupe makes that safe). When ctx ends
// before every ack arrived, the messages still waiting get ctx's error, though the server may
// have stored them.
//
// The batch gets one PRODUCER span (messaging.batch.message_count), and every message carries
// that span's trace context, so each consumer's span is its child: a span per message would
// cost more than the publish itself at ingest rates. Metrics count every message, by subject
// template and outcome.
func (p *Publisher) PublishBatch(ctx context.Context, msgs []Msg) ([]*jetstream.PubAck, error) {
	acks := make([]*jetstream.PubAck, len(msgs))
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	failed := false
	if len(msgs) == 0 {
		return acks, nil
	}
	start := time.Now()
	var size int
	for _, m := range msgs {
		size += len(m.Data)
	}
	sctx, span := p.tracer.Start(ctx, "send "+p.template(msgs[0].Subject)+" batch",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrSystem, attrOpSend, attrOpNameSend,
			semconv.MessagingDestinationTemplate(p.template(msgs[0].Subject)),
			semconv.MessagingBatchMessageCount(len(msgs)),
			semconv.MessagingMessageBodySize(size)))
	defer span.End()

	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			errs[i], failed = err, true
			continue
		}
		if m.MsgID == "" {
			errs[i], failed = fmt.Errorf("publish %s: %w", m.Subject, ErrNoMsgID), true
			continue
		}
		opts := append(p.pubOpts(m.MsgID), jetstream.WithStallWait(p.stallWait))
		f, err := p.js.PublishMsgAsync(p.message(sctx, m.Subject, m.Data, m.Header), opts...)
		if err != nil {
			errs[i], failed = err, true
			continue
		}
		futures[i] = f
	}
	duplicates := 0
	for i, f := range futures {
		if f == nil {
			continue
		}
		var err error
		select {
		case ack := <-f.Ok():
			acks[i] = ack
			if ack.Duplicate {
				duplicates++
			}
		case err = <-f.Err():
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			errs[i], failed = err, true
		}
	}
	p.record(sctx, msgs, errs, start)
	span.SetAttributes(keyDuplicate.Bool(duplicates > 0), attribute.Int("messaging.nats.duplicates", duplicates))
	if failed {
		err := &BatchError{Errs: errs}
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return acks, err
	}
	return acks, nil
}

// record counts a batch's messages by subject template and outcome, and its duration once.
func (p *Publisher) record(ctx context.Context, msgs []Msg, errs []error, start time.Time) {
	type key struct{ tmpl, errType string }
	counts := map[key]int64{}
	for i, m := range msgs {
		k := key{tmpl: p.template(m.Subject)}
		if errs[i] != nil {
			k.errType = publishErrorType(errs[i])
		}
		counts[k]++
	}
	for k, n := range counts {
		attrs := []attribute.KeyValue{attrSystem, attrOpNameSend, semconv.MessagingDestinationTemplate(k.tmpl)}
		if k.errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(k.errType))
		}
		p.sent.Add(ctx, n, metric.WithAttributes(attrs...))
	}
	p.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrSystem, attrOpNameSend,
		semconv.MessagingDestinationTemplate(p.template(msgs[0].Subject))))
}

func (p *Publisher) pubOpts(msgID string) []jetstream.PublishOpt {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(msgID)}
	if p.expect != "" {
		opts = append(opts, jetstream.WithExpectStream(p.expect))
	}
	return opts
}

// message builds the NATS message: a copy of hdr with the trace context of ctx.
func (p *Publisher) message(ctx context.Context, subject string, data []byte, hdr nats.Header) *nats.Msg {
	h := make(nats.Header, len(hdr)+3)
	for k, v := range hdr {
		h[k] = v
	}
	p.tel.propagator().Inject(ctx, HeaderCarrier(h))
	return &nats.Msg{Subject: subject, Data: data, Header: h}
}

func (p *Publisher) startSpan(ctx context.Context, subject, msgID string, data []byte, hdr nats.Header) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() && hdr != nil {
		ctx = p.tel.propagator().Extract(ctx, HeaderCarrier(hdr))
	}
	tmpl := p.template(subject)
	return p.tracer.Start(ctx, "send "+tmpl,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attrSystem, attrOpSend, attrOpNameSend,
			semconv.MessagingDestinationName(subject),
			semconv.MessagingDestinationTemplate(tmpl),
			semconv.MessagingMessageID(msgID),
			semconv.MessagingMessageBodySize(len(data)),
		))
}

// finish records the outcome of one publish on its span and in the metrics.
func (p *Publisher) finish(ctx context.Context, span trace.Span, subject string, start time.Time, ack *jetstream.PubAck, err error) {
	attrs := []attribute.KeyValue{attrSystem, attrOpNameSend, semconv.MessagingDestinationTemplate(p.template(subject))}
	if err != nil {
		et := semconv.ErrorTypeKey.String(publishErrorType(err))
		attrs = append(attrs, et)
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(et)
	} else if ack != nil {
		span.SetAttributes(keyStream.String(ack.Stream), keyStreamSeq.Int64(int64(ack.Sequence)),
			keyDuplicate.Bool(ack.Duplicate))
	}
	set := metric.WithAttributes(attrs...)
	p.sent.Add(ctx, 1, set)
	p.duration.Record(ctx, time.Since(start).Seconds(), set)
}

// publishErrorType is a low-cardinality error.type for a failed publish.
func publishErrorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return "no_stream"
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return "stalled"
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return "api_" + strconv.Itoa(int(apiErr.ErrorCode))
	}
	return "_OTHER"
}
