package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// EventHandler does a service's work for one decoded event inside the inbox transaction.
type EventHandler func(ctx context.Context, tx pgx.Tx, ev events.Event) error

// EventConsumer returns a worker that reads the durable consumer c and, for each message:
// decodes it (an undecodable message is terminated as poison), and runs fn exactly once per
// event id through the service's inbox table (redeliveries and duplicates are acked without
// running fn again). fn may be nil: the event is then only recorded as received.
func EventConsumer(d *Deps, c natsx.Consumer, workers int, fn EventHandler) (Worker, error) {
	name := c.Config.Durable
	h := func(ctx context.Context, m *natsx.Message) error {
		ev, err := events.Decode(m.Header.Get(events.HeaderContentType), m.Data)
		if err != nil {
			return natsx.Permanent(err)
		}
		id := events.EventID(ev)
		if id == "" {
			return natsx.Permanent(fmt.Errorf("event on %s has no event id", m.Subject))
		}
		var handle func(context.Context, pgx.Tx) error
		if fn != nil {
			handle = func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, tx, ev) }
		}
		dup, err := postgres.Process(ctx, d.DB, name, id, m.Subject, handle)
		if err != nil {
			return err // transient: redelivered with backoff
		}
		if dup {
			d.Log.DebugContext(ctx, "duplicate event skipped", "consumer", name, "event_id", id)
		}
		return nil
	}
	// In order per container: the events about one container (whatever their kind) are applied
	// in stream order (notification's delivery lanes rely on it); other subjects in order each.
	sub, err := natsx.NewSubscriber(d.JetStream, c.Stream, name, h, natsx.SubscriberOptions{Workers: workers,
		OrderBy: events.OrderKey, Logger: d.Log, SubjectTemplate: events.SubjectTemplate})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return sub, nil
}
