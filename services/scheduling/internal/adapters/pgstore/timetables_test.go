package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// newTimetable stores a timetable on SCO-KZ-ALA with the defaults the API uses, changed by edit.
func newTimetable(t *testing.T, s *pgstore.Store, edit func(*pgstore.Timetable)) pgstore.Timetable {
	t.Helper()
	tt := pgstore.Timetable{Route: "SCO-KZ-ALA", Weekday: time.Monday, DepartureTime: 10*time.Hour + 30*time.Minute,
		TimeZone: "Asia/Shanghai", TrainNumber: "X9001", CutoffBefore: 24 * time.Hour, OpenBefore: 14 * 24 * time.Hour,
		ValidFrom: date("2027-01-01")}
	if edit != nil {
		edit(&tt)
	}
	out, err := s.CreateTimetable(t.Context(), tt)
	if err != nil {
		t.Fatalf("create timetable: %v", err)
	}
	return out
}

// run is a generated departure as the table has it.
type run struct {
	ServiceDate time.Time
	Departure   time.Time
	Cutoff      time.Time
	Status      string
	Train       string
}

func runsOf(t *testing.T, pool *pgxpool.Pool, timetableID string) []run {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT service_date, planned_departure_at, cutoff_at, status, train_number
		FROM departures WHERE timetable_id = $1 ORDER BY service_date`, timetableID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (run, error) {
		var r run
		err := row.Scan(&r.ServiceDate, &r.Departure, &r.Cutoff, &r.Status, &r.Train)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTimetableCRUD(t *testing.T) {
	s, pool := newStore(t)
	ctx := t.Context()
	tt := newTimetable(t, s, func(tt *pgstore.Timetable) { tt.TEUCN = ptr(40) })
	if tt.Version != 1 || tt.Weekday != time.Monday || tt.DepartureTime != 10*time.Hour+30*time.Minute ||
		tt.OpenBefore != 14*24*time.Hour || *tt.TEUCN != 40 || tt.TEUAbroad != nil || !tt.ValidFrom.Equal(date("2027-01-01")) {
		t.Fatalf("created %+v", tt)
	}
	_, err := s.CreateTimetable(ctx, pgstore.Timetable{Route: "SCO-KZ-ALA", Weekday: time.Monday, DepartureTime: 10*time.Hour + 30*time.Minute,
		TimeZone: "Europe/Berlin", TrainNumber: "X9002", CutoffBefore: time.Hour, OpenBefore: 2 * time.Hour, ValidFrom: date("2027-02-01")})
	if !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("same slot again: %v, want a conflict", err)
	}
	var ve *apperr.ValidationError
	_, err = s.CreateTimetable(ctx, pgstore.Timetable{Route: "NO-SUCH", Weekday: time.Monday, TimeZone: "UTC", TrainNumber: "X",
		CutoffBefore: time.Hour, OpenBefore: 2 * time.Hour, ValidFrom: date("2027-02-01")})
	if !errors.As(err, &ve) || ve.Fields[0].Field != "route" {
		t.Fatalf("unknown route: %v", err)
	}

	_, err = s.UpdateTimetable(ctx, tt.ID, 7, func(*pgstore.Timetable) error { return nil })
	if !errors.Is(err, apperr.ErrPreconditionFailed) {
		t.Fatalf("stale update: %v", err)
	}
	_, err = s.UpdateTimetable(ctx, tt.ID, 1, func(t *pgstore.Timetable) error { t.ValidUntil = ptr(date("2026-12-01")); return nil })
	if !errors.As(err, &ve) || ve.Fields[0].Field != "validUntil" {
		t.Fatalf("validUntil before validFrom: %v", err)
	}
	up, err := s.UpdateTimetable(ctx, tt.ID, 1, func(t *pgstore.Timetable) error { t.TrainNumber = "X9009"; t.TEUCN = nil; return nil })
	if err != nil || up.Version != 2 || up.TrainNumber != "X9009" || up.TEUCN != nil {
		t.Fatalf("update: %+v, %v", up, err)
	}
	list, err := s.Timetables(ctx, "SCO-KZ-ALA")
	if err != nil || len(list) != 1 || list[0].ID != tt.ID {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if list, err := s.Timetables(ctx, "SCO-DE-DUI"); err != nil || len(list) != 0 {
		t.Fatalf("list of another route: %+v, %v", list, err)
	}

	// Deleting keeps the departures generated from it.
	made, err := s.GenerateThen(ctx, pgstore.GenerateSpec{From: date("2027-03-01"), To: date("2027-03-14"), Now: date("2027-01-01")}, nil)
	if err != nil || len(made) != 2 {
		t.Fatalf("generate: %d, %v", len(made), err)
	}
	if err := s.DeleteTimetable(ctx, tt.ID, 1); !errors.Is(err, apperr.ErrPreconditionFailed) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.DeleteTimetable(ctx, tt.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timetable(ctx, tt.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted timetable: %v", err)
	}
	if _, err := s.Timetable(ctx, "not-a-uuid"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM departures WHERE id = ANY($1::text[]::uuid[])`,
		[]string{made[0].ID, made[1].ID}).Scan(&left); err != nil || left != 2 {
		t.Fatalf("%d departures left after deleting their timetable (%v), want 2", left, err)
	}
}

func TestTimetableValidate(t *testing.T) {
	good := pgstore.Timetable{Route: "R", Weekday: time.Friday, DepartureTime: 23*time.Hour + 59*time.Minute, TimeZone: "Europe/Berlin",
		TrainNumber: "X", CutoffBefore: time.Hour, OpenBefore: 2 * time.Hour, ValidFrom: date("2027-01-01")}
	if err := good.Validate(); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*pgstore.Timetable)
	}{
		{"weekday", func(t *pgstore.Timetable) { t.Weekday = 7 }},
		{"departureTime", func(t *pgstore.Timetable) { t.DepartureTime = 24 * time.Hour }},
		{"departureTime", func(t *pgstore.Timetable) { t.DepartureTime = 90 * time.Second }},
		{"timeZone", func(t *pgstore.Timetable) { t.TimeZone = "Mars/Olympus" }},
		{"timeZone", func(t *pgstore.Timetable) { t.TimeZone = "Local" }},
		{"trainNumber", func(t *pgstore.Timetable) { t.TrainNumber = " " }},
		{"cutoffBefore", func(t *pgstore.Timetable) { t.CutoffBefore = -time.Hour }},
		{"cutoffBefore", func(t *pgstore.Timetable) { t.CutoffBefore = 0 }},
		{"openBefore", func(t *pgstore.Timetable) { t.OpenBefore = -time.Hour }},
		{"openBefore", func(t *pgstore.Timetable) { t.OpenBefore = time.Hour }},
		{"teuChina", func(t *pgstore.Timetable) { t.TEUCN = ptr(0) }},
		{"weightCapacityKg", func(t *pgstore.Timetable) { t.WeightKg = ptr(int64(-1)) }},
		{"validFrom", func(t *pgstore.Timetable) { t.ValidFrom = time.Time{} }},
		{"validUntil", func(t *pgstore.Timetable) { t.ValidUntil = ptr(date("2026-12-31")) }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			bad := good
			tc.edit(&bad)
			var ve *apperr.ValidationError
			if err := bad.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tc.field {
				t.Fatalf("Validate = %v, want one problem with %s", err, tc.field)
			}
		})
	}
}

// Runs fall on the timetable's weekday in its zone, keep their local time across a
// daylight-saving change, stay within the validity, and are dated by the origin's local date.
func TestGenerateWeekdayZoneAndValidity(t *testing.T) {
	s, pool := newStore(t)
	now := date("2027-01-01")
	berlin := newTimetable(t, s, func(tt *pgstore.Timetable) {
		tt.Weekday, tt.DepartureTime, tt.TimeZone = time.Sunday, 6*time.Hour, "Europe/Berlin"
		tt.ValidFrom, tt.ValidUntil = date("2027-03-21"), ptr(date("2027-04-04"))
		tt.TEUCN, tt.TEUAbroad, tt.WeightKg = ptr(10), ptr(8), ptr(int64(500_000))
	})
	// 00:30 on Monday in Shanghai is still Sunday in UTC.
	shanghai := newTimetable(t, s, func(tt *pgstore.Timetable) {
		tt.Weekday, tt.DepartureTime, tt.ValidFrom = time.Monday, 30*time.Minute, date("2027-03-16")
	})
	made, err := s.GenerateThen(t.Context(), pgstore.GenerateSpec{From: date("2027-03-08"), To: date("2027-04-30"), Now: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := runsOf(t, pool, berlin.ID)
	wantB := []run{
		{date("2027-03-21"), time.Date(2027, 3, 21, 5, 0, 0, 0, time.UTC), time.Date(2027, 3, 20, 5, 0, 0, 0, time.UTC), pgstore.StatusPlanned, "X9001"},
		{date("2027-03-28"), time.Date(2027, 3, 28, 4, 0, 0, 0, time.UTC), time.Date(2027, 3, 27, 4, 0, 0, 0, time.UTC), pgstore.StatusPlanned, "X9001"}, // CEST from 02:00 that day
		{date("2027-04-04"), time.Date(2027, 4, 4, 4, 0, 0, 0, time.UTC), time.Date(2027, 4, 3, 4, 0, 0, 0, time.UTC), pgstore.StatusPlanned, "X9001"},
	}
	if !slices.EqualFunc(b, wantB, sameRun) {
		t.Fatalf("Berlin runs\n got %v\nwant %v", b, wantB)
	}
	sh := runsOf(t, pool, shanghai.ID)
	if len(sh) != 6 || !sh[0].ServiceDate.Equal(date("2027-03-22")) || !sh[0].Departure.Equal(time.Date(2027, 3, 21, 16, 30, 0, 0, time.UTC)) ||
		!sh[5].ServiceDate.Equal(date("2027-04-26")) {
		t.Fatalf("Shanghai runs %v", sh)
	}
	if len(made) != len(b)+len(sh) {
		t.Fatalf("GenerateThen returned %d departures, the table has %d", len(made), len(b)+len(sh))
	}
	d, err := s.Departure(t.Context(), runsID(t, pool, berlin.ID, "2027-03-28"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Segments[0].TEUCapacity != 10 || d.Segments[len(d.Segments)-1].TEUCapacity != 8 || d.Segments[0].WeightCapacityKg != 500_000 {
		t.Fatalf("capacity from the timetable: %+v", d.Segments)
	}

	// A route filter generates only that route's runs.
	other := newTimetable(t, s, func(tt *pgstore.Timetable) { tt.Route = "SCO-DE-DUI" })
	made, err = s.GenerateThen(t.Context(), pgstore.GenerateSpec{From: date("2027-05-01"), To: date("2027-05-31"), Route: "SCO-DE-DUI", Now: now}, nil)
	if err != nil || len(made) != 5 || len(runsOf(t, pool, other.ID)) != 5 || len(runsOf(t, pool, shanghai.ID)) != 6 {
		t.Fatalf("route filter: %d made, %v", len(made), err)
	}
}

func sameRun(a, b run) bool {
	return a.ServiceDate.Equal(b.ServiceDate) && a.Departure.Equal(b.Departure) && a.Cutoff.Equal(b.Cutoff) &&
		a.Status == b.Status && a.Train == b.Train
}

func runsID(t *testing.T, pool *pgxpool.Pool, timetableID, serviceDate string) string {
	t.Helper()
	var id string
	if err := pool.QueryRow(t.Context(), `SELECT id::text FROM departures WHERE timetable_id = $1 AND service_date = $2::date`,
		timetableID, date(serviceDate)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Generating twice creates each run once, with its hook called once; a delayed run, whose
// planned departure no longer matches the timetable, is not made again. Runs whose opening time
// has come are open, earlier ones planned, gone ones skipped.
func TestGenerateIsIdempotent(t *testing.T) {
	s, pool := newStore(t)
	tt := newTimetable(t, s, func(tt *pgstore.Timetable) { tt.OpenBefore = 10 * 24 * time.Hour })
	now := time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC) // a Tuesday
	spec := pgstore.GenerateSpec{From: date("2027-03-01"), To: date("2027-03-29"), Now: now}
	var hooked []string
	hook := func(_ pgx.Tx, d pgstore.Departure, r pgstore.Route) error {
		if r.Code != d.Route {
			return errors.New("hook got another route")
		}
		hooked = append(hooked, d.ID)
		return nil
	}
	first, err := s.GenerateThen(t.Context(), spec, hook)
	if err != nil {
		t.Fatal(err)
	}
	runs := runsOf(t, pool, tt.ID)
	// 1 March left already; 8 March (in 6 days) is open; 15, 22 and 29 March planned.
	if len(first) != 4 || len(runs) != 4 || len(hooked) != 4 || runs[0].Status != pgstore.StatusOpen ||
		runs[1].Status != pgstore.StatusPlanned || !runs[0].ServiceDate.Equal(date("2027-03-08")) {
		t.Fatalf("first generation: %d made, %d hooked, runs %v", len(first), len(hooked), runs)
	}
	if _, err := s.DelayThen(t.Context(), first[1].ID, first[1].Version, 6*time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	again, err := s.GenerateThen(t.Context(), spec, hook)
	if err != nil || len(again) != 0 || len(hooked) != 4 || len(runsOf(t, pool, tt.ID)) != 4 {
		t.Fatalf("second generation made %d (hooked %d), %v", len(again), len(hooked), err)
	}

	// A hook that fails rolls the whole generation back.
	_, err = s.GenerateThen(t.Context(), pgstore.GenerateSpec{From: date("2027-04-01"), To: date("2027-04-30"), Now: now},
		func(pgx.Tx, pgstore.Departure, pgstore.Route) error { return errors.New("outbox down") })
	if err == nil || len(runsOf(t, pool, tt.ID)) != 4 {
		t.Fatalf("failing hook: %v, %d runs", err, len(runsOf(t, pool, tt.ID)))
	}
}

// Generations racing on the same weeks create every run once between them.
func TestGenerateConcurrently(t *testing.T) {
	s, pool := newStore(t)
	tt := newTimetable(t, s, nil)
	spec := pgstore.GenerateSpec{From: date("2027-03-01"), To: date("2027-05-23"), Now: date("2027-01-01")}
	const n = 4
	made := make(chan int, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			ds, err := s.GenerateThen(context.Background(), spec, nil)
			made <- len(ds)
			errs <- err
		}()
	}
	total := 0
	for range n {
		total += <-made
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if runs := runsOf(t, pool, tt.ID); total != 12 || len(runs) != 12 {
		t.Fatalf("%d made in all, %d runs; want 12", total, len(runs))
	}
}

// A round opens the planned runs whose time has come (and whose cut-off has not passed), and
// is skipped while another holds the lock.
func TestTimetableRound(t *testing.T) {
	s, pool := newStore(t)
	tt := newTimetable(t, s, func(tt *pgstore.Timetable) { tt.OpenBefore = 3 * 24 * time.Hour })
	t0 := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	spec := pgstore.GenerateSpec{From: date("2027-03-01"), To: date("2027-03-08"), Now: t0}
	var opened []string
	openHook := func(_ pgx.Tx, d pgstore.Departure, _ pgstore.Route) error { opened = append(opened, d.ID); return nil }
	round, locked, err := s.TimetableRoundThen(t.Context(), spec, nil, openHook)
	if err != nil || !locked || len(round.Created) != 2 || len(round.Opened) != 0 {
		t.Fatalf("first round: %+v, locked %v, %v", round, locked, err)
	}
	// 2 days before the 1 March run (10:30 Shanghai, 02:30 UTC): open; the 8 March one is not due.
	spec.Now = time.Date(2027, 2, 27, 2, 30, 0, 0, time.UTC)
	round, _, err = s.TimetableRoundThen(t.Context(), spec, nil, openHook)
	if err != nil || len(round.Created) != 0 || len(round.Opened) != 1 ||
		round.Opened[0].Status != pgstore.StatusOpen || round.Opened[0].Version != 2 || len(opened) != 1 {
		t.Fatalf("second round: %+v, %v", round, err)
	}
	// After the 8 March run's cut-off nothing opens it.
	spec.Now = time.Date(2027, 3, 7, 3, 0, 0, 0, time.UTC)
	round, _, err = s.TimetableRoundThen(t.Context(), spec, nil, openHook)
	if err != nil || len(round.Opened) != 0 || runsOf(t, pool, tt.ID)[1].Status != pgstore.StatusPlanned {
		t.Fatalf("round after the cut-off: %+v, %v", round, err)
	}

	// Another replica holds the lock: the round does nothing.
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock(hashtext('scheduling.timetables'), hashtext(current_schema()))`); err != nil {
		t.Fatal(err)
	}
	round, locked, err = s.TimetableRoundThen(t.Context(), pgstore.GenerateSpec{From: date("2027-04-01"), To: date("2027-04-30"), Now: t0}, nil, nil)
	if err != nil || locked || len(round.Created) != 0 {
		t.Fatalf("round under another's lock: %+v, locked %v, %v", round, locked, err)
	}
}

func TestOpenClose(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	now := departureAt.Add(-48 * time.Hour)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	if _, err := s.OpenThen(ctx, d.ID, d.Version, nil, now, nil); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("opening an open departure: %v", err)
	}
	closed, err := s.CloseThen(ctx, d.ID, d.Version, nil)
	if err != nil || closed.Status != pgstore.StatusClosed || closed.Version != d.Version+1 {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	if _, err := s.CloseThen(ctx, d.ID, closed.Version, nil); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("closing a closed departure: %v", err)
	}
	var ve *apperr.ValidationError
	late := departureAt.Add(time.Hour)
	if _, err := s.OpenThen(ctx, d.ID, closed.Version, &late, now, nil); !errors.As(err, &ve) || ve.Fields[0].Field != "cutoff" {
		t.Fatalf("cutoff after the departure: %v", err)
	}
	if _, err := s.OpenThen(ctx, d.ID, closed.Version, nil, departureAt.Add(-time.Hour), nil); !errors.As(err, &ve) {
		t.Fatalf("reopening after the cut-off without a new one: %v", err)
	}
	cutoff := departureAt.Add(-2 * time.Hour)
	var before, after pgstore.Departure
	opened, err := s.OpenThen(ctx, d.ID, closed.Version, &cutoff, now, func(_ pgx.Tx, b, a pgstore.Departure) error {
		before, after = b, a
		return nil
	})
	if err != nil || opened.Status != pgstore.StatusOpen || !opened.Cutoff.Equal(cutoff) || opened.Version != closed.Version+1 ||
		before.Status != pgstore.StatusClosed || after.ID != d.ID {
		t.Fatalf("reopen: %+v, %v", opened, err)
	}
	if _, err := s.CloseThen(ctx, d.ID, closed.Version, nil); !errors.Is(err, apperr.ErrPreconditionFailed) {
		t.Fatalf("stale close: %v", err)
	}
	if _, err := s.CloseThen(ctx, "00000000-0000-0000-0000-000000000000", 1, nil); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestDeparturesList(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	for i := range 5 {
		at := departureAt.Add(time.Duration(i%3) * time.Hour) // ties on the planned departure
		_, err := s.CreateDeparture(ctx, pgstore.DepartureSpec{Route: "SCO-KZ-ALA", TrainNumber: "X", PlannedDeparture: at, Cutoff: at.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Departures(ctx, pgstore.DepartureQuery{Limit: 10})
	if err != nil || len(all) != 5 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if b.PlannedDeparture.Before(a.PlannedDeparture) || (b.PlannedDeparture.Equal(a.PlannedDeparture) && b.ID < a.ID) {
			t.Fatalf("out of order at %d", i)
		}
	}
	if len(all[0].Stops) != 5 || len(all[0].Segments) != 4 || all[0].Segments[3].From != "KZHOR" {
		t.Fatalf("stops and segments: %+v", all[0])
	}
	var paged []string
	q := pgstore.DepartureQuery{Limit: 2}
	for {
		page, err := s.Departures(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			paged = append(paged, d.ID)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		// The cursor survives its trip to the client.
		c, err := paging.Decode(paging.Cursor{At: last.PlannedDeparture, ID: last.ID}.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		q.After = c
	}
	for i, d := range all {
		if paged[i] != d.ID {
			t.Fatalf("paged %v, want %v", paged, all)
		}
	}
	if len(paged) != 5 {
		t.Fatalf("paged %d", len(paged))
	}
	window, err := s.Departures(ctx, pgstore.DepartureQuery{From: departureAt.Add(time.Hour), To: departureAt.Add(2 * time.Hour), Limit: 10})
	if err != nil || len(window) != 2 {
		t.Fatalf("window: %d, %v", len(window), err)
	}
	if none, err := s.Departures(ctx, pgstore.DepartureQuery{Status: pgstore.StatusOpen, Limit: 10}); err != nil || len(none) != 0 {
		t.Fatalf("open ones: %d, %v", len(none), err)
	}
}
