// Package pgstore is the scheduling service's store of record in PostgreSQL: the corridor
// network (routes and stops), departures with their planned times and per-segment capacity,
// and bookings. The no-overbooking rule lives in the schema (CHECKs on departure_segments);
// this package turns their violations into a CapacityError.
package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Store reads and writes the scheduling schema.
type Store struct {
	db postgres.DB
}

// New returns a Store on pool (whose search_path is the scheduling schema).
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }
