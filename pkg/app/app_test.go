package app_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

var migrations = fstest.MapFS{
	"000001_create_inbox.up.sql":   {Data: []byte(`CREATE TABLE inbox (consumer text, event_id text, subject text, processed_at timestamptz DEFAULT now(), PRIMARY KEY (consumer, event_id));`)},
	"000001_create_inbox.down.sql": {Data: []byte(`DROP TABLE inbox;`)},
}

// TestStopFinishesInFlightWork: on shutdown the runtime stops its workers (they finish what they
// hold), lets an in-flight request complete, and only then closes the stores.
func TestStopFinishesInFlightWork(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var workerFinished atomic.Bool
	svc := app.Service{
		Name:       "shutdowntest",
		Migrations: migrations,
		Build: func(_ context.Context, d *app.Deps) ([]app.Worker, error) {
			d.API.HandleFunc("GET /v1/slow", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-release
				// The database is still open while a request is in flight.
				if err := d.DB.Ping(r.Context()); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			return []app.Worker{app.WorkerFunc(func(ctx context.Context) error {
				<-ctx.Done()
				workerFinished.Store(true)
				return nil
			})}, nil
		},
	}
	h := servicetest.Start(t, svc)
	token := h.Token(t, auth.RoleAdmin, "")

	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, h.URL+"/v1/slow", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-started

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- h.Running.Stop(ctx)
	}()
	testkit.Eventually(t, 5*time.Second, func() error {
		if !workerFinished.Load() {
			return context.DeadlineExceeded
		}
		return nil
	})
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a request was still in flight", err)
	default:
	}
	close(release)
	if got := <-status; got != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200", got)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := http.Get(h.URL + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections after Stop")
	}
}
