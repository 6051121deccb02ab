package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InboxDDL creates the inbox table in a service's schema; services put it in a migration.
// It is shown here so the Go code and the table stay in one reader's view.
const InboxDDL = `CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    subject      text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);`

// Process makes an event handler idempotent under at-least-once delivery: in one transaction
// it records (consumer, eventID) in the inbox table and runs fn. An event already in the inbox
// is skipped (duplicate = true) and fn is not called; if fn fails, the transaction rolls back
// and the event stays unrecorded, so a redelivery runs it again.
func Process(ctx context.Context, db *pgxpool.Pool, consumer, eventID, subject string, fn func(ctx context.Context, tx pgx.Tx) error) (duplicate bool, err error) {
	if eventID == "" {
		return false, errors.New("postgres: inbox needs an event id")
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`INSERT INTO inbox (consumer, event_id, subject) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			consumer, eventID, subject)
		if err != nil {
			return fmt.Errorf("inbox insert: %w", err)
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return nil
		}
		if fn == nil {
			return nil
		}
		return fn(ctx, tx)
	})
	return duplicate, err
}

// InboxEvent names one event of a batch for [ProcessBatch].
type InboxEvent struct {
	ID, Subject string
}

// ProcessBatch is [Process] for a batch, in the transaction tx the caller began and commits
// (with pgx.BeginFunc or [BeginVisibleFirst]): it records every event of evs in the inbox
// with one statement and runs fn once with the indexes (into evs, ascending) of the
// events recorded now, the fresh ones; events already in the inbox, and repeats of an id
// within evs after its first, are left out. If fn fails, the caller must roll back, and none of
// the batch is recorded. fresh is what fn was given (nil when it was not called because
// nothing was fresh).
func ProcessBatch(ctx context.Context, tx pgx.Tx, consumer string, evs []InboxEvent, fn func(ctx context.Context, tx pgx.Tx, fresh []int) error) ([]int, error) {
	ids := make([]string, len(evs))
	subjects := make([]string, len(evs))
	for i, e := range evs {
		if e.ID == "" {
			return nil, fmt.Errorf("postgres: inbox needs an event id (event %d of the batch)", i)
		}
		ids[i], subjects[i] = e.ID, e.Subject
	}
	rows, err := tx.Query(ctx, `INSERT INTO inbox (consumer, event_id, subject)
		SELECT $1, e.id, e.subject FROM unnest($2::text[], $3::text[]) AS e(id, subject)
		ON CONFLICT DO NOTHING RETURNING event_id`, consumer, ids, subjects)
	if err != nil {
		return nil, fmt.Errorf("inbox insert: %w", err)
	}
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("inbox insert: %w", err)
	}
	if len(recorded) == 0 {
		return nil, nil
	}
	isNew := make(map[string]bool, len(recorded))
	for _, id := range recorded {
		isNew[id] = true
	}
	var fresh []int
	for i, id := range ids {
		if isNew[id] {
			fresh = append(fresh, i)
			delete(isNew, id) // a repeat of the id later in the batch is not fresh
		}
	}
	if fn == nil {
		return fresh, nil
	}
	if err := fn(ctx, tx, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}
