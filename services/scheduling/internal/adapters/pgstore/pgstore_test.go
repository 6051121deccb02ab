package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/scheduling/migrations"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// maxConns sizes the pool for the concurrency tests: enough for the racing bookings to queue
// on the segment rows rather than on the pool, well under the server's connection limit.
const maxConns = 20

// newStore migrates a fresh schema, seeds the corridor network and returns a store on it and
// the pool under it.
func newStore(t testing.TB) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	dsn, schema := pgtest.Schema(t, "schedpg")
	if err := postgres.Migrate(context.Background(), dsn, schema, migrations.FS); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(maxConns))
	u.RawQuery = q.Encode()
	pool, err := postgres.Connect(context.Background(), u.String(), schema)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	s := pgstore.New(pool)
	if err := s.SeedNetwork(context.Background(), network(t)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s, pool
}

func network(t testing.TB) *corridor.Network {
	t.Helper()
	n, err := corridor.Load()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var departureAt = time.Date(2027, 3, 1, 6, 0, 0, 0, time.UTC)

// openDeparture creates an open departure on route with the given capacities (0: route default).
func openDeparture(t testing.TB, s *pgstore.Store, route string, teuCN, teuAbroad int, weightKg int64) pgstore.Departure {
	t.Helper()
	d, err := s.CreateDeparture(context.Background(), pgstore.DepartureSpec{
		Route: route, TrainNumber: "X8024", PlannedDeparture: departureAt, Cutoff: departureAt.Add(-12 * time.Hour),
		Status: pgstore.StatusOpen, TEUCN: teuCN, TEUAbroad: teuAbroad, WeightKg: weightKg,
	})
	if err != nil {
		t.Fatalf("create departure: %v", err)
	}
	return d
}

// --- network ---------------------------------------------------------------------------------

func TestSeedNetworkIsIdempotent(t *testing.T) {
	s, pool := newStore(t) // seeded once
	n := network(t)
	if err := s.SeedNetwork(t.Context(), n); err != nil {
		t.Fatalf("second seed: %v", err)
	}
	var routes, stops int
	if err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM routes), (SELECT count(*) FROM route_stops)`).Scan(&routes, &stops); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range n.Routes() {
		want += len(r.Stops)
	}
	if routes != len(n.Routes()) || stops != want {
		t.Fatalf("after two seeds: %d routes, %d stops; want %d, %d", routes, stops, len(n.Routes()), want)
	}

	// Break of gauge exactly at the second stop of every border pair of the corridor.
	bog := map[[2]string]bool{}
	for _, c := range n.BorderCrossings() {
		bog[[2]string{string(c.From), string(c.To)}] = true
	}
	got, err := s.Routes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(n.Routes()) {
		t.Fatalf("Routes: %d, want %d", len(got), len(n.Routes()))
	}
	crossings := 0
	for _, want := range n.Routes() {
		t.Run(want.Code, func(t *testing.T) {
			r, err := s.Route(t.Context(), want.Code)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != want.Name || r.TransitDays != want.Days || r.FEUCN != want.FEUCN || r.FEUAbroad != want.FEUAbroad {
				t.Errorf("route = %+v, want %+v", r, want)
			}
			if len(r.Stops) != len(want.Stops) {
				t.Fatalf("%d stops, want %d", len(r.Stops), len(want.Stops))
			}
			for i, st := range r.Stops {
				if st.Seq != i || st.UNLocationCode != string(want.Stops[i]) {
					t.Errorf("stop %d = %d %s, want %d %s", i, st.Seq, st.UNLocationCode, i, want.Stops[i])
				}
				wantBOG := i > 0 && bog[[2]string{r.Stops[i-1].UNLocationCode, st.UNLocationCode}]
				if st.BreakOfGauge != wantBOG {
					t.Errorf("stop %d %s: break_of_gauge %v, want %v", i, st.UNLocationCode, st.BreakOfGauge, wantBOG)
				}
				if wantBOG {
					crossings++
					if st.GaugeMM == r.Stops[i-1].GaugeMM {
						t.Errorf("stop %d %s: break of gauge with the same gauge", i, st.UNLocationCode)
					}
				}
				last := i == len(r.Stops)-1
				switch {
				case i == 0 || last:
					if st.Dwell != 0 {
						t.Errorf("stop %d: dwell %v at an end", i, st.Dwell)
					}
				case st.BreakOfGauge && st.Dwell != pgstore.DwellBreakOfGauge:
					t.Errorf("stop %d: dwell %v at a break of gauge", i, st.Dwell)
				}
				if (i == 0) != (st.KmFromPrev == 0) {
					t.Errorf("stop %d: km from previous %d", i, st.KmFromPrev)
				}
			}
		})
	}
	if crossings == 0 {
		t.Fatal("no break of gauge found in the whole network")
	}
	if _, err := s.Route(t.Context(), "NO-SUCH"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown route: %v, want ErrNotFound", err)
	}
}

// --- departures ------------------------------------------------------------------------------

func TestCreateDeparturePlansTimesAndCapacity(t *testing.T) {
	s, _ := newStore(t)
	tests := []struct {
		route              string
		teuCN, teuAbroad   int
		firstAbroadSegment int
	}{
		{"SCO-KZ-ALA", 100, 100, 3}, // CNJZH CNURM CNHRS | KZHOR KZALA
		{"SCO-DE-DUI", 110, 82, 3},  // CNJZH CNURM CNAKL | KZDOS BYBQT PLMAA DEDUI
		{"SCO-MN-ULN", 100, 82, 2},  // CNJZH CNERC | MNZUU MNULN
		{"SCO-LA-VTE", 100, 100, 2}, // no gauge change, still a border
		{"SCO-VN-HAN", 82, 82, 2},   // break of gauge at the destination
		{"SCO-TJ-DYU", 100, 90, 3},  // two countries abroad
		{"SCO-RS-BEG", 110, 82, 3},  // longest
		{"SCO-UZ-TAS", 100, 100, 3}, // shortest transit
		{"SCO-RU-VRS", 110, 110, 2}, // equal capacity
		{"SCO-HU-BUD", 110, 82, 3},  // via Khorgos
		{"SCO-BY-KDC", 110, 100, 3}, // ends in Belarus
		{"SCO-PL-LOD", 110, 82, 3},  // Poland
		{"SCO-DE-HAM", 110, 82, 2},  // via Mongolia
		{"SCO-DE-MHG", 110, 82, 3},  // Mannheim
		{"SCO-KG-FRU", 100, 100, 3}, // Bishkek
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			r, err := s.Route(t.Context(), tt.route)
			if err != nil {
				t.Fatal(err)
			}
			d := openDeparture(t, s, tt.route, 0, 0, 0)
			got, err := s.Departure(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != pgstore.StatusOpen || got.Version != 1 || got.Route != tt.route || !got.PlannedDeparture.Equal(departureAt) {
				t.Errorf("departure = %+v", got)
			}
			if len(got.Stops) != len(r.Stops) || len(got.Segments) != len(r.Stops)-1 {
				t.Fatalf("%d stops, %d segments for a route of %d stops", len(got.Stops), len(got.Segments), len(r.Stops))
			}
			first, last := got.Stops[0], got.Stops[len(got.Stops)-1]
			if first.PlannedArrival != nil || !first.PlannedDeparture.Equal(departureAt) {
				t.Errorf("origin times %v %v", first.PlannedArrival, first.PlannedDeparture)
			}
			if last.PlannedDeparture != nil || !last.PlannedArrival.Equal(departureAt.Add(time.Duration(r.TransitDays)*24*time.Hour)) {
				t.Errorf("destination arrival %v, want departure + %d days", last.PlannedArrival, r.TransitDays)
			}
			prev := *first.PlannedDeparture
			for i := 1; i < len(got.Stops); i++ {
				st := got.Stops[i]
				if st.UNLocationCode != r.Stops[i].UNLocationCode || !st.PlannedArrival.After(prev) {
					t.Errorf("stop %d %s arrives %v, not after %v", i, st.UNLocationCode, st.PlannedArrival, prev)
				}
				if i < len(got.Stops)-1 {
					if dwell := st.PlannedDeparture.Sub(*st.PlannedArrival); dwell != r.Stops[i].Dwell {
						t.Errorf("stop %d dwell %v, want %v", i, dwell, r.Stops[i].Dwell)
					}
					prev = *st.PlannedDeparture
				}
			}
			for i, g := range got.Segments {
				want := tt.teuCN
				if i >= tt.firstAbroadSegment {
					want = tt.teuAbroad
				}
				if g.Seq != i || g.From != r.Stops[i].UNLocationCode || g.To != r.Stops[i+1].UNLocationCode ||
					g.TEUCapacity != want || g.WeightCapacityKg != pgstore.DefaultWeightCapacityKg || g.TEUBooked != 0 || g.WeightBookedKg != 0 {
					t.Errorf("segment %d = %+v, want %d TEU", i, g, want)
				}
			}
		})
	}
}

func TestCreateDepartureRejectsBadInput(t *testing.T) {
	s, _ := newStore(t)
	for name, spec := range map[string]pgstore.DepartureSpec{
		"unknown route":    {Route: "NO-SUCH", TrainNumber: "X1", PlannedDeparture: departureAt, Cutoff: departureAt},
		"no train":         {Route: "SCO-KZ-ALA", PlannedDeparture: departureAt, Cutoff: departureAt},
		"cutoff after dep": {Route: "SCO-KZ-ALA", TrainNumber: "X1", PlannedDeparture: departureAt, Cutoff: departureAt.Add(time.Hour)},
		"closed":           {Route: "SCO-KZ-ALA", TrainNumber: "X1", PlannedDeparture: departureAt, Cutoff: departureAt, Status: pgstore.StatusClosed},
	} {
		t.Run(name, func(t *testing.T) {
			var ve *apperr.ValidationError
			if _, err := s.CreateDeparture(t.Context(), spec); !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
		})
	}
}

func TestDepartureUnknown(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f", "not-a-uuid"} {
		if _, err := s.Departure(t.Context(), id); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Departure(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// --- bookings --------------------------------------------------------------------------------

var serial atomic.Int64

// box returns a booking of one fresh container.
func box(d pgstore.Departure, teu int, kg int64, from, to int) pgstore.BookingSpec {
	iso := "22G1"
	if teu == 2 {
		iso = "45G1"
	}
	return pgstore.BookingSpec{
		DepartureID: d.ID, Tenant: "shipper-a", Container: fmt.Sprintf("SCDU%07d", serial.Add(1)), ISOCode: iso,
		TEU: teu, GrossWeightKg: kg, FromSeq: from, ToSeq: to,
	}
}

// race books n boxes at once (one goroutine each) and returns the successes and every
// CapacityError; any other error fails the test.
func race(t *testing.T, s *pgstore.Store, n int, spec func() pgstore.BookingSpec) (ok int, full []*pgstore.CapacityError) {
	t.Helper()
	specs := make([]pgstore.BookingSpec, n)
	for i := range specs {
		specs[i] = spec()
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range specs {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Book(t.Context(), specs[i])
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		var ce *pgstore.CapacityError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ce) && errors.Is(err, apperr.ErrConflict):
			full = append(full, ce)
		default:
			t.Fatalf("book: %v", err)
		}
	}
	return ok, full
}

func segmentsBooked(t *testing.T, s *pgstore.Store, id string) []int {
	t.Helper()
	d, err := s.Departure(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(d.Segments))
	for i, g := range d.Segments {
		out[i] = g.TEUBooked
		if g.TEUBooked > g.TEUCapacity || g.WeightBookedKg > g.WeightCapacityKg {
			t.Fatalf("segment %d overbooked: %+v", i, g)
		}
	}
	return out
}

func TestBookNeverOverbooks(t *testing.T) {
	s, _ := newStore(t)
	const rounds, racers, slots = 20, 200, 10
	for round := range rounds {
		d := openDeparture(t, s, "SCO-KZ-ALA", slots, slots, 0)
		last := len(d.Stops) - 1
		ok, full := race(t, s, racers, func() pgstore.BookingSpec { return box(d, 1, 20_000, 0, last) })
		if ok != slots || len(full) != racers-slots {
			t.Fatalf("round %d: %d booked, %d full; want %d, %d", round, ok, len(full), slots, racers-slots)
		}
		for _, ce := range full {
			if ce.Reason != pgstore.ReasonTEU || ce.Capacity != slots || ce.Booked != slots || ce.Segment != 0 ||
				ce.From != "CNJZH" || ce.To != "CNURM" {
				t.Fatalf("round %d: capacity error %+v (%v)", round, *ce, ce)
			}
		}
		for i, b := range segmentsBooked(t, s, d.ID) {
			if b != slots {
				t.Fatalf("round %d: segment %d has %d TEU booked, want %d", round, i, b, slots)
			}
		}
	}
}

func TestBookAcrossLowerCapacityBorder(t *testing.T) {
	s, _ := newStore(t)
	const rounds, racers, cn, abroad = 20, 200, 10, 6
	for round := range rounds {
		// SCO-KZ-ALA: segments 0-2 in China (CNJZH CNURM CNHRS KZHOR), 3 abroad (KZHOR KZALA).
		d := openDeparture(t, s, "SCO-KZ-ALA", cn, abroad, 0)
		ok, full := race(t, s, racers, func() pgstore.BookingSpec { return box(d, 1, 20_000, 0, 4) })
		if ok != abroad || len(full) != racers-abroad {
			t.Fatalf("round %d across the border: %d booked, %d full; want %d, %d", round, ok, len(full), abroad, racers-abroad)
		}
		for _, ce := range full {
			if ce.Segment != 3 || ce.From != "KZHOR" || ce.To != "KZALA" || ce.Capacity != abroad || ce.Reason != pgstore.ReasonTEU {
				t.Fatalf("round %d: capacity error %+v", round, *ce)
			}
		}
		// Boxes leaving the train at the border use only Chinese segments: the rest of their room.
		ok, full = race(t, s, racers, func() pgstore.BookingSpec { return box(d, 1, 20_000, 0, 3) })
		if ok != cn-abroad || len(full) != racers-(cn-abroad) {
			t.Fatalf("round %d before the border: %d booked, %d full; want %d, %d", round, ok, len(full), cn-abroad, racers-(cn-abroad))
		}
		if got, want := fmt.Sprint(segmentsBooked(t, s, d.ID)), fmt.Sprint([]int{cn, cn, cn, abroad}); got != want {
			t.Fatalf("round %d: booked per segment %s, want %s", round, got, want)
		}
	}
}

func TestBookBeforeBorderLimitedByChineseCapacityOnly(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 10, 2, 0)
	ok, full := race(t, s, 50, func() pgstore.BookingSpec { return box(d, 1, 20_000, 1, 3) })
	if ok != 10 || len(full) != 40 {
		t.Fatalf("%d booked, %d full; want 10, 40", ok, len(full))
	}
	if got := fmt.Sprint(segmentsBooked(t, s, d.ID)); got != "[0 10 10 0]" {
		t.Fatalf("booked per segment %s", got)
	}
}

func TestBookWeightLimit(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0) // 100 TEU, 1,300 t
	ok, full := race(t, s, 60, func() pgstore.BookingSpec { return box(d, 2, 30_000, 0, 4) })
	if ok != 43 || len(full) != 17 { // 43 * 30 t = 1,290 t; 86 TEU
		t.Fatalf("%d booked, %d full; want 43, 17", ok, len(full))
	}
	for _, ce := range full {
		if ce.Reason != pgstore.ReasonWeight || ce.Capacity != pgstore.DefaultWeightCapacityKg || ce.Booked != 1_290_000 {
			t.Fatalf("capacity error %+v", *ce)
		}
	}
	if !strings.Contains(full[0].Error(), "by weight") {
		t.Errorf("message %q does not name the reason", full[0].Error())
	}
	// A lighter box still fits.
	if _, err := s.Book(t.Context(), box(d, 1, 10_000, 0, 4)); err != nil {
		t.Fatalf("10 t box: %v", err)
	}
}

func TestBookErrors(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	planned, err := s.CreateDeparture(t.Context(), pgstore.DepartureSpec{
		Route: "SCO-KZ-ALA", TrainNumber: "X8025", PlannedDeparture: departureAt, Cutoff: departureAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	pastCutoff := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	if _, err := pool.Exec(t.Context(), `UPDATE departures SET cutoff_at = now() - interval '1 hour' WHERE id = $1`, pastCutoff.ID); err != nil {
		t.Fatal(err)
	}
	taken := box(d, 2, 20_000, 0, 4)
	if _, err := s.Book(t.Context(), taken); err != nil {
		t.Fatal(err)
	}
	unknown := pgstore.Departure{ID: "6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"}

	tests := []struct {
		name string
		spec pgstore.BookingSpec
		want error
	}{
		{"unknown departure", box(unknown, 1, 1000, 0, 1), apperr.ErrNotFound},
		{"not a uuid", box(pgstore.Departure{ID: "x"}, 1, 1000, 0, 1), apperr.ErrNotFound},
		{"planned departure", box(planned, 1, 1000, 0, 1), apperr.ErrConflict},
		{"past cut-off", box(pastCutoff, 1, 1000, 0, 1), apperr.ErrConflict},
		{"container already on it", taken, apperr.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Book(t.Context(), tt.spec)
			var ce *pgstore.CapacityError
			if !errors.Is(err, tt.want) || errors.As(err, &ce) {
				t.Fatalf("err = %v, want %v (not a capacity error)", err, tt.want)
			}
		})
	}
	for name, spec := range map[string]pgstore.BookingSpec{
		"3 TEU":          box(d, 3, 1000, 0, 1),
		"no weight":      box(d, 1, 0, 0, 1),
		"backwards":      box(d, 1, 1000, 2, 1),
		"beyond the end": box(d, 1, 1000, 0, 5),
	} {
		t.Run(name, func(t *testing.T) {
			var ve *apperr.ValidationError
			if _, err := s.Book(t.Context(), spec); !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
		})
	}
	if got := fmt.Sprint(segmentsBooked(t, s, d.ID)); got != "[2 2 2 2]" {
		t.Fatalf("failed bookings left traces: %s", got)
	}
}

func TestBookReturnsTheBooking(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-DE-DUI", 0, 0, 0)
	spec := box(d, 2, 24_500, 1, 6)
	b, err := s.Book(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == "" || b.DepartureID != d.ID || b.Tenant != spec.Tenant || b.Container != spec.Container || b.ISOCode != "45G1" ||
		b.TEU != 2 || b.GrossWeightKg != 24_500 || b.FromSeq != 1 || b.ToSeq != 6 || b.Status != pgstore.BookingConfirmed ||
		b.Version != 1 || b.CreatedAt.IsZero() {
		t.Fatalf("booking = %+v", b)
	}
	if got := fmt.Sprint(segmentsBooked(t, s, d.ID)); got != "[0 2 2 2 2 2]" {
		t.Fatalf("booked per segment %s", got)
	}
}

// BenchmarkBookContended books boxes from many goroutines on one departure with room for all,
// so every booking queues on the same segment rows.
func BenchmarkBookContended(b *testing.B) {
	s, _ := newStore(b)
	d := openDeparture(b, s, "SCO-KZ-ALA", 1<<30, 1<<30, 1<<60)
	b.SetParallelism(8) // 8 x GOMAXPROCS goroutines, within the pool
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Book(context.Background(), box(d, 1, 10_000, 0, 4)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
}

// A batch books in order under one transaction: the first attempts take the room, a container
// twice on the departure is refused once, the capacity error counts what the batch took, and the
// segments hold exactly what the confirmed bookings use.
func TestBookBatch(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 6, 6, 0)
	last := len(d.Stops) - 1
	twin := box(d, 2, 20_000, 0, last)
	attempts := []pgstore.BookingAttempt{
		{Spec: box(d, 2, 20_000, 0, last)},
		{Spec: twin},
		{Spec: twin}, // the same container again
		{Spec: box(d, 1, 10_000, 1, 2)},
		{Spec: box(d, 2, 20_000, 0, last)}, // 7 TEU on segment 1: no room
		{Spec: box(d, 1, 10_000, 3, last)}, // segment 3 has 2 TEU left
		{Spec: pgstore.BookingSpec{DepartureID: d.ID}},
	}
	var hooked []string
	for i := range attempts {
		attempts[i].Then = func(_ pgx.Tx, b pgstore.Booking) error { hooked = append(hooked, b.Container); return nil }
	}
	res, err := s.BookBatch(t.Context(), d.ID, attempts)
	if err != nil {
		t.Fatal(err)
	}
	var ce *pgstore.CapacityError
	var ve *apperr.ValidationError
	switch {
	case res[0].Err != nil, res[1].Err != nil, res[3].Err != nil, res[5].Err != nil:
		t.Fatalf("results %+v", res)
	case !errors.Is(res[2].Err, apperr.ErrConflict) || errors.As(res[2].Err, &ce):
		t.Fatalf("same container twice: %v", res[2].Err)
	case !errors.As(res[4].Err, &ce) || ce.Segment != 1 || ce.Booked != 5 || ce.Capacity != 6 || ce.Reason != pgstore.ReasonTEU:
		t.Fatalf("no room: %v", res[4].Err)
	case !errors.As(res[6].Err, &ve):
		t.Fatalf("invalid spec: %v", res[6].Err)
	}
	if want := []string{res[0].Booking.Container, twin.Container, res[3].Booking.Container, res[5].Booking.Container}; !slices.Equal(hooked, want) {
		t.Fatalf("hooks ran for %v, want %v", hooked, want)
	}
	if got := fmt.Sprint(segmentsBooked(t, s, d.ID)); got != "[4 5 4 5]" {
		t.Fatalf("booked per segment %s, want [4 5 4 5]", got)
	}

	// A hook that fails fails the batch: nothing is booked.
	boom := errors.New("outbox down")
	_, err = s.BookBatch(t.Context(), d.ID, []pgstore.BookingAttempt{{Spec: box(d, 1, 1_000, 0, 1)},
		{Spec: box(d, 1, 1_000, 0, 1), Then: func(pgx.Tx, pgstore.Booking) error { return boom }}})
	if !errors.Is(err, boom) {
		t.Fatalf("failing hook: %v", err)
	}
	if got := fmt.Sprint(segmentsBooked(t, s, d.ID)); got != "[4 5 4 5]" {
		t.Fatalf("after the failed batch: booked per segment %s", got)
	}
}

// DepartureRoute reads what Departure does of a departure's identity and stops, in one query.
func TestDepartureRoute(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 10, 10, 0)
	r, err := s.DepartureRoute(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != d.ID || r.Route != d.Route || r.TrainNumber != d.TrainNumber || len(r.Stops) != len(d.Stops) {
		t.Fatalf("DepartureRoute = %+v, want the identity and stops of %+v", r, d)
	}
	for i, st := range d.Stops {
		if r.Stops[i].Seq != st.Seq || r.Stops[i].UNLocationCode != st.UNLocationCode {
			t.Errorf("stop %d = %+v, want seq %d %s", i, r.Stops[i], st.Seq, st.UNLocationCode)
		}
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
		if _, err := s.DepartureRoute(t.Context(), id); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("DepartureRoute(%q) = %v, want ErrNotFound", id, err)
		}
	}
}
