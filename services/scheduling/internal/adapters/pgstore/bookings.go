package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// BookingSpec asks for one container on a departure, from stop FromSeq to stop ToSeq.
type BookingSpec struct {
	DepartureID   string
	Tenant        string // the shipper
	Container     string // ISO 6346 number, validated by the caller
	ISOCode       string // ISO 6346 size/type, e.g. 22G1, 45G1
	TEU           int    // 1 for a 20' box, 2 for a 40' or 45' box
	GrossWeightKg int64
	FromSeq       int
	ToSeq         int
}

// Booking is a container booked on a departure.
type Booking struct {
	ID            string
	DepartureID   string
	Tenant        string
	Container     string
	ISOCode       string
	TEU           int
	GrossWeightKg int64
	FromSeq       int
	ToSeq         int
	Status        string
	CreatedAt     time.Time
	Version       int
	ETA           *time.Time // arrival at the to-stop last announced; nil before the first
	WaitlistedAt  *time.Time // when it joined its route's waitlist; nil when it is not on it
}

// bookingColumns are the columns of a Booking, for a query that names the bookings table b;
// scan them with Booking.dest.
const bookingColumns = `b.id::text, b.departure_id::text, b.tenant_id, b.equipment_reference, b.iso_equipment_code,
	b.teu, b.gross_weight_kg, b.from_seq, b.to_seq, b.status, b.created_at, b.version, b.eta, b.waitlisted_at`

// dest returns the scan destinations of bookingColumns, followed by extra.
func (b *Booking) dest(extra ...any) []any {
	return append([]any{&b.ID, &b.DepartureID, &b.Tenant, &b.Container, &b.ISOCode, &b.TEU, &b.GrossWeightKg,
		&b.FromSeq, &b.ToSeq, &b.Status, &b.CreatedAt, &b.Version, &b.ETA, &b.WaitlistedAt}, extra...)
}

// collectBookings reads rows of bookingColumns.
func collectBookings(rows pgx.Rows) ([]Booking, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Booking, error) {
		var b Booking
		err := row.Scan(b.dest()...)
		return b, err
	})
}

// Booking statuses.
const (
	BookingConfirmed = "confirmed"
	BookingCancelled = "cancelled"
)

// Reasons a booking does not fit.
const (
	ReasonTEU    = "TEU"
	ReasonWeight = "weight"
)

// CapacityError says that a booking does not fit: which segment is full and by what. It wraps
// apperr.ErrConflict.
type CapacityError struct {
	Segment  int    // seq of the segment (from stop Segment to Segment+1)
	From, To string // UN/LOCODE of its ends
	Reason   string // ReasonTEU or ReasonWeight
	Capacity int64  // TEU or kg
	Booked   int64  // TEU or kg already booked
}

// Error implements error.
func (e *CapacityError) Error() string {
	unit := " TEU"
	if e.Reason == ReasonWeight {
		unit = " kg"
	}
	return "no room on segment " + strconv.Itoa(e.Segment) + " " + e.From + "-" + e.To + " by " + e.Reason + ": " +
		strconv.FormatInt(e.Booked, 10) + " of " + strconv.FormatInt(e.Capacity, 10) + unit + " booked"
}

// Unwrap makes errors.Is(err, apperr.ErrConflict) hold.
func (e *CapacityError) Unwrap() error { return apperr.ErrConflict }

// Book puts one container on a departure in one transaction: it inserts the booking and adds
// its TEU and weight to every segment it uses. The CHECKs on departure_segments refuse the
// update when any segment would go over capacity; that comes back as a *CapacityError. The
// segment rows are locked in order first, so racing bookings queue on them instead of
// deadlocking, and each sees what the ones before it booked.
//
// Errors: *apperr.ValidationError for bad input (including stops outside the route),
// apperr.ErrNotFound for an unknown departure, apperr.ErrConflict when the departure is not open,
// its cut-off has passed or the container is already on it.
func (s *Store) Book(ctx context.Context, spec BookingSpec) (Booking, error) {
	return s.BookThen(ctx, spec, nil)
}

// BookThen is Book with a hook: then runs in the booking's transaction after the booking fits,
// so what it writes (e.g. the outbox message announcing the booking) commits with it or not at
// all. An error from then rolls the booking back and is returned as is.
func (s *Store) BookThen(ctx context.Context, spec BookingSpec, then func(tx pgx.Tx, b Booking) error) (Booking, error) {
	res, err := s.BookBatch(ctx, spec.DepartureID, []BookingAttempt{{Spec: spec, Then: then}})
	if err != nil {
		return Booking{}, err
	}
	return res[0].Booking, res[0].Err
}

// BookingAttempt is one booking of a batch: what to book and the hook that runs with it.
type BookingAttempt struct {
	Spec BookingSpec
	Then func(tx pgx.Tx, b Booking) error // may be nil
}

// BookingResult is what became of one BookingAttempt: the booking, or why it was refused.
type BookingResult struct {
	Booking Booking
	Err     error
}

// BookBatch books several containers on one departure in ONE transaction, in the order given,
// and returns what became of each: an attempt that does not fit, names a container already on
// the departure or is invalid gets its own error; the others commit together. It is Book's group
// commit: bookings racing for one departure queue on the same segment rows and hold their locks
// through the commit's WAL flush, so one flush for many bookings multiplies the throughput.
//
// Under the segment locks the batch decides in order which attempts fit, from the booked TEU and
// weight it read and what the attempts before took; it then adds what the accepted ones take to
// every segment in one UPDATE, which the CHECKs on departure_segments still guard: the totals
// only grow, so if the final ones are within capacity, so was every step. Were they not, the
// transaction fails whole and nothing is booked.
//
// A hook (Then) runs for each booking made, in the transaction; its error fails the whole batch.
// The error returned (with nil results) is such a fault: nothing was booked. Every attempt's
// Spec.DepartureID must be departureID.
func (s *Store) BookBatch(ctx context.Context, departureID string, attempts []BookingAttempt) ([]BookingResult, error) {
	results := make([]BookingResult, len(attempts))
	pending := make([]int, 0, len(attempts))
	lo, hi := -1, -1
	for i, a := range attempts {
		err := a.Spec.validate()
		if err == nil && a.Spec.DepartureID != departureID {
			err = apperr.Invalid("departureId", "must be "+departureID+" in this batch")
		}
		if err != nil {
			results[i].Err = err
			continue
		}
		pending = append(pending, i)
		if lo < 0 || a.Spec.FromSeq < lo {
			lo = a.Spec.FromSeq
		}
		hi = max(hi, a.Spec.ToSeq)
	}
	if len(pending) == 0 {
		return results, nil
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		for _, i := range pending { // a retried transaction starts over
			results[i] = BookingResult{}
		}
		var status string
		var pastCutoff bool
		var stops int
		// FOR SHARE: the departure cannot be closed or cancelled while bookings go in.
		err := tx.QueryRow(ctx, `
			SELECT status, now() > cutoff_at,
				(SELECT count(*) FROM departure_stops s WHERE s.departure_id = d.id)
			FROM departures d WHERE id = $1::text::uuid FOR SHARE OF d`, departureID).Scan(&status, &pastCutoff, &stops)
		var refuse error
		switch _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); {
		case bad || errors.Is(err, pgx.ErrNoRows):
			refuse = fmt.Errorf("departure %s: %w", departureID, apperr.ErrNotFound)
		case err != nil:
			return err
		case status != StatusOpen:
			refuse = fmt.Errorf("departure %s is %s, not open for booking: %w", departureID, status, apperr.ErrConflict)
		case pastCutoff:
			refuse = fmt.Errorf("departure %s: the booking cut-off has passed: %w", departureID, apperr.ErrConflict)
		}
		if refuse != nil {
			return refusal{refuse} // rolls back: the lookup may have failed the transaction
		}
		// Lock every segment the batch uses, in order: batches with overlapping ranges queue
		// here instead of deadlocking, and what is booked cannot change until the commit.
		segs, err := segments(ctx, tx, departureID, lo, min(hi, stops-1), true)
		if err != nil {
			return err
		}
		taken := make([]Segment, len(segs)) // TEUBooked/WeightBookedKg: what this batch adds
		for _, i := range pending {
			spec := attempts[i].Spec
			if spec.ToSeq >= stops {
				results[i].Err = apperr.Invalid("toSeq", "the departure has stops 0 to "+strconv.Itoa(stops-1))
				continue
			}
			use := segs[spec.FromSeq-lo : spec.ToSeq-lo]
			if ce := noRoom(use, taken[spec.FromSeq-lo:spec.ToSeq-lo], spec); ce != nil {
				results[i].Err = ce
				continue
			}
			b, err := insertBooking(ctx, tx, spec)
			if errors.Is(err, apperr.ErrConflict) {
				results[i].Err = err
				continue
			}
			if err != nil {
				return err
			}
			for j := spec.FromSeq - lo; j < spec.ToSeq-lo; j++ {
				taken[j].TEUBooked += spec.TEU
				taken[j].WeightBookedKg += spec.GrossWeightKg
			}
			if then := attempts[i].Then; then != nil {
				if err := then(tx, b); err != nil {
					return err
				}
			}
			results[i].Booking = b
		}
		seqs, teu, kg := make([]int, 0, len(segs)), make([]int, 0, len(segs)), make([]int64, 0, len(segs))
		for j, g := range segs {
			if taken[j].TEUBooked > 0 || taken[j].WeightBookedKg > 0 {
				seqs, teu, kg = append(seqs, g.Seq), append(teu, taken[j].TEUBooked), append(kg, taken[j].WeightBookedKg)
			}
		}
		if len(seqs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `
			UPDATE departure_segments g SET teu_booked = g.teu_booked + t.teu, weight_booked_kg = g.weight_booked_kg + t.kg
			FROM unnest($2::integer[], $3::integer[], $4::bigint[]) AS t(seq, teu, kg)
			WHERE g.departure_id = $1 AND g.seq = t.seq`, departureID, seqs, teu, kg)
		return err // a CHECK failing here is a bug above: the batch fails whole, nothing is booked
	})
	var r refusal
	if errors.As(err, &r) {
		for _, i := range pending {
			results[i].Err = r.err
		}
		return results, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: book: %w", err)
	}
	return results, nil
}

// refusal is the departure refusing every booking of a batch (unknown, not open, past cut-off).
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

// noRoom says why spec does not fit on segs, given what the batch has taken of each so far (same
// indexes), or returns nil when it fits: the first segment short of TEU, else of weight.
func noRoom(segs, taken []Segment, spec BookingSpec) *CapacityError {
	for _, byWeight := range []bool{false, true} {
		for j, g := range segs {
			e := &CapacityError{Segment: g.Seq, From: g.From, To: g.To, Reason: ReasonTEU,
				Capacity: int64(g.TEUCapacity), Booked: int64(g.TEUBooked + taken[j].TEUBooked)}
			need := int64(spec.TEU)
			if byWeight {
				e.Reason, e.Capacity, e.Booked = ReasonWeight, g.WeightCapacityKg, g.WeightBookedKg+taken[j].WeightBookedKg
				need = spec.GrossWeightKg
			}
			if e.Booked+need > e.Capacity {
				return e
			}
		}
	}
	return nil
}

// insertBooking inserts a confirmed booking with its ETA (the planned arrival at its to-stop).
// A container already on the departure is apperr.ErrConflict, and leaves tx usable.
func insertBooking(ctx context.Context, tx pgx.Tx, spec BookingSpec) (Booking, error) {
	var b Booking
	err := tx.QueryRow(ctx, `
		INSERT INTO bookings AS b (departure_id, tenant_id, equipment_reference, iso_equipment_code, teu,
			gross_weight_kg, from_seq, to_seq, status, eta)
		VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7, $8, $9,
			(SELECT planned_arrival_at FROM departure_stops WHERE departure_id = $1::text::uuid AND seq = $8))
		ON CONFLICT (departure_id, equipment_reference) WHERE status <> 'cancelled' DO NOTHING
		RETURNING `+bookingColumns,
		spec.DepartureID, spec.Tenant, spec.Container, spec.ISOCode, spec.TEU, spec.GrossWeightKg,
		spec.FromSeq, spec.ToSeq, BookingConfirmed).Scan(b.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Booking{}, fmt.Errorf("container %s is already booked on departure %s: %w", spec.Container, spec.DepartureID, apperr.ErrConflict)
	}
	return b, err
}

// capacityError names the segment that refused spec, from the locked rows the failed update saw.
func capacityError(segs []Segment, constraint string, spec BookingSpec) *CapacityError {
	byWeight := constraint == "departure_segments_weight_check"
	var worst *CapacityError
	for _, g := range segs {
		e := &CapacityError{Segment: g.Seq, From: g.From, To: g.To, Reason: ReasonTEU,
			Capacity: int64(g.TEUCapacity), Booked: int64(g.TEUBooked)}
		need := int64(spec.TEU)
		if byWeight {
			e.Reason, e.Capacity, e.Booked, need = ReasonWeight, g.WeightCapacityKg, g.WeightBookedKg, spec.GrossWeightKg
		}
		if e.Booked+need > e.Capacity {
			return e // the first segment without room
		}
		if worst == nil || e.Capacity-e.Booked < worst.Capacity-worst.Booked {
			worst = e
		}
	}
	if worst == nil { // no segments at all: cannot happen for a validated range
		worst = &CapacityError{Segment: spec.FromSeq, Reason: ReasonTEU}
	}
	return worst
}

func (spec BookingSpec) validate() error {
	v := &apperr.ValidationError{}
	if spec.DepartureID == "" {
		v.Add("departureId", "is required")
	}
	if spec.Tenant == "" {
		v.Add("tenant", "is required")
	}
	if spec.Container == "" {
		v.Add("container", "is required")
	}
	if spec.ISOCode == "" {
		v.Add("isoCode", "is required")
	}
	if spec.TEU != 1 && spec.TEU != 2 {
		v.Add("teu", "is 1 (20') or 2 (40', 45')")
	}
	if spec.GrossWeightKg <= 0 {
		v.Add("grossWeightKg", "must be positive")
	}
	if spec.FromSeq < 0 {
		v.Add("fromSeq", "must not be negative")
	}
	if spec.ToSeq <= spec.FromSeq {
		v.Add("toSeq", "must be after fromSeq")
	}
	return v.Err()
}

// Booking returns a booking by id; apperr.ErrNotFound when there is none.
func (s *Store) Booking(ctx context.Context, id string) (Booking, error) {
	var b Booking
	err := s.db.QueryRow(ctx, `
		SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1::text::uuid`, id).Scan(b.dest()...)
	if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad || errors.Is(err, pgx.ErrNoRows) {
		return Booking{}, fmt.Errorf("booking %s: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return Booking{}, fmt.Errorf("pgstore: booking %s: %w", id, err)
	}
	return b, nil
}
