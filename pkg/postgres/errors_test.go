package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
)

func TestErrorCode(t *testing.T) {
	unique := &pgconn.PgError{Code: postgres.CodeUniqueViolation, ConstraintName: "things_pkey"}
	tests := []struct {
		name string
		err  error
		code string
		want *pgconn.PgError
	}{
		{"the code", unique, postgres.CodeUniqueViolation, unique},
		{"wrapped", fmt.Errorf("store: insert: %w", unique), postgres.CodeUniqueViolation, unique},
		{"joined", errors.Join(errors.New("rollback failed"), unique), postgres.CodeUniqueViolation, unique},
		{"another code", unique, postgres.CodeCheckViolation, nil},
		{"not a PgError", errors.New("23505"), postgres.CodeUniqueViolation, nil},
		{"nil", nil, postgres.CodeUniqueViolation, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := postgres.ErrorCode(tt.err, tt.code)
			if got != tt.want || ok != (tt.want != nil) {
				t.Fatalf("ErrorCode(%v, %s) = %v, %t; want %v", tt.err, tt.code, got, ok, tt.want)
			}
		})
	}
}

// The constants name the codes PostgreSQL really returns.
func TestErrorCodeFromServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, schema := pgtest.Schema(t, "pgerr")
	pool, err := postgres.Connect(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE things (id uuid PRIMARY KEY, n int CONSTRAINT n_positive CHECK (n > 0))`); err != nil {
		t.Fatal(err)
	}
	const id = "0b7d1f3e-2c4a-4d8e-9f10-1a2b3c4d5e6f"
	if _, err := pool.Exec(ctx, `INSERT INTO things VALUES ($1, 1)`, id); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sql  string
		args       []any
		code       string
		constraint string
	}{
		{"unique", `INSERT INTO things VALUES ($1, 2)`, []any{id}, postgres.CodeUniqueViolation, "things_pkey"},
		{"check", `UPDATE things SET n = 0 WHERE id = $1`, []any{id}, postgres.CodeCheckViolation, "n_positive"},
		{"invalid text", `SELECT 1 FROM things WHERE id = $1::text::uuid`, []any{"not-a-uuid"}, postgres.CodeInvalidText, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(ctx, tt.sql, tt.args...)
			pe, ok := postgres.ErrorCode(fmt.Errorf("wrapped: %w", err), tt.code)
			if !ok || pe.ConstraintName != tt.constraint {
				t.Fatalf("ErrorCode(%v, %s) = %v, %t; want constraint %q", err, tt.code, pe, ok, tt.constraint)
			}
		})
	}
}

func ExampleErrorCode() {
	err := fmt.Errorf("store: insert: %w", &pgconn.PgError{Code: postgres.CodeUniqueViolation, ConstraintName: "things_pkey"})
	if pe, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation); dup {
		fmt.Println("already there:", pe.ConstraintName)
	}
	// Output: already there: things_pkey
}
