// Package health serves /healthz and /readyz and waits for dependencies at start.
//
// /healthz answers 200 while the process runs (liveness: restart me if this fails).
// /readyz runs every dependency check in parallel with a short timeout and answers 200 only
// when all pass and the process is not shutting down (readiness: send me traffic).
package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// Checker holds the named readiness checks of a process.
type Checker struct {
	mu       sync.RWMutex
	checks   map[string]Check
	timeout  time.Duration
	draining atomic.Bool
}

// New returns a Checker whose checks each get timeout (2 s when zero).
func New(timeout time.Duration) *Checker {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Checker{checks: map[string]Check{}, timeout: timeout}
}

// Add registers a named check.
func (c *Checker) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// Drain makes /readyz fail from now on, so load balancers stop sending traffic while the
// process finishes what it has.
func (c *Checker) Drain() { c.draining.Store(true) }

// Report is the body of /readyz.
type Report struct {
	Status string            `json:"status"` // "ok" or "unavailable"
	Checks map[string]string `json:"checks"` // name -> "ok" or the error
}

// Run runs every check in parallel and reports.
func (c *Checker) Run(ctx context.Context) Report {
	c.mu.RLock()
	names := make([]string, 0, len(c.checks))
	for n := range c.checks {
		names = append(names, n)
	}
	c.mu.RUnlock()
	sort.Strings(names)

	results := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		c.mu.RLock()
		check := c.checks[n]
		c.mu.RUnlock()
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			if err := check(cctx); err != nil {
				results[i] = err.Error()
			} else {
				results[i] = "ok"
			}
		})
	}
	wg.Wait()

	r := Report{Status: "ok", Checks: make(map[string]string, len(names))}
	for i, n := range names {
		r.Checks[n] = results[i]
		if results[i] != "ok" {
			r.Status = "unavailable"
		}
	}
	if c.draining.Load() {
		r.Status = "unavailable"
		r.Checks["shutdown"] = "draining"
	}
	return r
}

// Liveness serves /healthz.
func Liveness(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readiness serves /readyz.
func (c *Checker) Readiness(w http.ResponseWriter, r *http.Request) {
	rep := c.Run(r.Context())
	status := http.StatusOK
	if rep.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rep)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WaitReady calls ping until it succeeds or ctx ends, backing off from 50 ms up to 1 s. Services
// use it at start so they tolerate a store that comes up a moment after them.
func WaitReady(ctx context.Context, ping Check) error {
	delay := 50 * time.Millisecond
	for {
		err := ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
