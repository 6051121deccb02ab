package redislive_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// base is an event time with a nanosecond part, which the store truncates to microseconds.
var base = time.Date(2026, 3, 14, 8, 0, 0, 123456789, time.UTC)

func newStore(t *testing.T) (*redislive.Store, *redis.Client, string) {
	t.Helper()
	c, prefix := redistest.New(t)
	return redislive.New(c, prefix), c, prefix
}

func pos(container, id string, at time.Time, lat, lon float64) redislive.Update {
	return redislive.Update{
		Container: container, EventID: id, At: at, RecordedAt: at.Add(time.Second),
		IsPosition: true, Lat: lat, Lon: lon, EventType: "POSITION",
	}
}

func milestone(container, id string, at time.Time, code, loc string) redislive.Update {
	return redislive.Update{
		Container: container, EventID: id, At: at, RecordedAt: at.Add(time.Second),
		Milestone: code, EventType: "EQUIPMENT", Location: loc,
	}
}

func apply(t *testing.T, s *redislive.Store, ups ...redislive.Update) []redislive.Result {
	t.Helper()
	res, err := s.Apply(t.Context(), ups)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res) != len(ups) {
		t.Fatalf("%d results for %d updates", len(res), len(ups))
	}
	return res
}

func get(t *testing.T, s *redislive.Store, container string) redislive.Live {
	t.Helper()
	l, ok, err := s.Get(t.Context(), container)
	if err != nil {
		t.Fatalf("get %s: %v", container, err)
	}
	if !ok {
		t.Fatalf("get %s: no live state", container)
	}
	return l
}

func ptr(f float64) *float64 { return &f }

// TestShuffledDuplicatedPositionsLeaveNewest sends 50 position fixes for each of 20 containers,
// each 1–3 times, shuffled, through several concurrent pipelines; every container must end at
// its newest fix, in the hash and in the geo index.
func TestShuffledDuplicatedPositionsLeaveNewest(t *testing.T) {
	s, c, prefix := newStore(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	const containers, fixes = 20, 50
	newest := make(map[string]redislive.Update)
	var all []redislive.Update
	for ci := range containers {
		name := fmt.Sprintf("TCKU%07d", ci)
		for fi := range fixes {
			// Fixes 48 and 49 share a time, so the newest is chosen by event id.
			at := base.Add(time.Duration(min(fi, fixes-2)) * time.Minute)
			u := pos(name, fmt.Sprintf("ev-%02d-%02d", ci, fi), at, 45+float64(fi)/100, 82+float64(ci)/100)
			u.SpeedKmh = ptr(float64(fi))
			if cur, ok := newest[name]; !ok || u.At.After(cur.At) || (u.At.Equal(cur.At) && u.EventID > cur.EventID) {
				newest[name] = u
			}
			for range 1 + rng.IntN(3) {
				all = append(all, u)
			}
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	// Four workers, each sending its share in pipelines of varying size.
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		share := all[w*len(all)/workers : (w+1)*len(all)/workers]
		batch := 20 + rng.IntN(200)
		wg.Go(func() {
			for chunk := range slices.Chunk(share, batch) {
				if _, err := s.Apply(context.Background(), chunk); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for name, want := range newest {
		l := get(t, s, name)
		if l.PositionEventID != want.EventID || !l.PositionAt.Equal(want.At.Truncate(time.Microsecond)) ||
			l.Lat != want.Lat || l.Lon != want.Lon || l.SpeedKmh == nil || *l.SpeedKmh != *want.SpeedKmh {
			t.Errorf("%s: position %s at %s (%v,%v), want %s at %s (%v,%v)", name,
				l.PositionEventID, l.PositionAt, l.Lat, l.Lon, want.EventID, want.At, want.Lat, want.Lon)
		}
		geo, err := c.GeoPos(t.Context(), prefix+"geo", name).Result()
		if err != nil || len(geo) != 1 || geo[0] == nil {
			t.Fatalf("%s: geo position: %v %v", name, geo, err)
		}
		if math.Abs(geo[0].Latitude-want.Lat) > 1e-5 || math.Abs(geo[0].Longitude-want.Lon) > 1e-5 {
			t.Errorf("%s: geo index at %v,%v, want %v,%v", name, geo[0].Latitude, geo[0].Longitude, want.Lat, want.Lon)
		}
	}
}

func TestTieBrokenByEventID(t *testing.T) {
	s, _, _ := newStore(t)
	a := pos("TIEU0000001", "evt-a", base, 45.1, 82.1)
	b := pos("TIEU0000001", "evt-b", base, 45.2, 82.2)
	apply(t, s, a)
	if r := apply(t, s, b); !r[0].Applied {
		t.Error("greater event id at the same time not applied")
	}
	a.Container, b.Container = "TIEU0000002", "TIEU0000002"
	apply(t, s, b)
	if r := apply(t, s, a); r[0].Applied {
		t.Error("smaller event id at the same time applied")
	}
	if r := apply(t, s, b); r[0].Applied {
		t.Error("redelivered event applied again")
	}
	for _, name := range []string{"TIEU0000001", "TIEU0000002"} {
		if l := get(t, s, name); l.PositionEventID != "evt-b" {
			t.Errorf("%s: position from %s, want evt-b", name, l.PositionEventID)
		}
	}
}

func TestLateEventNotAppliedAndPrevious(t *testing.T) {
	s, _, _ := newStore(t)
	const cn = "LATU1234565"
	t1, t2, t3 := base, base.Add(time.Hour), base.Add(2*time.Hour)

	r := apply(t, s, pos(cn, "e2", t2, 45.2, 82.4))
	if !r[0].Applied || r[0].HadPrev {
		t.Fatalf("first fix: %+v, want applied without previous", r[0])
	}
	r = apply(t, s, pos(cn, "e1", t1, 45.1, 82.3))
	if r[0].Applied || r[0].HadPrev {
		t.Fatalf("late fix: %+v, want not applied", r[0])
	}
	r = apply(t, s, pos(cn, "e3", t3, 45.3, 82.5))
	want := redislive.Result{Applied: true, HadPrev: true, PrevLat: 45.2, PrevLon: 82.4,
		PrevAt: t2.Truncate(time.Microsecond), PrevEventID: "e2"}
	if r[0] != want {
		t.Fatalf("newer fix: %+v, want %+v", r[0], want)
	}
	if l := get(t, s, cn); l.PositionEventID != "e3" {
		t.Fatalf("position from %s, want e3", l.PositionEventID)
	}

	// Within one pipeline the updates run in order: the second sees the first as previous.
	r = apply(t, s, pos(cn, "e5", t3.Add(2*time.Minute), 45.5, 82.5), pos(cn, "e4", t3.Add(time.Minute), 45.4, 82.5))
	if !r[0].Applied || r[0].PrevEventID != "e3" || r[1].Applied {
		t.Fatalf("batch: %+v", r)
	}
}

func TestMilestonesAndPositionsIndependent(t *testing.T) {
	s, _, _ := newStore(t)
	const cn = "INDU7654321"
	t1, t2, t3 := base, base.Add(time.Hour), base.Add(2*time.Hour)

	r := apply(t, s,
		pos(cn, "p3", t3, 45.18, 82.43),
		milestone(cn, "m2", t2, "ARRI", "CNAKL"), // older than the position, still the newest milestone
		milestone(cn, "m1", t1, "GTIN", "KZDOS"), // older milestone
		pos(cn, "p2", t2, 45.00, 82.00),          // older position
	)
	if got := []bool{r[0].Applied, r[1].Applied, r[2].Applied, r[3].Applied}; !slices.Equal(got, []bool{true, true, false, false}) {
		t.Fatalf("applied = %v, want [true true false false]", got)
	}
	l := get(t, s, cn)
	if !l.HasPosition || l.PositionEventID != "p3" || l.Lat != 45.18 || l.Lon != 82.43 {
		t.Errorf("position = %+v", l)
	}
	if l.Milestone != "ARRI" || l.MilestoneLocation != "CNAKL" || l.MilestoneEventType != "EQUIPMENT" ||
		!l.MilestoneAt.Equal(t2.Truncate(time.Microsecond)) {
		t.Errorf("milestone = %s %s %s %s", l.Milestone, l.MilestoneEventType, l.MilestoneLocation, l.MilestoneAt)
	}

	// A milestone-only container has no position and is not in the geo index.
	apply(t, s, milestone("MSOU0000001", "m", t1, "GTIN", "CNAKL"))
	if l := get(t, s, "MSOU0000001"); l.HasPosition || l.Milestone != "GTIN" {
		t.Errorf("milestone-only = %+v", l)
	}
}

func TestReferencesModeVehicleLastSeen(t *testing.T) {
	s, _, _ := newStore(t)
	const cn = "REFU1111111"
	t0, t1, t2, t3 := base.Add(-time.Hour), base, base.Add(time.Hour), base.Add(2*time.Hour)

	e1 := milestone(cn, "e1", t1, "LOAD", "CNAKL")
	e1.References = map[string]string{"BKG": "BK-1"}
	e1.Mode, e1.Vehicle = "RAIL", "X8024"
	e2 := pos(cn, "e2", t2, 45.2, 82.5)
	e2.References = map[string]string{"TRD": "TD-9"}
	e2.RecordedAt = t3.Add(time.Hour)              // recorded latest
	e3 := milestone(cn, "e3", t0, "GTIN", "CNAKL") // older: its references fill gaps only
	e3.References = map[string]string{"BKG": "BK-OLD", "CNN": "CN-7"}
	e3.Mode, e3.Vehicle = "TRUCK", "AB-123"
	apply(t, s, e1, e2, e3)

	l := get(t, s, cn)
	if want := map[string]string{"BKG": "BK-1", "TRD": "TD-9", "CNN": "CN-7"}; !mapsEqual(l.References, want) {
		t.Errorf("references = %v, want %v", l.References, want)
	}
	if l.Mode != "RAIL" || l.Vehicle != "X8024" {
		t.Errorf("mode/vehicle = %s/%s, want RAIL/X8024", l.Mode, l.Vehicle)
	}
	if want := e2.RecordedAt.Truncate(time.Microsecond); !l.LastSeen.Equal(want) {
		t.Errorf("last seen = %s, want %s", l.LastSeen, want)
	}
	if l.UpdatedAt.IsZero() {
		t.Error("updated at is zero")
	}

	// A newer event replaces one reference, keeps the rest, and moves mode and vehicle.
	e4 := milestone(cn, "e4", t3, "DEPA", "CNAKL")
	e4.References = map[string]string{"BKG": "BK-2"}
	e4.Mode, e4.Vehicle = "RAIL", "X8025"
	apply(t, s, e4)
	l = get(t, s, cn)
	if want := map[string]string{"BKG": "BK-2", "TRD": "TD-9", "CNN": "CN-7"}; !mapsEqual(l.References, want) {
		t.Errorf("references = %v, want %v", l.References, want)
	}
	if l.Vehicle != "X8025" {
		t.Errorf("vehicle = %s, want X8025", l.Vehicle)
	}
	if want := e2.RecordedAt.Truncate(time.Microsecond); !l.LastSeen.Equal(want) {
		t.Errorf("last seen went back to %s, want %s", l.LastSeen, want)
	}

	// An update with only references counts as applied when it changes one.
	refOnly := redislive.Update{Container: cn, EventID: "e5", At: t3.Add(time.Minute), EventType: "SHIPMENT",
		References: map[string]string{"TRD": "TD-10"}}
	if r := apply(t, s, refOnly); !r[0].Applied {
		t.Error("reference-only update not applied")
	}
	if r := apply(t, s, refOnly); r[0].Applied {
		t.Error("repeated reference-only update applied")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSpeedHeadingBelongToTheFix(t *testing.T) {
	s, _, _ := newStore(t)
	const cn = "SPDU0000001"
	u := pos(cn, "a", base, 45, 82)
	u.SpeedKmh, u.HeadingDeg = ptr(61.5), ptr(270)
	apply(t, s, u)
	if l := get(t, s, cn); l.SpeedKmh == nil || *l.SpeedKmh != 61.5 || l.HeadingDeg == nil || *l.HeadingDeg != 270 {
		t.Fatalf("speed/heading = %v/%v", l.SpeedKmh, l.HeadingDeg)
	}
	apply(t, s, pos(cn, "b", base.Add(time.Minute), 45.01, 82))
	if l := get(t, s, cn); l.SpeedKmh != nil || l.HeadingDeg != nil {
		t.Fatalf("speed/heading kept from an older fix: %v/%v", l.SpeedKmh, l.HeadingDeg)
	}
}

func TestGetUnknown(t *testing.T) {
	s, _, _ := newStore(t)
	l, ok, err := s.Get(t.Context(), "NONU0000000")
	if err != nil || ok {
		t.Fatalf("get unknown = %+v, %v, %v; want false", l, ok, err)
	}
}

func TestApplyRefusesInvalidInput(t *testing.T) {
	s, c, prefix := newStore(t)
	good := pos("BADU0000001", "g", base, 45, 82)
	tests := []struct {
		name string
		edit func(*redislive.Update)
	}{
		{"empty container", func(u *redislive.Update) { u.Container = "" }},
		{"brace in container", func(u *redislive.Update) { u.Container = "A{B}" }},
		{"zero time", func(u *redislive.Update) { u.At = time.Time{} }},
		{"latitude", func(u *redislive.Update) { u.Lat = 90.5 }},
		{"longitude", func(u *redislive.Update) { u.Lon = -181 }},
		{"NaN latitude", func(u *redislive.Update) { u.Lat = math.NaN() }},
		{"infinite speed", func(u *redislive.Update) { u.SpeedKmh = ptr(math.Inf(1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := good
			bad.EventID = "b"
			tt.edit(&bad)
			if _, err := s.Apply(t.Context(), []redislive.Update{good, bad}); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	// Nothing of a refused batch is sent.
	if keys := c.Keys(t.Context(), prefix+"*").Val(); len(keys) != 0 {
		t.Fatalf("keys after refused batches: %v", keys)
	}
}

func TestPolarFixKeptOutOfGeoIndex(t *testing.T) {
	s, c, prefix := newStore(t)
	const cn = "POLU0000001"
	apply(t, s, pos(cn, "a", base, 45, 82))
	apply(t, s, pos(cn, "b", base.Add(time.Hour), 89.5, 10))
	if l := get(t, s, cn); l.Lat != 89.5 {
		t.Fatalf("lat = %v, want 89.5", l.Lat)
	}
	if n := c.ZCard(t.Context(), prefix+"geo").Val(); n != 0 {
		t.Fatalf("geo index holds %d members, want 0 (the old point would be stale)", n)
	}
}

// haversineKm is the great-circle distance on Redis's Earth radius.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6372.7976
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

func TestNear(t *testing.T) {
	s, _, _ := newStore(t)
	const lat, lon = 45.183, 82.433 // Alashankou
	places := []struct {
		cn       string
		lat, lon float64
	}{
		{"NEAU0000001", 45.183, 82.433}, // in the yard
		{"NEAU0000002", 45.217, 82.480}, // towards Dostyk
		{"NEAU0000003", 44.905, 82.068}, // Bole, ~42 km
		{"NEAU0000004", 43.825, 87.617}, // Urumqi, far
		{"NEAU0000005", 44.209, 80.419}, // Khorgos, far
		{"NEAU0000006", 45.350, 82.700}, // north-east, ~27 km
	}
	var ups []redislive.Update
	for i, p := range places {
		ups = append(ups, pos(p.cn, fmt.Sprint(i), base, p.lat, p.lon))
	}
	apply(t, s, ups...)

	got, err := s.Near(t.Context(), lat, lon, 50, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, n := range got {
		names = append(names, n.Container)
		p := places[slices.IndexFunc(places, func(p struct {
			cn       string
			lat, lon float64
		}) bool {
			return p.cn == n.Container
		})]
		want := haversineKm(lat, lon, p.lat, p.lon)
		if math.Abs(n.DistanceKm-want) > 0.01 {
			t.Errorf("%s: distance %.3f km, want %.3f", n.Container, n.DistanceKm, want)
		}
		if math.Abs(n.Lat-p.lat) > 1e-5 || math.Abs(n.Lon-p.lon) > 1e-5 {
			t.Errorf("%s: at %v,%v, want %v,%v", n.Container, n.Lat, n.Lon, p.lat, p.lon)
		}
		if i > 0 && got[i-1].DistanceKm > n.DistanceKm {
			t.Errorf("not sorted by distance: %v", got)
		}
	}
	if want := []string{"NEAU0000001", "NEAU0000002", "NEAU0000006", "NEAU0000003"}; !slices.Equal(names, want) {
		t.Fatalf("near = %v, want %v", names, want)
	}

	got, err = s.Near(t.Context(), lat, lon, 50, 2)
	if err != nil || len(got) != 2 || got[1].Container != "NEAU0000002" {
		t.Fatalf("near with limit 2 = %v, %v", got, err)
	}
	if _, err := s.Near(t.Context(), lat, lon, 0, 10); err == nil {
		t.Error("want an error for radius 0")
	}
	if _, err := s.Near(t.Context(), lat, lon, 10, 0); err == nil {
		t.Error("want an error for limit 0")
	}
}

// TestSurvivesRestartAndFlush runs against a private server: it restarts and flushes it.
func TestSurvivesRestartAndFlush(t *testing.T) {
	url, srv := redistest.StartServer(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	s := redislive.New(c, "scoda:tracking:")
	ctx := t.Context()
	const cn = "RSTU0000001"
	src, err := os.ReadFile("apply.lua")
	if err != nil {
		t.Fatal(err)
	}
	sha := redis.NewScript(string(src)).Hash()

	sentinel := func() bool {
		t.Helper()
		ok, err := s.Sentinel(ctx)
		if err != nil {
			t.Fatalf("sentinel: %v", err)
		}
		return ok
	}
	applyFresh := func(id string, at time.Time) {
		t.Helper()
		r := apply(t, s, pos(cn, id, at, 45.18, 82.43))
		if !r[0].Applied || r[0].HadPrev {
			t.Fatalf("apply on an empty server: %+v", r[0])
		}
		if l := get(t, s, cn); l.PositionEventID != id {
			t.Fatalf("position from %s, want %s", l.PositionEventID, id)
		}
	}

	apply(t, s, pos(cn, "a", base, 45, 82))
	if sentinel() {
		t.Fatal("sentinel present before MarkRebuilt")
	}
	if err := s.MarkRebuilt(ctx); err != nil {
		t.Fatal(err)
	}
	if !sentinel() {
		t.Fatal("sentinel absent after MarkRebuilt")
	}

	t.Run("restart", func(t *testing.T) {
		srv.Restart(t)
		testkit.Eventually(t, 5*time.Second, func() error { return c.Ping(ctx).Err() })
		if sentinel() {
			t.Fatal("sentinel present after a restart")
		}
		if exists := c.ScriptExists(ctx, sha).Val(); len(exists) != 1 || exists[0] {
			t.Fatalf("script still cached after restart: %v", exists)
		}
		applyFresh("b", base.Add(-time.Hour)) // older than before the restart: Redis forgot it
		if exists := c.ScriptExists(ctx, sha).Val(); len(exists) != 1 || !exists[0] {
			t.Fatalf("script not cached again after the EVAL fallback: %v", exists)
		}
		if err := s.MarkRebuilt(ctx); err != nil {
			t.Fatal(err)
		}
		if !sentinel() {
			t.Fatal("sentinel absent after MarkRebuilt")
		}
	})

	t.Run("flushall", func(t *testing.T) {
		srv.FlushAll(t)
		if sentinel() {
			t.Fatal("sentinel present after FLUSHALL")
		}
		if _, ok, err := s.Get(ctx, cn); ok || err != nil {
			t.Fatalf("live state after FLUSHALL: %v %v", ok, err)
		}
		applyFresh("c", base.Add(-2*time.Hour))
		if err := s.MarkRebuilt(ctx); err != nil {
			t.Fatal(err)
		}
		if !sentinel() {
			t.Fatal("sentinel absent after MarkRebuilt")
		}
	})

	t.Run("script flush", func(t *testing.T) {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r := apply(t, s, pos(cn, "d", base, 45.2, 82.4))
		if !r[0].Applied || r[0].PrevEventID != "c" {
			t.Fatalf("apply after SCRIPT FLUSH: %+v", r[0])
		}
	})
}

// BenchmarkApply1000 applies 1,000 updates (four in five position fixes, the rest milestones,
// over 200 containers) in one pipeline per iteration; every update is newer, so all land.
func BenchmarkApply1000(b *testing.B) {
	c, prefix := redistest.New(b)
	s := redislive.New(c, prefix)
	ctx := context.Background()
	const n, containers = 1000, 200
	ups := make([]redislive.Update, n)
	names := make([]string, containers)
	for i := range names {
		names[i] = fmt.Sprintf("BENU%07d", i)
	}
	iter := 0
	for b.Loop() {
		for i := range ups {
			cn := names[i%containers]
			at := base.Add(time.Duration(iter*n+i) * time.Millisecond)
			id := fmt.Sprintf("%d-%d", iter, i)
			if i%5 == 4 {
				ups[i] = milestone(cn, id, at, "DEPA", "CNAKL")
				ups[i].References = map[string]string{"BKG": "BK-" + cn}
				ups[i].Mode, ups[i].Vehicle = "RAIL", "X8024"
			} else {
				ups[i] = pos(cn, id, at, 45+float64(i%90)/100, 82+float64(i%70)/100)
				ups[i].SpeedKmh = ptr(60)
			}
		}
		res, err := s.Apply(ctx, ups)
		if err != nil {
			b.Fatal(err)
		}
		if !res[n-1].Applied {
			b.Fatal("last update not applied")
		}
		iter++
	}
	b.ReportMetric(float64(iter*n)/b.Elapsed().Seconds(), "updates/s")
}

func TestReplayedPositionReturnsItsPreviousFix(t *testing.T) {
	c, prefix := redistest.New(t)
	s := redislive.New(c, prefix)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	fix := func(id string, at time.Time, lat float64) redislive.Update {
		return redislive.Update{Container: "CSQU3054383", EventID: id, At: at, IsPosition: true, EventType: "POSITION", Lat: lat, Lon: 80}
	}
	if _, err := s.Apply(ctx, []redislive.Update{fix("a", t0, 44)}); err != nil {
		t.Fatal(err)
	}
	first, err := s.Apply(ctx, []redislive.Update{fix("b", t0.Add(time.Hour), 45)})
	if err != nil || !first[0].Applied || !first[0].HadPrev || first[0].PrevEventID != "a" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	again, err := s.Apply(ctx, []redislive.Update{fix("b", t0.Add(time.Hour), 45)})
	if err != nil {
		t.Fatal(err)
	}
	r := again[0]
	if r.Applied || !r.Replayed || !r.HadPrev || r.PrevEventID != "a" || r.PrevLat != 44 || !r.PrevAt.Equal(t0) {
		t.Fatalf("replay = %+v", r)
	}
	// A late fix is neither applied nor a replay.
	late, _ := s.Apply(ctx, []redislive.Update{fix("z", t0.Add(-time.Hour), 40)})
	if late[0].Applied || late[0].Replayed {
		t.Fatalf("late = %+v", late[0])
	}
}
