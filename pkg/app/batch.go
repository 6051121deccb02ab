package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// BatchEvent is one fresh event of a batch (not yet in the consumer's inbox), in stream order.
type BatchEvent struct {
	// Ctx carries the message's own CONSUMER span, in the producer's trace: work that belongs
	// to this event alone (storing its trace context, logging about it) uses it.
	Ctx     context.Context
	Subject string
	Event   events.Event
}

// BatchEventHandler does a service's work for the fresh events of one batch inside one inbox
// transaction. It must do the same as handling them one by one, in order, would.
type BatchEventHandler func(ctx context.Context, tx pgx.Tx, evs []BatchEvent) error

// BatchEventOptions tunes a [BatchEventConsumer]. The zero value works.
type BatchEventOptions struct {
	// MaxBatch is the most events in one transaction (default 250; the consumer's MaxAckPending caps it).
	MaxBatch int
	// MaxWait is how long a batch lingers for more events once one is in hand (default 10ms):
	// the latency a lone event pays.
	MaxWait time.Duration
	// Skip names subjects the handler has nothing to do with (a kind of event on a shared
	// filter): their messages are acked unread as they arrive (natsx.BatchOptions.Skip),
	// without a span, a transaction or an inbox row.
	Skip func(subject string) bool
	// Idempotent says fn is idempotent by itself (what it writes is keyed by event id, say
	// with a unique constraint and ON CONFLICT DO NOTHING): no inbox rows are written, and fn
	// gets every event of the batch (an id repeated within the batch once) in a transaction
	// of its own, which writes nothing when fn writes nothing. A redelivered event runs fn
	// again.
	Idempotent bool
	// VisibleFirst commits each batch's transaction before its WAL is on disk, so that
	// other sessions see what fn wrote at once, and waits for the disk after
	// (postgres.BeginVisibleFirst): events are acked only once durable, as always, while a
	// reader of fn's rows (a dispatcher listening for them) no longer waits for the flush.
	VisibleFirst bool
}

// Batch consumer defaults.
const (
	defaultBatchEvents = 250
	defaultBatchWait   = 10 * time.Millisecond
)

// BatchEventConsumer returns a worker that reads the durable consumer c in batches and runs fn
// exactly once per event id, like [EventConsumer], at the cost of one transaction per batch
// instead of one per event:
//
//   - a message whose subject opts.Skip names is acked unread;
//   - every other message is decoded; an undecodable one, or one without an event id, is terminated
//     as poison and the rest of the batch goes on;
//   - in one transaction every id is recorded in the inbox (one statement) and fn runs once
//     with the fresh events in stream order; duplicates and redeliveries are acked unseen;
//   - if that transaction fails, the batch is retried one transaction per event, so an event
//     that cannot be handled fails alone (and is redelivered with backoff) while the others
//     are acked.
//
// One batch is handled at a time, so the events of any container, like all events, are
// handled in stream order; a redelivered event comes after the ones acked around it, as with
// [EventConsumer]. Each event has its own CONSUMER span in its producer's trace
// (BatchEvent.Ctx), linked to the batch's span.
func BatchEventConsumer(d *Deps, c natsx.Consumer, fn BatchEventHandler, opts BatchEventOptions) (Worker, error) {
	if fn == nil {
		return nil, errors.New("app: batch event consumer needs a handler")
	}
	name := c.Config.Durable
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = defaultBatchEvents
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = defaultBatchWait
	}
	begin := func(ctx context.Context, fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, d.DB, fn) }
	if opts.VisibleFirst {
		begin = func(ctx context.Context, fn func(pgx.Tx) error) error {
			return postgres.BeginVisibleFirst(ctx, d.DB, fn)
		}
	}
	h := func(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
		errs := make([]error, len(msgs))
		evs := make([]BatchEvent, 0, len(msgs))
		inbox := make([]postgres.InboxEvent, 0, len(msgs))
		at := make([]int, 0, len(msgs)) // at[i]: the message of evs[i]
		for i, m := range msgs {
			ev, err := events.Decode(m.Header.Get(events.HeaderContentType), m.Data)
			if err != nil {
				errs[i] = natsx.Permanent(err)
				continue
			}
			id := events.EventID(ev)
			if id == "" {
				errs[i] = natsx.Permanent(fmt.Errorf("event on %s has no event id", m.Subject))
				continue
			}
			evs = append(evs, BatchEvent{Ctx: m.SpanContext(ctx), Subject: m.Subject, Event: ev})
			inbox = append(inbox, postgres.InboxEvent{ID: id, Subject: m.Subject})
			at = append(at, i)
		}
		if len(evs) == 0 {
			return errs, nil
		}
		// handle runs fn in one transaction for the events evs[idx...].
		handle := func(ctx context.Context, idx []int) error {
			if opts.Idempotent {
				seen := make(map[string]bool, len(idx))
				picked := make([]BatchEvent, 0, len(idx))
				for _, i := range idx {
					if id := inbox[i].ID; !seen[id] {
						seen[id] = true
						picked = append(picked, evs[i])
					}
				}
				return begin(ctx, func(tx pgx.Tx) error { return fn(ctx, tx, picked) })
			}
			batch := make([]postgres.InboxEvent, len(idx))
			for j, i := range idx {
				batch[j] = inbox[i]
			}
			return begin(ctx, func(tx pgx.Tx) error {
				_, err := postgres.ProcessBatch(ctx, tx, name, batch, func(ctx context.Context, tx pgx.Tx, fresh []int) error {
					picked := make([]BatchEvent, len(fresh))
					for j, f := range fresh {
						picked[j] = evs[idx[f]]
					}
					return fn(ctx, tx, picked)
				})
				return err
			})
		}
		all := make([]int, len(evs))
		for j := range all {
			all[j] = j
		}
		if err := handle(ctx, all); err == nil || ctx.Err() != nil {
			for _, i := range at {
				errs[i] = err // nil, or the batch's error when it ran out of time
			}
			return errs, nil
		} else if len(evs) > 1 {
			d.Log.WarnContext(ctx, "batch transaction failed; handling its events one by one",
				"consumer", name, "events", len(evs), "error", err)
		} else {
			errs[at[0]] = err
			return errs, nil
		}
		for j := range evs {
			errs[at[j]] = handle(ctx, []int{j}) // an error: redelivered with backoff
		}
		return errs, nil
	}
	sub, err := natsx.NewBatchSubscriber(d.JetStream, c.Stream, name, h, natsx.BatchOptions{
		MaxBatch: opts.MaxBatch, MaxWait: opts.MaxWait, Workers: 1, MessageSpans: true, Skip: opts.Skip,
		Logger: d.Log, SubjectTemplate: events.SubjectTemplate})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return sub, nil
}
