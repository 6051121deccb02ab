// Package natsx is the bus every SCODA Track service uses: connecting to NATS, declaring the
// JetStream topology, publishing with a message id and trace headers, and consuming with one
// ack policy so handlers never touch acks.
//
// The pieces, in the order a service wires them:
//
//   - [Connect] dials NATS with reconnect and logging handlers and returns a JetStream handle.
//   - [Topology.Ensure] declares streams ([DefaultStream]) and durable consumers
//     ([DurableConsumer]) idempotently at start.
//   - [Publisher] publishes with jetstream.WithMsgID (the stream dedupes re-sends), a PRODUCER
//     span and W3C trace context in the message headers ([HeaderCarrier]).
//   - [Subscriber] pulls from a durable consumer with a bounded worker pool, runs a [Handler]
//     inside a CONSUMER span that continues the producer's trace, and settles the message from
//     the handler's result: nil acks, [Permanent] or [ErrDecode] terminates, [Retry] naks with
//     the given delay, any other error naks with capped exponential backoff, and a panic naks.
//   - [BatchSubscriber] is the same for high-throughput projectors: it fetches up to MaxBatch
//     messages per worker (one pull per batch, so nothing piles up in the client), runs a
//     [BatchHandler] once per batch inside one CONSUMER span linked to the producers, and settles
//     each message from its own result. [Message.Context] continues a message's own trace.
//   - [Publisher.PublishBatch] publishes many messages asynchronously under one PRODUCER span.
//   - [WatchMaxDeliveries] reports messages that exhausted MaxDeliver.
//
// Delivery is at least once: every handler must be idempotent, keyed by the event id that is
// also the message id.
package natsx

// instrumentationName names the tracer and meter of this package.
const instrumentationName = "github.com/scodalabs/scoda/pkg/natsx"
