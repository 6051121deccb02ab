// Package pgstore is the notification service's store of record in PostgreSQL: the ownership
// projected from scheduling's events, subscriptions with the keys they listen on, and
// deliveries with their attempts.
package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Store reads and writes the notification schema.
type Store struct {
	db    postgres.DB
	owned *OwnedSet // nil: none (see WithOwnedSet)
}

// New returns a Store on pool (whose search_path is the notification schema).
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }
