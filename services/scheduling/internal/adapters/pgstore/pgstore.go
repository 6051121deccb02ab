// Package pgstore is the scheduling service's store of record in PostgreSQL: the corridor
// network (routes and stops), departures with their planned times and per-segment capacity,
// and bookings. The no-overbooking rule lives in the schema (CHECKs on departure_segments);
// this package turns their violations into a CapacityError.
package pgstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Store reads and writes the scheduling schema.
type Store struct {
	db postgres.DB
}

// New returns a Store on pool (whose search_path is the scheduling schema).
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }

// SQLSTATE codes the store maps to domain errors.
const (
	codeCheckViolation  = "23514"
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
