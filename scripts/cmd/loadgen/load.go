package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// ingestSubject is where the load generator publishes as a gateway on the NATS path
// (tracking.v1.ingest.<source>, validated by tracking's ingest consumer like HTTP input).
const ingestSubject = "tracking.v1.ingest.loadgen"

// runSpec is one rate run: "5000:100" (HTTP, 5,000 events/s, 100 events per request),
// "0:500" (as fast as accepted), "nats:5000:100" (published on the ingest subject instead).
type runSpec struct {
	NATS  bool
	Rate  int
	Batch int
}

func (s runSpec) String() string {
	r := strconv.Itoa(s.Rate) + " ev/s"
	if s.Rate == 0 {
		r = "max"
	}
	t := "http"
	if s.NATS {
		t = "nats"
	}
	return fmt.Sprintf("%s %s x%d", t, r, s.Batch)
}

func parseRuns(s string) ([]runSpec, error) {
	var out []runSpec
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		var spec runSpec
		rest, isNATS := strings.CutPrefix(f, "nats:")
		spec.NATS = isNATS
		rs, bs, ok := strings.Cut(rest, ":")
		var err1, err2 error
		spec.Rate, err1 = strconv.Atoi(rs)
		spec.Batch, err2 = strconv.Atoi(bs)
		if !ok || err1 != nil || err2 != nil || spec.Rate < 0 || spec.Batch < 1 || spec.Batch > 1000 {
			return nil, fmt.Errorf("-runs: %q is not [nats:]rate:batch (rate >= 0, batch 1-1000)", f)
		}
		out = append(out, spec)
	}
	return out, nil
}

// runReport is what one rate run measured.
type runReport struct {
	Run            string  `json:"run"`
	NATS           bool    `json:"nats"`
	TargetRate     int     `json:"targetRate"`
	Batch          int     `json:"batch"`
	Sent           int64   `json:"sent"`
	Accepted       int64   `json:"accepted"`
	FailedRequests int64   `json:"failedRequests"`
	SendSeconds    float64 `json:"sendSeconds"`
	AcceptedPerSec float64 `json:"acceptedPerSec"`
	AcceptP50ms    number  `json:"acceptP50ms"`
	AcceptP99ms    number  `json:"acceptP99ms"`
	AcceptP999ms   number  `json:"acceptP999ms"`
	// ProjectedSeconds: from the first request until every accepted event is in history and
	// in the live state (tracking's ingest and projector consumers caught up).
	ProjectedSeconds float64 `json:"projectedSeconds"`
	ProjectedPerSec  float64 `json:"projectedPerSec"`
	// Webhooks: the events of subscribed containers, each awaited as a verified delivery.
	WebhooksExpected  int    `json:"webhooksExpected"`
	WebhooksDelivered int    `json:"webhooksDelivered"`
	WebhookP50ms      number `json:"webhookP50ms"`
	WebhookP99ms      number `json:"webhookP99ms"`
	WebhookP999ms     number `json:"webhookP999ms"`
	// EndToEndSeconds: from the first request until projected and every awaited webhook
	// arrived (or the wait timed out: then EndToEndPerSec is not a sustained rate).
	EndToEndSeconds float64 `json:"endToEndSeconds"`
	// StartBacklog: events the services still had to process from earlier phases when the
	// run started (after waiting up to -settle for them), competing with it for the cores.
	StartBacklog int64 `json:"backlogAtStart"`
	// NotificationBacklog: tracking events notification had not matched yet (pending and
	// unacknowledged on its tracking consumer) when tracking had projected everything.
	NotificationBacklog int64      `json:"notificationBacklogAtProjected"`
	EndToEndPerSec      float64    `json:"endToEndPerSec"`
	Complete            bool       `json:"complete"`
	Usage               phaseUsage `json:"usage"`
}

// sender sends one batch and answers how many events were accepted.
type sender func(ctx context.Context, b batch) (int, error)

func (bn *bench) httpSender() (sender, error) {
	token, err := bn.api.Token("carrier")
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := bn.api.Tracking + "/v1/events"
	return func(ctx context.Context, b batch) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted {
			return 0, &stackapi.StatusError{Status: resp.StatusCode, Body: string(raw)}
		}
		var r struct {
			Accepted int `json:"accepted"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return 0, err
		}
		return r.Accepted, nil
	}, nil
}

// natsSender publishes a batch as one message on the ingest subject and waits for the stream's
// ack: "accepted" on this path means durable in the log, validated later by tracking.
func natsSender(js jetstream.JetStream) sender {
	return func(ctx context.Context, b batch) (int, error) {
		if _, err := js.Publish(ctx, ingestSubject, b.body, jetstream.WithMsgID(uuid.NewString())); err != nil {
			return 0, err
		}
		return b.events, nil
	}
}

// rateRun sends batches at spec's rate for the run's duration, then waits until tracking has
// projected everything and the receiver has every webhook of the subscribed containers.
func (bn *bench) rateRun(ctx context.Context, spec runSpec) (runReport, error) {
	o := bn.opts
	rep := runReport{Run: spec.String(), NATS: spec.NATS, TargetRate: spec.Rate, Batch: spec.Batch}
	send, err := bn.httpSender()
	if err != nil {
		return rep, err
	}
	if spec.NATS {
		nc, err := nats.Connect(o.natsURL, nats.Name("loadgen"))
		if err != nil {
			return rep, err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return rep, err
		}
		send = natsSender(js)
	}
	// Bodies are made before the clock starts, so making them does not compete with the
	// services for this machine's cores.
	planned := spec.Rate
	if planned == 0 {
		planned = o.maxPlan
	}
	pool := make([]batch, int(o.duration.Seconds()*float64(planned))/spec.Batch+1)
	for i := range pool {
		pool[i] = bn.gen.next(spec.Batch)
	}
	rep.StartBacklog = bn.settle(ctx, rep.Run)
	bn.rcv.startRun()
	bn.procs.begin(rep.Run)
	var (
		latMu     sync.Mutex
		latencies []time.Duration
		sent      atomic.Int64
		accepted  atomic.Int64
		failed    atomic.Int64
		expected  atomic.Int64
		firstErr  atomic.Value
	)
	start := time.Now()
	bn.pace(ctx, pool, spec.Rate, spec.Batch, o.duration, func(b batch) {
		t0 := time.Now()
		bn.rcv.expect(b.subscribed, t0)
		n, err := send(ctx, b)
		d := time.Since(t0)
		sent.Add(int64(b.events))
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			bn.rcv.forget(b.subscribed)
			return
		}
		expected.Add(int64(len(b.subscribed)))
		accepted.Add(int64(n))
		latMu.Lock()
		latencies = append(latencies, d)
		latMu.Unlock()
	})
	rep.SendSeconds = time.Since(start).Seconds()
	rep.Sent, rep.Accepted, rep.FailedRequests = sent.Load(), accepted.Load(), failed.Load()
	rep.AcceptedPerSec = float64(rep.Accepted) / rep.SendSeconds
	rep.AcceptP50ms, rep.AcceptP99ms, rep.AcceptP999ms = pct(latencies, 0.50), pct(latencies, 0.99), pct(latencies, 0.999)
	if e := firstErr.Load(); e != nil {
		bn.logf("%s: %d requests failed, the first: %s", rep.Run, rep.FailedRequests, e)
	}
	err = bn.api.waitCaughtUp(ctx, o.catchUp)
	rep.ProjectedSeconds = time.Since(start).Seconds()
	rep.ProjectedPerSec = float64(rep.Accepted) / rep.ProjectedSeconds
	if err != nil {
		rep.Usage = bn.procs.end()
		return rep, err
	}
	rep.NotificationBacklog = bn.notificationBacklog(ctx)
	rep.Complete = bn.rcv.waitAll(ctx, o.webhookWait, func(awaited int) {
		bn.logf("%s: %d webhooks still awaited; notification's tracking consumer has %d to go", rep.Run, awaited, bn.notificationBacklog(ctx))
	})
	rep.EndToEndSeconds = time.Since(start).Seconds()
	rep.EndToEndPerSec = float64(rep.Accepted) / rep.EndToEndSeconds
	rep.Usage = bn.procs.end()
	got, missing := bn.rcv.runResult()
	rep.WebhooksExpected, rep.WebhooksDelivered = int(expected.Load()), len(got)
	rep.WebhookP50ms, rep.WebhookP99ms, rep.WebhookP999ms = pct(got, 0.50), pct(got, 0.99), pct(got, 0.999)
	if missing > 0 {
		bn.logf("%s: %d of %d webhooks did not arrive within %s after the projector caught up",
			rep.Run, missing, rep.WebhooksExpected, o.webhookWait)
	}
	return rep, nil
}

// pace hands pool's batches to o.concurrency workers, one every batch/rate seconds (rate 0: as
// fast as the workers take them), until the pool is used up or duration has passed.
func (bn *bench) pace(ctx context.Context, pool []batch, rate, size int, duration time.Duration, work func(batch)) {
	sendCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	batches := make(chan batch, bn.opts.concurrency)
	go func() {
		defer close(batches)
		var interval time.Duration
		if rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(size) / float64(rate))
		}
		next := time.Now()
		for i := 0; sendCtx.Err() == nil && i < len(pool); i++ {
			if interval > 0 {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-sendCtx.Done():
						return
					}
				}
			}
			select {
			case batches <- pool[i]:
				pool[i] = batch{} // let the collector have it once sent
			case <-sendCtx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range bn.opts.concurrency {
		wg.Go(func() {
			for b := range batches {
				work(b)
			}
		})
	}
	wg.Wait()
}

// notificationBacklog is what notification's tracking consumer has still to match (-1: unknown).
func (bn *bench) notificationBacklog(ctx context.Context) int64 {
	cs, err := bn.api.consumers(ctx, bn.api.Notification)
	if err != nil {
		return -1
	}
	c, ok := cs["notification-tracking"]
	if !ok {
		return -1
	}
	return int64(c.Pending) + int64(c.AckPending)
}

// settle waits up to -settle until no consumer of tracking or notification has anything pending
// or unacknowledged, so a phase does not start while the last one's work still runs. It
// returns what was left (0: settled; -1: unknown).
func (bn *bench) settle(ctx context.Context, phase string) int64 {
	deadline := time.Now().Add(bn.opts.settle)
	start := time.Now()
	for {
		left := int64(0)
		for _, base := range []string{bn.api.Tracking, bn.api.Notification} {
			cs, err := bn.api.consumers(ctx, base)
			if err != nil {
				return -1
			}
			for _, c := range cs {
				left += int64(c.Pending) + int64(c.AckPending)
			}
		}
		if left == 0 {
			return 0
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			bn.logf("%s: the services still have %d events to process from earlier phases after %s; starting anyway",
				phase, left, time.Since(start).Round(time.Second))
			return left
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
