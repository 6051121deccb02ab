package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Many dispatchers change the same departure from the same read: exactly one wins, the rest
// are told the departure has changed.
func TestChangesFromTheSameVersionOneWins(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, errs[i] = s.DelayThen(context.Background(), d.ID, d.Version, time.Hour, nil)
			} else {
				_, errs[i] = s.SetCapacityThen(context.Background(), d.ID, d.Version, pgstore.CapacitySpec{TEUCN: 10, TEUAbroad: 10, WeightKg: 1000}, nil)
			}
		}()
	}
	wg.Wait()
	ok, stale := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, apperr.ErrPreconditionFailed):
			stale++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	got, err := s.Departure(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || stale != n-1 || got.Version != d.Version+1 {
		t.Fatalf("%d won, %d stale, version %d; want 1, %d, %d", ok, stale, got.Version, n-1, d.Version+1)
	}
}

func TestChangeUnknownOrStale(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name, id string
		version  int
		want     error
	}{
		{"unknown", "00000000-0000-0000-0000-000000000000", 1, apperr.ErrNotFound},
		{"not a uuid", "nope", 1, apperr.ErrNotFound},
		{"stale", d.ID, d.Version + 1, apperr.ErrPreconditionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.DelayThen(ctx, tc.id, tc.version, time.Hour, nil); !errors.Is(err, tc.want) {
				t.Errorf("delay: %v, want %v", err, tc.want)
			}
			if _, err := s.SetCapacityThen(ctx, tc.id, tc.version, pgstore.CapacitySpec{}, nil); !errors.Is(err, tc.want) {
				t.Errorf("capacity: %v, want %v", err, tc.want)
			}
		})
	}
	// A failing hook rolls the change back, version included.
	boom := errors.New("boom")
	if _, err := s.DelayThen(ctx, d.ID, d.Version, time.Hour, func(pgx.Tx, pgstore.Departure, pgstore.Departure, []pgstore.Booking) error {
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("hook error %v", err)
	}
	got, err := s.Departure(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != d.Version || !got.Stops[1].PlannedArrival.Equal(*d.Stops[1].PlannedArrival) {
		t.Fatalf("a rolled-back delay left version %d, stop 1 at %v", got.Version, got.Stops[1].PlannedArrival)
	}
}

// A delay moves only what is still to come: stops the train has left keep their plan, and a
// stop it has reached but not left keeps its planned arrival.
func TestDelaySkipsWhatHasHappened(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
		UPDATE departure_stops SET actual_arrival_at = planned_arrival_at,
			actual_departure_at = CASE WHEN seq < 1 THEN planned_departure_at END
		WHERE departure_id = $1 AND seq <= 1`, d.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.DelayThen(ctx, d.ID, d.Version, 2*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := func(a, b *time.Time) time.Duration {
		if a == nil || b == nil {
			return -1
		}
		return b.Sub(*a)
	}
	if !got.PlannedDeparture.Equal(d.PlannedDeparture) || moved(d.Stops[0].PlannedDeparture, got.Stops[0].PlannedDeparture) != 0 {
		t.Errorf("origin, already left, moved: %v -> %v", d.Stops[0].PlannedDeparture, got.Stops[0].PlannedDeparture)
	}
	if moved(d.Stops[1].PlannedArrival, got.Stops[1].PlannedArrival) != 0 || moved(d.Stops[1].PlannedDeparture, got.Stops[1].PlannedDeparture) != 2*time.Hour {
		t.Errorf("stop 1 (arrived, not left): %+v -> %+v", d.Stops[1], got.Stops[1])
	}
	for i := 2; i < len(got.Stops); i++ {
		if moved(d.Stops[i].PlannedArrival, got.Stops[i].PlannedArrival) != 2*time.Hour {
			t.Errorf("stop %d arrival not moved by 2h: %v -> %v", i, d.Stops[i].PlannedArrival, got.Stops[i].PlannedArrival)
		}
	}
	if got.Version != d.Version+1 {
		t.Errorf("version %d, want %d", got.Version, d.Version+1)
	}
}
