package natsx

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Topology is every stream and durable consumer a service relies on, declared in one place and
// applied at start with [Topology.Ensure]. Each service declares the streams it produces and
// the consumers it reads with; declaring the same stream from two services is harmless as long
// as both declare the same config.
type Topology struct {
	Streams   []jetstream.StreamConfig
	Consumers []Consumer
	// Replicas, when > 0, sets the replica count of every stream: 1 on a single dev server,
	// 3 on the production cluster, from configuration rather than code. 0 keeps each stream's
	// own value ([DefaultStream] uses 1). Consumers inherit their stream's replica count.
	Replicas int
}

// Consumer is a durable consumer on a stream.
type Consumer struct {
	Stream string
	Config jetstream.ConsumerConfig
}

// Ensure creates the streams and then the consumers, or updates them to the declared config.
// It is idempotent, so every replica of a service runs it at start. A change the server cannot
// apply in place (storage type, retention of a stream with consumers, a consumer's deliver
// policy) returns an error naming the stream or consumer, and the service should not start.
func (t Topology) Ensure(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range t.Streams {
		if t.Replicas > 0 {
			cfg.Replicas = t.Replicas
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("natsx: ensure stream %q: %w", cfg.Name, err)
		}
	}
	for _, c := range t.Consumers {
		if _, err := js.CreateOrUpdateConsumer(ctx, c.Stream, c.Config); err != nil {
			return fmt.Errorf("natsx: ensure consumer %q on stream %q: %w", c.Config.Durable, c.Stream, err)
		}
	}
	return nil
}

// Stream defaults used by [DefaultStream].
const (
	// DefaultDuplicates is the dedupe window: a message whose Nats-Msg-Id was seen within it
	// is acknowledged as a duplicate and not stored again. Ten minutes covers an HTTP client
	// retrying an ingest after a timeout and an outbox relay re-sending after a crash; every id
	// in the window is held in server memory, so it is not made longer than that.
	DefaultDuplicates = 10 * time.Minute
	// DefaultMaxAge is how long the stream keeps events: the replay window for rebuilding a
	// projection (Redis, a new consumer) from the log. Postgres keeps history beyond it.
	DefaultMaxAge = 30 * 24 * time.Hour
)

// DefaultStream returns the config of a stream with our deliberate defaults; adjust fields on
// the result when a stream needs something else.
func DefaultStream(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:     name,
		Subjects: subjects,
		// File storage: the stream is the log of record and must survive a server restart.
		Storage: jetstream.FileStorage,
		// Limits retention: messages stay until MaxAge whether or not they were consumed, so
		// every durable consumer reads the whole log and a new one can replay it. (WorkQueue
		// would delete on the first ack; Interest would lose messages no consumer existed for.)
		Retention: jetstream.LimitsPolicy,
		// Dedupe on Nats-Msg-Id over this window (see DefaultDuplicates).
		Duplicates: DefaultDuplicates,
		MaxAge:     DefaultMaxAge,
		// No count or byte cap: MaxAge bounds the stream, and a full stream must not refuse
		// ingest. Should an operator add a byte cap, Discard old drops the oldest events
		// rather than rejecting new ones.
		MaxMsgs:  -1,
		MaxBytes: -1,
		Discard:  jetstream.DiscardOld,
		// One replica by default (dev, tests); Topology.Replicas raises it to 3 in a cluster.
		Replicas: 1,
	}
}

// Consumer defaults used by [DurableConsumer].
const (
	// DefaultAckWait is how long the server waits for an ack before redelivering. The
	// Subscriber sends InProgress every AckWait/3 while a handler runs, so it bounds the time
	// to notice a dead replica, not the length of the work.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxDeliver bounds redeliveries; after it the MAX_DELIVERIES advisory fires
	// (see WatchMaxDeliveries). With DefaultBackoff that is about six minutes of retries.
	DefaultMaxDeliver = 10
	// DefaultMaxAckPending caps messages delivered but not yet acked across all replicas of
	// the consumer. Size it to replicas x (workers + prefetch) with some headroom: too small
	// idles workers, too large lets one slow replica hoard messages whose AckWait is ticking.
	DefaultMaxAckPending = 256
)

// ConsumerOption adjusts a config built by [DurableConsumer].
type ConsumerOption func(*consumerSettings)

type consumerSettings struct {
	cfg      jetstream.ConsumerConfig
	steps    []time.Duration
	stepsSet bool
}

// WithAckWait sets the ack wait of the first delivery (default DefaultAckWait).
func WithAckWait(d time.Duration) ConsumerOption {
	return func(s *consumerSettings) { s.cfg.AckWait = d }
}

// WithMaxDeliver sets how many times a message is delivered at most (default DefaultMaxDeliver).
func WithMaxDeliver(n int) ConsumerOption {
	return func(s *consumerSettings) { s.cfg.MaxDeliver = n }
}

// WithMaxAckPending sets the cap on unacknowledged messages (default DefaultMaxAckPending).
func WithMaxAckPending(n int) ConsumerOption {
	return func(s *consumerSettings) { s.cfg.MaxAckPending = n }
}

// WithRedeliveryWaits sets the ack waits of the second, third ... deliveries, used when a
// message is not acked at all (a replica died mid-work). The default is 2, 4 and 8 times the
// ack wait; none at all means every delivery waits AckWait. Naks from the Subscriber carry
// their own delay and are not affected.
func WithRedeliveryWaits(waits ...time.Duration) ConsumerOption {
	return func(s *consumerSettings) { s.steps, s.stepsSet = waits, true }
}

// WithDescription sets the consumer's description.
func WithDescription(d string) ConsumerOption {
	return func(s *consumerSettings) { s.cfg.Description = d }
}

// DurableConsumer returns the config of a durable pull consumer named name reading
// filterSubjects (all of the stream when empty), with explicit acks and bounded redelivery.
//
// The server's BackOff list is the ack wait per delivery, and the server replaces AckWait with
// BackOff[0]. So the list is built as [AckWait, redelivery waits...], trimmed to MaxDeliver,
// which keeps AckWait and BackOff consistent whatever options are given.
func DurableConsumer(name string, filterSubjects []string, opts ...ConsumerOption) jetstream.ConsumerConfig {
	s := consumerSettings{cfg: jetstream.ConsumerConfig{
		Durable: name,
		// Explicit acks: a message counts as done only when its handler succeeded.
		AckPolicy: jetstream.AckExplicitPolicy,
		// A new consumer starts from the beginning of the log (projections are rebuilt
		// from it); an existing durable resumes where it left off whatever this says.
		DeliverPolicy: jetstream.DeliverAllPolicy,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
		AckWait:       DefaultAckWait,
		MaxDeliver:    DefaultMaxDeliver,
		MaxAckPending: DefaultMaxAckPending,
	}}
	for _, o := range opts {
		o(&s)
	}
	if len(filterSubjects) == 1 {
		s.cfg.FilterSubject = filterSubjects[0]
	} else if len(filterSubjects) > 1 {
		s.cfg.FilterSubjects = filterSubjects
	}
	steps := s.steps
	if !s.stepsSet {
		steps = []time.Duration{2 * s.cfg.AckWait, 4 * s.cfg.AckWait, 8 * s.cfg.AckWait}
	}
	backoff := append([]time.Duration{s.cfg.AckWait}, steps...)
	if s.cfg.MaxDeliver > 0 && len(backoff) > s.cfg.MaxDeliver {
		backoff = backoff[:s.cfg.MaxDeliver]
	}
	if len(backoff) > 1 {
		s.cfg.BackOff = backoff
	}
	return s.cfg
}
