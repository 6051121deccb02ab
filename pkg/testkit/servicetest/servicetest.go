// Package servicetest runs a whole SCODA service in-process for a test, through the same
// runtime main uses (app.Start), against the real stores: a schema of its own in PostgreSQL,
// a key prefix in Redis, and an embedded NATS server with JetStream. It also holds the checks
// every service must pass: authentication, OpenAPI agreement, and migrations up/down/up.
package servicetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/observability"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
)

// Harness is a running service and what a test needs to talk to it.
type Harness struct {
	URL     string // http://127.0.0.1:<port>
	Running *app.Running
	Config  app.Config
	NATS    *natstest.Server
	key     auth.Key
}

// Start runs svc for the duration of the test and stops it (draining) at cleanup. Options
// adjust the configuration (e.g. point Redis at a private server).
func Start(t testing.TB, svc app.Service, options ...func(*app.Config)) *Harness {
	t.Helper()
	dbURL, schema := pgtest.Schema(t, svc.Name)
	_, prefix := redistest.New(t) // fails or skips the test when Redis is down
	ns := natstest.Start(t)

	cfg := app.Config{
		Env:             "test",
		HTTPAddr:        "127.0.0.1:0",
		DatabaseURL:     dbURL,
		DBSchema:        schema,
		RedisURL:        redistest.URL(),
		RedisPrefix:     prefix,
		NATSURL:         ns.URL,
		StreamReplicas:  1,
		JWTSecret:       auth.DevSecret,
		LogLevel:        slog.LevelInfo,
		StartupTimeout:  20 * time.Second,
		ShutdownTimeout: 15 * time.Second,
	}
	for _, o := range options {
		o(&cfg)
	}
	key, err := auth.HMACKey([]byte(cfg.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	log := observability.NewLogger(t.Output(), cfg.LogLevel, slog.String("service", svc.Name))
	r, err := app.Start(context.Background(), svc, cfg, log)
	if err != nil {
		t.Fatalf("start %s: %v", svc.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", svc.Name, err)
		}
	})
	return &Harness{URL: "http://" + r.Addr(), Running: r, Config: cfg, NATS: ns, key: key}
}

// Token mints a bearer token for role (and tenant, for shippers) valid for an hour.
func (h *Harness) Token(t testing.TB, role auth.Role, tenant string) string {
	t.Helper()
	tok, err := auth.Mint(h.key, auth.Principal{Role: role, Tenant: tenant}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Do sends a request (token may be empty) and returns the response with its body read.
func (h *Harness) Do(t testing.TB, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return testkit.Send(t, req)
}
