package pgstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Bookings that find no room when their departure is cancelled join the route's waitlist in
// booking order; room made later places them in that order, confirmed.
func TestWaitlistPromotedInOrder(t *testing.T) {
	s, _ := newStore(t)
	const route = "SCO-KZ-ALA"
	a := openDeparture(t, s, route, 0, 0, 0)
	later := departureAt.Add(24 * time.Hour)
	b, err := s.CreateDeparture(t.Context(), pgstore.DepartureSpec{Route: route, TrainNumber: "X8026",
		PlannedDeparture: later, Cutoff: later.Add(-12 * time.Hour), Status: pgstore.StatusOpen, TEUCN: 2, TEUAbroad: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		bk, err := s.Book(t.Context(), box(a, 2, 20000, 0, 4))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, bk.ID)
	}
	c, err := s.CancelThen(t.Context(), a.ID, a.Version, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Moved) != 1 || c.Moved[0].Booking.ID != ids[0] || len(c.Waitlisted) != 2 {
		t.Fatalf("cancellation %+v", c)
	}
	w, err := s.Waitlist(t.Context(), route)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || w[0].Booking.ID != ids[1] || w[0].Position != 1 || w[1].Booking.ID != ids[2] || w[1].Position != 2 ||
		w[0].From != "CNJZH" || w[0].To != "KZALA" || w[0].TrainNumber != "X8024" {
		t.Fatalf("waitlist %+v", w)
	}
	if !w[0].Booking.WaitlistedAt.Before(*w[1].Booking.WaitlistedAt) {
		t.Errorf("waitlisted at %v and %v: not in booking order", w[0].Booking.WaitlistedAt, w[1].Booking.WaitlistedAt)
	}
	var ps []pgstore.Promotion
	if _, err := s.SetCapacityThen(t.Context(), b.ID, b.Version, pgstore.CapacitySpec{TEUCN: 4, TEUAbroad: 4, WeightKg: 1_000_000},
		func(tx pgx.Tx, _, _ pgstore.Departure) error {
			var err error
			ps, err = s.PromoteWaitlist(t.Context(), tx, route, time.Now())
			return err
		}); err != nil {
		t.Fatal(err)
	}
	// Room for one more FEU: the first in line gets it, the second keeps its place (now first).
	if len(ps) != 1 || ps[0].Booking.ID != ids[1] || ps[0].ToDepartureID != b.ID || ps[0].FromDepartureID != a.ID ||
		ps[0].Booking.Status != pgstore.BookingConfirmed || ps[0].Booking.WaitlistedAt != nil {
		t.Fatalf("promotions %+v", ps)
	}
	if w, err = s.Waitlist(t.Context(), route); err != nil || len(w) != 1 || w[0].Booking.ID != ids[2] || w[0].Position != 1 {
		t.Fatalf("waitlist after the promotion %+v, %v", w, err)
	}
	if got := segmentsBooked(t, s, b.ID); !slices.Equal(got, []int{4, 4, 4, 4}) {
		t.Errorf("booked on b %v, want 4 TEU everywhere", got)
	}
	if _, err := s.Waitlist(t.Context(), "NO-SUCH"); err == nil {
		t.Error("the waitlist of an unknown route")
	}
}
