package scheduling_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/kitx"
)

// racer sends booking requests from many goroutines at once over its own connection pool, so
// the requests really are concurrent at the service (the default client keeps two idle
// connections per host).
type racer struct {
	e      *env
	client *http.Client
}

func newRacer(e *env, conns int) *racer {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &racer{e: e, client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (r *racer) close() { r.client.CloseIdleConnections() }

// answer is what one booking request got back.
type answer struct {
	status  int
	problem kitx.Problem
	latency time.Duration
	err     error
}

// book posts one booking with token and reads the answer; it never calls t (it runs in a
// goroutine of its own).
func (r *racer) book(token string, body map[string]any) answer {
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{err: err}
	}
	req, err := http.NewRequest(http.MethodPost, r.e.URL+"/v1/bookings", bytes.NewReader(raw))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, latency: time.Since(start), err: err}
	if err == nil && resp.StatusCode >= 400 {
		if jerr := json.Unmarshal(out, &a.problem); jerr != nil {
			a.err = fmt.Errorf("problem %s: %w", out, jerr)
		}
	}
	return a
}

// race sends len(bodies) booking requests at once, one goroutine each, and returns the answers
// in request order.
func (r *racer) race(token string, bodies []map[string]any) []answer {
	answers := make([]answer, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			<-start
			answers[i] = r.book(token, body)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// TestConcurrentBookingsOverHTTP is the no-overbooking guarantee end to end: 200 shippers race
// over HTTP for a departure with 10 slots of 40' boxes, 20 rounds, and exactly 10 get 201 and
// 190 get 409 naming the full segment, every round; the departure's segments then hold exactly
// 10 boxes. The border round books across a border where the slots abroad are fewer than at home.
func TestConcurrentBookingsOverHTTP(t *testing.T) {
	e := startEnv(t)
	r := newRacer(e, 200)
	defer r.close()
	const rounds, racers, slots = 20, 200, 10

	for _, tc := range []struct {
		name       string
		capacity   map[string]any
		from, to   string
		fullDetail string // what every 409 says
		booked     []int  // TEU booked per segment afterwards
	}{
		{
			name:     "one section",
			capacity: map[string]any{"teuChina": 2 * slots, "teuAbroad": 2 * slots},
			from:     "CNJZH", to: "KZALA",
			fullDetail: "segment 0 CNJZH-CNURM by TEU",
			booked:     []int{2 * slots, 2 * slots, 2 * slots, 2 * slots},
		},
		{
			name:     "across a border with fewer slots abroad",
			capacity: map[string]any{"teuChina": 4 * slots, "teuAbroad": 2 * slots},
			from:     "CNURM", to: "KZALA",
			fullDetail: "segment 3 KZHOR-KZALA by TEU",
			booked:     []int{0, 2 * slots, 2 * slots, 2 * slots},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range rounds {
				d := e.newDeparture(t, fmt.Sprintf("X%d", 9000+round), tc.capacity)
				bodies := make([]map[string]any, racers)
				for i := range bodies {
					bodies[i] = e.bookBody(t, d.ID, 1000+i, "45G1", tc.from, tc.to, 20_000, "")
				}
				var created, full int
				for i, a := range r.race(e.acme, bodies) {
					switch {
					case a.err != nil:
						t.Fatalf("round %d, request %d: %v", round, i, a.err)
					case a.status == http.StatusCreated:
						created++
					case a.status == http.StatusConflict && strings.Contains(a.problem.Detail, tc.fullDetail):
						full++
					default:
						t.Fatalf("round %d, request %d: %d %+v", round, i, a.status, a.problem)
					}
				}
				if created != slots || full != racers-slots {
					t.Fatalf("round %d: %d created, %d full; want %d and %d", round, created, full, slots, racers-slots)
				}
				var got departure
				e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &got)
				booked := make([]int, len(got.Segments))
				for i, g := range got.Segments {
					booked[i] = g.TEUBooked
				}
				if !slices.Equal(booked, tc.booked) {
					t.Fatalf("round %d: TEU booked per segment %v, want %v", round, booked, tc.booked)
				}
			}
		})
	}
}

// BenchmarkBookHTTPContended measures booking throughput and latency through the whole service
// (HTTP, auth, validation, the capacity update and the outbox write in one transaction) with 20
// and 200 clients booking onto the same departure, so every booking queues on the same segment
// rows. The departure has room for every booking: each request is a 201.
//
//	go test -run '^$' -bench BookHTTPContended -benchtime 4000x ./internal/scheduling
func BenchmarkBookHTTPContended(b *testing.B) {
	e := startEnv(b)
	for _, clients := range []int{20, 200} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			r := newRacer(e, clients)
			defer r.close()
			d := e.newDeparture(b, fmt.Sprintf("X99%02d", clients%100), map[string]any{
				"teuChina": 1 << 30, "teuAbroad": 1 << 30, "weightCapacityKg": int64(1) << 50})
			bodies := make([]map[string]any, b.N)
			for i := range bodies {
				bodies[i] = e.bookBody(b, d.ID, i, "22G1", "CNJZH", "KZALA", 10_000, "")
			}
			latencies := make([]time.Duration, b.N)
			work := make(chan int)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failed []answer
			b.ResetTimer()
			for range clients {
				wg.Go(func() {
					for i := range work {
						a := r.book(e.acme, bodies[i])
						latencies[i] = a.latency
						if a.err != nil || a.status != http.StatusCreated {
							mu.Lock()
							failed = append(failed, a)
							mu.Unlock()
						}
					}
				})
			}
			for i := range b.N {
				work <- i
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			if len(failed) > 0 {
				b.Fatalf("%d of %d bookings failed, e.g. %d %v %+v", len(failed), b.N, failed[0].status, failed[0].err, failed[0].problem)
			}
			slices.Sort(latencies)
			q := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
