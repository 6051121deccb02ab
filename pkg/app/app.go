// Package app is the runtime every SCODA service shares: configuration, telemetry, stores, the
// bus topology, the HTTP server with its public and authenticated halves, and an orderly
// shutdown. A service supplies what is its own (migrations, consumers, routes, OpenAPI
// document) as a Service; main stays wiring only.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/health"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/observability"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/redisx"
)

// Service is what a service brings to the runtime.
type Service struct {
	Name        string // "tracking": names the process, its schema and its NATS client
	Version     string
	DefaultAddr string // ":8081"
	Migrations  fs.FS  // embedded NNNNNN_name.up.sql / .down.sql
	OpenAPI     []byte // the service's own OpenAPI 3.1 document (JSON); the runtime adds its routes
	// Consumers lists the durable consumers the service reads with; the streams of the
	// contract (events.Streams) are always declared.
	Consumers []natsx.Consumer
	// Build wires the service onto d: routes on d.API, and workers (consumers, relays) to run
	// until shutdown. It must not block.
	Build func(ctx context.Context, d *Deps) ([]Worker, error)
}

// Worker runs until its context ends, then finishes what it has in hand and returns.
type Worker interface {
	Run(ctx context.Context) error
}

// WorkerFunc adapts a function to Worker.
type WorkerFunc func(ctx context.Context) error

// Run implements Worker.
func (f WorkerFunc) Run(ctx context.Context) error { return f(ctx) }

// Deps are the connections and registries a service's Build receives.
type Deps struct {
	Config    Config
	Log       *slog.Logger
	DB        *pgxpool.Pool
	Redis     *redis.Client
	NATS      *nats.Conn
	JetStream jetstream.JetStream
	// API is the authenticated mux: every route on it requires a valid bearer token.
	API    *Mux
	Health *health.Checker
}

// Run starts s with configuration from the environment and blocks until ctx ends (SIGTERM),
// then shuts down in order. It is what main calls.
func Run(ctx context.Context, s Service) (err error) {
	cfg, err := LoadConfig(s.Name, s.DefaultAddr)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := observability.NewLogger(os.Stdout, cfg.LogLevel, slog.String("service", s.Name))
	r, err := Start(ctx, s, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return err
	}
	log.Info("ready", "addr", r.Addr(), "env", cfg.Env, "schema", cfg.DBSchema)
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	<-ctx.Done()
	log.Info("shutting down", "budget", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = r.Stop(sctx)
	if err != nil {
		log.Error("shutdown finished with errors", "err", err)
	} else {
		log.Info("stopped cleanly")
	}
	return err
}

// Running is a started service.
type Running struct {
	log       *slog.Logger
	cfg       Config
	telemetry *observability.Telemetry
	db        *pgxpool.Pool
	redis     *redis.Client
	nc        *nats.Conn
	server    *http.Server
	listener  net.Listener
	health    *health.Checker
	api       *Mux
	doc       []byte

	cancelWorkers context.CancelFunc
	workers       sync.WaitGroup
	serveDone     chan error
	mu            sync.Mutex
	workerErrs    []error
	stopOnce      sync.Once
	stopErr       error
}

// Addr is the address the HTTP server listens on (useful with HTTP_ADDR=127.0.0.1:0).
func (r *Running) Addr() string { return r.listener.Addr().String() }

// APIRoutes lists the authenticated routes the service registered ("GET /v1/me", ...).
func (r *Running) APIRoutes() []string { return r.api.Patterns() }

// PublicRoutes lists the routes served without a token.
func PublicRoutes() []string {
	return []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "GET /docs"}
}

// OpenAPI is the document the service serves at /openapi.json.
func (r *Running) OpenAPI() []byte { return r.doc }

// Start brings s up with cfg: telemetry, migrations, stores, topology, HTTP and workers. On
// error, whatever was started is stopped again.
func Start(ctx context.Context, s Service, cfg Config, log *slog.Logger) (_ *Running, err error) {
	r := &Running{log: log, cfg: cfg, health: health.New(2 * time.Second), serveDone: make(chan error, 1)}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Stop(context.Background()))
		}
	}()

	r.telemetry, err = observability.Setup(ctx, observability.Config{ServiceName: s.Name, Version: s.Version, Environment: cfg.Env})
	if err != nil {
		return nil, err
	}
	key, err := cfg.verifierKey()
	if err != nil {
		return nil, err
	}
	if cfg.JWTSecret == auth.DevSecret {
		log.Warn("using the development token secret; set AUTH_JWT_SECRET outside local development")
	}

	sctx, cancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	defer cancel()
	if err := postgres.Migrate(sctx, cfg.DatabaseURL, cfg.DBSchema, s.Migrations); err != nil {
		return nil, err
	}
	if r.db, err = postgres.Connect(sctx, cfg.DatabaseURL, cfg.DBSchema); err != nil {
		return nil, err
	}
	if r.redis, err = redisx.Connect(sctx, cfg.RedisURL); err != nil {
		return nil, err
	}
	var js jetstream.JetStream
	if r.nc, js, err = natsx.Connect(sctx, cfg.NATSURL, s.Name, log); err != nil {
		return nil, err
	}
	if err := Topology(cfg, s.Consumers).Ensure(sctx, js); err != nil {
		return nil, err
	}

	r.health.Add("postgres", r.db.Ping)
	r.health.Add("redis", func(ctx context.Context) error { return r.redis.Ping(ctx).Err() })
	r.health.Add("nats", func(ctx context.Context) error {
		if st := r.nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("connection is %s", st)
		}
		_, err := js.AccountInfo(ctx)
		return err
	})

	d := &Deps{Config: cfg, Log: log, DB: r.db, Redis: r.redis, NATS: r.nc, JetStream: js, API: NewMux(), Health: r.health}
	r.api = d.API
	builtins(d, s.Name, s.Consumers)
	var workers []Worker
	if s.Build != nil {
		if workers, err = s.Build(ctx, d); err != nil {
			return nil, fmt.Errorf("build %s: %w", s.Name, err)
		}
	}
	if r.doc, err = openAPIDocument(s.OpenAPI); err != nil {
		return nil, err
	}

	if r.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	r.server = kitx.NewServer(cfg.HTTPAddr, Handler(log, r.telemetry.MetricsHandler, r.health, r.doc, auth.NewVerifier(key), d.API), log)
	go func() { r.serveDone <- r.server.Serve(r.listener) }()

	wctx, cancelWorkers := context.WithCancel(context.WithoutCancel(ctx))
	r.cancelWorkers = cancelWorkers
	for _, w := range workers {
		r.workers.Go(func() {
			if err := w.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker stopped with an error", "err", err)
				r.mu.Lock()
				r.workerErrs = append(r.workerErrs, err)
				r.mu.Unlock()
			}
		})
	}
	return r, nil
}

// Topology is the bus layout a service declares at start: every stream of the contract, with
// the configured replica count, and the service's own durable consumers.
func Topology(cfg Config, consumers []natsx.Consumer) natsx.Topology {
	t := natsx.Topology{Consumers: consumers, Replicas: cfg.StreamReplicas}
	for _, st := range events.Streams() {
		t.Streams = append(t.Streams, natsx.DefaultStream(st.Name, st.Subjects...))
	}
	return t
}

// Handler assembles the HTTP surface: public operational routes (no auth, no spans) and the
// authenticated API behind request ids, panic recovery, access logs and otelhttp spans.
func Handler(log *slog.Logger, metrics http.Handler, hc *health.Checker, doc []byte, v *auth.Verifier, api *Mux) http.Handler {
	apiHandler := kitx.RequestID(kitx.AccessLog(log)(kitx.Recover(log)(kitx.Authenticate(v)(kitx.ProblemMux(api.ServeMux)))))
	traced := otelhttp.NewHandler(apiHandler, "http.server",
		// Named by method until kitx.ProblemMux renames the span after the matched route.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", health.Liveness)
	root.HandleFunc("GET /readyz", hc.Readiness)
	root.Handle("GET /metrics", metrics)
	mountDocs(root, doc)
	root.Handle("/", traced)
	return root
}

// Stop shuts down in order: readiness fails, workers drain, HTTP finishes in-flight requests,
// pools close, telemetry flushes. Every error is kept.
func (r *Running) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() { r.stopErr = r.stop(ctx) })
	return r.stopErr
}

func (r *Running) stop(ctx context.Context) error {
	var errs []error
	r.health.Drain()
	if r.cancelWorkers != nil {
		r.cancelWorkers()
		done := make(chan struct{})
		go func() { r.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("workers did not drain: %w", ctx.Err()))
		}
		r.mu.Lock()
		errs = append(errs, r.workerErrs...)
		r.mu.Unlock()
	}
	if r.server != nil {
		if err := r.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-r.serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", err))
		}
	}
	if r.nc != nil {
		if err := r.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("nats drain: %w", err))
		}
		r.nc.Close()
	}
	if r.redis != nil {
		if err := r.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("redis close: %w", err))
		}
	}
	if r.db != nil {
		r.db.Close()
	}
	if r.telemetry != nil {
		if err := r.telemetry.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry flush: %w", err))
		}
	}
	return errors.Join(errs...)
}

// servePprof serves the Go profiler on addr (keep it on loopback) until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	log.Info("pprof listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("pprof server failed", "err", err)
	}
}
