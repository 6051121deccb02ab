package pgstore

import (
	"github.com/scodalabs/scoda/pkg/postgres"

	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
)

// DefaultWeightCapacityKg is the gross cargo weight a train may carry, on every segment, unless
// a departure says otherwise (1,300 t).
const DefaultWeightCapacityKg int64 = 1_300_000

// Departure statuses.
const (
	StatusPlanned   = "planned"
	StatusOpen      = "open" // accepting bookings until the cut-off
	StatusClosed    = "closed"
	StatusDeparted  = "departed"
	StatusArrived   = "arrived"
	StatusCancelled = "cancelled"
)

// DepartureSpec describes a departure to create. The capacity fields override the route's
// defaults when set (> 0).
type DepartureSpec struct {
	Route            string
	TrainNumber      string
	PlannedDeparture time.Time // from the origin
	Cutoff           time.Time // last moment to book; not after PlannedDeparture
	Status           string    // "" is planned; planned or open

	TEUCN     int   // TEU per segment on the Chinese section; default route FEUCN*2
	TEUAbroad int   // TEU per segment beyond the first border; default route FEUAbroad*2
	WeightKg  int64 // gross kg per segment; default DefaultWeightCapacityKg

	// A run generated from a timetable names it and its service date (the origin's local
	// date); "" and the zero time for a departure planned by hand. A timetable has at most one
	// run per service date: creating another is ErrRunExists and changes nothing.
	TimetableID string
	ServiceDate time.Time
}

// ErrRunExists says a timetable already has a run on the service date (apperr.ErrConflict).
var ErrRunExists = fmt.Errorf("the timetable already has a run on that service date: %w", apperr.ErrConflict)

// Departure is a dated train run on a route.
type Departure struct {
	ID               string
	Route            string
	TrainNumber      string
	Status           string
	Cutoff           time.Time
	PlannedDeparture time.Time
	Version          int // bumped on every change; the ETag
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Stops            []DepartureStop
	Segments         []Segment // Segments[i] runs from Stops[i] to Stops[i+1]
}

// DepartureStop holds the planned and actual times of a departure at one stop. A nil time is
// not known (or does not apply: no arrival at the origin, no departure at the destination).
type DepartureStop struct {
	Seq              int
	UNLocationCode   string
	PlannedArrival   *time.Time
	PlannedDeparture *time.Time
	ActualArrival    *time.Time
	ActualDeparture  *time.Time

	// The plan as first made, before any delay: lateness is measured from it.
	BaselineArrival   *time.Time
	BaselineDeparture *time.Time
}

// Segment is the leg from stop Seq to stop Seq+1 with its capacity and what is booked on it.
type Segment struct {
	Seq              int
	From, To         string // UN/LOCODE
	TEUCapacity      int
	TEUBooked        int
	WeightCapacityKg int64
	WeightBookedKg   int64
}

// CreateDeparture creates a departure on a route with its planned stop times (see
// PlanStopTimes) and its segment capacities: a segment that starts before the first stop in a
// country other than the origin's runs on the Chinese section (TEUCN); every later one is
// abroad (TEUAbroad). The segment that crosses the border is still run by the origin-side train,
// so it counts as Chinese.
func (s *Store) CreateDeparture(ctx context.Context, spec DepartureSpec) (Departure, error) {
	return s.CreateDepartureThen(ctx, spec, nil)
}

// CreateDepartureThen is CreateDeparture with a hook: then runs in the same transaction with
// the new departure, so what it writes (e.g. the outbox message announcing it) commits with it.
// An error from then rolls the departure back and is returned wrapped.
func (s *Store) CreateDepartureThen(ctx context.Context, spec DepartureSpec, then func(tx pgx.Tx, d Departure, r Route) error) (Departure, error) {
	if err := spec.validate(); err != nil {
		return Departure{}, err
	}
	if spec.Status == "" {
		spec.Status = StatusPlanned
	}
	var out Departure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := route(ctx, tx, spec.Route)
		if errors.Is(err, apperr.ErrNotFound) {
			return apperr.Invalid("route", "no route "+spec.Route)
		}
		if err != nil {
			return err
		}
		var id string
		var timetable, serviceDate any // NULL for a departure planned by hand
		if spec.TimetableID != "" {
			timetable, serviceDate = spec.TimetableID, spec.ServiceDate
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO departures (route_code, train_number, status, cutoff_at, planned_departure_at, timetable_id, service_date)
			VALUES ($1, $2, $3, $4, $5, $6::text::uuid, $7::date)
			ON CONFLICT (timetable_id, service_date) WHERE timetable_id IS NOT NULL DO NOTHING
			RETURNING id::text`,
			r.Code, spec.TrainNumber, spec.Status, spec.Cutoff, spec.PlannedDeparture, timetable, serviceDate).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRunExists
		}
		if err != nil {
			return err
		}
		teuCN, teuAbroad, weight := r.FEUCN*2, r.FEUAbroad*2, DefaultWeightCapacityKg
		if spec.TEUCN > 0 {
			teuCN = spec.TEUCN
		}
		if spec.TEUAbroad > 0 {
			teuAbroad = spec.TEUAbroad
		}
		if spec.WeightKg > 0 {
			weight = spec.WeightKg
		}
		abroad := firstAbroad(r.Stops)
		times := PlanStopTimes(r, spec.PlannedDeparture)
		b := &pgx.Batch{}
		for i, st := range r.Stops {
			b.Queue(`INSERT INTO departure_stops (departure_id, seq, un_location_code, planned_arrival_at, planned_departure_at,
				baseline_arrival_at, baseline_departure_at)
				VALUES ($1, $2, $3, $4, $5, $4, $5)`, id, st.Seq, st.UNLocationCode, times[i].Arrival, times[i].Departure)
			if i == len(r.Stops)-1 {
				break
			}
			teu := teuCN
			if i >= abroad {
				teu = teuAbroad
			}
			b.Queue(`INSERT INTO departure_segments (departure_id, seq, teu_capacity, weight_capacity_kg)
				VALUES ($1, $2, $3, $4)`, id, st.Seq, teu, weight)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out, err = departure(ctx, tx, id)
		if err != nil || then == nil {
			return err
		}
		return then(tx, out, r)
	})
	if err != nil {
		var ve *apperr.ValidationError
		if errors.As(err, &ve) || errors.Is(err, ErrRunExists) {
			return Departure{}, err
		}
		return Departure{}, fmt.Errorf("pgstore: create departure: %w", err)
	}
	return out, nil
}

func (spec DepartureSpec) validate() error {
	v := &apperr.ValidationError{}
	if spec.Route == "" {
		v.Add("route", "is required")
	}
	if spec.TrainNumber == "" {
		v.Add("trainNumber", "is required")
	}
	if spec.PlannedDeparture.IsZero() {
		v.Add("plannedDeparture", "is required")
	}
	if spec.Cutoff.IsZero() {
		v.Add("cutoff", "is required")
	} else if spec.Cutoff.After(spec.PlannedDeparture) {
		v.Add("cutoff", "is after the planned departure")
	}
	switch spec.Status {
	case "", StatusPlanned, StatusOpen:
	default:
		v.Add("status", "a new departure is planned or open")
	}
	if spec.TEUCN < 0 || spec.TEUAbroad < 0 || spec.WeightKg < 0 {
		v.Add("capacity", "must not be negative")
	}
	if spec.TimetableID != "" && spec.ServiceDate.IsZero() {
		v.Add("serviceDate", "is required for a run of a timetable")
	}
	return v.Err()
}

// firstAbroad is the index of the first stop in a country other than the origin's
// (len(stops) when the route never leaves it).
func firstAbroad(stops []Stop) int {
	for i, st := range stops {
		if st.Country != stops[0].Country {
			return i
		}
	}
	return len(stops)
}

// StopTimes are the planned times at one stop; nil where they do not apply.
type StopTimes struct {
	Arrival, Departure *time.Time
}

// PlanStopTimes plans a departure's times at every stop of r when it leaves the origin at dep.
//
// The rule: the train arrives at the destination TransitDays*24h after it leaves the origin.
// Each intermediate stop keeps its planned dwell (DwellBreakOfGauge, DwellBorder,
// DwellTransit); the rest of that time is running time, spread over the segments in proportion
// to their great-circle length (evenly when no lengths are known). If the dwells alone would
// take more than half of the transit time they are scaled down to half. Times are rounded to the
// minute; the destination arrival is exact.
func PlanStopTimes(r Route, dep time.Time) []StopTimes {
	n := len(r.Stops)
	total := time.Duration(r.TransitDays) * 24 * time.Hour
	var dwellSum time.Duration
	var kmSum int
	for i, st := range r.Stops {
		if i > 0 && i < n-1 {
			dwellSum += st.Dwell
		}
		kmSum += st.KmFromPrev
	}
	scale := 1.0
	if dwellSum > total/2 {
		scale = float64(total/2) / float64(dwellSum)
		dwellSum = total / 2
	}
	running := total - dwellSum
	out := make([]StopTimes, n)
	d := dep
	out[0].Departure = &d
	var dwelt time.Duration
	km := 0
	for i := 1; i < n; i++ {
		km += r.Stops[i].KmFromPrev
		var share float64
		if kmSum > 0 {
			share = float64(km) / float64(kmSum)
		} else {
			share = float64(i) / float64(n-1)
		}
		arr := dep.Add(dwelt + time.Duration(share*float64(running))).Round(time.Minute)
		if i == n-1 {
			arr = dep.Add(total)
			out[i].Arrival = &arr
			break
		}
		out[i].Arrival = &arr
		dwell := time.Duration(float64(r.Stops[i].Dwell) * scale).Round(time.Minute)
		dwelt += dwell
		leave := arr.Add(dwell)
		out[i].Departure = &leave
	}
	return out
}

// Departure returns a departure with its stops and segments; apperr.ErrNotFound when there is
// none.
func (s *Store) Departure(ctx context.Context, id string) (Departure, error) {
	d, err := departure(ctx, s.db, id)
	if err != nil {
		return Departure{}, fmt.Errorf("pgstore: departure %s: %w", id, err)
	}
	return d, nil
}

func departure(ctx context.Context, db postgres.DB, id string) (Departure, error) {
	var d Departure
	err := db.QueryRow(ctx, `
		SELECT id::text, route_code, train_number, status, cutoff_at, planned_departure_at, version, created_at, updated_at
		FROM departures WHERE id = $1::text::uuid`, id).Scan(&d.ID, &d.Route, &d.TrainNumber, &d.Status, &d.Cutoff,
		&d.PlannedDeparture, &d.Version, &d.CreatedAt, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Departure{}, apperr.ErrNotFound
	}
	if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad {
		return Departure{}, apperr.ErrNotFound // not a UUID: no such departure
	}
	if err != nil {
		return Departure{}, err
	}
	rows, err := db.Query(ctx, `
		SELECT seq, un_location_code, planned_arrival_at, planned_departure_at, actual_arrival_at, actual_departure_at,
			baseline_arrival_at, baseline_departure_at
		FROM departure_stops WHERE departure_id = $1 ORDER BY seq`, d.ID)
	if err != nil {
		return Departure{}, err
	}
	d.Stops, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (DepartureStop, error) {
		var st DepartureStop
		err := row.Scan(&st.Seq, &st.UNLocationCode, &st.PlannedArrival, &st.PlannedDeparture, &st.ActualArrival, &st.ActualDeparture,
			&st.BaselineArrival, &st.BaselineDeparture)
		return st, err
	})
	if err != nil {
		return Departure{}, err
	}
	d.Segments, err = segments(ctx, db, d.ID, 0, len(d.Stops), false)
	return d, err
}

// segments reads segments [from, to) of a departure with their end stops, in order; lock takes
// their row locks (in that order, so racing bookings never deadlock).
func segments(ctx context.Context, db postgres.DB, departureID string, from, to int, lock bool) ([]Segment, error) {
	sql := `
		SELECT g.seq, a.un_location_code, b.un_location_code, g.teu_capacity, g.teu_booked,
			g.weight_capacity_kg, g.weight_booked_kg
		FROM departure_segments g
		JOIN departure_stops a ON a.departure_id = g.departure_id AND a.seq = g.seq
		JOIN departure_stops b ON b.departure_id = g.departure_id AND b.seq = g.seq + 1
		WHERE g.departure_id = $1 AND g.seq >= $2 AND g.seq < $3
		ORDER BY g.seq`
	if lock {
		sql += ` FOR UPDATE OF g`
	}
	rows, err := db.Query(ctx, sql, departureID, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Segment, error) {
		var g Segment
		err := row.Scan(&g.Seq, &g.From, &g.To, &g.TEUCapacity, &g.TEUBooked, &g.WeightCapacityKg, &g.WeightBookedKg)
		return g, err
	})
}

// DepartureRoute returns a departure with only what a booking needs to be placed and announced
// — its id, route, train number and the seq and UN/LOCODE of each stop — in one query, where
// Departure takes three; apperr.ErrNotFound when there is none.
func (s *Store) DepartureRoute(ctx context.Context, id string) (Departure, error) {
	var d Departure
	var codes []string
	err := s.db.QueryRow(ctx, `
		SELECT d.id::text, d.route_code, d.train_number,
			array(SELECT un_location_code FROM departure_stops WHERE departure_id = d.id ORDER BY seq)
		FROM departures d WHERE d.id = $1::text::uuid`, id).Scan(&d.ID, &d.Route, &d.TrainNumber, &codes)
	if _, bad := postgres.ErrorCode(err, postgres.CodeInvalidText); bad || errors.Is(err, pgx.ErrNoRows) {
		return Departure{}, fmt.Errorf("departure %s: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return Departure{}, fmt.Errorf("pgstore: departure %s: %w", id, err)
	}
	d.Stops = make([]DepartureStop, len(codes))
	for i, c := range codes {
		d.Stops[i] = DepartureStop{Seq: i, UNLocationCode: c}
	}
	return d, nil
}
