package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/pkg/testkit/proctest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
)

// The simulator against the three service binaries: bookings are made, a simulated container
// has a live position in tracking, and the receiver gets verified deliveries.
func TestSimulatorAgainstTheServices(t *testing.T) {
	if testing.Short() && !testkit.InCI() {
		t.Skip("builds and runs the three services (not with -short outside CI)")
	}
	ns := natstest.Start(t)
	urls := map[string]string{}
	for _, svc := range []string{"tracking", "scheduling", "notification"} {
		bin := proctest.Build(t, "github.com/scodalabs/scoda/services/"+svc+"/cmd/"+svc)
		dsn, schema := pgtest.Schema(t, "sim"+svc)
		_, prefix := redistest.New(t)
		p := proctest.Start(t, bin, "SCODA_ENV=test", "DATABASE_URL="+dsn, "DB_SCHEMA="+schema, "REDIS_URL="+redistest.URL(),
			"REDIS_KEY_PREFIX="+prefix, "NATS_URL="+ns.URL, "AUTH_JWT_SECRET="+auth.DevSecret, "LOG_LEVEL=warn",
			"NOTIFICATION_ALLOWED_NETS=127.0.0.1/32")
		urls[svc] = p.URL
	}
	booked := filepath.Join(t.TempDir(), "booked")
	var rcv atomic.Pointer[receiver]
	cfg := config{Tracking: urls["tracking"], Scheduling: urls["scheduling"], Notification: urls["notification"],
		Speed: 20000, Seed: 11, TrainsPerDay: 3, ContainersPerTrain: 3, Duration: 20 * time.Second,
		Lag: 3 * 24 * time.Hour, Lead: 20 * time.Hour, FixEvery: 30 * time.Minute, Receiver: "127.0.0.1:0", Tenant: "acme",
		BookedFile: booked, ReadyTimeout: time.Minute, Tick: 100 * time.Millisecond,
		onReceiver: func(r *receiver) { rcv.Store(r) }}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), cfg, log); err != nil {
		t.Fatal(err)
	}

	b, err := os.ReadFile(booked)
	if err != nil {
		t.Fatalf("no booking for acme: %v", err)
	}
	container := strings.Fields(string(b))[0]
	a, err := newAPI(cfg.Tracking, cfg.Scheduling, cfg.Notification, []byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	var bookings struct {
		Bookings []bookingOut `json:"bookings"`
	}
	if _, err := a.Do(context.Background(), http.MethodGet, cfg.Scheduling+"/v1/bookings?limit=100", "shipper:acme", nil, nil, &bookings, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if len(bookings.Bookings) == 0 {
		t.Fatal("acme has no bookings")
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		var live struct {
			Position *struct {
				Latitude float64 `json:"latitude"`
			} `json:"position"`
		}
		if _, err := a.Do(context.Background(), http.MethodGet, cfg.Tracking+"/v1/containers/"+container, "shipper:acme", nil, nil, &live, http.StatusOK); err != nil {
			return err
		}
		if live.Position == nil {
			return errNoPosition
		}
		return nil
	})
	if r := rcv.Load(); r == nil || r.verified.Load() == 0 || r.rejected.Load() != 0 {
		t.Fatalf("receiver: %+v", r)
	}
	t.Logf("%d bookings for acme, %d verified deliveries", len(bookings.Bookings), rcv.Load().verified.Load())
}

var errNoPosition = errors.New("no live position yet")

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
