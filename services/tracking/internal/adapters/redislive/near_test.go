package redislive_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scodalabs/scoda/pkg/testkit/redistest"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
)

// geoSearch is the single GEOSEARCH that Near must agree with; limit 0 means no COUNT.
func geoSearch(ctx context.Context, c redis.UniversalClient, key string, lat, lon, radiusKm float64, limit int) ([]redislive.Nearby, error) {
	locs, err := c.GeoSearchLocation(ctx, key, &redis.GeoSearchLocationQuery{
		GeoSearchQuery: redis.GeoSearchQuery{
			Longitude: lon, Latitude: lat, Radius: radiusKm, RadiusUnit: "km", Sort: "ASC", Count: limit,
		},
		WithCoord: true,
		WithDist:  true,
	}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]redislive.Nearby, len(locs))
	for i, g := range locs {
		out[i] = redislive.Nearby{Container: g.Name, DistanceKm: g.Dist, Lat: g.Latitude, Lon: g.Longitude}
	}
	return out, nil
}

// offsetKm moves (lat, lon) by north and east km (flat-earth, fine for test data).
func offsetKm(lat, lon, north, east float64) (float64, float64) {
	return lat + north/111.2, lon + east/(111.2*math.Cos(lat*math.Pi/180))
}

// sameCoord: Near decodes positions from the geohash, GEOSEARCH WITHCOORD sends them as text
// with 17 decimals, which gives back the same double except below 0.0625° (a smaller ulp),
// where the two may differ by less than 1e-17°.
func sameCoord(got, want float64) bool {
	if math.Abs(want) < 0.0625 {
		return math.Abs(got-want) < 1e-17
	}
	return got == want
}

// compareNear checks got (Near) against want (a single GEOSEARCH with the same COUNT) and all
// (every member within the radius, from GEOSEARCH without COUNT). Members at exactly the
// distance of the last one returned may differ between the two (Redis breaks such ties in no
// set order); everything else must match.
func compareNear(got, want, all []redislive.Nearby, limit int) error {
	if n := min(limit, len(all)); len(got) != n || len(want) != n {
		return fmt.Errorf("%d results, single GEOSEARCH %d, want %d (of %d within the radius)", len(got), len(want), n, len(all))
	}
	byName := make(map[string]redislive.Nearby, len(all))
	for _, a := range all {
		byName[a.Container] = a
	}
	seen := make(map[string]bool, len(got))
	for i, g := range got {
		a, ok := byName[g.Container]
		switch {
		case !ok:
			return fmt.Errorf("%s (%.4f km) is not within the radius", g.Container, g.DistanceKm)
		case seen[g.Container]:
			return fmt.Errorf("%s returned twice", g.Container)
		case math.Abs(g.DistanceKm-a.DistanceKm) > 1e-4 || !sameCoord(g.Lat, a.Lat) || !sameCoord(g.Lon, a.Lon):
			return fmt.Errorf("%s: %.4f km at %v,%v, GEOSEARCH says %.4f km at %v,%v", g.Container, g.DistanceKm, g.Lat, g.Lon, a.DistanceKm, a.Lat, a.Lon)
		case i > 0 && got[i-1].DistanceKm > g.DistanceKm:
			return fmt.Errorf("not nearest first at %d: %.4f then %.4f km", i, got[i-1].DistanceKm, g.DistanceKm)
		case math.Abs(g.DistanceKm-want[i].DistanceKm) > 1e-4:
			return fmt.Errorf("result %d at %.4f km, single GEOSEARCH %.4f km", i, g.DistanceKm, want[i].DistanceKm)
		}
		seen[g.Container] = true
	}
	if len(got) == 0 {
		return nil
	}
	// Every member strictly nearer than the last one returned must be in both answers.
	last := got[len(got)-1].DistanceKm
	for _, a := range all {
		if a.DistanceKm < last && !seen[a.Container] {
			return fmt.Errorf("%s at %.4f km missing (last returned at %.4f km)", a.Container, a.DistanceKm, last)
		}
	}
	for _, w := range want {
		if w.DistanceKm < last && !seen[w.Container] {
			return fmt.Errorf("%s at %.4f km from the single GEOSEARCH missing", w.Container, w.DistanceKm)
		}
	}
	return nil
}

// TestNearMatchesSingleGeosearch fills the index with a few thousand containers — along a rail
// line, in tight yard clusters and scattered — and checks Near against a single GEOSEARCH for
// many random centres, radii and limits: dense and sparse areas, empty ones, limit 1, radii
// from 10 m to 500 km. It also checks a few other first radii and growth factors, to show the
// result does not depend on them.
func TestNearMatchesSingleGeosearch(t *testing.T) {
	s, c, prefix := newStore(t)
	ctx := t.Context()
	key := prefix + "geo"
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	const lat0, lon0 = 45.0, 82.0
	var ups []redislive.Update
	var points [][2]float64
	add := func(lat, lon float64) {
		cn := fmt.Sprintf("TSTU%07d", len(ups))
		ups = append(ups, pos(cn, "e", base, lat, lon))
		points = append(points, [2]float64{lat, lon})
	}
	for range 2000 { // a 300 km line heading north-east, ~7 a km
		d := rng.Float64() * 300
		lat, lon := offsetKm(lat0, lon0, d*0.6, d*0.8)
		add(offsetKm(lat, lon, rng.NormFloat64()*0.02, rng.NormFloat64()*0.02))
	}
	for range 6 { // yards: 250 containers within a few hundred metres
		clat, clon := offsetKm(lat0, lon0, rng.Float64()*200-50, rng.Float64()*200)
		sd := 0.05 + rng.Float64()*0.5
		for range 250 {
			add(offsetKm(clat, clon, rng.NormFloat64()*sd, rng.NormFloat64()*sd))
		}
	}
	for range 500 { // scattered over ~1,000 km
		add(offsetKm(lat0, lon0, rng.Float64()*1000-500, rng.Float64()*1000-500))
	}
	for chunk := range slices.Chunk(ups, 500) {
		apply(t, s, chunk...)
	}

	radii := []float64{0.01, 0.1, 0.5, 1, 2, 3.7, 5, 10, 25, 50, 100, 500}
	limits := []int{1, 2, 5, 10, 50, 100, 500, 5000}
	settings := []struct{ div, growth float64 }{{16, 4}, {16, 2}, {64, 2}, {2, 4}, {1000, 1.5}}
	var full, short, empty int
	for q := range 600 {
		var lat, lon float64
		switch q % 4 {
		case 0, 1: // at or near a container: dense
			p := points[rng.IntN(len(points))]
			lat, lon = offsetKm(p[0], p[1], rng.NormFloat64(), rng.NormFloat64())
		case 2: // anywhere in the area: mostly sparse
			lat, lon = offsetKm(lat0, lon0, rng.Float64()*1200-600, rng.Float64()*1200-600)
		case 3: // far from everything
			lat, lon = -30+rng.Float64()*10, -60+rng.Float64()*10
		}
		radius, limit := radii[rng.IntN(len(radii))], limits[rng.IntN(len(limits))]
		all, err := geoSearch(ctx, c, key, lat, lon, radius, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := geoSearch(ctx, c, key, lat, lon, radius, limit)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(all) == 0:
			empty++
		case len(all) < limit:
			short++
		default:
			full++
		}
		got, err := s.Near(ctx, lat, lon, radius, limit)
		if err != nil {
			t.Fatal(err)
		}
		if err := compareNear(got, want, all, limit); err != nil {
			t.Fatalf("Near(%v, %v, %v km, %d): %v", lat, lon, radius, limit, err)
		}
		st := settings[q%len(settings)]
		got, err = redislive.NearWith(s, ctx, lat, lon, radius, limit, radius/st.div, st.growth)
		if err != nil {
			t.Fatal(err)
		}
		if err := compareNear(got, want, all, limit); err != nil {
			t.Fatalf("Near(%v, %v, %v km, %d) from %v km growing %v times: %v", lat, lon, radius, limit, radius/st.div, st.growth, err)
		}
	}
	t.Logf("queries: %d with at least limit within the radius, %d with fewer, %d with none", full, short, empty)
	if full < 100 || short < 50 || empty < 50 {
		t.Fatalf("the queries did not cover dense, sparse and empty areas enough: %d, %d, %d", full, short, empty)
	}
}

// TestNearAtTheEdges checks positions near the equator and the prime meridian (where the text
// of WITHCOORD loses the last bits), at the antimeridian and at the latitude limit.
func TestNearAtTheEdges(t *testing.T) {
	s, c, prefix := newStore(t)
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	centres := [][2]float64{{0, 0}, {0.01, -0.02}, {0, 179.99}, {-10, -179.995}, {85.05, 30}, {-85.05, -120}}
	var ups []redislive.Update
	for _, ce := range centres {
		for range 300 {
			lat := min(max(ce[0]+rng.NormFloat64()*0.05, -85.05112878), 85.05112878)
			lon := ce[1] + rng.NormFloat64()*0.05
			if lon > 180 {
				lon -= 360
			} else if lon < -180 {
				lon += 360
			}
			ups = append(ups, pos(fmt.Sprintf("EDGU%07d", len(ups)), "e", base, lat, lon))
		}
	}
	for chunk := range slices.Chunk(ups, 500) {
		apply(t, s, chunk...)
	}
	for _, ce := range centres {
		for _, radius := range []float64{0.5, 3, 20, 500} {
			for _, limit := range []int{1, 50, 250, 2000} {
				all, err := geoSearch(ctx, c, prefix+"geo", ce[0], ce[1], radius, 0)
				if err != nil {
					t.Fatal(err)
				}
				want, err := geoSearch(ctx, c, prefix+"geo", ce[0], ce[1], radius, limit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Near(ctx, ce[0], ce[1], radius, limit)
				if err != nil {
					t.Fatal(err)
				}
				if err := compareNear(got, want, all, limit); err != nil {
					t.Fatalf("Near(%v, %v, %v km, %d): %v", ce[0], ce[1], radius, limit, err)
				}
			}
		}
	}
}

// TestNearEmptyAndUnknownIndex: no geo index at all, and a server that forgot the script.
func TestNearEmptyAndUnknownIndex(t *testing.T) {
	s, c, _ := newStore(t)
	got, err := s.Near(t.Context(), 45, 82, 500, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("near on an empty index = %v, %v", got, err)
	}
	apply(t, s, pos("NEAU0000001", "a", base, 45.01, 82))
	if err := c.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = s.Near(t.Context(), 45, 82, 5, 10)
	if err != nil || len(got) != 1 || got[0].Container != "NEAU0000001" || math.Abs(got[0].DistanceKm-1.112) > 0.01 {
		t.Fatalf("near after SCRIPT FLUSH = %v, %v", got, err)
	}
}

// variant is one way of answering a Near query, for BenchmarkNear.
type variant struct {
	name string
	near func(lat, lon float64, limit int) ([]redislive.Nearby, error)
}

// BenchmarkNear compares a single GEOSEARCH with Near's expanding search (and a few other first
// radii and growth factors) on 1,000,000 containers laid along 40 rail lines of 500 km, 50 a
// km, so a 10 km circle centred on a line holds ~1,000 (more where lines cross). Each query is
// 10 km around a random container, with limit 100, and 400 (which mostly needs the full radius:
// the cost of falling through). The variants run on each centre in a rotating order, so they
// share the machine's other load; each reports its mean latency (<variant>-ns/op) and p99,
// sequential, then p50/p99 with 4 concurrent clients (one variant at a time). Building the index takes a few seconds;
// it is deleted at the end.
//
//	go test -run '^$' -bench BenchmarkNear -benchtime 2000x ./internal/adapters/redislive/
func BenchmarkNear(b *testing.B) {
	// Containers on the line (10 m either side), and spread over a band ~10 km wide as in
	// `make bench` (its load generator moves each fix up to 0.05° either way).
	for _, field := range []struct {
		name     string
		spreadKm float64
	}{{"lines", 0.01}, {"band", 3}} {
		b.Run(field.name, func(b *testing.B) { benchNearField(b, field.spreadKm) })
	}
}

func benchNearField(b *testing.B, spreadKm float64) {
	c, prefix := redistest.New(b)
	s := redislive.New(c, prefix)
	ctx := context.Background()
	key := prefix + "geo" // the key Near reads; redistest deletes it at cleanup
	rng := rand.New(rand.NewPCG(1, 2))

	const lines, perLine, lineKm = 40, 25_000, 500.0
	centres := make([][2]float64, 0, 4096)
	batch := make([]*redis.GeoLocation, 0, 1000)
	pipe := c.Pipeline()
	flush := func() {
		if len(batch) > 0 {
			pipe.GeoAdd(ctx, key, batch...)
			batch = make([]*redis.GeoLocation, 0, 1000)
		}
		if pipe.Len() > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := 0
	for range lines {
		lat0, lon0 := 30+rng.Float64()*20, 20+rng.Float64()*80
		bearing := rng.Float64() * math.Pi
		for range perLine {
			d := rng.Float64() * lineKm
			lat, lon := offsetKm(lat0, lon0, d*math.Cos(bearing), d*math.Sin(bearing))
			lat, lon = offsetKm(lat, lon, rng.NormFloat64()*spreadKm, rng.NormFloat64()*spreadKm)
			batch = append(batch, &redis.GeoLocation{Name: fmt.Sprintf("BENU%07d", n), Latitude: lat, Longitude: lon})
			if len(centres) < cap(centres) && rng.IntN(200) == 0 {
				centres = append(centres, [2]float64{lat, lon})
			}
			n++
			if len(batch) == cap(batch) {
				pipe.GeoAdd(ctx, key, batch...)
				batch = make([]*redis.GeoLocation, 0, 1000)
				if pipe.Len() == 20 {
					flush()
				}
			}
		}
	}
	flush()
	if got := c.ZCard(ctx, key).Val(); got != lines*perLine {
		b.Fatalf("index holds %d members", got)
	}
	var inCircle int
	for _, p := range centres[:200] {
		all, _ := geoSearch(ctx, c, key, p[0], p[1], 10, 0)
		inCircle += len(all)
	}
	b.Logf("%d members, on average %d within 10 km of a query centre", lines*perLine, inCircle/200)

	const radius = 10.0
	variants := []variant{
		{"single", func(lat, lon float64, limit int) ([]redislive.Nearby, error) {
			return geoSearch(ctx, c, key, lat, lon, radius, limit)
		}},
		{"expanding", func(lat, lon float64, limit int) ([]redislive.Nearby, error) {
			return s.Near(ctx, lat, lon, radius, limit)
		}},
	}
	for _, st := range []struct{ div, growth float64 }{{16, 2}, {16, 4}} {
		variants = append(variants, variant{fmt.Sprintf("r/%v×%v", st.div, st.growth), func(lat, lon float64, limit int) ([]redislive.Nearby, error) {
			return redislive.NearWith(s, ctx, lat, lon, radius, limit, radius/st.div, st.growth)
		}})
	}
	for _, limit := range []int{100, 400} {
		b.Run(fmt.Sprintf("limit%d", limit), func(b *testing.B) { benchNear(b, centres, limit, variants) })
	}
}

// benchNear runs every variant on each centre in turn, in a rotating order so that they share
// whatever else the machine is doing, and reports each one's mean and p99 latency; then p50 and
// p99 with 4 concurrent clients.
func benchNear(b *testing.B, centres [][2]float64, limit int, variants []variant) {
	lat := make([][]time.Duration, len(variants))
	i := 0
	for b.Loop() {
		p := centres[i%len(centres)]
		want := -1 // every variant finds as many (the limit, or all within the radius)
		for k := range variants {
			v := (i + k) % len(variants)
			t0 := time.Now()
			got, err := variants[v].near(p[0], p[1], limit)
			lat[v] = append(lat[v], time.Since(t0))
			if want < 0 {
				want = len(got)
			}
			if err != nil || len(got) == 0 || len(got) != want {
				b.Fatalf("%s: %d results (another variant %d), %v", variants[v].name, len(got), want, err)
			}
		}
		i++
	}
	b.StopTimer()
	// With 4 clients, one variant at a time: their queries queue behind each other in Redis.
	const clients = 4
	conc := make([][]time.Duration, len(variants))
	for v := range variants {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range clients {
			wg.Go(func() {
				var mine []time.Duration
				for j := range max(i/clients, 100) {
					p := centres[(w*7919+j)%len(centres)]
					t0 := time.Now()
					if _, err := variants[v].near(p[0], p[1], limit); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				conc[v] = append(conc[v], mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	for v, va := range variants {
		var sum time.Duration
		for _, d := range lat[v] {
			sum += d
		}
		slices.Sort(lat[v])
		b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat[v])), va.name+"-ns/op")
		b.ReportMetric(float64(lat[v][len(lat[v])*99/100].Microseconds()), va.name+"-p99-µs")
		all := conc[v]
		slices.Sort(all)
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), va.name+"-p50-µs/4clients")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), va.name+"-p99-µs/4clients")
	}
	b.ReportMetric(0, "ns/op") // the sum over the variants; meaningless
}
