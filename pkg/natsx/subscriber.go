package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Message is one delivery of a JetStream message to a [Handler]. Handlers read it and never
// settle it: the [Subscriber] acks, naks or terminates from the handler's result.
type Message struct {
	Subject string
	Data    []byte
	Header  nats.Header
	// MsgID is the Nats-Msg-Id the producer set: the event id, the key that makes a handler
	// idempotent.
	MsgID    string
	Stream   string
	Consumer string
	// StreamSeq is the message's sequence in the stream; ConsumerSeq counts deliveries on the
	// consumer, redeliveries included.
	StreamSeq   uint64
	ConsumerSeq uint64
	// NumDelivered is 1 on the first delivery and grows with each redelivery.
	NumDelivered uint64
	// NumPending is how many messages matching the consumer were not yet delivered.
	NumPending uint64
	// Published is when the stream stored the message; Received when this delivery reached
	// the subscriber.
	Published time.Time
	Received  time.Time

	prop propagation.TextMapPropagator // the subscriber's, for Context
	// span is the message's own CONSUMER span inside a batch (BatchOptions.MessageSpans),
	// ended when the message is settled; spanCtx carries it.
	span    trace.Span
	spanCtx context.Context
}

// SpanContext returns the context of the message's own CONSUMER span when its subscriber
// started one ([BatchOptions.MessageSpans]): a child of the producer's span, in the
// message's trace, linked to the batch span, and ended when the message is settled with
// its outcome. Without one it returns m.Context(ctx). Work done for this message alone
// (storing its trace context, logging about it) uses it; work for the whole batch uses
// the batch's ctx.
func (m *Message) SpanContext(ctx context.Context) context.Context {
	if m.spanCtx != nil {
		return m.spanCtx
	}
	return m.Context(ctx)
}

// Context returns parent carrying the trace context (and baggage) the producer put in the
// message's headers, so work done for this one message continues the message's own trace:
//
//	ctx, span := tracer.Start(m.Context(ctx), "project "+m.Subject)
//
// The result keeps parent's deadline, cancellation and values; only the span context and the
// baggage are replaced, and only when the headers carry them (otherwise it is parent as is).
// A [BatchHandler] uses it to give each message of a batch a span in the producer's trace; a
// [Handler] rarely needs it, its ctx already continues that trace.
func (m *Message) Context(parent context.Context) context.Context {
	if m == nil || len(m.Header) == 0 {
		return parent
	}
	p := m.prop
	if p == nil {
		p = otel.GetTextMapPropagator()
	}
	return p.Extract(parent, HeaderCarrier(m.Header))
}

// Handler processes one message. Its result decides what happens to the message:
//
//   - nil: Ack.
//   - an error from [Permanent], or matching [ErrDecode]: TermWithReason, never redelivered.
//   - an error from [Retry]: NakWithDelay with the requested delay.
//   - any other error (transient): NakWithDelay with the subscriber's [Backoff] for the
//     delivery count, until the consumer's MaxDeliver.
//   - a panic: recovered, logged with its stack, Nak (redelivered at once, MaxDeliver bounds it).
//
// ctx carries the CONSUMER span (a child of the producer's span), so logs written with it
// carry the trace id. ctx is not cancelled when the subscriber starts draining; it is cancelled
// when the drain timeout or the handler timeout expires.
type Handler func(ctx context.Context, m *Message) error

// SubscriberOptions configures a [Subscriber]. The zero value works.
type SubscriberOptions struct {
	// Workers is how many handlers run at once (default 1).
	Workers int
	// Prefetch is how many messages the client buffers for the workers (default Workers, at
	// least 2: a pull request left partly open keeps redeliveries flowing without a new
	// request). Their AckWait runs while they wait, so keep it small for slow handlers.
	Prefetch int
	// DrainTimeout bounds how long Run waits, after its ctx ends, for in-flight handlers
	// (default 25s, inside Kubernetes' default 30s termination grace period).
	DrainTimeout time.Duration
	// HandlerTimeout bounds one handler call through its ctx, and stops the InProgress
	// heartbeat, so a hung handler cannot hold a message for ever (default 5m).
	HandlerTimeout time.Duration
	// Backoff is the redelivery delay after a transient error (default DefaultBackoff).
	Backoff Backoff
	// DoubleAck waits for the server to confirm each ack, for handlers whose side effects
	// must not run twice when an ack is lost. It costs a round trip per message.
	DoubleAck bool
	// OrderBy, when set, names each message's ordering key (from its subject): messages with
	// the same key are handled one at a time, in the order they arrive, while other keys still
	// run on every worker — e.g. the container number, so the events about one container are
	// applied in stream order. (A message redelivered after a transient error comes back later,
	// behind what arrived since.)
	OrderBy func(subject string) string

	// SubjectTemplate names subjects by a low-cardinality template in span names and metrics
	// (see WithSubjectTemplate); the default uses the subject as it is.
	SubjectTemplate func(subject string) string

	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
}

// ErrDrainTimeout is returned by Run when in-flight handlers did not finish within
// SubscriberOptions.DrainTimeout; their contexts were cancelled and their messages are
// redelivered (at once when the handler returned, after AckWait when it did not).
var ErrDrainTimeout = errors.New("natsx: drain timed out")

// Subscriber pulls messages from one durable consumer and runs a [Handler] on each with a
// bounded pool of workers, owning the ack policy, the consumer span, logs and metrics.
type Subscriber struct {
	js       jetstream.JetStream
	stream   string
	consumer string
	handler  Handler
	opts     SubscriberOptions
	log      *slog.Logger
	tel      telemetry
	tracer   trace.Tracer
	running  atomic.Bool

	processed metric.Int64Counter
	duration  metric.Float64Histogram
}

// NewSubscriber returns a Subscriber for the durable consumer named consumer on stream, which
// must exist when Run starts (declare it with [Topology.Ensure]).
func NewSubscriber(js jetstream.JetStream, stream, consumer string, h Handler, opts SubscriberOptions) (*Subscriber, error) {
	switch {
	case js == nil:
		return nil, errors.New("natsx: subscriber needs a JetStream handle")
	case stream == "" || consumer == "":
		return nil, errors.New("natsx: subscriber needs a stream and a consumer name")
	case h == nil:
		return nil, errors.New("natsx: subscriber needs a handler")
	case opts.Workers < 0 || opts.Prefetch < 0:
		return nil, errors.New("natsx: workers and prefetch cannot be negative")
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = max(opts.Workers, 2)
	}
	log := consumerDefaults(&opts.DrainTimeout, &opts.HandlerTimeout, &opts.Backoff, &opts.SubjectTemplate, opts.Logger)
	s := &Subscriber{
		js: js, stream: stream, consumer: consumer, handler: h, opts: opts,
		log: log.With(slog.String("messaging.consumer.group.name", consumer)),
		tel: telemetry{tp: opts.TracerProvider, mp: opts.MeterProvider, prop: opts.Propagator},
	}
	s.tracer = s.tel.tracer()
	m := s.tel.meter()
	s.processed, s.duration = consumerInstruments(m)
	return s, nil
}

// pullHeartbeat is the idle heartbeat asked of the server on each pull request. The client
// re-issues its pull request when two heartbeats are missed, and that is also what recovers
// from a known client race: a pull request the client believes outstanding after its reply was
// already consumed (checkPending skipped while fetchInProgress; nats.go PR #2090, seen here with
// Prefetch 1), which otherwise stalls the consumer for the 30s pull expiry. Two seconds bounds
// such a stall to about four, for one small status message per idle period.
const pullHeartbeat = 2 * time.Second

// runConfig is what Run learns from the consumer's info.
type runConfig struct {
	keepAliveEvery time.Duration
	maxDeliver     int
	maxAckPending  int
}

// Run pulls and processes messages until ctx ends, then drains: it stops pulling, hands the
// messages still buffered back to the server (Nak, so another replica takes them at once), lets
// in-flight handlers finish within DrainTimeout and settles them, flushes the acks to the
// server and returns nil. It returns an error when the consumer cannot be read, when consuming
// stops on its own (consumer deleted, connection closed), or [ErrDrainTimeout].
func (s *Subscriber) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("natsx: subscriber is already running")
	}
	defer s.running.Store(false)

	cons, err := lookupConsumer(ctx, s.js, s.stream, s.consumer)
	if cons == nil {
		return err // nil when shut down before it started: nothing to drain
	}
	rc := configFrom(cons.CachedInfo())
	iter, err := cons.Messages(
		jetstream.PullMaxMessages(s.opts.Prefetch),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return fmt.Errorf("natsx: consume %q on stream %q: %w", s.consumer, s.stream, err)
	}
	stopDrainHook := context.AfterFunc(ctx, iter.Drain)
	defer stopDrainHook()

	// Handlers outlive ctx while draining; cancelHandlers ends them at the drain timeout.
	handlerBase, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	s.log.InfoContext(ctx, "subscriber started", slog.String("stream", s.stream),
		slog.Int("workers", s.opts.Workers), slog.String("in_progress_every", rc.keepAliveEvery.String()))

	var (
		slots    = make(chan struct{}, s.opts.Workers)
		wg       sync.WaitGroup
		inflight atomic.Int64
		lastErr  error
		failures int
		order    subjectQueue
	)
	for {
		acquired := false
		select {
		case slots <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		msg, err := iter.Next()
		if err != nil {
			if acquired {
				<-slots
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				break
			}
			lastErr = err
			failures++
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "pulling messages failed", slog.String("stream", s.stream), slog.Any("error", err))
				pause(ctx, min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			}
			continue
		}
		failures = 0
		if ctx.Err() != nil {
			// Draining: a message still buffered is handed back rather than started.
			if acquired {
				<-slots
			}
			_ = msg.Nak()
			continue
		}
		wg.Add(1)
		inflight.Add(1)
		var after <-chan struct{} // closed when the previous message of the subject is done
		var done func()
		if s.opts.OrderBy != nil {
			after, done = order.enter(s.opts.OrderBy(msg.Subject()))
		}
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			defer func() { <-slots }()
			if done != nil {
				defer done()
				<-after
			}
			s.process(handlerBase, msg, rc)
		}()
	}

	drainErr := waitInFlight(&wg, &inflight, cancelHandlers, s.opts.DrainTimeout)
	return finishRun(ctx, s.js, s.log, s.stream, s.consumer, errFirst(lastErr, jetstream.ErrMsgIteratorClosed), drainErr)
}

// lookupConsumer finds the durable consumer a subscriber reads. It returns (nil, nil) when ctx
// ended first: the service shut down before the subscriber started.
func lookupConsumer(ctx context.Context, js jetstream.JetStream, stream, consumer string) (jetstream.Consumer, error) {
	cons, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("natsx: consumer %q on stream %q: %w", consumer, stream, err)
	}
	return cons, nil
}

// finishRun ends a subscriber's Run after its in-flight work settled: it flushes the acks and,
// when consuming stopped without being asked to (consumer deleted, connection closed), returns
// stopErr so the service stops and restarts rather than idles.
func finishRun(ctx context.Context, js jetstream.JetStream, log *slog.Logger, stream, consumer string, stopErr, drainErr error) error {
	if nc := js.Conn(); nc != nil && !nc.IsClosed() {
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			log.WarnContext(ctx, "flushing acks failed", slog.Any("error", err))
		}
	}
	if ctx.Err() == nil {
		return errors.Join(fmt.Errorf("natsx: consuming %q on stream %q stopped: %w", consumer, stream, stopErr), drainErr)
	}
	log.InfoContext(ctx, "subscriber drained", slog.String("stream", stream))
	return drainErr
}

// waitInFlight waits for in-flight handlers for up to timeout, then cancels their contexts and
// gives them one more second to return and settle their messages.
func waitInFlight(wg *sync.WaitGroup, inflight *atomic.Int64, cancelHandlers context.CancelFunc, timeout time.Duration) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	cancelHandlers()
	timer.Reset(min(timeout, time.Second))
	select {
	case <-done:
		return fmt.Errorf("%w after %s: in-flight handlers were cancelled", ErrDrainTimeout, timeout)
	case <-timer.C:
		return fmt.Errorf("%w after %s: %d handlers still running", ErrDrainTimeout, timeout, inflight.Load())
	}
}

func configFrom(info *jetstream.ConsumerInfo) runConfig {
	var rc runConfig
	if info == nil {
		return rc
	}
	ackWait := info.Config.AckWait
	for _, d := range info.Config.BackOff {
		if d > 0 && (ackWait <= 0 || d < ackWait) {
			ackWait = d
		}
	}
	if ackWait > 0 {
		rc.keepAliveEvery = ackWait / 3
	}
	rc.maxDeliver = info.Config.MaxDeliver
	rc.maxAckPending = info.Config.MaxAckPending
	return rc
}

// process runs the handler on one message inside a CONSUMER span and settles the message.
func (s *Subscriber) process(base context.Context, msg jetstream.Msg, rc runConfig) {
	received := time.Now()
	m, ok := newMessage(base, s.log, msg, received, s.tel.propagator())
	if !ok {
		return
	}

	tmpl := s.opts.SubjectTemplate(m.Subject)
	parent := Extract(base, m.Header, s.tel.propagator())
	startOpts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(received),
		trace.WithAttributes(messageSpanAttrs(m, tmpl, s.consumer)...),
	}
	if sc := trace.SpanContextFromContext(parent); sc.IsValid() {
		startOpts = append(startOpts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := s.tracer.Start(parent, "process "+tmpl, startOpts...)
	defer span.End()

	hctx, cancel := context.WithTimeout(ctx, s.opts.HandlerTimeout)
	stopKeepAlive := keepAlive(hctx, s.log, rc.keepAliveEvery, msg)
	herr := s.call(hctx, m)
	stopKeepAlive()
	cancel()

	outcome := s.settle(ctx, span, msg, m, herr, rc, base.Err() != nil)
	attrs := []attribute.KeyValue{
		attrSystem, attrOpNameProc,
		semconv.MessagingDestinationTemplate(tmpl),
		semconv.MessagingConsumerGroupName(s.consumer),
		keyOutcome.String(outcome),
	}
	if herr != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(herr)))
	}
	set := metric.WithAttributes(attrs...)
	s.processed.Add(ctx, 1, set)
	s.duration.Record(ctx, time.Since(received).Seconds(), set)
}

// messageSpanAttrs are the attributes of one message's CONSUMER span.
func messageSpanAttrs(m *Message, tmpl, consumer string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attrSystem, attrOpProcess, attrOpNameProc,
		semconv.MessagingDestinationName(m.Subject),
		semconv.MessagingDestinationTemplate(tmpl),
		semconv.MessagingConsumerGroupName(consumer),
		semconv.MessagingMessageID(m.MsgID),
		semconv.MessagingMessageBodySize(len(m.Data)),
		keyDeliveryCount.Int64(int64(m.NumDelivered)),
		keyStream.String(m.Stream),
		keyStreamSeq.Int64(int64(m.StreamSeq)),
	}
}

// newMessage reads msg into a Message. A message without JetStream metadata (not from a
// consumer) can never be handled: it is terminated and logged, and ok is false.
func newMessage(ctx context.Context, log *slog.Logger, msg jetstream.Msg, received time.Time, prop propagation.TextMapPropagator) (m *Message, ok bool) {
	meta, err := msg.Metadata()
	if err != nil {
		log.ErrorContext(ctx, "terminating a message without JetStream metadata",
			slog.String("subject", msg.Subject()), slog.Any("error", err))
		_ = msg.TermWithReason("no jetstream metadata")
		return nil, false
	}
	h := msg.Headers()
	return &Message{
		Subject: msg.Subject(), Data: msg.Data(), Header: h,
		MsgID:  h.Get(jetstream.MsgIDHeader),
		Stream: meta.Stream, Consumer: meta.Consumer,
		StreamSeq: meta.Sequence.Stream, ConsumerSeq: meta.Sequence.Consumer,
		NumDelivered: meta.NumDelivered, NumPending: meta.NumPending,
		Published: meta.Timestamp, Received: received,
		prop: prop,
	}, true
}

// keepAlive sends InProgress for every one of msgs each interval until stopped or ctx ends, so
// the server does not redeliver messages whose handler is still working. The returned func
// stops it and waits, so no InProgress follows the ack.
func keepAlive(ctx context.Context, log *slog.Logger, every time.Duration, msgs ...jetstream.Msg) (stop func()) {
	if every <= 0 || len(msgs) == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				var (
					failed  int
					lastErr error
				)
				for _, msg := range msgs {
					if err := msg.InProgress(); err != nil {
						failed, lastErr = failed+1, err
					}
				}
				if failed > 0 {
					log.WarnContext(ctx, "extending ack deadline failed",
						slog.Int("messages", failed), slog.Any("error", lastErr))
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// panicError carries a recovered panic and the stack it happened on.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// call runs the handler, turning a panic into a *panicError.
func (s *Subscriber) call(ctx context.Context, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return s.handler(ctx, m)
}

// Outcomes of processing, the values of the "outcome" metric attribute.
const (
	outcomeAck   = "ack"
	outcomeSkip  = "skip" // acked unread (BatchOptions.Skip)
	outcomeNak   = "nak"
	outcomeTerm  = "term"
	outcomePanic = "panic"
)

// settle acks, naks or terminates msg according to the handler's error, and records the
// outcome on the span and in the log.
func (s *Subscriber) settle(ctx context.Context, span trace.Span, msg jetstream.Msg, m *Message, herr error, rc runConfig, cutShort bool) string {
	attrs := messageAttrs(m, herr)
	if herr != nil {
		span.RecordError(herr)
		span.SetStatus(codes.Error, herr.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(herr)))
	}

	v := decide(herr, m.NumDelivered, s.opts.Backoff, cutShort)
	var ackErr error
	if v.outcome == outcomeAck && s.opts.DoubleAck {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		ackErr = msg.DoubleAck(actx)
		cancel()
	} else {
		ackErr = v.send(msg, herr)
	}
	logVerdict(ctx, s.log, v, m, herr, rc, attrs)
	if ackErr != nil {
		span.AddEvent("settle failed", trace.WithAttributes(attribute.String("error", ackErr.Error())))
		s.log.LogAttrs(ctx, slog.LevelError, "settling message failed",
			append(attrs, slog.String("outcome", v.outcome), slog.Any("settle_error", ackErr))...)
	}
	span.SetAttributes(keyOutcome.String(v.outcome))
	return v.outcome
}

// verdict is what the ack policy decides for one message.
type verdict struct {
	outcome string        // outcomeAck, outcomeNak, outcomeTerm or outcomePanic
	delay   time.Duration // before the redelivery of a nak; 0 redelivers at once
}

// decide is the ack policy, shared by the Subscriber and the BatchSubscriber: nil acks; a panic
// naks at once; [Permanent] or [ErrDecode] terminates; [Retry] naks with its delay; any other
// error naks after the backoff for the delivery count, or at once when the drain timeout cut
// the handler short (cutShort) so another replica takes the message without waiting.
func decide(herr error, numDelivered uint64, b Backoff, cutShort bool) verdict {
	var pe *panicError
	switch {
	case herr == nil:
		return verdict{outcome: outcomeAck}
	case errors.As(herr, &pe):
		return verdict{outcome: outcomePanic}
	case IsPermanent(herr):
		return verdict{outcome: outcomeTerm}
	}
	if delay, requested := RetryAfter(herr); requested {
		return verdict{outcome: outcomeNak, delay: delay}
	}
	if cutShort && errors.Is(herr, context.Canceled) {
		return verdict{outcome: outcomeNak}
	}
	return verdict{outcome: outcomeNak, delay: b.Delay(numDelivered)}
}

// send settles msg with a plain Ack, a Nak (with its delay) or a TermWithReason, none of which
// waits for the server.
func (v verdict) send(msg jetstream.Msg, herr error) error {
	switch v.outcome {
	case outcomeAck:
		return msg.Ack()
	case outcomeTerm:
		return msg.TermWithReason(termReason(herr))
	}
	if v.delay > 0 {
		return msg.NakWithDelay(v.delay)
	}
	return msg.Nak()
}

// messageAttrs are the log attributes naming m, and herr when it is not nil.
func messageAttrs(m *Message, herr error) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("subject", m.Subject), slog.String("stream", m.Stream),
		slog.Uint64("stream_seq", m.StreamSeq), slog.String("msg_id", m.MsgID),
		slog.Uint64("delivered", m.NumDelivered),
	}
	if herr != nil {
		attrs = append(attrs, slog.Any("error", herr))
	}
	return attrs
}

// logVerdict logs a message that was not acked: a panic with its stack, a termination, or a
// redelivery (an error when it was the last delivery MaxDeliver allows).
func logVerdict(ctx context.Context, log *slog.Logger, v verdict, m *Message, herr error, rc runConfig, attrs []slog.Attr) {
	switch v.outcome {
	case outcomePanic:
		var pe *panicError
		if errors.As(herr, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.stack)))
		}
		log.LogAttrs(ctx, slog.LevelError, "handler panicked; message will be redelivered", attrs...)
	case outcomeTerm:
		log.LogAttrs(ctx, slog.LevelWarn, "message terminated: permanent error", attrs...)
	case outcomeNak:
		attrs = append(attrs, slog.Duration("retry_in", v.delay))
		if rc.maxDeliver > 0 && m.NumDelivered >= uint64(rc.maxDeliver) {
			log.LogAttrs(ctx, slog.LevelError, "last delivery failed; message exhausted MaxDeliver", attrs...)
		} else {
			log.LogAttrs(ctx, slog.LevelWarn, "handler failed; message will be redelivered", attrs...)
		}
	}
}

// termReason is the reason sent with Term; the server puts it in the TERMINATED advisory.
func termReason(err error) string {
	const maxLen = 256
	r := err.Error()
	if len(r) > maxLen {
		r = strings.ToValidUTF8(r[:maxLen], "")
	}
	return r
}

// errorType is a low-cardinality error.type for a failed handler.
func errorType(err error) string {
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		return "panic"
	case errors.Is(err, ErrDecode):
		return "decode"
	case IsPermanent(err):
		return "permanent"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	if _, ok := RetryAfter(err); ok {
		return "retry"
	}
	return "transient"
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// errFirst returns the first non-nil error.
func errFirst(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// consumerDefaults fills the settings both subscribers share and returns the logger to use.
func consumerDefaults(drain, handler *time.Duration, backoff *Backoff, tmpl *func(string) string, log *slog.Logger) *slog.Logger {
	if *drain <= 0 {
		*drain = 25 * time.Second // inside Kubernetes' default 30 s termination grace period
	}
	if *handler <= 0 {
		*handler = 5 * time.Minute
	}
	if *backoff == (Backoff{}) {
		*backoff = DefaultBackoff
	}
	if *tmpl == nil {
		*tmpl = identity
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log
}

// consumerInstruments are the metrics both subscribers record: messages by outcome and
// processing time.
func consumerInstruments(m metric.Meter) (metric.Int64Counter, metric.Float64Histogram) {
	// Instrument creation only fails on an invalid name or unit, which these are not; the
	// returned instrument is then a no-op, never nil.
	processed, _ := m.Int64Counter("messaging.client.consumed.messages",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages delivered to the handler, by outcome (ack, nak, term, panic)."))
	duration, _ := m.Float64Histogram("messaging.process.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of processing operation."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	return processed, duration
}

// subjectQueue orders the handling of messages per key: each message waits for the one before
// it with the same key. Only the Run loop calls enter; done runs in the handlers.
type subjectQueue struct {
	mu   sync.Mutex
	last map[string]chan struct{} // the latest message's done channel, per key in flight
}

// enter queues a message with key subject: it may start when after is closed, and must call
// done when it has finished.
func (q *subjectQueue) enter(subject string) (after <-chan struct{}, done func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last == nil {
		q.last = map[string]chan struct{}{}
	}
	prev, mine := q.last[subject], make(chan struct{})
	q.last[subject] = mine
	if prev == nil {
		prev = make(chan struct{})
		close(prev)
	}
	return prev, func() {
		q.mu.Lock()
		if q.last[subject] == mine {
			delete(q.last, subject)
		}
		q.mu.Unlock()
		close(mine)
	}
}
