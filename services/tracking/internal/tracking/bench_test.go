package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/tracking/internal/tracking"
)

// BenchmarkIngestHTTP posts batches of 500 position events to the real service (HTTP, auth,
// validation, JetStream publish with acks) and reports accepted events per second and the
// time until the projector has written them all to history and the live cache.
func BenchmarkIngestHTTP(b *testing.B) {
	h := servicetest.Start(b, tracking.Service("bench"))
	token := h.Token(b, auth.RoleCarrier, "")
	const batch = 500
	bodies := make([][]byte, b.N)
	for i := range bodies {
		evs := make([]map[string]any, batch)
		for j := range evs {
			n := i*batch + j
			evs[j] = position(fmt.Sprintf("00000000-0000-4000-9000-%012d", n), container(b, "BNCU", n%5000), 40+float64(n%800)/100, 80,
				base.Add(time.Duration(n)*time.Millisecond))
		}
		bodies[i], _ = json.Marshal(map[string]any{"events": evs})
	}
	client := &http.Client{}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/events", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	accepted := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/accepted.Seconds(), "accepted-events/s")

	db := dbOf(b, h)
	for {
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == b.N*batch {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d events projected", n, b.N*batch)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "projected-events/s")
}
