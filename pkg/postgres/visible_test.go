package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// BeginVisibleFirst commits fn's writes without waiting for the disk, and returns only once
// the WAL is flushed past them; a failing fn leaves nothing.
func TestBeginVisibleFirst(t *testing.T) {
	ctx := context.Background()
	db := connect(t, "visible")
	if _, err := db.Exec(ctx, `CREATE TABLE rows (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}

	var mode string
	var written string // the WAL position after fn's writes, before its commit record
	err := postgres.BeginVisibleFirst(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&mode); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rows VALUES (1), (2)`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&written)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != "off" {
		t.Errorf("fn ran with synchronous_commit = %s, want off (its commit must not wait for the disk)", mode)
	}
	var flushed bool
	if err := db.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn`, written).Scan(&flushed); err != nil {
		t.Fatal(err)
	}
	if !flushed {
		t.Errorf("BeginVisibleFirst returned before the WAL was flushed past %s", written)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rows`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows (%v), want 2", n, err)
	}
	// The setting was the transaction's own: the connection went back to the pool as it was.
	if err := db.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&mode); err != nil || mode != "on" {
		t.Errorf("synchronous_commit after the call: %q (%v), want on", mode, err)
	}

	boom := errors.New("boom")
	err = postgres.BeginVisibleFirst(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rows VALUES (3)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rows`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows after a failed fn (%v), want 2", n, err)
	}
}

// BeginAsyncFunc's transaction commits without waiting for the disk, on a pool (the setting
// sent with BEGIN) and inside a transaction (a savepoint, the setting one statement more);
// outside it the session's setting is untouched.
func TestBeginAsyncFunc(t *testing.T) {
	ctx := context.Background()
	db := connect(t, "async")
	mode := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) string {
		t.Helper()
		var m string
		if err := q.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	var inside string
	if err := postgres.BeginAsyncFunc(ctx, db, func(tx pgx.Tx) error { inside = mode(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != "off" || mode(db) != "on" {
		t.Fatalf("on a pool: %q inside, %q after; want off, on", inside, mode(db))
	}
	err := pgx.BeginFunc(ctx, db, func(outer pgx.Tx) error {
		return postgres.BeginAsyncFunc(ctx, outer, func(tx pgx.Tx) error { inside = mode(tx); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != "off" || mode(db) != "on" {
		t.Fatalf("in a transaction: %q inside, %q after; want off, on", inside, mode(db))
	}
}

// A statement queued with AfterCommit runs once the transaction has committed (it sees the
// transaction's status as committed), also when queued in a savepoint; one that fails makes
// BeginVisibleFirst fail although the transaction's writes stay. Outside BeginVisibleFirst
// nothing can be queued.
func TestAfterCommit(t *testing.T) {
	ctx := context.Background()
	db := connect(t, "after")
	if _, err := db.Exec(ctx, `CREATE TABLE rows (id int PRIMARY KEY); CREATE TABLE seen (status text)`); err != nil {
		t.Fatal(err)
	}
	var xid string
	err := postgres.BeginVisibleFirst(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO rows VALUES (1) RETURNING pg_current_xact_id()::text`).Scan(&xid); err != nil {
			return err
		}
		return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			if !postgres.AfterCommit(sp, `INSERT INTO seen SELECT pg_xact_status($1::xid8)`, xid) {
				return errors.New("a savepoint of BeginVisibleFirst took no statement")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	if err := db.QueryRow(ctx, `SELECT status FROM seen`).Scan(&status); err != nil || status != "committed" {
		t.Fatalf("the queued statement saw the transaction %q (%v), want committed", status, err)
	}

	err = postgres.BeginVisibleFirst(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rows VALUES (2)`); err != nil {
			return err
		}
		postgres.AfterCommit(tx, `SELECT 1 / (SELECT count(*) FROM seen WHERE status = 'none')`)
		return nil
	})
	if err == nil {
		t.Fatal("a failing statement after the commit went unreported")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rows`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows (%v), want 2: the transaction committed before the statement after it failed", n, err)
	}

	if postgres.AfterCommit(db, `SELECT 1`) {
		t.Error("AfterCommit took a statement on a pool")
	}
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if postgres.AfterCommit(tx, `SELECT 1`) {
			return errors.New("AfterCommit took a statement in a transaction of pgx.BeginFunc")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// QueryRowAsync runs its statement in a transaction that does not wait for the disk, on a
// pool and inside a transaction, and commits what it wrote.
func TestQueryRowAsync(t *testing.T) {
	ctx := context.Background()
	db := connect(t, "asyncrow")
	if _, err := db.Exec(ctx, `CREATE TABLE rows (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(q postgres.DB, id int) string {
		t.Helper()
		var mode string
		err := postgres.QueryRowAsync(ctx, q, func(r pgx.Row) error { return r.Scan(&mode) },
			`WITH i AS (INSERT INTO rows VALUES ($1)) SELECT current_setting('synchronous_commit')`, id)
		if err != nil {
			t.Fatal(err)
		}
		return mode
	}
	if mode := insert(db, 1); mode != "off" {
		t.Errorf("on a pool: synchronous_commit %s, want off", mode)
	}
	// In a transaction it is a part of it: rolled back with it, not committed on its own.
	rollback := errors.New("roll back")
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if mode := insert(tx, 2); mode != "off" {
			t.Errorf("in a transaction: synchronous_commit %s, want off", mode)
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rows`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v), want 1: the one in a transaction rolled back with it", n, err)
	}
	err := postgres.QueryRowAsync(ctx, db, func(r pgx.Row) error { return r.Scan(new(int)) }, `SELECT 1 / 0`)
	if err == nil {
		t.Fatal("a failing statement went unreported")
	}
}
