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
