package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// fillReport is the fill to -live containers: one position fix for each of containers
// [0, live), sent as fast as tracking accepts them (the rate runs' containers get their latest
// position, so every container queried afterwards is live).
type fillReport struct {
	Containers     int        `json:"containers"`
	Events         int64      `json:"events"`
	FailedRequests int64      `json:"failedRequests"`
	SendSeconds    float64    `json:"sendSeconds"`
	AcceptedPerSec float64    `json:"acceptedPerSec"`
	ProjectedSecs  float64    `json:"projectedSeconds"`
	ProjectedPerS  float64    `json:"projectedPerSec"`
	LiveInGeo      int64      `json:"liveContainersInGeoIndex"`
	Usage          phaseUsage `json:"usage"`
}

// fill sends position fixes for containers [from, to) in batches of size, generated while
// sending (a pool of a million events would hold ~300 MB), then waits for the projector.
func (bn *bench) fill(ctx context.Context, from, to, size int) (fillReport, error) {
	rep := fillReport{Containers: to - from}
	if to <= from {
		return rep, nil
	}
	send, err := bn.httpSender()
	if err != nil {
		return rep, err
	}
	bn.procs.begin("fill")
	batches := make(chan batch, 4*bn.opts.concurrency)
	go func() { // one generator goroutine: the generator is not safe for concurrent use
		defer close(batches)
		for i := from; i < to; i += size {
			select {
			case batches <- bn.gen.fill(i, min(size, to-i)):
			case <-ctx.Done():
				return
			}
		}
	}()
	var events, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range bn.opts.concurrency {
		wg.Go(func() {
			for b := range batches {
				// A refused batch is retried a few times: every container must end up live.
				var err error
				for attempt := range 5 {
					var n int
					if n, err = send(ctx, b); err == nil {
						events.Add(int64(n))
						break
					}
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	rep.SendSeconds = time.Since(start).Seconds()
	rep.Events, rep.FailedRequests = events.Load(), failed.Load()
	rep.AcceptedPerSec = float64(rep.Events) / rep.SendSeconds
	if e := firstErr.Load(); e != nil {
		bn.logf("fill: %d requests failed, the first: %s", rep.FailedRequests, e)
	}
	err = bn.api.waitCaughtUp(ctx, bn.opts.catchUp)
	rep.ProjectedSecs = time.Since(start).Seconds()
	rep.ProjectedPerS = float64(rep.Events) / rep.ProjectedSecs
	rep.Usage = bn.procs.end()
	if err != nil {
		return rep, err
	}
	rep.LiveInGeo, err = bn.rdb.ZCard(ctx, bn.opts.trackingPrefix+"geo").Result()
	return rep, err
}

// queryReport is one kind of query: through the service, and the same read straight from Redis.
type queryReport struct {
	Query        string  `json:"query"`
	Requests     int     `json:"requests"`
	Errors       int64   `json:"errors"`
	P50ms        number  `json:"p50ms"`
	P99ms        number  `json:"p99ms"`
	P999ms       number  `json:"p999ms"`
	PerSec       float64 `json:"perSec"`
	MeanResults  float64 `json:"meanResults,omitempty"`
	EmptyResults int64   `json:"emptyResults,omitempty"`
	StartBacklog int64   `json:"backlogAtStart"` // see runReport.StartBacklog
	// The geo search only: containers within the radius of the first InRadiusSampled centres,
	// uncapped (the API answers at most 100).
	InRadiusSampled int     `json:"inRadiusSampled,omitempty"`
	InRadiusMean    float64 `json:"inRadiusMean,omitempty"`
	InRadiusMax     int     `json:"inRadiusMax,omitempty"`
	RawP50ms        number  `json:"rawRedisP50ms"`
	RawP99ms        number  `json:"rawRedisP99ms"`
}

// queries measures GET /v1/containers/{no} for random live containers and GET
// /v1/containers?near=...&radiusKm=... around random corridor points, n requests each (or as
// many as fit in -query-time) from -query-concurrency clients, then the same reads straight
// from Redis (HGETALL of the container's hash; GEOSEARCH as tracking's Near does it) for the
// ratio.
func (bn *bench) queries(ctx context.Context, live, n int, radiusKm float64) ([]queryReport, phaseUsage, error) {
	o := bn.opts
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 99))
	nos := make([]string, n)
	for i := range nos {
		nos[i] = containerNo(rng.IntN(live))
	}
	centres := make([][2]float64, n)
	for i := range centres {
		p := bn.lines.point(rng, 0) // on the line: where the containers are
		centres[i] = [2]float64{p.Lat, p.Lon}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.queryConcurrency}}
	token, err := bn.api.Token("dispatcher")
	if err != nil {
		return nil, phaseUsage{}, err
	}
	get := func(url string, out any) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return &stackapi.StatusError{Status: resp.StatusCode, Body: string(raw)}
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	backlog := bn.settle(ctx, "queries")
	bn.procs.begin("queries")
	byNo := queryReport{Query: "GET /v1/containers/{no}"}
	m := bn.measure(ctx, n, func(i int) error {
		return get(bn.api.Tracking+"/v1/containers/"+nos[i], nil)
	})
	m.fill(&byNo)

	near := queryReport{Query: fmt.Sprintf("GET /v1/containers?near=&radiusKm=%g", radiusKm)}
	var results, empty atomic.Int64
	rk := strconv.FormatFloat(radiusKm, 'f', -1, 64)
	m = bn.measure(ctx, n, func(i int) error {
		var out struct {
			Containers []json.RawMessage `json:"containers"`
		}
		url := fmt.Sprintf("%s/v1/containers?near=%.5f,%.5f&radiusKm=%s", bn.api.Tracking, centres[i][0], centres[i][1], rk)
		if err := get(url, &out); err != nil {
			return err
		}
		results.Add(int64(len(out.Containers)))
		if len(out.Containers) == 0 {
			empty.Add(1)
		}
		return nil
	})
	m.fill(&near)
	near.MeanResults, near.EmptyResults = float64(results.Load())/float64(max(near.Requests-int(near.Errors), 1)), empty.Load()
	usage := bn.procs.end()

	// The same reads straight from Redis, same clients: the floor under our figures.
	raw := bn.measure(ctx, n, func(i int) error {
		return bn.rdb.HGetAll(ctx, o.trackingPrefix+"c:{"+nos[i]+"}").Err()
	})
	byNo.RawP50ms, byNo.RawP99ms = pct(raw.lat, 0.5), pct(raw.lat, 0.99)
	raw2 := bn.measure(ctx, n, func(i int) error {
		return bn.rdb.GeoSearchLocation(ctx, o.trackingPrefix+"geo", &redis.GeoSearchLocationQuery{
			GeoSearchQuery: redis.GeoSearchQuery{Longitude: centres[i][1], Latitude: centres[i][0], Radius: radiusKm,
				RadiusUnit: "km", Sort: "ASC", Count: 100},
			WithCoord: true, WithDist: true}).Err()
	})
	near.RawP50ms, near.RawP99ms = pct(raw2.lat, 0.5), pct(raw2.lat, 0.99)
	// How many containers really lie within the radius (the answers are capped at 100): what
	// the geo search has to sort through.
	for i := range min(200, n) {
		names, err := bn.rdb.GeoSearch(ctx, o.trackingPrefix+"geo", &redis.GeoSearchQuery{
			Longitude: centres[i][1], Latitude: centres[i][0], Radius: radiusKm, RadiusUnit: "km"}).Result()
		if err != nil {
			break
		}
		near.InRadiusSampled++
		near.InRadiusMean += float64(len(names))
		near.InRadiusMax = max(near.InRadiusMax, len(names))
	}
	near.InRadiusMean /= float64(max(near.InRadiusSampled, 1))
	byNo.StartBacklog, near.StartBacklog = backlog, backlog
	if raw.errs+raw2.errs > 0 {
		return []queryReport{byNo, near}, usage, fmt.Errorf("raw Redis reads failed %d times", raw.errs+raw2.errs)
	}
	return []queryReport{byNo, near}, usage, nil
}

// measured is one kind of query: the latency of each successful call, how many were made,
// how many failed, and the wall time.
type measured struct {
	lat  []time.Duration
	done int
	errs int64
	secs float64
}

func (m measured) fill(q *queryReport) {
	q.Requests, q.Errors = m.done, m.errs
	q.P50ms, q.P99ms, q.P999ms = pct(m.lat, 0.5), pct(m.lat, 0.99), pct(m.lat, 0.999)
	q.PerSec = float64(m.done) / m.secs
}

// measure runs do(i) for i in [0, n) from -query-concurrency goroutines, for at most
// -query-time: a slow query kind is measured on fewer requests rather than stretching the run.
func (bn *bench) measure(ctx context.Context, n int, do func(i int) error) measured {
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	start := time.Now()
	var wg sync.WaitGroup
	for range bn.opts.queryConcurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Since(start) < bn.opts.queryTime {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				err := do(i)
				lat[i] = time.Since(t0)
				done.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, errBox{err})
					continue
				}
				ok[i] = true
			}
		})
	}
	wg.Wait()
	m := measured{done: int(done.Load()), errs: errs.Load(), secs: time.Since(start).Seconds()}
	for i, d := range lat {
		if ok[i] {
			m.lat = append(m.lat, d)
		}
	}
	if e := firstErr.Load(); e != nil {
		bn.logf("%d of %d queries failed, the first: %v", m.errs, m.done, e.(errBox).err)
	}
	return m
}

// errBox gives atomic.Value one concrete type for errors of any type.
type errBox struct{ err error }
