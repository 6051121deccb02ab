package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

func TestRaiseExceptionOncePerKey(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	b, err := s.Book(t.Context(), box(d, 2, 20000, 0, 4))
	if err != nil {
		t.Fatal(err)
	}
	raise := func(e pgstore.Exception) bool {
		t.Helper()
		var raised bool
		if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			raised, err = s.RaiseException(t.Context(), tx, e)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return raised
	}
	late := pgstore.Exception{Key: "departure_late:" + d.ID, Kind: pgstore.ExceptionDepartureLate, DepartureID: d.ID, Detail: "3h late"}
	missed := pgstore.Exception{Key: "missed_cutoff:" + b.ID, Kind: pgstore.ExceptionMissedCutoff, DepartureID: d.ID,
		BookingID: b.ID, Tenant: b.Tenant}
	if !raise(late) || raise(late) || !raise(missed) || raise(missed) {
		t.Fatal("an exception was not raised exactly once per key")
	}

	all, err := s.Exceptions(t.Context(), pgstore.ExceptionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d exceptions, want 2", len(all))
	}
	mine, err := s.Exceptions(t.Context(), pgstore.ExceptionFilter{Limit: 10, Tenant: b.Tenant, TenantOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].Key != missed.Key || mine[0].EquipmentReference != b.Container || mine[0].Route != "SCO-KZ-ALA" {
		t.Fatalf("the tenant's exceptions: %+v", mine)
	}
	// Keyset paging: after the first, only the second.
	rest, err := s.Exceptions(t.Context(), pgstore.ExceptionFilter{Limit: 10,
		After: &paging.Cursor{At: all[0].RaisedAt, ID: all[0].Key}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].Key != all[1].Key {
		t.Fatalf("after %s: %+v", all[0].Key, rest)
	}
}

// SweepNext takes each departure with work due once per sweep, skips one another transaction
// holds, and closes an open departure past its cut-off.
func TestSweepNextSharesTheWork(t *testing.T) {
	s, pool := newStore(t)
	a := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	b := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	booked, err := s.Book(t.Context(), box(a, 2, 20000, 0, 4))
	if err != nil {
		t.Fatal(err)
	}
	now := departureAt.Add(-time.Hour) // past both cut-offs

	// Another replica holds b.
	hold, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(context.Background()) }()
	if _, err := hold.Exec(t.Context(), `SELECT 1 FROM departures WHERE id = $1 FOR UPDATE`, b.ID); err != nil {
		t.Fatal(err)
	}
	var got pgstore.Due
	id, found, err := s.SweepNext(t.Context(), now, time.Hour, nil, func(_ pgx.Tx, due pgstore.Due) error {
		got = due
		return nil
	})
	if err != nil || !found || id != a.ID {
		t.Fatalf("SweepNext = %s, %v, %v; want %s", id, found, err, a.ID)
	}
	if !got.Closed || got.Departure.Status != pgstore.StatusClosed || got.Departure.Version != a.Version+1 ||
		len(got.Missed) != 1 || got.Missed[0].ID != booked.ID {
		t.Fatalf("due %+v", got)
	}
	// a is done for this sweep and b is held: nothing else to take.
	if id, found, err := s.SweepNext(t.Context(), now, time.Hour, []string{a.ID}, nil); err != nil || found {
		t.Fatalf("SweepNext with b held = %s, %v, %v; want nothing", id, found, err)
	}
	if err := hold.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	var taken []string
	for range 3 {
		id, found, err := s.SweepNext(t.Context(), now, time.Hour, taken, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			break
		}
		taken = append(taken, id)
	}
	// a still has a confirmed booking without its exception, so it is due again; b is now free.
	slices.Sort(taken)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(taken, want) {
		t.Fatalf("taken %v, want %v", taken, want)
	}
	d, err := s.Departure(t.Context(), b.ID)
	if err != nil || d.Status != pgstore.StatusClosed {
		t.Fatalf("b after the sweep: %+v, %v", d, err)
	}
}
