package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// webhookTolerance is how far a delivery's webhook-timestamp may be from the receiver's clock
// (Standard Webhooks recommends five minutes): an older delivery may be a replay.
const webhookTolerance = 5 * time.Minute

// verifyStandard checks a Standard Webhooks delivery (https://www.standardwebhooks.com): the
// webhook-signature header lists space-separated "v1,<base64 HMAC-SHA256>" signatures of
// "<webhook-id>.<webhook-timestamp>.<body>" under the secret's bytes (the secret is "whsec_" +
// base64); one must match, and the timestamp must be within webhookTolerance of now.
func verifyStandard(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return errors.New("the secret is not whsec_ + base64")
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > webhookTolerance || d < -webhookTolerance {
		return errors.New("webhook-timestamp is outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

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
	if err := verifyStandard(secret, req.Header, body, r.now()); err != nil {
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
