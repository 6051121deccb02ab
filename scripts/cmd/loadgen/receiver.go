package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/scodalabs/scoda/scripts/internal/hooks"
)

// receiver is the subscribed shipper's webhook endpoint. It verifies every delivery and, for the
// events the load generator is waiting for, records how long after their request was sent they
// arrived. The envelope's "id" is the DCSA eventID the carrier sent (notification's
// envelopeBody uses the event's envelope id, which tracking takes from eventID).
type receiver struct {
	srv  *http.Server
	addr string

	mu       sync.Mutex
	key      []byte
	waiting  map[string]time.Time // event id -> when the request carrying it was sent
	got      []time.Duration      // ingest-to-webhook latencies of this run
	seen     map[string]bool      // webhook-ids, so a retried delivery is counted once
	verified int
	rejected int
	other    int            // verified deliveries of events nobody waits for (earlier runs, fill)
	byType   map[string]int // deliveries by eventtype
	bookings map[string]bool
	changed  chan struct{} // closed and replaced on every delivery waited for
}

func startReceiver(addr string) (*receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &receiver{addr: ln.Addr().String(), waiting: map[string]time.Time{}, seen: map[string]bool{},
		byType: map[string]int{}, bookings: map[string]bool{}, changed: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) url() string { return "http://" + r.addr + "/webhooks/scoda" }

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

func (r *receiver) setSecret(secret string) error {
	key, err := hooks.ParseSecret(secret)
	if err != nil {
		return fmt.Errorf("subscription: %w", err)
	}
	r.mu.Lock()
	r.key = key
	r.mu.Unlock()
	return nil
}

// expect registers ids as sent at t0.
func (r *receiver) expect(ids []string, t0 time.Time) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	for _, id := range ids {
		r.waiting[id] = t0
	}
	r.mu.Unlock()
}

// forget drops ids whose request failed: no webhook will come for them.
func (r *receiver) forget(ids []string) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	for _, id := range ids {
		delete(r.waiting, id)
	}
	r.mu.Unlock()
}

// startRun forgets what earlier runs still wait for and starts collecting latencies afresh.
func (r *receiver) startRun() {
	r.mu.Lock()
	clear(r.waiting)
	r.got = nil
	r.mu.Unlock()
}

// runResult is what arrived since startRun, and how many are still awaited.
func (r *receiver) runResult() (latencies []time.Duration, missing int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.got...), len(r.waiting)
}

// waitAll waits until nothing is awaited, or until timeout. It reports whether all arrived;
// progress is called every 5 s with how many are still awaited.
func (r *receiver) waitAll(ctx context.Context, timeout time.Duration, progress func(awaited int)) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		r.mu.Lock()
		n, ch := len(r.waiting), r.changed
		r.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-tick.C:
			progress(n)
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// bookingsDelivered is how many distinct containers' BOOKING deliveries arrived.
func (r *receiver) bookingsDelivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bookings)
}

type receiverStats struct {
	Verified int            `json:"verified"`
	Rejected int            `json:"rejected"`
	Other    int            `json:"notAwaited"`
	ByType   map[string]int `json:"byType"`
}

func (r *receiver) stats() receiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	byType := make(map[string]int, len(r.byType))
	for k, v := range r.byType {
		byType[k] = v
	}
	return receiverStats{Verified: r.verified, Rejected: r.rejected, Other: r.other, ByType: byType}
}

// envelope is what the receiver reads of a delivery (a CloudEvent; an array for the DCSA scheme).
type envelope struct {
	ID        string `json:"id"`
	EventType string `json:"eventtype"`
	Subject   string `json:"subject"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	key := r.key
	r.mu.Unlock()
	if key == nil {
		http.Error(w, "not subscribed yet", http.StatusServiceUnavailable)
		return
	}
	if err := hooks.Verify(key, req.Header, body, now); err != nil {
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var envs []envelope
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &envs)
	} else {
		var e envelope
		err = json.Unmarshal(b, &e)
		envs = []envelope{e}
	}
	w.WriteHeader(http.StatusNoContent)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verified++
	if err != nil || r.seen[req.Header.Get("webhook-id")] {
		return
	}
	r.seen[req.Header.Get("webhook-id")] = true
	woke := false
	for _, e := range envs {
		r.byType[e.EventType]++
		if e.EventType == "BOOKING" {
			r.bookings[e.Subject] = true
			woke = true
		}
		t0, ok := r.waiting[e.ID]
		if !ok {
			r.other++
			continue
		}
		delete(r.waiting, e.ID)
		r.got = append(r.got, now.Sub(t0))
		woke = true
	}
	if woke {
		close(r.changed)
		r.changed = make(chan struct{})
	}
}
