package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scodalabs/scoda/scripts/internal/hooks"
)

// receiver is the demo's webhook endpoint: it verifies each delivery and logs what it is about.
type receiver struct {
	log      *slog.Logger
	now      func() time.Time
	mu       sync.Mutex
	secret   string
	verified atomic.Int64
	rejected atomic.Int64
	seen     sync.Map // webhook-id -> struct{}: a retried delivery is logged once
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	if secret == "" {
		http.Error(w, "not subscribed yet", http.StatusServiceUnavailable)
		return
	}
	key, err := hooks.ParseSecret(secret)
	if err == nil {
		err = hooks.Verify(key, req.Header, body, r.now())
	}
	if err != nil {
		r.rejected.Add(1)
		r.log.Warn("webhook rejected", "reason", err.Error())
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.verified.Add(1)
	w.WriteHeader(http.StatusNoContent)
	if _, dup := r.seen.LoadOrStore(req.Header.Get("webhook-id"), struct{}{}); dup {
		return
	}
	var ev struct {
		Subject   string    `json:"subject"`
		EventType string    `json:"eventtype"`
		Time      time.Time `json:"time"`
		Tenant    string    `json:"tenant"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		r.log.Warn("webhook body is not a CloudEvent", "error", err)
		return
	}
	r.log.Info("webhook delivery", "container", ev.Subject, "type", ev.EventType,
		"time", ev.Time.UTC().Format(time.RFC3339), "tenant", ev.Tenant)
}
