// Command loadgen is the whole-system load benchmark of SCODA Track (make bench). Against the
// three running services it:
//
//  1. measures this machine's raw limits: JetStream async publish, pipelined Redis writes
//     shaped like a live-state update, PostgreSQL COPY in batches like the projector's;
//  2. sets up a shipper (tenant "bench") with -subscribed containers booked through scheduling
//     and an "all my containers" Standard Webhooks subscription to a receiver inside loadgen,
//     and waits until notification has delivered every BOOKING event (it then knows the
//     containers are the tenant's);
//  3. ingests position fixes and milestones at target rates (-runs; HTTP batches, or published
//     on tracking.v1.ingest.<source> with "nats:") over -containers containers, the subscribed
//     ones among them, and reports accept latency, events/s until every event is in history and
//     in the live state, and until every webhook of the subscribed share was delivered and
//     verified (ingest-to-webhook latency from the send of the request carrying the event);
//  4. fills the live state to -live containers as fast as tracking accepts, then measures
//     GET /v1/containers/{no} and the geo search around points of the corridor, and the same
//     reads straight from Redis;
//  5. prints every figure against its floor and as a ratio to its raw limit, with the cores and
//     memory each process used per phase (-json: machine-readable).
//
// It talks only to the addresses it is given (loopback in scripts/bench.sh), every wait is
// bounded, and -timeout bounds the whole run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

type options struct {
	tracking, scheduling, notification string
	natsURL, dbURL, redisURL           string
	trackingPrefix                     string // tracking's REDIS_KEY_PREFIX
	runID                              string // names the raw schema and raw Redis keys
	pids                               string
	runs                               []runSpec
	duration                           time.Duration
	concurrency                        int
	maxPlan                            int
	containers, subscribed, live       int
	fillBatch                          int
	queries, queryConcurrency          int
	queryTime                          time.Duration
	radiusKm                           float64
	rawMessages, rawRows               int
	bookClients                        int
	catchUp, webhookWait, setupWait    time.Duration
	settle                             time.Duration
	receiverAddr                       string
	timeout                            time.Duration
	jsonOut                            bool
}

func main() {
	var o options
	var runs string
	flag.StringVar(&o.tracking, "tracking", "http://127.0.0.1:18081", "tracking service base URL")
	flag.StringVar(&o.scheduling, "scheduling", "http://127.0.0.1:18082", "scheduling service base URL")
	flag.StringVar(&o.notification, "notification", "http://127.0.0.1:18083", "notification service base URL")
	flag.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:14222", "NATS URL (raw JetStream baseline and the NATS ingest runs)")
	flag.StringVar(&o.dbURL, "database", "postgres://postgres@127.0.0.1:5432/scoda?sslmode=disable", "PostgreSQL URL for the raw write baseline")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL (raw baselines, the live-container count)")
	flag.StringVar(&o.trackingPrefix, "tracking-prefix", "scoda:tracking:", "tracking's REDIS_KEY_PREFIX")
	flag.StringVar(&o.runID, "run-id", "loadgen", "names the raw baselines' schema (<run-id>_raw) and Redis keys (<run-id>:raw:)")
	flag.StringVar(&o.pids, "pids", "", "processes to watch, name=pid,... (e.g. tracking=123,nats-server=456); redis-server and postgres are found by name")
	flag.StringVar(&runs, "runs", "5000:100,10000:500,0:500,nats:5000:100", "rate runs, [nats:]events-per-second:events-per-batch, comma- or space-separated; rate 0 = as fast as accepted")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long each rate run sends")
	flag.IntVar(&o.concurrency, "concurrency", 8, "requests (or NATS publishes) in flight at most")
	flag.IntVar(&o.maxPlan, "max-plan", 30000, "events/s to prepare bodies for in an as-fast-as-accepted run")
	flag.IntVar(&o.containers, "containers", 20000, "distinct containers of the rate runs")
	flag.IntVar(&o.subscribed, "subscribed", 1000, "containers booked and subscribed by the bench tenant (among -containers)")
	flag.IntVar(&o.live, "live", 1_000_000, "live containers to fill to before the queries (0: no fill, no queries)")
	flag.IntVar(&o.fillBatch, "fill-batch", 500, "events per request during the fill")
	flag.IntVar(&o.queries, "queries", 20000, "requests of each query kind")
	flag.DurationVar(&o.queryTime, "query-time", 30*time.Second, "at most this long for each query kind")
	flag.IntVar(&o.queryConcurrency, "query-concurrency", 4, "query clients")
	flag.Float64Var(&o.radiusKm, "radius", 10, "geo search radius, km")
	flag.IntVar(&o.rawMessages, "raw", 200000, "messages of the raw JetStream baseline")
	flag.IntVar(&o.rawRows, "raw-rows", 200000, "rows (Postgres) and updates (Redis) of the raw write baselines")
	flag.IntVar(&o.bookClients, "book-clients", 16, "parallel booking clients during setup")
	flag.DurationVar(&o.catchUp, "catchup", 3*time.Minute, "how long to wait for tracking's projector after a run")
	flag.DurationVar(&o.webhookWait, "webhook-wait", 30*time.Second, "how long to wait for the awaited webhooks once the projector caught up")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long to wait, before a run and before the queries, for the services to finish the work of earlier phases")
	flag.DurationVar(&o.setupWait, "setup-wait", 2*time.Minute, "how long to wait for the services and the BOOKING deliveries")
	flag.StringVar(&o.receiverAddr, "receiver", "127.0.0.1:0", "listen address of the webhook receiver")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole benchmark")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.Parse()
	var err error
	if o.runs, err = parseRuns(runs); err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	var errs []error
	if o.subscribed < 0 || o.subscribed > o.containers {
		errs = append(errs, errors.New("-subscribed must be between 0 and -containers"))
	}
	if o.containers < 1 || o.containers > 4_000_000 || o.live > 4_000_000 || o.live < 0 {
		errs = append(errs, errors.New("-containers must be 1 to 4,000,000 and -live 0 to 4,000,000"))
	}
	if o.concurrency < 1 || o.queryConcurrency < 1 || o.bookClients < 1 || o.fillBatch < 1 || o.fillBatch > 1000 {
		errs = append(errs, errors.New("-concurrency, -query-concurrency, -book-clients must be positive; -fill-batch 1 to 1000"))
	}
	if o.duration <= 0 || o.radiusKm <= 0 || o.queries < 1 || o.queryTime <= 0 {
		errs = append(errs, errors.New("-duration, -radius, -queries and -query-time must be positive"))
	}
	return errors.Join(errs...)
}

// bench is one benchmark: the clients, the generator and the watchers it shares across phases.
type bench struct {
	opts  options
	api   *api
	rdb   *redis.Client
	gen   *generator
	lines corridorLines
	rcv   *receiver
	procs *procs
}

func (bn *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[loadgen] "+format+"\n", args...)
}

// run does the phases in order. A phase that fails is reported and, where the next phases can
// still mean something, the benchmark goes on; the error is returned at the end.
func run(ctx context.Context, o options) (*report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep := &report{Machine: machine(), Options: o.summary()}
	var errs []error
	fail := func(phase string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", phase, err))
		rep.Errors = append(rep.Errors, phase+": "+err.Error())
	}

	a, err := newAPI(o)
	if err != nil {
		return rep, err
	}
	lines, err := loadCorridor()
	if err != nil {
		return rep, err
	}
	ropts, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return rep, fmt.Errorf("-redis: %w", err)
	}
	named, order, err := parsePids(o.pids)
	if err != nil {
		return rep, err
	}
	bn := &bench{opts: o, api: a, rdb: redis.NewClient(ropts), lines: lines, procs: newProcs(named, order),
		gen: newGenerator(uint64(time.Now().UnixNano()), lines, o.containers, o.subscribed)}
	defer bn.rdb.Close()
	defer bn.procs.stop()
	rep.Processes = bn.procs.names()
	if err := a.WaitReady(ctx, o.setupWait); err != nil {
		return rep, err
	}

	bn.logf("raw limits: JetStream publish, Redis writes, PostgreSQL COPY")
	bn.procs.begin("raw limits")
	if rep.Raw.JetStreamMsgsPerSec, err = rawJetStream(ctx, o.natsURL, o.rawMessages); err != nil {
		fail("raw JetStream", err)
	}
	if rep.Raw.RedisUpdatesPerSec, err = rawRedis(ctx, bn.rdb, o.runID+":raw:", o.rawRows); err != nil {
		fail("raw Redis", err)
	}
	if rep.Raw.PostgresRowsPerSec, err = rawPostgres(ctx, o.dbURL, strings.ToLower(o.runID)+"_raw", o.rawRows); err != nil {
		fail("raw PostgreSQL", err)
	}
	rep.Usage = append(rep.Usage, bn.procs.end())

	if bn.rcv, err = startReceiver(o.receiverAddr); err != nil {
		return rep, fmt.Errorf("receiver: %w", err)
	}
	defer bn.rcv.close()
	if o.subscribed > 0 {
		bn.logf("setup: subscribe %s, book %d containers", bn.rcv.url(), o.subscribed)
		bn.procs.begin("setup")
		rep.Setup, err = bn.setup(ctx)
		rep.Usage = append(rep.Usage, bn.procs.end())
		if err != nil {
			fail("setup", err)
		}
	}

	for _, spec := range o.runs {
		bn.logf("run %s for %s", spec, o.duration)
		r, err := bn.rateRun(ctx, spec)
		rep.Runs = append(rep.Runs, r)
		rep.Usage = append(rep.Usage, r.Usage)
		if err != nil {
			fail("run "+spec.String(), err)
		}
		if ctx.Err() != nil {
			return rep, errors.Join(append(errs, ctx.Err())...)
		}
	}

	if o.live > 0 {
		bn.logf("fill: a position for each of %d containers", o.live)
		f, err := bn.fill(ctx, 0, o.live, o.fillBatch)
		rep.Fill = &f
		if f.Usage.Phase != "" {
			rep.Usage = append(rep.Usage, f.Usage)
		}
		if err != nil {
			fail("fill", err)
		} else {
			bn.logf("queries: %d of each over %d live containers", o.queries, f.LiveInGeo)
			qs, usage, err := bn.queries(ctx, max(o.live, o.containers), o.queries, o.radiusKm)
			rep.Queries = qs
			rep.Usage = append(rep.Usage, usage)
			if err != nil {
				fail("queries", err)
			}
		}
	}
	rep.Receiver = bn.rcv.stats()
	rep.check()
	return rep, errors.Join(errs...)
}

// setupReport is how the subscribed share was set up.
type setupReport struct {
	Subscribed      int     `json:"subscribed"`
	Departures      int     `json:"departures"`
	BookSeconds     float64 `json:"bookSeconds"`
	BookingsPerSec  float64 `json:"bookingsPerSec"`
	BookingWebhooks int     `json:"bookingWebhooks"`
	OwnedSeconds    float64 `json:"ownedSeconds"` // from the first booking until the last BOOKING delivery
}

// setup subscribes the bench tenant to the receiver, books its containers, and waits until a
// BOOKING delivery arrived for each: notification then owns the containers for the tenant and
// delivers their tracking events.
func (bn *bench) setup(ctx context.Context) (setupReport, error) {
	o := bn.opts
	rep := setupReport{Subscribed: o.subscribed}
	secret, err := bn.api.subscribe(ctx, bn.rcv.url())
	if err != nil {
		return rep, fmt.Errorf("subscribe: %w", err)
	}
	if err := bn.rcv.setSecret(secret); err != nil {
		return rep, err
	}
	start := time.Now()
	deps, took, err := bn.api.book(ctx, o.subscribed, o.bookClients)
	rep.Departures, rep.BookSeconds = deps, took.Seconds()
	rep.BookingsPerSec = float64(o.subscribed) / took.Seconds()
	if err != nil {
		return rep, err
	}
	deadline := time.Now().Add(o.setupWait)
	for bn.rcv.bookingsDelivered() < o.subscribed && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	rep.BookingWebhooks = bn.rcv.bookingsDelivered()
	rep.OwnedSeconds = time.Since(start).Seconds()
	if rep.BookingWebhooks < o.subscribed {
		return rep, fmt.Errorf("%d of %d BOOKING webhooks arrived within %s", rep.BookingWebhooks, o.subscribed, o.setupWait)
	}
	return rep, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
