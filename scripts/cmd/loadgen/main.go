// Command loadgen drives the tracking service's ingest with DCSA events at a target rate and
// reports what a carrier and an operator would want to know: events/s accepted, accept latency
// (p50/p99/p999 per HTTP batch), and events/s until every event is durable and projected
// (history and live state), measured by the projector consumer catching up. In the same run it
// measures this machine's raw JetStream async publish rate, so our figures read as a ratio.
//
//	go run ./scripts/cmd/loadgen -url http://127.0.0.1:18081 -nats nats://127.0.0.1:14222 -rate 5000 -duration 30s
//
// It only talks to the addresses it is given (loopback in scripts/bench.sh), and stops by itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/iso6346"
)

type options struct {
	url, natsURL   string
	rate           int
	batch          int
	concurrency    int
	duration       time.Duration
	containers     int
	rawMessages    int
	catchUpTimeout time.Duration
	label          string
	jsonOut        bool
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8081", "tracking service base URL")
	flag.StringVar(&o.natsURL, "nats", "", "NATS URL for the raw JetStream baseline (empty: skip it)")
	flag.IntVar(&o.rate, "rate", 5000, "target events/s (0: as fast as the service accepts)")
	flag.IntVar(&o.batch, "batch", 500, "events per HTTP request")
	flag.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at most")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&o.containers, "containers", 20000, "distinct containers")
	flag.IntVar(&o.rawMessages, "raw", 200000, "messages for the raw JetStream baseline")
	flag.DurationVar(&o.catchUpTimeout, "catchup", 5*time.Minute, "how long to wait for the projector to catch up")
	flag.StringVar(&o.label, "label", "", "a name for this run in the report")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if o.jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		return
	}
	rep.print(os.Stdout)
}

// report is what a run measured.
type report struct {
	Label            string  `json:"label"`
	TargetRate       int     `json:"targetRate"`
	Batch            int     `json:"batch"`
	Sent             int64   `json:"sent"`
	Accepted         int64   `json:"accepted"`
	Failed           int64   `json:"failedRequests"`
	SendSeconds      float64 `json:"sendSeconds"`
	AcceptedPerSec   float64 `json:"acceptedPerSec"`
	EndToEndSeconds  float64 `json:"endToEndSeconds"`
	EndToEndPerSec   float64 `json:"endToEndPerSec"`
	P50ms            float64 `json:"acceptP50ms"`
	P99ms            float64 `json:"acceptP99ms"`
	P999ms           float64 `json:"acceptP999ms"`
	RawJetStreamRate float64 `json:"rawJetStreamMsgsPerSec,omitempty"`
	LiveChecked      int     `json:"liveChecked"`
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "run %q: target %d ev/s, batches of %d\n", r.Label, r.TargetRate, r.Batch)
	fmt.Fprintf(w, "  accepted      %d events in %.1fs = %.0f ev/s (%d failed requests)\n", r.Accepted, r.SendSeconds, r.AcceptedPerSec, r.Failed)
	fmt.Fprintf(w, "  accept latency per batch: p50 %.1f ms, p99 %.1f ms, p999 %.1f ms\n", r.P50ms, r.P99ms, r.P999ms)
	fmt.Fprintf(w, "  end to end    %.0f ev/s (all accepted events in history and live state after %.1fs)\n", r.EndToEndPerSec, r.EndToEndSeconds)
	if r.RawJetStreamRate > 0 {
		fmt.Fprintf(w, "  raw JetStream async publish on this machine: %.0f msg/s (ours end to end = %.0f%%)\n",
			r.RawJetStreamRate, 100*r.EndToEndPerSec/r.RawJetStreamRate)
	}
	fmt.Fprintf(w, "  live state checked for %d containers\n", r.LiveChecked)
}

func run(ctx context.Context, o options) (report, error) {
	key, err := auth.HMACKey([]byte(envOr("AUTH_JWT_SECRET", auth.DevSecret)))
	if err != nil {
		return report{}, err
	}
	carrier, _ := auth.Mint(key, auth.Principal{Role: auth.RoleCarrier, Subject: "loadgen"}, time.Hour, time.Now())
	admin, _ := auth.Mint(key, auth.Principal{Role: auth.RoleAdmin, Subject: "loadgen"}, time.Hour, time.Now())
	rep := report{Label: o.label, TargetRate: o.rate, Batch: o.batch}

	if o.natsURL != "" {
		if rep.RawJetStreamRate, err = rawJetStream(ctx, o.natsURL, o.rawMessages); err != nil {
			return rep, fmt.Errorf("raw baseline: %w", err)
		}
	}

	gen := newGenerator(o.containers)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}}
	var (
		latMu     sync.Mutex
		latencies []time.Duration
		sent      atomic.Int64
		accepted  atomic.Int64
		failed    atomic.Int64
	)
	// Bodies are made before the clock starts, so generating JSON does not compete for this
	// machine's two cores with the service under test.
	planned := o.rate
	if planned == 0 {
		planned = 25000 // above what the service accepts on this machine
	}
	pool := make([]batch, 0, int(o.duration.Seconds()*float64(planned))/o.batch+1)
	for range cap(pool) {
		pool = append(pool, gen.next(o.batch))
	}
	sendCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	batches := make(chan batch, o.concurrency)
	go func() { // the pacer: one batch every batch/rate seconds, or as fast as workers take them
		defer close(batches)
		var interval time.Duration
		if o.rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(o.batch) / float64(o.rate))
		}
		next := time.Now()
		for i := 0; sendCtx.Err() == nil && i < len(pool); i++ {
			body := pool[i]
			if interval > 0 {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-sendCtx.Done():
						return
					}
				}
			}
			select {
			case batches <- body:
			case <-sendCtx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for b := range batches {
				t0 := time.Now()
				n, err := post(client, o.url+"/v1/events", carrier, b.body)
				d := time.Since(t0)
				sent.Add(int64(o.batch))
				if err != nil {
					failed.Add(1)
					continue
				}
				accepted.Add(int64(n))
				gen.sent(b.containers)
				latMu.Lock()
				latencies = append(latencies, d)
				latMu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.SendSeconds = time.Since(start).Seconds()
	rep.Sent, rep.Accepted, rep.Failed = sent.Load(), accepted.Load(), failed.Load()
	rep.AcceptedPerSec = float64(rep.Accepted) / rep.SendSeconds
	rep.P50ms, rep.P99ms, rep.P999ms = pct(latencies, 0.50), pct(latencies, 0.99), pct(latencies, 0.999)

	if err := waitCaughtUp(ctx, client, o.url, admin, o.catchUpTimeout); err != nil {
		return rep, err
	}
	rep.EndToEndSeconds = time.Since(start).Seconds()
	rep.EndToEndPerSec = float64(rep.Accepted) / rep.EndToEndSeconds
	rep.LiveChecked, err = checkLive(client, o.url, admin, gen, 50)
	return rep, err
}

func post(c *http.Client, url, token string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	var r struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, err
	}
	return r.Accepted, nil
}

// waitCaughtUp polls the service's consumer state until the projector has nothing pending.
func waitCaughtUp(ctx context.Context, c *http.Client, base, token string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/admin/consumers", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		var st struct {
			Consumers []struct {
				Name       string `json:"name"`
				Pending    uint64 `json:"pending"`
				AckPending int    `json:"ackPending"`
			} `json:"consumers"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, cs := range st.Consumers {
			if cs.Name == "tracking-projector" && cs.Pending == 0 && cs.AckPending == 0 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("the projector did not catch up in time")
}

// checkLive reads back the live state of n containers that were sent positions.
func checkLive(c *http.Client, base, token string, g *generator, n int) (int, error) {
	checked := 0
	for _, no := range g.sample(n) {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/containers/"+no, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return checked, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return checked, fmt.Errorf("live state of %s: status %d", no, resp.StatusCode)
		}
		checked++
	}
	return checked, nil
}

func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)
	return float64(s[max(i, 0)].Microseconds()) / 1000
}

// rawJetStream measures async publishing of n ~300-byte messages to a fresh R1 file stream,
// the same storage as TRACKING, then deletes the stream.
func rawJetStream(ctx context.Context, url string, n int) (float64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	name := "BENCH_RAW_" + uuid.NewString()[:8]
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench." + name + ".>"}, Storage: jetstream.FileStorage}); err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	payload := bytes.Repeat([]byte("x"), 300)
	start := time.Now()
	for i := range n {
		if _, err := js.PublishAsync("bench."+name+".c", payload, jetstream.WithMsgID(fmt.Sprint(i))); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return 0, errors.New("raw publish did not complete")
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// generator makes realistic events: mostly GNSS fixes of containers moving across Central Asia,
// some gate-ins and loads, each with a fresh id.
type generator struct {
	mu         sync.Mutex
	rng        *rand.Rand
	containers []string
	used       map[string]bool // containers that were sent at least one event
	clock      time.Time
}

func newGenerator(n int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(42, 7)), clock: time.Now().Add(-6 * time.Hour), used: map[string]bool{}}
	for i := range n {
		no, _ := iso6346.Make([]string{"SCD", "QDL", "MSK", "CSQ"}[i%4], 'U', i)
		g.containers = append(g.containers, string(no))
	}
	return g
}

// batch is one request body and the containers it speaks of.
type batch struct {
	body       []byte
	containers []string
}

func (g *generator) next(n int) batch {
	g.mu.Lock()
	defer g.mu.Unlock()
	evs := make([]map[string]any, n)
	nos := make([]string, n)
	for i := range evs {
		g.clock = g.clock.Add(time.Millisecond)
		no := g.containers[g.rng.IntN(len(g.containers))]
		nos[i] = no
		at := g.clock.Format(time.RFC3339Nano)
		if g.rng.IntN(10) == 0 {
			evs[i] = map[string]any{"eventID": uuid.NewString(), "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",
				"equipmentEventTypeCode": []string{"GTIN", "LOAD", "DISC"}[g.rng.IntN(3)], "eventDateTime": at, "eventCreatedDateTime": at,
				"equipmentReference": no, "emptyIndicatorCode": "LADEN", "eventLocation": map[string]any{"UNLocationCode": "CNJZH"}}
			continue
		}
		evs[i] = map[string]any{"eventID": uuid.NewString(), "eventType": "POSITION", "eventClassifierCode": "ACT", "eventDateTime": at,
			"equipmentReference": no, "latitude": 40 + 8*g.rng.Float64(), "longitude": 70 + 45*g.rng.Float64(), "speedKmh": 60 + 20*g.rng.Float64(),
			"deviceID": "gps-" + no}
	}
	b, _ := json.Marshal(map[string]any{"events": evs})
	return batch{body: b, containers: nos}
}

// sent records that the containers of an accepted batch now have events.
func (g *generator) sent(nos []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, no := range nos {
		g.used[no] = true
	}
}

func (g *generator) sample(n int) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, n)
	for no := range g.used { // map order is random enough for a sample
		if len(out) == n {
			break
		}
		out = append(out, no)
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
