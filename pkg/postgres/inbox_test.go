package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
)

// ProcessBatch records a batch's ids in one transaction and hands fn only the fresh ones, in
// order: not those already in the inbox, not a repeat within the batch; if fn fails, none of
// the batch is recorded.
func TestProcessBatchHandsOnlyFreshEvents(t *testing.T) {
	ctx := context.Background()
	db := connect(t, "inbox")
	if _, err := db.Exec(ctx, postgres.InboxDDL); err != nil {
		t.Fatal(err)
	}
	batch := func(ids ...string) []postgres.InboxEvent {
		evs := make([]postgres.InboxEvent, len(ids))
		for i, id := range ids {
			evs[i] = postgres.InboxEvent{ID: id, Subject: "s." + id}
		}
		return evs
	}
	if dup, err := postgres.Process(ctx, db, "c", "b", "s.b", nil); err != nil || dup {
		t.Fatalf("Process b: duplicate %t, %v", dup, err)
	}

	var handed []int
	fresh, err := processBatch(ctx, db, "c", batch("a", "b", "c", "a", "d"), func(_ context.Context, _ pgx.Tx, fresh []int) error {
		handed = fresh
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 2, 4}; !slices.Equal(fresh, want) || !slices.Equal(handed, want) {
		t.Fatalf("fresh %v, handed %v; want %v (b was in the inbox, the second a repeats the first)", fresh, handed, want)
	}

	boom := errors.New("boom")
	if _, err := processBatch(ctx, db, "c", batch("e", "f"), func(context.Context, pgx.Tx, []int) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM inbox WHERE event_id IN ('e', 'f')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d of a failed batch's events recorded (%v), want none", n, err)
	}

	called := false
	fresh, err = processBatch(ctx, db, "c", batch("a", "d"), func(context.Context, pgx.Tx, []int) error { called = true; return nil })
	if err != nil || fresh != nil || called {
		t.Fatalf("a batch of seen events: fresh %v, fn called %t, %v; want nothing fresh and fn not called", fresh, called, err)
	}
	// Another consumer has its own inbox.
	if fresh, err = processBatch(ctx, db, "other", batch("a"), nil); err != nil || !slices.Equal(fresh, []int{0}) {
		t.Fatalf("another consumer: fresh %v, %v; want [0]", fresh, err)
	}
	if _, err := processBatch(ctx, db, "c", batch("g", ""), nil); err == nil {
		t.Fatal("an empty event id was accepted")
	}
}

// processBatch runs postgres.ProcessBatch in a transaction of its own.
func processBatch(ctx context.Context, db *pgxpool.Pool, consumer string, evs []postgres.InboxEvent, fn func(context.Context, pgx.Tx, []int) error) (fresh []int, err error) {
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		fresh, err = postgres.ProcessBatch(ctx, tx, consumer, evs, fn)
		return err
	})
	return fresh, err
}

// connect is a pool on a fresh schema of its own (named after prefix), closed when the test ends.
func connect(t *testing.T, prefix string) *pgxpool.Pool {
	t.Helper()
	url, schema := pgtest.Schema(t, prefix)
	db, err := postgres.Connect(context.Background(), url, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}
