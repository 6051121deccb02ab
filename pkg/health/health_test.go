package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/health"
)

func TestReadiness(t *testing.T) {
	c := health.New(50 * time.Millisecond)
	c.Add("postgres", func(context.Context) error { return nil })
	hang := make(chan struct{})
	defer close(hang)
	c.Add("nats", func(ctx context.Context) error {
		select { // a dependency that hangs must not hang /readyz
		case <-ctx.Done():
			return ctx.Err()
		case <-hang:
			return nil
		}
	})
	rep := get(t, c, http.StatusServiceUnavailable)
	if rep.Checks["postgres"] != "ok" || rep.Checks["nats"] == "ok" {
		t.Fatalf("checks = %v", rep.Checks)
	}

	c.Add("nats", func(context.Context) error { return nil })
	if rep := get(t, c, http.StatusOK); rep.Status != "ok" {
		t.Fatalf("status = %q", rep.Status)
	}

	c.Drain()
	if rep := get(t, c, http.StatusServiceUnavailable); rep.Checks["shutdown"] != "draining" {
		t.Fatalf("draining not reported: %v", rep.Checks)
	}
}

func TestLiveness(t *testing.T) {
	rec := httptest.NewRecorder()
	health.Liveness(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
}

func TestWaitReady(t *testing.T) {
	calls := 0
	err := health.WaitReady(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err = %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	err = health.WaitReady(ctx, func(context.Context) error { return errors.New("down") })
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the ping error joined with the deadline", err)
	}
}

func get(t *testing.T, c *health.Checker, wantStatus int) health.Report {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Readiness(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, wantStatus, rec.Body)
	}
	var rep health.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
