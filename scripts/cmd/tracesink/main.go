// Command tracesink is the trace recorder of `make run`: an OTLP/HTTP receiver on this machine
// that keeps the most recent spans in memory, appends every span as one JSON line to a file, and
// answers questions about them with curl — no Jaeger to build, no UI to open.
//
//	go run ./scripts/cmd/tracesink -addr 127.0.0.1:4318 -file .data/traces.jsonl
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf <service>
//
// OTLP: POST /v1/traces, application/x-protobuf, gzip or not (what the OpenTelemetry SDKs send
// with the http/protobuf protocol; grpc and JSON are not accepted). The query API, on -addr or
// on -api-addr:
//
//	GET /api/traces?service=&name=&min_duration=&limit=  recent traces, newest first (JSON; format=text: one line each)
//	GET /api/traces/{traceID}                            the trace's spans by start time (JSON)
//	GET /api/traces/{traceID}?format=text                the trace as an indented tree
//
// Memory holds at most -max-spans spans; when a new span does not fit, the traces that have not
// received a span for longest are dropped whole. The file (-file) gets every span; above
// -file-max-mb it is renamed to <file>.1 (replacing the previous one) and started anew, so the
// disk holds at most twice that. It listens on 127.0.0.1 unless told otherwise: the spans carry
// what the services put in attributes, and the API has no authentication.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what a run is told by its flags.
type config struct {
	Addr      string // OTLP/HTTP and, unless APIAddr is set, the query API
	APIAddr   string // the query API on its own address ("" shares Addr)
	MaxSpans  int    // spans kept in memory
	File      string // JSON lines, one per span ("" none)
	FileMax   int64  // bytes before the file is rotated
	MaxBody   int64  // bytes of one export request, compressed or not
	Logger    *slog.Logger
	OnListen  func(otlp, api net.Addr) // tests: where it listens
	ShutdownT time.Duration
}

func main() {
	c := config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), ShutdownT: 5 * time.Second}
	var fileMaxMB int64
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:4318", "listen address of the OTLP/HTTP receiver (and of the query API unless -api-addr)")
	flag.StringVar(&c.APIAddr, "api-addr", "", "listen address of the query API (empty: the same as -addr)")
	flag.IntVar(&c.MaxSpans, "max-spans", 20000, "spans kept in memory; the least recently updated traces are dropped first")
	flag.StringVar(&c.File, "file", ".data/traces.jsonl", "append every span as a JSON line here (empty: no file)")
	flag.Int64Var(&fileMaxMB, "file-max-mb", 200, "rotate the file to <file>.1 above this size in MiB")
	flag.Int64Var(&c.MaxBody, "max-body", 32<<20, "largest export request in bytes, compressed or decompressed")
	flag.Parse()
	c.FileMax = fileMaxMB << 20

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		c.Logger.Error("tracesink failed", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then stops the listeners (finishing requests in flight) and
// closes the file.
func run(ctx context.Context, c config) (err error) {
	if c.MaxSpans < 1 || c.MaxBody < 1 || (c.File != "" && c.FileMax < 1) {
		return errors.New("-max-spans, -max-body and -file-max-mb must be positive")
	}
	s, err := newSink(c.MaxSpans, c.File, c.FileMax, c.Logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Close()) }()

	var servers []*http.Server
	listen := func(addr string, h http.Handler) (net.Addr, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.Logger.Error("serve", "addr", addr, "err", err)
			}
		}()
		return ln.Addr(), nil
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownT)
		defer cancel()
		for _, srv := range servers {
			err = errors.Join(err, srv.Shutdown(sctx))
		}
	}()

	var otlpAddr, apiAddr net.Addr
	if c.APIAddr == "" {
		mux := http.NewServeMux()
		s.routeOTLP(mux, c.MaxBody)
		s.routeAPI(mux)
		if otlpAddr, err = listen(c.Addr, mux); err != nil {
			return fmt.Errorf("listen on %s: %w", c.Addr, err)
		}
		apiAddr = otlpAddr
	} else {
		otlp, api := http.NewServeMux(), http.NewServeMux()
		s.routeOTLP(otlp, c.MaxBody)
		s.routeAPI(api)
		if otlpAddr, err = listen(c.Addr, otlp); err != nil {
			return fmt.Errorf("listen on %s: %w", c.Addr, err)
		}
		if apiAddr, err = listen(c.APIAddr, api); err != nil {
			return fmt.Errorf("listen on %s: %w", c.APIAddr, err)
		}
	}
	c.Logger.Info("receiving OTLP/HTTP traces", "otlp", "http://"+otlpAddr.String()+"/v1/traces",
		"api", "http://"+apiAddr.String()+"/api/traces", "file", c.File, "max_spans", c.MaxSpans)
	if c.OnListen != nil {
		c.OnListen(otlpAddr, apiAddr)
	}
	<-ctx.Done()
	st := s.store.stats()
	c.Logger.Info("stopping", "spans_received", st.Received, "traces_kept", st.Traces, "spans_kept", st.Spans, "spans_dropped", st.Dropped)
	return nil
}
