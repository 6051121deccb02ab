package scheduling

import (
	"context"
	"fmt"
	"sort"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Limits for loading 20-foot boxes in pairs on one wagon.
const (
	PairMaxKg  int64 = 24_000 // each box of a pair weighs at most this
	PairDiffKg int64 = 5_000  // the two boxes of a pair differ by less than this
)

// Reasons a 20-foot box is left unpaired.
const (
	UnpairedOverweight = "over 24 t"
	UnpairedNoPartner  = "no partner within 5 t"
)

// Pair is two 20-foot boxes loaded together, the lighter first.
type Pair struct{ A, B pgstore.Booking }

// Unpaired is a 20-foot box that travels alone, and why.
type Unpaired struct {
	Booking pgstore.Booking
	Reason  string
}

// PairTwenties pairs 20-foot boxes greedily by weight: sorted by gross weight (then id), each box
// is paired with its next neighbour when both weigh at most PairMaxKg and they differ by less
// than PairDiffKg; otherwise it stays unpaired. Boxes over PairMaxKg are never paired.
func PairTwenties(boxes []pgstore.Booking) ([]Pair, []Unpaired) {
	sorted := append([]pgstore.Booking(nil), boxes...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].GrossWeightKg != sorted[j].GrossWeightKg {
			return sorted[i].GrossWeightKg < sorted[j].GrossWeightKg
		}
		return sorted[i].ID < sorted[j].ID
	})
	var pairs []Pair
	var unpaired []Unpaired
	for i := 0; i < len(sorted); i++ {
		a := sorted[i]
		if a.GrossWeightKg > PairMaxKg {
			unpaired = append(unpaired, Unpaired{Booking: a, Reason: UnpairedOverweight})
			continue
		}
		if i+1 < len(sorted) {
			b := sorted[i+1]
			if b.GrossWeightKg <= PairMaxKg && b.GrossWeightKg-a.GrossWeightKg < PairDiffKg {
				pairs = append(pairs, Pair{A: a, B: b})
				i++
				continue
			}
		}
		unpaired = append(unpaired, Unpaired{Booking: a, Reason: UnpairedNoPartner})
	}
	return pairs, unpaired
}

// Manifest is what a departure carries: its segments with totals, its bookings in booking
// order, the pairing of its 20-foot boxes and its waitlist.
type Manifest struct {
	Departure pgstore.Departure
	Totals    bool // false for a shipper: segment totals include other tenants, so they are left out
	Bookings  []pgstore.Booking
	Pairs     []Pair
	Unpaired  []Unpaired
	Waitlist  []pgstore.Booking
}

// Manifest returns a departure's manifest. Dispatchers (and admins) see everything. The 20-foot
// boxes are paired over the whole departure (that is how the train is loaded). A shipper sees
// only its own tenant's bookings and waitlist, the pairs of which both boxes are its own, its own
// unpaired boxes, and no segment totals (they include other tenants' cargo); a box of its paired
// with another tenant's box is listed among its bookings only. A shipper with no booking on the
// departure gets apperr.ErrNotFound. Cancelled bookings are left out; waitlisted ones are
// listed only in the waitlist.
func (s *Scheduler) Manifest(ctx context.Context, p auth.Principal, id string) (Manifest, error) {
	d, err := s.store.Departure(ctx, id)
	if err != nil {
		return Manifest{}, err
	}
	all, err := s.store.DepartureBookings(ctx, d.ID)
	if err != nil {
		return Manifest{}, err
	}
	shipper := p.Role == auth.RoleShipper
	m := Manifest{Departure: d, Totals: !shipper}
	visible := func(b pgstore.Booking) bool { return !shipper || b.Tenant == p.Tenant }
	var twenties []pgstore.Booking
	for _, b := range all {
		switch {
		case b.Status == pgstore.BookingCancelled:
		case b.Status == pgstore.BookingWaitlisted:
			if visible(b) {
				m.Waitlist = append(m.Waitlist, b)
			}
		default:
			if b.TEU == 1 {
				twenties = append(twenties, b)
			}
			if visible(b) {
				m.Bookings = append(m.Bookings, b)
			}
		}
	}
	if shipper && len(m.Bookings) == 0 && len(m.Waitlist) == 0 {
		return Manifest{}, fmt.Errorf("manifest of departure %s: %w", id, apperr.ErrNotFound)
	}
	pairs, unpaired := PairTwenties(twenties)
	for _, pr := range pairs {
		if visible(pr.A) && visible(pr.B) {
			m.Pairs = append(m.Pairs, pr)
		}
	}
	for _, u := range unpaired {
		if visible(u.Booking) {
			m.Unpaired = append(m.Unpaired, u)
		}
	}
	return m, nil
}
