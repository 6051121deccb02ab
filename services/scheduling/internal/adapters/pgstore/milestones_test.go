package pgstore_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Booked names the containers with a booking that is not cancelled, each once, whatever the
// repeats and the unknown containers asked about.
func TestBooked(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	var booked []string
	for range 3 {
		b, err := s.Book(t.Context(), box(d, 1, 10000, 0, 4))
		if err != nil {
			t.Fatal(err)
		}
		booked = append(booked, b.Container)
	}
	if _, err := pool.Exec(t.Context(), `UPDATE bookings SET status = $1 WHERE equipment_reference = $2`, pgstore.BookingCancelled, booked[2]); err != nil {
		t.Fatal(err)
	}
	ask := []string{booked[0], "SCDU9999990", booked[1], booked[0], booked[2]}
	var got map[string]bool
	if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		var err error
		got, err = s.Booked(t.Context(), tx, ask)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{booked[0], booked[1]}
	slices.Sort(want)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Fatalf("booked of %v: %v, want %v", ask, keys, want)
	}
	if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		var err error
		got, err = s.Booked(t.Context(), tx, nil)
		return err
	}); err != nil || len(got) != 0 {
		t.Fatalf("booked of none: %v, %v", got, err)
	}
}
