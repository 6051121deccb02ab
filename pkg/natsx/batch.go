package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
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

// BatchHandler processes a batch of messages, for consumers whose work is cheaper in bulk (a
// projector writing with COPY and a Redis pipeline). It returns one error per message, errs[i]
// for msgs[i], or a non-nil batchErr that applies to every message of the batch. Each message
// is then settled by the same policy as a [Handler]'s:
//
//   - nil (or errs == nil with a nil batchErr, for a batch that all succeeded): Ack.
//   - [Permanent] or [ErrDecode]: TermWithReason, never redelivered.
//   - [Retry]: NakWithDelay with the requested delay.
//   - any other error: NakWithDelay with the backoff for the message's own delivery count.
//   - a panic: recovered, logged once with its stack, and every message of the batch Nak'ed.
//
// The handler may reorder msgs in place (to sort by key for a COPY, say): errs then follows
// the order it left msgs in. An errs of another length than msgs is a handler bug, treated as
// a transient batchErr.
//
// ctx carries the batch's CONSUMER span, a new trace linked to the producer span of each
// message. To continue a message's own trace, start its span from [Message.Context], and link
// it to the batch:
//
//	for _, m := range msgs {
//		mctx, span := tracer.Start(m.Context(ctx), "project "+m.Subject,
//			trace.WithLinks(trace.LinkFromContext(ctx)))
//		// ... work for m with mctx; log with mctx to carry m's trace id ...
//		span.End()
//	}
//
// As with a Handler, ctx is not cancelled when the subscriber starts draining, only when the
// drain timeout or the handler timeout expires; every handler must be idempotent.
type BatchHandler func(ctx context.Context, msgs []*Message) (errs []error, batchErr error)

// BatchOptions configures a [BatchSubscriber]. The zero value works.
type BatchOptions struct {
	// MaxBatch is the largest batch handed to the handler (default 500). It is lowered to the
	// consumer's MaxAckPending divided by Workers when that is smaller, since no more messages
	// can be outstanding at once.
	MaxBatch int
	// MaxWait is how long to linger for a fuller batch once one message is in hand (default
	// 20ms): the latency a lone message pays for throughput under load.
	MaxWait time.Duration
	// Workers is how many batches are processed at once (default 1); each worker owns its
	// batch. The client buffers up to 2 x MaxBatch more messages, whose AckWait runs while they
	// wait, so keep AckWait well above the time a batch takes.
	Workers int
	// DrainTimeout bounds how long Run waits, after its ctx ends, for in-flight batches
	// (default 25s).
	DrainTimeout time.Duration
	// HandlerTimeout bounds one handler call through its ctx and stops the InProgress
	// heartbeat, so a hung handler cannot hold a batch for ever (default 5m).
	HandlerTimeout time.Duration
	// Backoff is the redelivery delay after a transient error (default DefaultBackoff).
	Backoff Backoff
	// SubjectTemplate names subjects by a low-cardinality template in span names and metrics
	// (see WithSubjectTemplate); the default uses the subject as it is.
	SubjectTemplate func(subject string) string
	// MessageSpans gives each message of a batch its own CONSUMER span "process <template>",
	// a child of the producer's span (so the message's trace goes on through this consumer)
	// linked to the batch span, ended when the message is settled; the handler reaches it
	// with [Message.SpanContext]. It costs a span per message: with a sampler that follows
	// the parent, only sampled traces record them.
	MessageSpans bool
	// Skip names subjects the handler has nothing to do with (a kind of event on a subject
	// the consumer's filter cannot leave out): their messages are acked as soon as the batch
	// is gathered, never handed to the handler, with no span of their own; a batch of nothing
	// else makes no batch span either. They count in the processed metric as outcome "skip".
	Skip func(subject string) bool

	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
}

// BatchSubscriber pulls messages from one durable consumer and hands them to a [BatchHandler]
// in batches, owning the ack policy, the batch span, logs and metrics like the [Subscriber].
type BatchSubscriber struct {
	js       jetstream.JetStream
	stream   string
	consumer string
	handler  BatchHandler
	opts     BatchOptions
	log      *slog.Logger
	tel      telemetry
	tracer   trace.Tracer
	running  atomic.Bool

	processed metric.Int64Counter
	duration  metric.Float64Histogram
	size      metric.Int64Histogram
}

// Batch defaults.
const (
	DefaultMaxBatch     = 500
	DefaultMaxBatchWait = 20 * time.Millisecond
	// maxBatchLinks caps the links of a batch span to the producers' spans.
	maxBatchLinks = 128
	// maxLoggedNaks caps the redeliveries of one batch logged one by one; the rest are
	// counted in one line. Terminations are always logged one by one.
	maxLoggedNaks = 10
)

// batchSizeBuckets are the boundaries of the batch size histogram.
var batchSizeBuckets = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000}

// NewBatchSubscriber returns a BatchSubscriber for the durable consumer named consumer on
// stream, which must exist when Run starts (declare it with [Topology.Ensure]).
func NewBatchSubscriber(js jetstream.JetStream, stream, consumer string, h BatchHandler, opts BatchOptions) (*BatchSubscriber, error) {
	switch {
	case js == nil:
		return nil, errors.New("natsx: batch subscriber needs a JetStream handle")
	case stream == "" || consumer == "":
		return nil, errors.New("natsx: batch subscriber needs a stream and a consumer name")
	case h == nil:
		return nil, errors.New("natsx: batch subscriber needs a handler")
	case opts.Workers < 0 || opts.MaxBatch < 0 || opts.MaxWait < 0:
		return nil, errors.New("natsx: workers, max batch and max wait cannot be negative")
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = DefaultMaxBatchWait
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	log := consumerDefaults(&opts.DrainTimeout, &opts.HandlerTimeout, &opts.Backoff, &opts.SubjectTemplate, opts.Logger)
	s := &BatchSubscriber{
		js: js, stream: stream, consumer: consumer, handler: h, opts: opts,
		log: log.With(slog.String("messaging.consumer.group.name", consumer)),
		tel: telemetry{tp: opts.TracerProvider, mp: opts.MeterProvider, prop: opts.Propagator},
	}
	s.tracer = s.tel.tracer()
	m := s.tel.meter()
	s.processed, s.duration = consumerInstruments(m)
	s.size, _ = m.Int64Histogram("messaging.nats.batch.size",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages per batch handed to a batch handler."),
		metric.WithExplicitBucketBoundaries(batchSizeBuckets...))
	return s, nil
}

// Run pulls messages and processes them in batches until ctx ends, then drains like
// [Subscriber.Run]: it stops pulling, Naks the messages still buffered or gathered for a batch
// not yet started, lets in-flight batches finish within DrainTimeout and settles them, flushes
// the acks to the server and returns nil. It returns an error when the consumer cannot be read,
// when consuming stops on its own (consumer deleted, connection closed), or [ErrDrainTimeout].
func (s *BatchSubscriber) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("natsx: batch subscriber is already running")
	}
	defer s.running.Store(false)

	cons, err := lookupConsumer(ctx, s.js, s.stream, s.consumer)
	if cons == nil {
		return err // nil when shut down before it started: nothing to drain
	}
	rc := configFrom(cons.CachedInfo())
	limit := s.opts.MaxBatch
	if rc.maxAckPending > 0 && limit*s.opts.Workers > rc.maxAckPending {
		limit = max(1, rc.maxAckPending/s.opts.Workers)
		s.log.WarnContext(ctx, "consumer MaxAckPending caps the batch size",
			slog.Int("max_ack_pending", rc.maxAckPending), slog.Int("max_batch", limit))
	}
	// Handlers outlive ctx while draining; cancelHandlers ends them at the drain timeout.
	handlerBase, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	s.log.InfoContext(ctx, "batch subscriber started", slog.String("stream", s.stream),
		slog.Int("workers", s.opts.Workers), slog.Int("max_batch", limit),
		slog.String("max_wait", s.opts.MaxWait.String()),
		slog.String("in_progress_every", rc.keepAliveEvery.String()))

	var (
		slots    = make(chan struct{}, s.opts.Workers)
		wg       sync.WaitGroup
		inflight atomic.Int64
		lastErr  error
		failures int
	)
	for ctx.Err() == nil {
		acquired := false
		select {
		case slots <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if !acquired {
			break
		}
		batch, err := s.collect(cons, limit)
		switch {
		case len(batch) == 0:
		case ctx.Err() != nil:
			// Draining: messages gathered but not started are handed back.
			for _, d := range batch {
				_ = d.msg.Nak()
			}
		default:
			wg.Add(1)
			inflight.Add(1)
			acquired = false // the worker releases the slot
			go func() {
				defer wg.Done()
				defer inflight.Add(-1)
				defer func() { <-slots }()
				s.process(handlerBase, batch, rc)
			}()
		}
		if acquired {
			<-slots
		}
		if err != nil {
			lastErr = err
			failures++
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "pulling messages failed", slog.String("stream", s.stream), slog.Any("error", err))
				pause(ctx, min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			}
			continue
		}
		failures = 0
	}

	drainErr := waitInFlight(&wg, &inflight, cancelHandlers, s.opts.DrainTimeout)
	return finishRun(ctx, s.js, s.log, s.stream, s.consumer, errFirst(lastErr, errStopped), drainErr)
}

// delivery is a message taken from the iterator and when.
type delivery struct {
	msg      jetstream.Msg
	received time.Time
}

// idlePoll bounds a long poll for the first message of a batch; it is also how long a drain
// may wait for a pull that is under way.
const idlePoll = time.Second

// errStopped reports a subscriber that stopped while its context was still live.
var errStopped = errors.New("natsx: subscriber stopped")

// collect long-polls for one message, then takes whatever else is ready up to limit, and, when
// that is not a full batch, lingers up to MaxWait for more. Each pull asks only for what this
// worker will process, so nothing piles up in the client: backpressure stays with the server,
// bounded by the consumer's MaxAckPending. An error ends the batch early; the messages gathered
// until then are returned with it.
func (s *BatchSubscriber) collect(cons jetstream.Consumer, limit int) ([]delivery, error) {
	batch := make([]delivery, 0, limit)
	take := func(mb jetstream.MessageBatch, err error) error {
		if err != nil {
			return err
		}
		for m := range mb.Messages() {
			batch = append(batch, delivery{m, time.Now()})
		}
		if err := mb.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return err
		}
		return nil
	}
	if err := take(cons.Fetch(1, jetstream.FetchMaxWait(idlePoll))); err != nil || len(batch) == 0 || limit == 1 {
		return batch, err
	}
	if err := take(cons.FetchNoWait(limit - len(batch))); err != nil {
		return batch, err
	}
	if len(batch) < limit && s.opts.MaxWait > 0 {
		if err := take(cons.Fetch(limit-len(batch), jetstream.FetchMaxWait(s.opts.MaxWait))); err != nil {
			return batch, err
		}
	}
	return batch, nil
}

// process runs the handler on one batch inside a CONSUMER span and settles every message.
func (s *BatchSubscriber) process(base context.Context, batch []delivery, rc runConfig) {
	started := time.Now()
	prop := s.tel.propagator()
	raw := make([]jetstream.Msg, 0, len(batch))
	msgs := make([]*Message, 0, len(batch))
	var skipped map[string]int64 // by subject template
	for _, d := range batch {
		if s.opts.Skip != nil && s.opts.Skip(d.msg.Subject()) {
			if skipped == nil {
				skipped = map[string]int64{}
			}
			if err := d.msg.Ack(); err != nil {
				// Redelivered after AckWait, and skipped again then.
				s.log.LogAttrs(base, slog.LevelWarn, "acking a skipped message failed",
					slog.String("subject", d.msg.Subject()), slog.Any("settle_error", err))
			}
			skipped[s.opts.SubjectTemplate(d.msg.Subject())]++
			continue
		}
		if m, ok := newMessage(base, s.log, d.msg, d.received, prop); ok {
			raw = append(raw, d.msg)
			msgs = append(msgs, m)
		}
	}
	for tmpl, n := range skipped {
		s.processed.Add(base, n, metric.WithAttributes(attrSystem, attrOpNameProc,
			semconv.MessagingDestinationTemplate(tmpl), semconv.MessagingConsumerGroupName(s.consumer),
			keyOutcome.String(outcomeSkip)))
	}
	if len(msgs) == 0 {
		return
	}

	ctx, span := s.startSpan(base, msgs, prop, batch[0].received)
	defer span.End()

	// The handler gets its own slice header over the same messages, free to reorder.
	handed := append([]*Message(nil), msgs...)
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandlerTimeout)
	if s.opts.MessageSpans {
		s.startMessageSpans(hctx, msgs)
	}
	stopKeepAlive := keepAlive(hctx, s.log, rc.keepAliveEvery, raw...)
	errs, batchErr := s.call(hctx, handed)
	stopKeepAlive()
	cancel()
	if batchErr == nil {
		errs, batchErr = align(msgs, handed, errs)
	}

	s.settle(ctx, span, raw, msgs, errs, batchErr, rc, base.Err() != nil)

	attrs := []attribute.KeyValue{attrSystem, attrOpNameProc, semconv.MessagingConsumerGroupName(s.consumer)}
	if batchErr != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(batchErr)))
	}
	set := metric.WithAttributes(attrs...)
	s.duration.Record(ctx, time.Since(started).Seconds(), set)
	s.size.Record(ctx, int64(len(msgs)), metric.WithAttributes(attrSystem, semconv.MessagingConsumerGroupName(s.consumer)))
}

// startSpan starts the batch's CONSUMER span: a new trace (a batch has no single parent) linked
// to the producer span of each message, up to maxBatchLinks.
func (s *BatchSubscriber) startSpan(base context.Context, msgs []*Message, prop propagation.TextMapPropagator, start time.Time) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		attrSystem, attrOpProcess, attrOpNameProc,
		semconv.MessagingConsumerGroupName(s.consumer),
		semconv.MessagingBatchMessageCount(len(msgs)),
		keyStream.String(s.stream),
	}
	// The destination is named only when every message of the batch shares it.
	subject, tmpl := msgs[0].Subject, s.opts.SubjectTemplate(msgs[0].Subject)
	sameSubject, sameTmpl := true, true
	for _, m := range msgs[1:] {
		if m.Subject != subject {
			sameSubject = false
			if s.opts.SubjectTemplate(m.Subject) != tmpl {
				sameTmpl = false
				break
			}
		}
	}
	if sameSubject {
		attrs = append(attrs, semconv.MessagingDestinationName(subject))
	}
	if sameTmpl {
		attrs = append(attrs, semconv.MessagingDestinationTemplate(tmpl))
	}

	links := make([]trace.Link, 0, min(len(msgs), maxBatchLinks))
	for _, m := range msgs {
		if len(links) == maxBatchLinks {
			break
		}
		if len(m.Header) == 0 {
			continue
		}
		sc := trace.SpanContextFromContext(prop.Extract(context.Background(), HeaderCarrier(m.Header)))
		if sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc,
				Attributes: []attribute.KeyValue{semconv.MessagingMessageID(m.MsgID)}})
		}
	}
	return s.tracer.Start(base, "process "+s.stream+" batch",
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(start),
		trace.WithAttributes(attrs...),
		trace.WithLinks(links...))
}

// startMessageSpans starts each message's own CONSUMER span in its producer's trace, linked to
// the batch span in ctx; the spans carry ctx's deadline and cancellation. Their attributes are
// built only for spans that record: at high rates most traces are not sampled, and this runs
// for every message (samplers by ratio or parent do not read attributes).
func (s *BatchSubscriber) startMessageSpans(ctx context.Context, msgs []*Message) {
	batch := trace.LinkFromContext(ctx)
	for _, m := range msgs {
		tmpl := s.opts.SubjectTemplate(m.Subject)
		m.spanCtx, m.span = s.tracer.Start(m.Context(ctx), "process "+tmpl,
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithTimestamp(m.Received),
			trace.WithLinks(batch))
		if m.span.IsRecording() {
			m.span.SetAttributes(messageSpanAttrs(m, tmpl, s.consumer)...)
		}
	}
}

// endMessageSpan ends m's own span (if it has one) with the outcome of settling it.
func endMessageSpan(m *Message, outcome string, herr error) {
	if m.span == nil {
		return
	}
	if !m.span.IsRecording() {
		m.span.End()
		return
	}
	m.span.SetAttributes(keyOutcome.String(outcome))
	if herr != nil {
		m.span.RecordError(herr)
		m.span.SetAttributes(semconv.ErrorTypeKey.String(errorType(herr)))
		m.span.SetStatus(codes.Error, herr.Error())
	}
	m.span.End()
}

// call runs the handler, turning a panic into a *panicError batch error.
func (s *BatchSubscriber) call(ctx context.Context, msgs []*Message) (errs []error, batchErr error) {
	defer func() {
		if r := recover(); r != nil {
			errs, batchErr = nil, &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return s.handler(ctx, msgs)
}

// align maps errs, given in the order the handler left handed in, back to the order of msgs.
// A result that does not fit the batch is returned as a batch error.
func align(msgs, handed []*Message, errs []error) ([]error, error) {
	if len(errs) == 0 {
		return nil, nil
	}
	if len(errs) != len(msgs) {
		return nil, fmt.Errorf("natsx: batch handler returned %d errors for %d messages", len(errs), len(msgs))
	}
	reordered := false
	for i := range msgs {
		if handed[i] != msgs[i] {
			reordered = true
			break
		}
	}
	if !reordered {
		return errs, nil
	}
	pos := make(map[*Message]int, len(msgs))
	for i, m := range msgs {
		pos[m] = i
	}
	out := make([]error, len(msgs))
	for i, m := range handed {
		j, ok := pos[m]
		if !ok {
			return nil, errors.New("natsx: batch handler replaced messages of its batch")
		}
		delete(pos, m) // a message seen twice is not found again
		out[j] = errs[i]
	}
	return out, nil
}

// outcomeKey groups the consumed-messages counter of one batch.
type outcomeKey struct {
	tmpl, outcome, errType string
}

// settle acks, naks or terminates every message of the batch by the ack policy, and records
// the outcomes on the span, in the log and in the consumed-messages counter.
func (s *BatchSubscriber) settle(ctx context.Context, span trace.Span, raw []jetstream.Msg, msgs []*Message,
	errs []error, batchErr error, rc runConfig, cutShort bool) {
	var (
		counts       = make(map[outcomeKey]int64, 4)
		byOutcome    = make(map[string]int, 4)
		loggedNaks   int // naks logged one by one
		exhausted    int // naks on the last delivery, not logged one by one
		settleFailed int
		settleErr    error
		lastSubject  string
		lastTmpl     string
	)
	for i, m := range msgs {
		herr := batchErr
		if herr == nil && errs != nil {
			herr = errs[i]
		}
		v := decide(herr, m.NumDelivered, s.opts.Backoff, cutShort)
		if err := v.send(raw[i], herr); err != nil {
			settleFailed, settleErr = settleFailed+1, err
		}
		byOutcome[v.outcome]++
		endMessageSpan(m, v.outcome, herr)
		if i == 0 || m.Subject != lastSubject {
			lastSubject, lastTmpl = m.Subject, s.opts.SubjectTemplate(m.Subject)
		}
		key := outcomeKey{tmpl: lastTmpl, outcome: v.outcome}
		if herr != nil {
			key.errType = errorType(herr)
		}
		counts[key]++

		// A batch error is logged once below; a message's own failure is logged by itself,
		// but only the first maxLoggedNaks redeliveries of a batch.
		logIt := batchErr == nil && herr != nil && (v.outcome != outcomeNak || loggedNaks < maxLoggedNaks)
		switch {
		case logIt:
			if v.outcome == outcomeNak {
				loggedNaks++
			}
			logVerdict(ctx, s.log, v, m, herr, rc, messageAttrs(m, herr))
			span.AddEvent("message failed", trace.WithAttributes(
				semconv.MessagingMessageID(m.MsgID), keyStreamSeq.Int64(int64(m.StreamSeq)),
				keyOutcome.String(v.outcome), semconv.ErrorTypeKey.String(key.errType)))
		case v.outcome == outcomeNak && rc.maxDeliver > 0 && m.NumDelivered >= uint64(rc.maxDeliver):
			exhausted++
		}
	}

	batchAttrs := []slog.Attr{
		slog.String("stream", s.stream), slog.Int("messages", len(msgs)),
		slog.Uint64("first_stream_seq", msgs[0].StreamSeq), slog.Uint64("last_stream_seq", msgs[len(msgs)-1].StreamSeq),
	}
	failed := len(msgs) - byOutcome[outcomeAck]
	var pe *panicError
	switch {
	case errors.As(batchErr, &pe):
		s.log.LogAttrs(ctx, slog.LevelError, "batch handler panicked; messages will be redelivered",
			append(batchAttrs, slog.Any("error", batchErr), slog.String("stack", string(pe.stack)))...)
	case batchErr != nil && byOutcome[outcomeTerm] > 0:
		s.log.LogAttrs(ctx, slog.LevelWarn, "batch terminated: permanent error",
			append(batchAttrs, slog.Any("error", batchErr))...)
	case batchErr != nil:
		s.log.LogAttrs(ctx, slog.LevelWarn, "batch handler failed; messages will be redelivered",
			append(batchAttrs, slog.Any("error", batchErr))...)
	case byOutcome[outcomeNak] > loggedNaks:
		s.log.LogAttrs(ctx, slog.LevelWarn, "more messages of the batch failed and will be redelivered",
			append(batchAttrs, slog.Int("not_logged", byOutcome[outcomeNak]-loggedNaks))...)
	}
	if exhausted > 0 {
		s.log.LogAttrs(ctx, slog.LevelError, "last delivery failed; messages exhausted MaxDeliver",
			append(batchAttrs, slog.Int("exhausted", exhausted))...)
	}
	if settleFailed > 0 {
		span.AddEvent("settle failed", trace.WithAttributes(attribute.String("error", settleErr.Error())))
		s.log.LogAttrs(ctx, slog.LevelError, "settling messages failed",
			append(batchAttrs, slog.Int("failed", settleFailed), slog.Any("settle_error", settleErr))...)
	}

	for _, o := range []string{outcomeAck, outcomeNak, outcomeTerm, outcomePanic} {
		if n := byOutcome[o]; n > 0 {
			span.SetAttributes(attribute.Int(string(keyOutcome)+"."+o, n))
		}
	}
	if batchErr != nil {
		span.RecordError(batchErr)
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(batchErr)))
		span.SetStatus(codes.Error, batchErr.Error())
	} else if failed > 0 {
		span.SetStatus(codes.Error, fmt.Sprintf("%d of %d messages failed", failed, len(msgs)))
	}

	for k, n := range counts {
		attrs := []attribute.KeyValue{
			attrSystem, attrOpNameProc,
			semconv.MessagingDestinationTemplate(k.tmpl),
			semconv.MessagingConsumerGroupName(s.consumer),
			keyOutcome.String(k.outcome),
		}
		if k.errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(k.errType))
		}
		s.processed.Add(ctx, n, metric.WithAttributes(attrs...))
	}
}
