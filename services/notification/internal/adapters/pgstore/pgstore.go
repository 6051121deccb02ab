// Package pgstore is the notification service's store of record in PostgreSQL: the ownership
// projected from scheduling's events, subscriptions with the keys they listen on, and
// deliveries with their attempts.
package pgstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Store reads and writes the notification schema.
type Store struct {
	db postgres.DB
}

// New returns a Store on pool (whose search_path is the notification schema).
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }

// SQLSTATE codes the store maps to domain errors.
const (
	codeUniqueViolation = "23505"
	codeInvalidText     = "22P02" // e.g. an id that is not a UUID
)

// pgError returns err as a *pgconn.PgError when it is one with the given code.
func pgError(err error, code string) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == code {
		return pe, true
	}
	return nil, false
}
