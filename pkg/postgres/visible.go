package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// asyncCommit begins a transaction whose commit does not wait for its WAL to reach the disk,
// with the setting sent with the BEGIN in one round trip (no arguments: the simple protocol).
var asyncCommit = pgx.TxOptions{BeginQuery: `BEGIN; SET LOCAL synchronous_commit = off`}

// BeginAsyncFunc runs fn in a transaction, like pgx.BeginFunc, whose commit does not wait for
// its WAL to reach the disk (SET LOCAL synchronous_commit = off): for writes that a crash of
// the database may lose without harm — a lease, a record that will be written again — and
// that should not hold their locks through an fsync. On a pool or a connection the setting
// goes with the BEGIN; inside a transaction (a savepoint) it is one more statement, and it
// holds for the enclosing transaction.
func BeginAsyncFunc(ctx context.Context, db DB, fn func(tx pgx.Tx) error) error {
	if b, ok := db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		return pgx.BeginTxFunc(ctx, b, asyncCommit, fn)
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// QueryRowAsync runs sql, a statement of one row, in a transaction of its own that commits as
// BeginAsyncFunc's do, and scans the row with scan. On a pool or a connection it is one round
// trip, a pipeline of BEGIN, the setting, the statement and COMMIT; in a transaction (which
// can send a pipeline too, but whose BEGIN and COMMIT those would not be) it is
// BeginAsyncFunc's, a savepoint.
func QueryRowAsync(ctx context.Context, db DB, scan func(pgx.Row) error, sql string, args ...any) error {
	p, ok := db.(interface {
		SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
	})
	if _, inTx := db.(pgx.Tx); inTx || !ok {
		return BeginAsyncFunc(ctx, db, func(tx pgx.Tx) error { return scan(tx.QueryRow(ctx, sql, args...)) })
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...).QueryRow(scan)
	return p.SendBatch(ctx, txPipeline("off", b)).Close()
}

// txPipeline is the statements of b in one transaction with synchronous_commit set to mode,
// to send as one pipeline: BEGIN, the setting, b's statements, COMMIT. A statement that fails
// aborts the transaction; the pool does not take back a connection left in one.
func txPipeline(mode string, b *pgx.Batch) *pgx.Batch {
	tx := &pgx.Batch{}
	tx.Queue(`BEGIN`)
	tx.Queue(`SET LOCAL synchronous_commit = ` + mode)
	tx.QueuedQueries = append(tx.QueuedQueries, b.QueuedQueries...)
	tx.Queue(`COMMIT`)
	return tx
}

// BeginVisibleFirst runs fn in a transaction like pgx.BeginFunc, and like it returns nil only
// once the transaction is committed and on disk, but in the other order: the commit does not
// wait for its WAL to be flushed (synchronous_commit = off), so other sessions see what fn
// wrote at once — a dispatcher LISTENing for new rows starts on them — and only then does it
// wait, on the same connection, for the flush.
//
// The wait is a second transaction that writes one WAL record (a transactional
// logical-decoding message, prefix "scoda.flush", which no table sees), after the statements fn
// queued with [AfterCommit], and commits with synchronous_commit = on: its commit waits for the
// WAL to be flushed up to its own commit record, which lies after fn's. (A transaction that
// wrote no WAL before its commit, one that only took an id say, does not wait for the flush at
// all.) It runs on the connection that committed fn's, so a server that crashed in between (and
// may have lost fn's commit) fails the wait with the connection rather than answering from
// after its restart. A failed wait, or a failed statement queued with AfterCommit, returns an
// error although fn's writes may be durable: the caller must treat it as "maybe committed",
// which a handler whose writes are keyed (a redelivery writes nothing twice) does by retrying.
//
// A transaction that wrote nothing, and queued nothing, has nothing to wait for: it returns at
// its commit.
//
// What it costs: one round trip more for the check whether fn wrote, and one for the wait
// (with whatever fn queued), and a WAL record and commit per call that wrote. What it buys:
// the readers of fn's rows no longer wait behind the disk — under a write-heavy load a flush
// can take tens to hundreds of milliseconds, queued behind everyone else's WAL.
func BeginVisibleFirst(ctx context.Context, db *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var wrote bool
	after := &pgx.Batch{}
	err = BeginAsyncFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := fn(afterTx{Tx: tx, after: after}); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT pg_current_xact_id_if_assigned() IS NOT NULL`).Scan(&wrote)
	})
	if err != nil || (!wrote && after.Len() == 0) {
		return err // nothing written, nothing to wait for
	}
	// One round trip: what fn queued, then the record that makes the commit wait for the flush.
	after.Queue(`SELECT pg_logical_emit_message(true, 'scoda.flush', '')`)
	if err := conn.SendBatch(ctx, txPipeline("on", after)).Close(); err != nil {
		return fmt.Errorf("postgres: committed but not known to be on disk: %w", err)
	}
	return nil
}

// afterTx is a transaction of BeginVisibleFirst, which runs what is queued in after once it
// has committed. Its savepoints queue there too.
type afterTx struct {
	pgx.Tx
	after *pgx.Batch
}

func (t afterTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return afterTx{Tx: tx, after: t.after}, nil
}

// AfterCommit queues sql to run once the transaction of tx (begun by [BeginVisibleFirst], or a
// savepoint in one) has committed, in the transaction that waits for the flush, on the same
// connection: a statement there reads with a snapshot taken after the commit, so it sees what
// other transactions committed while tx ran. It is for what must look again once tx is
// visible to all — a row written on the strength of what another transaction, which has
// committed since, had not yet done. A statement queued in a savepoint that is rolled back
// still runs: queue only what is harmless then, as a look that re-checks its own conditions
// is. It returns false, and queues nothing, when tx is not such a transaction.
func AfterCommit(tx DB, sql string, args ...any) bool {
	t, ok := tx.(afterTx)
	if ok {
		t.after.Queue(sql, args...)
	}
	return ok
}
