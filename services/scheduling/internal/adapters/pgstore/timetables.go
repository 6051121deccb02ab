package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the zones of timetables, also where the host has no zoneinfo (distroless)

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// Timetable is a weekly slot on a route: a train leaves the origin every Weekday at
// DepartureTime (local time in TimeZone) between ValidFrom and ValidUntil. Generating turns it
// into dated departures; changing it affects only runs generated afterwards.
type Timetable struct {
	ID            string
	Route         string
	Weekday       time.Weekday
	DepartureTime time.Duration // since local midnight, whole minutes
	TimeZone      string        // IANA zone of the origin
	TrainNumber   string
	CutoffBefore  time.Duration // a run's cut-off is this long before it leaves
	OpenBefore    time.Duration // a run opens for booking this long before it leaves
	TEUCN         *int          // nil: the route's default
	TEUAbroad     *int
	WeightKg      *int64
	ValidFrom     time.Time  // a date (UTC midnight)
	ValidUntil    *time.Time // inclusive; nil: open-ended
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Validate checks what the schema cannot: the zone is known, the durations leave the cut-off
// before the departure and after the opening, and the dates are in order.
func (t Timetable) Validate() error {
	v := &apperr.ValidationError{}
	if t.Route == "" {
		v.Add("route", "is required")
	}
	if t.Weekday < time.Sunday || t.Weekday > time.Saturday {
		v.Add("weekday", "must be monday to sunday")
	}
	if t.DepartureTime < 0 || t.DepartureTime >= 24*time.Hour || t.DepartureTime%time.Minute != 0 {
		v.Add("departureTime", "must be a time of day HH:MM")
	}
	if t.TimeZone == "" {
		v.Add("timeZone", "is required")
	} else if _, err := time.LoadLocation(t.TimeZone); err != nil || t.TimeZone == "Local" {
		v.Add("timeZone", "is not an IANA time zone, e.g. Asia/Shanghai")
	}
	if strings.TrimSpace(t.TrainNumber) == "" {
		v.Add("trainNumber", "is required")
	}
	switch {
	case t.CutoffBefore < 0:
		v.Add("cutoffBefore", "must not be negative")
	case t.CutoffBefore == 0:
		v.Add("cutoffBefore", "must be positive: the cut-off comes before the departure")
	}
	switch {
	case t.OpenBefore < 0:
		v.Add("openBefore", "must not be negative")
	case t.CutoffBefore > 0 && t.OpenBefore <= t.CutoffBefore:
		v.Add("openBefore", "must be longer than cutoffBefore: a run would open after its cut-off")
	}
	if t.TEUCN != nil && *t.TEUCN <= 0 {
		v.Add("teuChina", "must be positive (leave it out for the route's default)")
	}
	if t.TEUAbroad != nil && *t.TEUAbroad <= 0 {
		v.Add("teuAbroad", "must be positive (leave it out for the route's default)")
	}
	if t.WeightKg != nil && *t.WeightKg <= 0 {
		v.Add("weightCapacityKg", "must be positive (leave it out for the default)")
	}
	if t.ValidFrom.IsZero() {
		v.Add("validFrom", "is required")
	}
	if t.ValidUntil != nil && !t.ValidFrom.IsZero() && t.ValidUntil.Before(t.ValidFrom) {
		v.Add("validUntil", "is before validFrom")
	}
	return v.Err()
}

const timetableColumns = `id::text, route_code, weekday, departure_time, time_zone, train_number, cutoff_before,
	open_before, teu_cn, teu_abroad, weight_capacity_kg, valid_from, valid_until, version, created_at, updated_at`

func scanTimetable(row pgx.Row) (Timetable, error) {
	var t Timetable
	var weekday int16
	var at pgtype.Time
	err := row.Scan(&t.ID, &t.Route, &weekday, &at, &t.TimeZone, &t.TrainNumber, &t.CutoffBefore, &t.OpenBefore,
		&t.TEUCN, &t.TEUAbroad, &t.WeightKg, &t.ValidFrom, &t.ValidUntil, &t.Version, &t.CreatedAt, &t.UpdatedAt)
	t.Weekday = time.Weekday(weekday)
	t.DepartureTime = time.Duration(at.Microseconds) * time.Microsecond
	return t, err
}

func timeOfDay(d time.Duration) pgtype.Time {
	return pgtype.Time{Microseconds: d.Microseconds(), Valid: true}
}

// CreateTimetable stores a new timetable at version 1. An unknown route is a validation error on
// "route"; another timetable of the route at the same weekday and time is apperr.ErrConflict.
func (s *Store) CreateTimetable(ctx context.Context, t Timetable) (Timetable, error) {
	if err := t.Validate(); err != nil {
		return Timetable{}, err
	}
	var out Timetable
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := route(ctx, tx, t.Route); errors.Is(err, apperr.ErrNotFound) {
			return apperr.Invalid("route", "no route "+t.Route)
		} else if err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO timetables (route_code, weekday, departure_time, time_zone, train_number, cutoff_before, open_before,
				teu_cn, teu_abroad, weight_capacity_kg, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::date, $12::date)
			RETURNING `+timetableColumns,
			t.Route, int16(t.Weekday), timeOfDay(t.DepartureTime), t.TimeZone, t.TrainNumber, t.CutoffBefore, t.OpenBefore,
			t.TEUCN, t.TEUAbroad, t.WeightKg, t.ValidFrom, t.ValidUntil)
		var err error
		out, err = scanTimetable(row)
		if _, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation); dup {
			return fmt.Errorf("route %s already has a timetable on %s at %s: %w", t.Route,
				strings.ToLower(t.Weekday.String()), clock(t.DepartureTime), apperr.ErrConflict)
		}
		return err
	})
	if err != nil {
		return Timetable{}, passErr("create timetable", err)
	}
	return out, nil
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Timetable returns one timetable; apperr.ErrNotFound when there is none.
func (s *Store) Timetable(ctx context.Context, id string) (Timetable, error) {
	t, err := timetable(ctx, s.db, id, false)
	if err != nil {
		return Timetable{}, passErr("timetable "+id, err)
	}
	return t, nil
}

func timetable(ctx context.Context, db postgres.DB, id string, lock bool) (Timetable, error) {
	sql := `SELECT ` + timetableColumns + ` FROM timetables WHERE id = $1::text::uuid`
	if lock {
		sql += ` FOR UPDATE`
	}
	t, err := scanTimetable(db.QueryRow(ctx, sql, id))
	_, bad := postgres.ErrorCode(err, postgres.CodeInvalidText)
	if errors.Is(err, pgx.ErrNoRows) || bad {
		return Timetable{}, fmt.Errorf("timetable %s: %w", id, apperr.ErrNotFound)
	}
	return t, err
}

// Timetables lists the timetables of a route (every route when route is ""), by route, weekday
// and time.
func (s *Store) Timetables(ctx context.Context, route string) ([]Timetable, error) {
	rows, err := s.db.Query(ctx, `SELECT `+timetableColumns+` FROM timetables
		WHERE $1 = '' OR route_code = $1 ORDER BY route_code, weekday, departure_time, id`, route)
	if err != nil {
		return nil, fmt.Errorf("pgstore: timetables: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Timetable, error) { return scanTimetable(row) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: timetables: %w", err)
	}
	return out, nil
}

// UpdateTimetable changes a timetable at version: update edits a copy, which is validated and
// written with the version bumped. Departures generated already keep what they were made with.
// Errors: apperr.ErrNotFound, apperr.ErrPreconditionFailed (another version), whatever update
// returns, *apperr.ValidationError.
func (s *Store) UpdateTimetable(ctx context.Context, id string, version int, update func(*Timetable) error) (Timetable, error) {
	var out Timetable
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		t, err := timetable(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if t.Version != version {
			return fmt.Errorf("timetable %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
		}
		if err := update(&t); err != nil {
			return err
		}
		if err := t.Validate(); err != nil {
			return err
		}
		out, err = scanTimetable(tx.QueryRow(ctx, `
			UPDATE timetables SET train_number = $2, cutoff_before = $3, open_before = $4, teu_cn = $5, teu_abroad = $6,
				weight_capacity_kg = $7, valid_until = $8::date, version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING `+timetableColumns,
			t.ID, t.TrainNumber, t.CutoffBefore, t.OpenBefore, t.TEUCN, t.TEUAbroad, t.WeightKg, t.ValidUntil))
		return err
	})
	if err != nil {
		return Timetable{}, passErr("update timetable "+id, err)
	}
	return out, nil
}

// DeleteTimetable removes a timetable at version. The departures generated from it stay (they
// no longer name it).
func (s *Store) DeleteTimetable(ctx context.Context, id string, version int) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		t, err := timetable(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if t.Version != version {
			return fmt.Errorf("timetable %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
		}
		_, err = tx.Exec(ctx, `DELETE FROM timetables WHERE id = $1`, t.ID)
		return err
	})
	return passErr("delete timetable "+id, err)
}

// Run is one dated run of a timetable: when it leaves, its cut-off and the moment it opens.
type Run struct {
	ServiceDate      time.Time // the origin's local date (UTC midnight)
	PlannedDeparture time.Time
	Cutoff           time.Time
	Opens            time.Time
}

// Runs are the runs of t on the service dates from..to (inclusive, dates) that fall on its
// weekday and within its validity, in date order. A departure time that does not exist on a
// date (skipped by a daylight-saving change) is normalised by time.Date (02:30 in a skipped
// hour becomes 03:30); one that exists twice is the second of the two (standard time).
func (t Timetable) Runs(from, to time.Time) ([]Run, error) {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil, err
	}
	from, to = Date(from), Date(to)
	if from.Before(t.ValidFrom) {
		from = t.ValidFrom
	}
	if t.ValidUntil != nil && to.After(*t.ValidUntil) {
		to = *t.ValidUntil
	}
	from = from.AddDate(0, 0, (int(t.Weekday)-int(from.Weekday())+7)%7)
	hh, mm := int(t.DepartureTime/time.Hour), int(t.DepartureTime%time.Hour/time.Minute)
	var out []Run
	for d := from; !d.After(to); d = d.AddDate(0, 0, 7) {
		dep := time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, loc)
		out = append(out, Run{ServiceDate: d, PlannedDeparture: dep, Cutoff: dep.Add(-t.CutoffBefore), Opens: dep.Add(-t.OpenBefore)})
	}
	return out, nil
}

// Date is the calendar date of t (in t's location) at UTC midnight, the form dates take here.
func Date(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// GenerateSpec says which runs to generate: every timetable (of Route, when set) on the service
// dates From..To (inclusive), as of Now. Runs that have left by Now are not generated.
type GenerateSpec struct {
	From, To time.Time
	Route    string
	Now      time.Time
}

// RunHook runs in the transaction that creates or opens a departure (e.g. to write the events
// announcing it); an error rolls everything back.
type RunHook func(tx pgx.Tx, d Departure, r Route) error

// GenerateThen creates the departures of GenerateSpec that do not exist yet, through
// CreateDepartureThen (then announces each), all in one transaction. A run is open when Now has
// reached its opening time, planned otherwise. A timetable has one run per service date, even
// after that run was delayed or cancelled: generating again creates nothing. Generations are
// serialised by an advisory lock (per schema), so concurrent ones wait for each other.
func (s *Store) GenerateThen(ctx context.Context, spec GenerateSpec, then RunHook) ([]Departure, error) {
	var out []Departure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+timetableLockKey+`)`); err != nil {
			return err
		}
		var err error
		out, err = generate(ctx, tx, spec, then)
		return err
	})
	if err != nil {
		return nil, passErr("generate departures", err)
	}
	return out, nil
}

// timetableLockKey is the advisory lock taken by generation: one per schema, since schemas
// share the database's lock space.
const timetableLockKey = `hashtext('scheduling.timetables'), hashtext(current_schema())`

// Round is what one pass of TimetableRoundThen did.
type Round struct {
	Created []Departure
	Opened  []Departure
}

// TimetableRoundThen is the periodic work of timetables, done by one replica at a time: when it
// gets the advisory lock (without waiting), it generates spec's runs (GenerateThen; created
// announces each) and opens every planned run of a timetable whose opening time (its planned
// departure less the timetable's openBefore) has come and whose cut-off has not passed, bumping
// its version (opened announces each). locked is false when another replica holds the lock:
// nothing was done.
func (s *Store) TimetableRoundThen(ctx context.Context, spec GenerateSpec, created, opened RunHook) (round Round, locked bool, err error) {
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		round = Round{}
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+timetableLockKey+`)`).Scan(&locked); err != nil || !locked {
			return err
		}
		var err error
		if round.Created, err = generate(ctx, tx, spec, created); err != nil {
			return err
		}
		round.Opened, err = openDue(ctx, tx, spec.Now, opened)
		return err
	})
	if err != nil {
		return Round{}, false, passErr("timetable round", err)
	}
	return round, locked, nil
}

func generate(ctx context.Context, tx pgx.Tx, spec GenerateSpec, then RunHook) ([]Departure, error) {
	rows, err := tx.Query(ctx, `SELECT `+timetableColumns+` FROM timetables
		WHERE ($1 = '' OR route_code = $1) AND valid_from <= $3::date AND (valid_until IS NULL OR valid_until >= $2::date)
		ORDER BY route_code, weekday, departure_time, id`, spec.Route, Date(spec.From), Date(spec.To))
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Timetable, error) { return scanTimetable(row) })
	if err != nil {
		return nil, err
	}
	inTx := &Store{db: tx} // each run in a savepoint of tx
	out := []Departure{}
	for _, t := range tables {
		runs, err := t.Runs(spec.From, spec.To)
		if err != nil {
			return nil, fmt.Errorf("timetable %s: %w", t.ID, err)
		}
		for _, run := range runs {
			if !run.PlannedDeparture.After(spec.Now) {
				continue // gone already
			}
			d := DepartureSpec{Route: t.Route, TrainNumber: t.TrainNumber, PlannedDeparture: run.PlannedDeparture,
				Cutoff: run.Cutoff, Status: StatusPlanned, TimetableID: t.ID, ServiceDate: run.ServiceDate}
			if !spec.Now.Before(run.Opens) {
				d.Status = StatusOpen
			}
			if t.TEUCN != nil {
				d.TEUCN = *t.TEUCN
			}
			if t.TEUAbroad != nil {
				d.TEUAbroad = *t.TEUAbroad
			}
			if t.WeightKg != nil {
				d.WeightKg = *t.WeightKg
			}
			dep, err := inTx.CreateDepartureThen(ctx, d, then)
			if errors.Is(err, ErrRunExists) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("timetable %s on %s: %w", t.ID, run.ServiceDate.Format(time.DateOnly), err)
			}
			out = append(out, dep)
		}
	}
	return out, nil
}

func openDue(ctx context.Context, tx pgx.Tx, now time.Time, then RunHook) ([]Departure, error) {
	rows, err := tx.Query(ctx, `
		UPDATE departures d SET status = $2, version = d.version + 1, updated_at = now()
		FROM timetables t
		WHERE t.id = d.timetable_id AND d.status = $1 AND d.planned_departure_at - t.open_before <= $3 AND d.cutoff_at > $3
		RETURNING d.id::text`, StatusPlanned, StatusOpen, now)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]Departure, 0, len(ids))
	for _, id := range ids {
		d, err := departure(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if then != nil {
			r, err := route(ctx, tx, d.Route)
			if err != nil {
				return nil, err
			}
			if err := then(tx, d, r); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// OpenThen opens a departure at version for booking (planned or closed → open) and bumps the
// version. cutoff, when not nil, replaces its cut-off; the cut-off must be after now and not
// after the planned departure. then runs in the same transaction with the departure before and
// after. Errors: apperr.ErrNotFound, apperr.ErrPreconditionFailed, apperr.ErrConflict (another
// status), *apperr.ValidationError (cutoff).
func (s *Store) OpenThen(ctx context.Context, id string, version int, cutoff *time.Time, now time.Time,
	then func(tx pgx.Tx, before, after Departure) error) (Departure, error) {
	return s.setStatus(ctx, id, version, StatusOpen, func(tx pgx.Tx, before Departure) error {
		switch before.Status {
		case StatusPlanned, StatusClosed:
		default:
			return fmt.Errorf("departure %s is %s; only a planned or closed departure can be opened: %w", id, before.Status, apperr.ErrConflict)
		}
		c := before.Cutoff
		if cutoff != nil {
			c = *cutoff
		}
		switch {
		case !c.After(now):
			reason := "must be in the future"
			if cutoff == nil {
				reason = "the departure's cut-off has passed: send a new cutoff"
			}
			return apperr.Invalid("cutoff", reason)
		case c.After(before.PlannedDeparture):
			return apperr.Invalid("cutoff", "must not be after the planned departure "+before.PlannedDeparture.Format(time.RFC3339))
		}
		_, err := tx.Exec(ctx, `UPDATE departures SET cutoff_at = $2 WHERE id = $1`, before.ID, c)
		return err
	}, then)
}

// CloseThen closes an open departure at version for booking and bumps the version. then runs
// in the same transaction with the departure before and after. Errors: apperr.ErrNotFound,
// apperr.ErrPreconditionFailed, apperr.ErrConflict (not open).
func (s *Store) CloseThen(ctx context.Context, id string, version int, then func(tx pgx.Tx, before, after Departure) error) (Departure, error) {
	return s.setStatus(ctx, id, version, StatusClosed, func(_ pgx.Tx, before Departure) error {
		if before.Status != StatusOpen {
			return fmt.Errorf("departure %s is %s; only an open departure can be closed: %w", id, before.Status, apperr.ErrConflict)
		}
		return nil
	}, then)
}

func (s *Store) setStatus(ctx context.Context, id string, version int, status string, check func(tx pgx.Tx, before Departure) error,
	then func(tx pgx.Tx, before, after Departure) error) (Departure, error) {
	var out Departure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := bumpVersion(ctx, tx, id, version); err != nil {
			return err
		}
		before, err := departure(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := check(tx, before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE departures SET status = $2 WHERE id = $1`, before.ID, status); err != nil {
			return err
		}
		out, err = departure(ctx, tx, id)
		if err != nil || then == nil {
			return err
		}
		return then(tx, before, out)
	})
	if err != nil {
		return Departure{}, passErr(status+" "+id, err)
	}
	return out, nil
}

// DepartureQuery selects departures for a list, in planned departure order then id. Zero
// fields do not filter; After continues a list after the departure it names.
type DepartureQuery struct {
	Route    string
	Status   string
	From, To time.Time      // planned departure in [From, To)
	After    *paging.Cursor // At is the planned departure of the last departure listed
	Limit    int
}

// Departures lists departures by q, at most q.Limit, each with its stops and segments.
func (s *Store) Departures(ctx context.Context, q DepartureQuery) ([]Departure, error) {
	var from, to, afterAt any
	var afterID any
	if !q.From.IsZero() {
		from = q.From
	}
	if !q.To.IsZero() {
		to = q.To
	}
	if q.After != nil {
		afterAt, afterID = q.After.At, q.After.ID
	}
	rows, err := s.db.Query(ctx, `
		SELECT id::text, route_code, train_number, status, cutoff_at, planned_departure_at, version, created_at, updated_at
		FROM departures
		WHERE ($1 = '' OR route_code = $1) AND ($2 = '' OR status = $2)
			AND ($3::timestamptz IS NULL OR planned_departure_at >= $3)
			AND ($4::timestamptz IS NULL OR planned_departure_at < $4)
			AND ($5::timestamptz IS NULL OR (planned_departure_at, id) > ($5, $6::text::uuid))
		ORDER BY planned_departure_at, id
		LIMIT $7`, q.Route, q.Status, from, to, afterAt, afterID, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: departures: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Departure, error) {
		var d Departure
		err := row.Scan(&d.ID, &d.Route, &d.TrainNumber, &d.Status, &d.Cutoff, &d.PlannedDeparture, &d.Version, &d.CreatedAt, &d.UpdatedAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: departures: %w", err)
	}
	if err := withStopsAndSegments(ctx, s.db, out); err != nil {
		return nil, fmt.Errorf("pgstore: departures: %w", err)
	}
	return out, nil
}

// withStopsAndSegments fills in the stops and segments of ds, in two queries.
func withStopsAndSegments(ctx context.Context, db postgres.DB, ds []Departure) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	at := make(map[string]*Departure, len(ds))
	for i := range ds {
		ids[i] = ds[i].ID
		at[ds[i].ID] = &ds[i]
	}
	rows, err := db.Query(ctx, `
		SELECT departure_id::text, seq, un_location_code, planned_arrival_at, planned_departure_at, actual_arrival_at,
			actual_departure_at, baseline_arrival_at, baseline_departure_at
		FROM departure_stops WHERE departure_id = ANY($1::text[]::uuid[]) ORDER BY departure_id, seq`, ids)
	if err != nil {
		return err
	}
	var id string
	var st DepartureStop
	_, err = pgx.ForEachRow(rows, []any{&id, &st.Seq, &st.UNLocationCode, &st.PlannedArrival, &st.PlannedDeparture,
		&st.ActualArrival, &st.ActualDeparture, &st.BaselineArrival, &st.BaselineDeparture}, func() error {
		d := at[id]
		d.Stops = append(d.Stops, st)
		return nil
	})
	if err != nil {
		return err
	}
	rows, err = db.Query(ctx, `
		SELECT g.departure_id::text, g.seq, a.un_location_code, b.un_location_code, g.teu_capacity, g.teu_booked,
			g.weight_capacity_kg, g.weight_booked_kg
		FROM departure_segments g
		JOIN departure_stops a ON a.departure_id = g.departure_id AND a.seq = g.seq
		JOIN departure_stops b ON b.departure_id = g.departure_id AND b.seq = g.seq + 1
		WHERE g.departure_id = ANY($1::text[]::uuid[])
		ORDER BY g.departure_id, g.seq`, ids)
	if err != nil {
		return err
	}
	var g Segment
	_, err = pgx.ForEachRow(rows, []any{&id, &g.Seq, &g.From, &g.To, &g.TEUCapacity, &g.TEUBooked, &g.WeightCapacityKg, &g.WeightBookedKg},
		func() error {
			d := at[id]
			d.Segments = append(d.Segments, g)
			return nil
		})
	return err
}
