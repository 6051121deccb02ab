// Command simulator drives a running SCODA Track through its public APIs the way the corridor's
// users would: dispatchers plan departures on the seeded routes (and sometimes delay one with
// If-Match, or cancel it), shippers (acme, globex, initech) book containers, terminals report
// gate-in, loading, reloading at the break of gauge, discharge and gate-out, the rail operator
// reports departures and arrivals, and a GNSS tracker on each container reports its position
// every few simulated minutes as the train moves between stops at 40-60 km/h.
//
//	go run ./scripts/cmd/simulator -speed 1440 -seed 7
//
// Time is simulated and accelerated (-speed 1440: a simulated day per real minute). The
// simulated clock starts -lag (7 days) in the past, so the run begins with a week of history and
// catches up with the present after lag/speed (7 minutes at 1440); tracking refuses events more
// than 24 h in the future, so the clock never runs more than -lead (20 h) ahead of real time:
// from then on it follows real time. Scheduling refuses bookings after a departure's cut-off by
// its own (real) clock, so while the simulated clock is behind real time, departures are planned
// a few hours ahead of real time and trains leave "early" by simulated time.
//
// With -receiver (default 127.0.0.1:8090) it also runs a webhook receiver on that address,
// subscribes it for -tenant's containers (acme: "all my containers", every event type but
// POSITION) and logs each delivery after verifying its Standard Webhooks signature. The
// notification service must be allowed to call it: NOTIFICATION_ALLOWED_NETS=127.0.0.1/32.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

// config is what a run is told by its flags.
type config struct {
	Tracking, Scheduling, Notification string
	Speed                              float64
	Seed                               uint64
	TrainsPerDay, ContainersPerTrain   int
	Duration, Lag, Lead, FixEvery      time.Duration
	Receiver                           string // listen address of the webhook receiver; "" none
	Tenant                             string // the shipper whose deliveries the receiver gets
	BookedFile                         string // where to write "<container> <departure id>" of the first booking for Tenant
	ReadyTimeout                       time.Duration
	Tick                               time.Duration

	onReceiver func(*receiver) // tests: the receiver, once subscribed
}

func main() {
	var c config
	flag.StringVar(&c.Tracking, "tracking", "http://127.0.0.1:8081", "tracking service base URL")
	flag.StringVar(&c.Scheduling, "scheduling", "http://127.0.0.1:8082", "scheduling service base URL")
	flag.StringVar(&c.Notification, "notification", "http://127.0.0.1:8083", "notification service base URL")
	flag.Float64Var(&c.Speed, "speed", 1440, "simulated seconds per real second (1440: a day per minute)")
	flag.Uint64Var(&c.Seed, "seed", 0, "random seed; the same seed plans the same trains, containers and movements (0: pick one and log it)")
	flag.IntVar(&c.TrainsPerDay, "trains-per-day", 4, "departures per simulated day")
	flag.IntVar(&c.ContainersPerTrain, "containers-per-train", 6, "containers booked on each departure")
	flag.DurationVar(&c.Duration, "duration", 0, "stop after this much real time (0: run until interrupted)")
	flag.DurationVar(&c.Lag, "lag", 7*24*time.Hour, "how far in the past the simulated clock starts")
	flag.DurationVar(&c.Lead, "lead", 20*time.Hour, "how far ahead of real time the simulated clock may run (below TRACKING_FUTURE_HORIZON)")
	flag.DurationVar(&c.FixEvery, "fix-every", 10*time.Minute, "simulated time between GNSS fixes of a moving container")
	flag.StringVar(&c.Receiver, "receiver", "127.0.0.1:8090", "listen address of the demo webhook receiver (empty: none)")
	flag.StringVar(&c.Tenant, "tenant", "acme", "shipper tenant the receiver is subscribed for")
	flag.StringVar(&c.BookedFile, "booked-file", "", "write the first container booked for -tenant and its departure id here")
	flag.DurationVar(&c.ReadyTimeout, "ready-timeout", 2*time.Minute, "how long to wait for the services' /readyz")
	flag.Parse()
	c.Tick = 200 * time.Millisecond

	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("simulator failed", "error", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	var errs []error
	if c.Speed < 1 {
		errs = append(errs, errors.New("-speed must be at least 1"))
	}
	if c.TrainsPerDay < 1 || c.ContainersPerTrain < 1 {
		errs = append(errs, errors.New("-trains-per-day and -containers-per-train must be at least 1"))
	}
	if c.Lead <= 0 || c.Lead >= 24*time.Hour {
		errs = append(errs, errors.New("-lead must be between 0 and 24h (tracking refuses events further ahead)"))
	}
	if c.FixEvery < time.Minute {
		errs = append(errs, errors.New("-fix-every must be at least 1m"))
	}
	if c.Lag < 0 || c.Duration < 0 {
		errs = append(errs, errors.New("-lag and -duration must not be negative"))
	}
	return errors.Join(errs...)
}

// run simulates until ctx ends or cfg.Duration has passed. The receiver, when it runs, is the
// last thing to stop.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Tick == 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = auth.DevSecret
	}
	a, err := newAPI(cfg.Tracking, cfg.Scheduling, cfg.Notification, []byte(secret))
	if err != nil {
		return err
	}
	if err := a.WaitReady(ctx, cfg.ReadyTimeout); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if cfg.Receiver != "" {
		stopReceiver, err := startReceiver(ctx, cfg, a, log)
		if err != nil {
			return err
		}
		defer stopReceiver()
	}
	clk := newClock(time.Now, cfg.Speed, cfg.Lag, cfg.Lead)
	sim, err := newSimulator(cfg, log, a, clk)
	if err != nil {
		return err
	}
	log.Info("simulator started", "seed", cfg.Seed, "speed", cfg.Speed, "simTime", clk.Now().UTC().Format(time.RFC3339),
		"catchesUpIn", (time.Duration(float64(cfg.Lag+cfg.Lead) / (cfg.Speed - 1))).Round(time.Second).String(),
		"trainsPerDay", cfg.TrainsPerDay, "containersPerTrain", cfg.ContainersPerTrain)
	err = sim.run(ctx, cfg.Tick)
	log.Info("simulator stopped", "simTime", clk.Now().UTC().Format(time.RFC3339), "eventsSent", sim.sent, "booked", sim.booked)
	return err
}

// startReceiver listens on cfg.Receiver, subscribes it for cfg.Tenant and returns how to stop it.
func startReceiver(ctx context.Context, cfg config, a *api, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", cfg.Receiver)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	rcv := &receiver{log: log.With("component", "receiver"), now: time.Now}
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("receiver stopped", "error", err)
		}
	}()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		log.Info("receiver stopped", "verified", rcv.verified.Load(), "rejected", rcv.rejected.Load())
	}
	callback := "http://" + ln.Addr().String() + "/webhooks/scoda"
	id, secret, err := a.subscribe(ctx, cfg.Tenant, callback, []string{"GTIN", "LOAD", "DEPA", "ARRI", "DISC", "GTOT",
		"ETA", "DELAY", "CANCELLED", "BOOKING", "EXCEPTION"})
	if err != nil {
		stop()
		return nil, fmt.Errorf("subscribe the receiver: %w", err)
	}
	rcv.setSecret(secret)
	if cfg.onReceiver != nil {
		cfg.onReceiver(rcv)
	}
	log.Info("receiver subscribed", "tenant", cfg.Tenant, "callback", callback, "subscription", id)
	return stop, nil
}
