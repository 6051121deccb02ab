package notification_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

// denv is a running notification service with a fast retry schedule, local receivers allowed,
// and a pool on its schema for fixtures (ownership and subscriptions written directly).
type denv struct {
	*servicetest.Harness
	pool                *pgxpool.Pool
	admin, acme, globex string
}

// startDeliveries starts the service with the test defaults, overridden by vars.
func startDeliveries(t *testing.T, vars map[string]string, options ...func(*app.Config)) *denv {
	t.Helper()
	env := map[string]string{
		"NOTIFICATION_ALLOWED_NETS":   "127.0.0.1/32",
		"NOTIFICATION_RETRY_SCHEDULE": "50ms,100ms,200ms,400ms",
		"NOTIFICATION_POLL_INTERVAL":  "20ms",
		"NOTIFICATION_TIMEOUT":        "5s",
	}
	for k, v := range vars {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	h := servicetest.Start(t, notification.Service("test"), options...)
	pool, err := postgres.Connect(t.Context(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &denv{Harness: h, pool: pool, admin: h.Token(t, auth.RoleAdmin, ""),
		acme: h.Token(t, auth.RoleShipper, "acme"), globex: h.Token(t, auth.RoleShipper, "globex")}
}

func (e *denv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// own makes tenant the owner of container.
// own makes tenant an owner of container as another process (or an operator) would, by a
// plain INSERT, and waits until the service's set of owned containers holds it (announced by
// the trigger, see pgstore.OwnedSet): from then on the service matches the container's events.
func (e *denv) own(t *testing.T, tenant, container string) {
	t.Helper()
	e.exec(t, `INSERT INTO ownership (tenant_id, kind, value) VALUES ($1, 'container', $2)`, tenant, container)
	var want int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(DISTINCT value) FROM ownership WHERE kind = 'container'`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if held, synced := e.ownedSet(t); !synced || held < want {
			return fmt.Errorf("the service's owned set holds %d containers (in sync: %v), want %d", held, synced, want)
		}
		return nil
	})
}

// ownedSet reads the size and state of the service's set of owned containers from /metrics.
func (e *denv) ownedSet(t *testing.T) (held int, synced bool) {
	t.Helper()
	resp, body := e.Do(t, http.MethodGet, "/metrics", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	gauge := func(name string) (int, bool) {
		for line := range strings.Lines(string(body)) {
			if rest, ok := strings.CutPrefix(line, name+"{"); ok {
				_, v, _ := strings.Cut(rest, "} ")
				n, err := strconv.Atoi(strings.TrimSpace(v))
				return n, err == nil
			}
		}
		return 0, false
	}
	held, ok1 := gauge("notification_owned_containers")
	s, ok2 := gauge("notification_owned_containers_synced")
	if !ok1 || !ok2 {
		t.Fatal("/metrics has no notification_owned_containers gauges")
	}
	return held, s == 1
}

// subscribe stores an active Standard Webhooks subscription of tenant to url listening on
// keys ("kind:value"), taking eventTypes (none: all), and returns its id and secret.
func (e *denv) subscribe(t *testing.T, tenant, url string, eventTypes []string, keys ...string) (string, webhook.Secret) {
	t.Helper()
	secret := webhook.NewSecret()
	if eventTypes == nil {
		eventTypes = []string{}
	}
	var id string
	if err := e.pool.QueryRow(context.Background(), `INSERT INTO subscriptions (tenant_id, callback_url, secret, event_types, all_containers)
VALUES ($1, $2, $3, $4, $5) RETURNING id`, tenant, url, secret.Encode(), eventTypes, strings.HasPrefix(strings.Join(keys, ","), "tenant:")).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		kind, value, _ := strings.Cut(k, ":")
		e.exec(t, `INSERT INTO subscription_keys (kind, value, subscription_id) VALUES ($1, $2, $3)`, kind, value, id)
	}
	return id, secret
}

// call sends a request, checks the status and decodes a JSON answer into out (when not nil).
func (e *denv) call(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	var s string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	resp, raw := e.Do(t, method, path, token, s)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

type deliveryOut struct {
	ID        string                `json:"id"`
	EventID   string                `json:"eventId"`
	EventType string                `json:"eventType"`
	Subject   string                `json:"subject"`
	Status    string                `json:"status"`
	Event     notification.Envelope `json:"event"`
	Attempts  []pgstore.Attempt     `json:"attempts"`
}

type deliveryPage struct {
	Deliveries []deliveryOut `json:"deliveries"`
	NextCursor string        `json:"nextCursor"`
}

// deliveries lists subscription sub's deliveries through the API.
func (e *denv) deliveries(t *testing.T, sub, token, query string) deliveryPage {
	t.Helper()
	var p deliveryPage
	e.call(t, http.MethodGet, "/v1/subscriptions/"+sub+"/deliveries"+query, token, nil, http.StatusOK, &p)
	return p
}

// waitDelivery waits until subscription sub has a delivery of event in status, and returns it.
func (e *denv) waitDelivery(t *testing.T, sub, event, status string) deliveryOut {
	t.Helper()
	var got deliveryOut
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, d := range e.deliveries(t, sub, e.admin, "").Deliveries {
			if d.EventID == event {
				got = d
				if d.Status == status {
					return nil
				}
				return fmt.Errorf("delivery of %s is %s after %d attempts, want %s", event, d.Status, len(d.Attempts), status)
			}
		}
		return fmt.Errorf("no delivery of %s yet", event)
	})
	return got
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a local webhook endpoint answering with answer (n counts its requests from 1).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request, n int, body []byte)
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{at: time.Now(), header: r.Header.Clone(), body: body})
		n := len(rc.got)
		rc.mu.Unlock()
		rc.answer(w, r, n, body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// statuses answers the i-th request with codes[i], and 200 after them.
func statuses(codes ...int) func(http.ResponseWriter, *http.Request, int, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n <= len(codes) {
			w.WriteHeader(codes[n-1])
			_, _ = fmt.Fprintf(w, "answer %d", n)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitRequests waits for at least n requests.
func (rc *receiver) waitRequests(t *testing.T, n int) []received {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		if got := len(rc.requests()); got < n {
			return fmt.Errorf("receiver got %d requests, want %d", got, n)
		}
		return nil
	})
	return rc.requests()
}

func container(t *testing.T, i int) string {
	t.Helper()
	n, err := iso6346.Make("NTF", 'U', 300000+i)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

// transport is an actual departure (DEPA) or arrival (ARRI) of container.
func transport(container string, arrival bool) *trackingv1.ContainerEvent {
	typ := trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA
	if arrival {
		typ = trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI
	}
	return &trackingv1.ContainerEvent{
		Envelope: &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.Now(), RecordedAt: timestamppb.Now(),
			TenantId: "carrier-x"},
		EquipmentReference: container,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{EventType: typ,
			TransportCall: &trackingv1.TransportCall{Location: &commonv1.Location{UnLocationCode: "CNURM"}}}},
	}
}

// notificationMsgs returns the messages on subject of the NOTIFICATION stream once there are
// want of them.
func notificationMsgs(t *testing.T, e *denv, subject string, want int) []jetstream.Msg {
	t.Helper()
	_, js := natstest.Connect(t, e.NATS.URL)
	return natstest.Messages(t, js, events.StreamNotification, subject, want)
}

// A container event for a subscribed container reaches the receiver signed; 500, 500, 500
// then 200 makes four attempts under one webhook-id, with growing waits, listed by the API.
func TestDeliveryRetriedUntilAccepted(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses(500, 500, 500))
	box := container(t, 1)
	e.own(t, "acme", box)
	sub, secret := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)

	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	d := e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")
	got := rc.requests()
	if len(got) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(got))
	}
	for i, r := range got {
		if err := webhook.Verify(secret, r.header, r.body, time.Now()); err != nil {
			t.Fatalf("request %d: signature: %v", i+1, err)
		}
		if id := r.header.Get(webhook.HeaderID); id != d.ID {
			t.Fatalf("request %d: webhook-id %q, want the delivery id %s", i+1, id, d.ID)
		}
		if string(r.body) != string(got[0].body) {
			t.Fatalf("request %d: body changed between attempts", i+1)
		}
	}
	// Waits of 50, 100 and 200 ms, each ±20%, plus polling.
	schedule := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	var gaps []time.Duration
	for i := 1; i < len(got); i++ {
		gap := got[i].at.Sub(got[i-1].at)
		if min := time.Duration(float64(schedule[i-1]) * 0.8); gap < min {
			t.Fatalf("attempt %d came %v after the one before, want at least %v", i+1, gap, min)
		}
		gaps = append(gaps, gap)
	}
	if gaps[2] <= gaps[0] {
		t.Fatalf("waits do not grow: %v", gaps)
	}

	var env notification.Envelope
	if err := json.Unmarshal(got[0].body, &env); err != nil {
		t.Fatal(err)
	}
	if env.SpecVersion != "1.0" || env.ID != ev.GetEnvelope().GetEventId() || env.Type != "scoda.tracking.container.equipment" ||
		env.Source != "scoda/tracking" || env.Subject != box || env.Tenant != "acme" || env.EventType != "GTIN" ||
		!env.Time.Equal(ev.GetEnvelope().GetOccurredAt().AsTime()) || env.DataContentType != "application/json" {
		t.Fatalf("envelope %+v", env)
	}
	var data map[string]any
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["equipmentReference"] != box || data["envelope"] != nil {
		t.Fatalf("data %s", env.Data)
	}

	if d.EventType != "GTIN" || d.Subject != box || len(d.Attempts) != 4 {
		t.Fatalf("delivery %+v", d)
	}
	for i, a := range d.Attempts {
		want := 500
		if i == 3 {
			want = 200
		}
		if a.Attempt != i+1 || a.StatusCode == nil || *a.StatusCode != want || a.StartedAt.IsZero() {
			t.Fatalf("attempt %d: %+v", i+1, a)
		}
		if i < 3 && (a.Response != fmt.Sprintf("answer %d", i+1) || a.Error == "") {
			t.Fatalf("attempt %d: response %q, error %q", i+1, a.Response, a.Error)
		}
	}
	// Filters and paging.
	if p := e.deliveries(t, sub, e.acme, "?status=dead"); len(p.Deliveries) != 0 {
		t.Fatalf("dead deliveries: %+v", p.Deliveries)
	}
	if p := e.deliveries(t, sub, e.acme, "?eventType=GTIN&status=succeeded"); len(p.Deliveries) != 1 {
		t.Fatalf("GTIN deliveries: %+v", p.Deliveries)
	}
	e.call(t, http.MethodGet, "/v1/subscriptions/"+sub+"/deliveries?status=lost", e.acme, nil, http.StatusUnprocessableEntity, nil)
	e.call(t, http.MethodGet, "/v1/subscriptions/"+sub+"/deliveries?cursor=nonsense", e.acme, nil, http.StatusUnprocessableEntity, nil)
	var failures int
	if err := e.pool.QueryRow(t.Context(), `SELECT consecutive_failures FROM subscriptions WHERE id = $1`, sub).Scan(&failures); err != nil || failures != 0 {
		t.Fatalf("consecutive failures after a success: %d (%v)", failures, err)
	}
}

// Pages of deliveries, newest first, follow the cursor to the end.
func TestDeliveriesPaged(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses())
	box := container(t, 2)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	var ids []string
	for i := range 3 {
		ev := transport(box, i%2 == 1)
		ids = append(ids, ev.GetEnvelope().GetEventId())
		e.Publish(t, ev)
		e.waitDelivery(t, sub, ids[i], "succeeded")
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("the cursor does not end")
		}
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		p := e.deliveries(t, sub, e.acme, q)
		for _, d := range p.Deliveries {
			seen = append(seen, d.EventID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 3 || seen[0] != ids[2] || seen[1] != ids[1] || seen[2] != ids[0] {
		t.Fatalf("paged %v, want newest first of %v", seen, ids)
	}
	if p := e.deliveries(t, sub, e.acme, "?eventType=ARRI"); len(p.Deliveries) != 1 || p.Deliveries[0].EventID != ids[1] {
		t.Fatalf("ARRI deliveries: %+v", p.Deliveries)
	}
}

// 410 Gone cancels the delivery, disables the subscription and says so on the NOTIFICATION
// stream.
func TestGoneDisablesSubscription(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses(http.StatusGone))
	box := container(t, 3)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	d := e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "cancelled")
	if len(d.Attempts) != 1 || *d.Attempts[0].StatusCode != http.StatusGone {
		t.Fatalf("delivery %+v", d)
	}
	var status, reason string
	if err := e.pool.QueryRow(t.Context(), `SELECT status, disabled_reason FROM subscriptions WHERE id = $1`, sub).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != "disabled" || reason != notification.ReasonGone {
		t.Fatalf("subscription %s (%q)", status, reason)
	}
	msgs := notificationMsgs(t, e, "notification.v1.subscription.disabled", 1)
	var sev notificationv1.SubscriptionEvent
	if err := events.Unmarshal(msgs[0].Data(), &sev); err != nil {
		t.Fatal(err)
	}
	if sev.GetSubscriptionId() != sub || sev.GetEnvelope().GetTenantId() != "acme" ||
		sev.GetDisabled().GetReason() != notificationv1.SubscriptionDisabledReason_SUBSCRIPTION_DISABLED_REASON_ENDPOINT_GONE {
		t.Fatalf("event %v", &sev)
	}
	// A disabled subscription gets nothing more.
	next := transport(box, false)
	e.Publish(t, next)
	later := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, later)
	_, js := natstest.Connect(t, e.NATS.URL)
	natstest.WaitSettled(t, js, events.StreamTracking, notification.TrackingConsumer.Config.Durable)
	if n := len(e.deliveries(t, sub, e.acme, "").Deliveries); n != 1 || len(rc.requests()) != 1 {
		t.Fatalf("a disabled subscription has %d deliveries, %d requests", n, len(rc.requests()))
	}
}

// A receiver that does not answer within NOTIFICATION_TIMEOUT is a timeout: no status code.
func TestDeliveryTimeout(t *testing.T) {
	e := startDeliveries(t, map[string]string{"NOTIFICATION_TIMEOUT": "300ms", "NOTIFICATION_RETRY_SCHEDULE": "10s"})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	box := container(t, 4)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	var d deliveryOut
	testkit.Eventually(t, 20*time.Second, func() error {
		p := e.deliveries(t, sub, e.acme, "")
		if len(p.Deliveries) != 1 || len(p.Deliveries[0].Attempts) != 1 {
			return fmt.Errorf("no attempt recorded yet")
		}
		d = p.Deliveries[0]
		return nil
	})
	a := d.Attempts[0]
	if d.Status != "pending" || a.StatusCode != nil || !strings.Contains(a.Error, "timeout") || a.LatencyMS < 300 || a.LatencyMS > 5000 {
		t.Fatalf("delivery %s, attempt %+v", d.Status, a)
	}
}

// Two events about one container: the second is not sent before the first, failing twice,
// has succeeded.
func TestLaneOrder(t *testing.T) {
	e := startDeliveries(t, nil)
	var first string
	var mu sync.Mutex
	fails := 0
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int, body []byte) {
		var env notification.Envelope
		_ = json.Unmarshal(body, &env)
		mu.Lock()
		defer mu.Unlock()
		if env.ID == first && fails < 2 {
			fails++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	box := container(t, 5)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	a, b := transport(box, false), transport(box, true)
	mu.Lock()
	first = a.GetEnvelope().GetEventId()
	mu.Unlock()
	e.Publish(t, a)
	// The second is published once the first has its delivery, so the lane's order is theirs.
	testkit.Eventually(t, 10*time.Second, func() error {
		if len(e.deliveries(t, sub, e.admin, "").Deliveries) != 1 {
			return fmt.Errorf("first delivery not recorded yet")
		}
		return nil
	})
	e.Publish(t, b)
	e.waitDelivery(t, sub, b.GetEnvelope().GetEventId(), "succeeded")
	got := rc.requests()
	var order []string
	for _, r := range got {
		var env notification.Envelope
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatal(err)
		}
		order = append(order, env.EventType)
	}
	if strings.Join(order, ",") != "DEPA,DEPA,DEPA,ARRI" {
		t.Fatalf("requests in order %v, want the departure three times (two failures) before the arrival", order)
	}
}

// Retry-After is honoured when it asks for more than the schedule.
func TestRetryAfter(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	box := container(t, 6)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
		t.Fatalf("second attempt %v after the first, want about 1s (Retry-After)", gap)
	}
}

// After the last attempt a delivery is dead-lettered (and announced); the retry endpoint sends
// it again with the same webhook-id; replay re-sends dead letters in bulk.
func TestDeadLetterRetryAndReplay(t *testing.T) {
	e := startDeliveries(t, map[string]string{"NOTIFICATION_RETRY_SCHEDULE": "20ms,20ms"})
	var mu sync.Mutex
	healthy := false
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	boxA, boxB := container(t, 7), container(t, 8)
	e.own(t, "acme", boxA)
	e.own(t, "acme", boxB)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "tenant:acme")
	a, b := servicetest.GateIn(uuid.NewString(), boxA), servicetest.GateIn(uuid.NewString(), boxB)
	e.Publish(t, a)
	e.Publish(t, b)
	da := e.waitDelivery(t, sub, a.GetEnvelope().GetEventId(), "dead")
	db := e.waitDelivery(t, sub, b.GetEnvelope().GetEventId(), "dead")
	if len(da.Attempts) != 3 || len(db.Attempts) != 3 {
		t.Fatalf("dead after %d and %d attempts, want 3", len(da.Attempts), len(db.Attempts))
	}
	msgs := notificationMsgs(t, e, "notification.v1.delivery.dead_lettered", 2)
	dead := map[string]bool{}
	for _, m := range msgs {
		var dev notificationv1.DeliveryEvent
		if err := events.Unmarshal(m.Data(), &dev); err != nil {
			t.Fatal(err)
		}
		if dev.GetSubscriptionId() != sub || dev.GetAttempt() != 3 || dev.GetDeadLettered().GetLastStatusCode() != 500 ||
			dev.GetDeadLettered().GetReason() != notificationv1.DeadLetterReason_DEAD_LETTER_REASON_MAX_ATTEMPTS {
			t.Fatalf("dead letter %v", &dev)
		}
		dead[dev.GetDeliveryId()] = true
	}
	if !dead[da.ID] || !dead[db.ID] {
		t.Fatalf("dead letters for %v, want %s and %s", dead, da.ID, db.ID)
	}

	mu.Lock()
	healthy = true
	mu.Unlock()
	before := len(rc.requests())
	retry := "/v1/subscriptions/" + sub + "/deliveries/" + da.ID + "/retry"
	e.call(t, http.MethodPost, retry, e.globex, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodPost, "/v1/subscriptions/"+sub+"/deliveries/"+uuid.NewString()+"/retry", e.acme, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodPost, retry, e.acme, nil, http.StatusAccepted, nil)
	e.waitDelivery(t, sub, a.GetEnvelope().GetEventId(), "succeeded")
	got := rc.requests()
	if len(got) != before+1 || got[len(got)-1].header.Get(webhook.HeaderID) != da.ID {
		t.Fatalf("retry sent %d requests, last with webhook-id %q, want one with %s", len(got)-before, got[len(got)-1].header.Get(webhook.HeaderID), da.ID)
	}
	e.call(t, http.MethodPost, retry, e.acme, nil, http.StatusConflict, nil)

	e.call(t, http.MethodPost, "/v1/subscriptions/"+sub+"/deliveries/replay", e.acme, map[string]any{"status": "pending"}, http.StatusUnprocessableEntity, nil)
	var replay struct {
		Requeued int `json:"requeued"`
	}
	e.call(t, http.MethodPost, "/v1/subscriptions/"+sub+"/deliveries/replay", e.acme,
		map[string]any{"status": "dead", "since": time.Now().Add(-time.Hour).Format(time.RFC3339)}, http.StatusAccepted, &replay)
	if replay.Requeued != 1 {
		t.Fatalf("replay requeued %d, want 1", replay.Requeued)
	}
	e.waitDelivery(t, sub, b.GetEnvelope().GetEventId(), "succeeded")
	got = rc.requests()
	if got[len(got)-1].header.Get(webhook.HeaderID) != db.ID {
		t.Fatalf("replay sent webhook-id %q, want %s", got[len(got)-1].header.Get(webhook.HeaderID), db.ID)
	}
}

// A subscription only ever gets its own tenant's events, whatever it listens on; another
// tenant's subscription and deliveries are 404 to a shipper.
func TestDeliveriesStayWithTheirTenant(t *testing.T) {
	e := startDeliveries(t, nil)
	mine := newReceiver(t, statuses())
	theirs := newReceiver(t, statuses())
	box := container(t, 9)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", mine.URL, nil, "container:"+box)
	onlyArrivals, _ := e.subscribe(t, "acme", mine.URL, []string{"ARRI", "ETA"}, "container:"+box)
	// globex listens on acme's container (the API would refuse it) and on all its own.
	spy, _ := e.subscribe(t, "globex", theirs.URL, nil, "container:"+box, "tenant:globex")

	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")
	// A departure event is hub-wide: no shipper gets it directly.
	dep := &schedulev1.DepartureEvent{Envelope: &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.Now()},
		DepartureId: uuid.NewString(), RouteCode: "SCO-KZ-ALA", TrainNumber: "X8001",
		Change: &schedulev1.DepartureEvent_Cancelled{Cancelled: &schedulev1.DepartureCancelled{Reason: "test"}}}
	e.Publish(t, dep)
	// An ETA change of acme's booking reaches acme's subscriptions taking ETA.
	eta := &schedulev1.EtaEvent{Envelope: &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.Now(), TenantId: "acme"},
		BookingId: uuid.NewString(), EquipmentReference: box,
		Change: &schedulev1.EtaEvent_Changed{Changed: &schedulev1.EtaChanged{Eta: timestamppb.New(time.Now().Add(48 * time.Hour))}}}
	e.Publish(t, eta)
	d := e.waitDelivery(t, onlyArrivals, eta.GetEnvelope().GetEventId(), "succeeded")
	if d.EventType != "ETA" || d.Event.Type != "scoda.schedule.eta.changed" || d.Event.Source != "scoda/scheduling" || d.Event.Subject != box {
		t.Fatalf("ETA delivery %+v", d)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		var n int
		err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE event_id = $1`, dep.GetEnvelope().GetEventId()).Scan(&n)
		if err == nil && n != 1 {
			err = fmt.Errorf("departure event not consumed yet")
		}
		return err
	})

	var byTenant = map[string]int{}
	rows, err := e.pool.Query(t.Context(), `SELECT tenant_id, count(*) FROM deliveries GROUP BY tenant_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tenant string
		var n int
		if err := rows.Scan(&tenant, &n); err != nil {
			t.Fatal(err)
		}
		byTenant[tenant] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	// acme: the gate-in and the ETA to sub, the ETA to onlyArrivals; globex nothing.
	if len(byTenant) != 1 || byTenant["acme"] != 3 || len(theirs.requests()) != 0 {
		t.Fatalf("deliveries by tenant %v, globex receiver got %d", byTenant, len(theirs.requests()))
	}
	if p := e.deliveries(t, onlyArrivals, e.acme, ""); len(p.Deliveries) != 1 {
		t.Fatalf("a subscription to ARRI and ETA got %d deliveries", len(p.Deliveries))
	}
	e.call(t, http.MethodGet, "/v1/subscriptions/"+sub+"/deliveries", e.globex, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/subscriptions/"+spy+"/deliveries", e.acme, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodPost, "/v1/subscriptions/"+sub+"/deliveries/replay", e.globex, map[string]any{"status": "dead"}, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/subscriptions/not-a-uuid/deliveries", e.acme, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/subscriptions/"+sub+"/deliveries", e.Token(t, auth.RoleCarrier, ""), nil, http.StatusForbidden, nil)
	if p := e.deliveries(t, sub, e.admin, ""); len(p.Deliveries) != 2 {
		t.Fatalf("admin sees %d deliveries, want 2", len(p.Deliveries))
	}
}

// A restart while a delivery waits for its retry still delivers it, with the same webhook-id.
func TestDeliverySurvivesRestart(t *testing.T) {
	e := startDeliveries(t, map[string]string{"NOTIFICATION_RETRY_SCHEDULE": "1s,50ms"})
	rc := newReceiver(t, statuses(500))
	box := container(t, 10)
	e.own(t, "acme", box)
	sub, secret := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	rc.waitRequests(t, 1)
	testkit.Eventually(t, 10*time.Second, func() error {
		var attempts int
		if err := e.pool.QueryRow(t.Context(), `SELECT attempts FROM deliveries WHERE subscription_id = $1`, sub).Scan(&attempts); err != nil {
			return err
		}
		if attempts != 1 {
			return fmt.Errorf("%d attempts recorded", attempts)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.Running.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests before the restart", n)
	}
	// A new process on the same schema and bus.
	e2 := startDeliveries(t, map[string]string{"NOTIFICATION_RETRY_SCHEDULE": "1s,50ms"}, func(c *app.Config) {
		c.DatabaseURL, c.DBSchema, c.NATSURL = e.Config.DatabaseURL, e.Config.DBSchema, e.Config.NATSURL
	})
	d := e2.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")
	got := rc.requests()
	if len(got) != 2 || len(d.Attempts) != 2 {
		t.Fatalf("%d requests, %d attempts, want 2", len(got), len(d.Attempts))
	}
	for _, r := range got {
		if r.header.Get(webhook.HeaderID) != d.ID {
			t.Fatalf("webhook-id %q, want %s", r.header.Get(webhook.HeaderID), d.ID)
		}
		if err := webhook.Verify(secret, r.header, r.body, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyAnyDCSA checks a DCSA request as a receiver that knows only key does: one of its
// Notification-Signature lines (one a secret during a rotation) must verify.
func verifyAnyDCSA(key []byte, r received) error {
	lines := r.header.Values(webhook.HeaderDCSASignature)
	if len(lines) == 0 {
		return fmt.Errorf("no %s header", webhook.HeaderDCSASignature)
	}
	var err error
	for _, line := range lines {
		h := r.header.Clone()
		h.Set(webhook.HeaderDCSASignature, line)
		if err = webhook.VerifyDCSA(key, h, r.body); err == nil {
			return nil
		}
	}
	return fmt.Errorf("none of %d signatures verifies: %w", len(lines), err)
}

// A DCSA subscription gets a JSON array of events signed with Notification-Signature; during a
// rotation a delivery is signed with both secrets, in both schemes, so a receiver knowing only
// the old secret and one knowing only the new one both verify it.
func TestDCSAAndRotation(t *testing.T) {
	e := startDeliveries(t, nil)
	dcsa := newReceiver(t, statuses(http.StatusNoContent, http.StatusNoContent))
	std := newReceiver(t, statuses())
	box := container(t, 11)
	e.own(t, "acme", box)
	oldKey, newKey := []byte("a shared secret of the DCSA kind"), []byte("the next shared secret, rotated in")
	var dcsaSub string
	if err := e.pool.QueryRow(t.Context(), `INSERT INTO subscriptions (tenant_id, callback_url, scheme, secret)
VALUES ('acme', $1, 'dcsa', $2) RETURNING id`, dcsa.URL, base64.StdEncoding.EncodeToString(oldKey)).Scan(&dcsaSub); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO subscription_keys (kind, value, subscription_id) VALUES ('container', $1, $2)`, box, dcsaSub)
	rotated, current := e.subscribe(t, "acme", std.URL, nil, "container:"+box)
	previous := webhook.NewSecret()
	e.exec(t, `UPDATE subscriptions SET previous_secret = $2, previous_until = now() + interval '1 hour' WHERE id = $1`, rotated, previous.Encode())

	// Before the rotation: one DCSA signature, with the only secret.
	before := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, before)
	e.waitDelivery(t, dcsaSub, before.GetEnvelope().GetEventId(), "succeeded")
	r := dcsa.requests()[0]
	if n := len(r.header.Values(webhook.HeaderDCSASignature)); n != 1 {
		t.Fatalf("%d DCSA signatures before the rotation, want 1", n)
	}
	if err := webhook.VerifyDCSA(oldKey, r.header, r.body); err != nil {
		t.Fatalf("DCSA signature: %v", err)
	}
	if r.header.Get(webhook.HeaderDCSASubscriptionID) != dcsaSub {
		t.Fatalf("Subscription-ID %q", r.header.Get(webhook.HeaderDCSASubscriptionID))
	}
	var list []notification.Envelope
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 1 || list[0].ID != before.GetEnvelope().GetEventId() {
		t.Fatalf("DCSA body %s (%v)", r.body, err)
	}

	// The DCSA secret is rotated: the next delivery carries a signature line for each secret.
	e.exec(t, `UPDATE subscriptions SET previous_secret = secret, previous_until = now() + interval '1 hour', secret = $2 WHERE id = $1`,
		dcsaSub, base64.StdEncoding.EncodeToString(newKey))
	ev := servicetest.GateIn(uuid.NewString(), box)
	e.Publish(t, ev)
	e.waitDelivery(t, dcsaSub, ev.GetEnvelope().GetEventId(), "succeeded")
	e.waitDelivery(t, rotated, ev.GetEnvelope().GetEventId(), "succeeded")
	r = dcsa.requests()[1]
	if n := len(r.header.Values(webhook.HeaderDCSASignature)); n != 2 {
		t.Fatalf("%d DCSA signatures during a rotation, want 2", n)
	}
	for name, key := range map[string][]byte{"old": oldKey, "new": newKey} {
		if err := verifyAnyDCSA(key, r); err != nil {
			t.Fatalf("a DCSA receiver knowing only the %s secret: %v", name, err)
		}
	}
	if err := verifyAnyDCSA([]byte("a secret nobody was given"), r); err == nil {
		t.Fatal("a DCSA signature verifies with an unknown secret")
	}
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 1 || list[0].ID != ev.GetEnvelope().GetEventId() {
		t.Fatalf("DCSA body %s (%v)", r.body, err)
	}

	for _, s := range std.requests() {
		for _, secret := range []webhook.Secret{current, previous} {
			if err := webhook.Verify(secret, s.header, s.body, time.Now()); err != nil {
				t.Fatalf("rotation: %v", err)
			}
		}
		if n := len(strings.Fields(s.header.Get(webhook.HeaderSignature))); n != 2 {
			t.Fatalf("%d signatures during a rotation, want 2", n)
		}
	}
}

// An endpoint failing every delivery for NOTIFICATION_DISABLE_AFTER is disabled, and its
// owner told.
func TestFailingEndpointDisabled(t *testing.T) {
	e := startDeliveries(t, map[string]string{"NOTIFICATION_DISABLE_AFTER": "150ms", "NOTIFICATION_RETRY_SCHEDULE": "50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms"})
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { w.WriteHeader(http.StatusBadGateway) })
	box := container(t, 12)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)
	e.Publish(t, servicetest.GateIn(uuid.NewString(), box))
	msgs := notificationMsgs(t, e, "notification.v1.subscription.disabled", 1)
	var sev notificationv1.SubscriptionEvent
	if err := events.Unmarshal(msgs[0].Data(), &sev); err != nil {
		t.Fatal(err)
	}
	if sev.GetSubscriptionId() != sub || sev.GetDisabled().GetReason() != notificationv1.SubscriptionDisabledReason_SUBSCRIPTION_DISABLED_REASON_TOO_MANY_FAILURES ||
		sev.GetDisabled().GetConsecutiveFailures() < 2 {
		t.Fatalf("event %v", &sev)
	}
	var status string
	var failures int
	if err := e.pool.QueryRow(t.Context(), `SELECT status, consecutive_failures FROM subscriptions WHERE id = $1`, sub).Scan(&status, &failures); err != nil {
		t.Fatal(err)
	}
	if status != "disabled" || failures != int(sev.GetDisabled().GetConsecutiveFailures()) {
		t.Fatalf("subscription %s after %d failures", status, failures)
	}
	// Disabled: nothing more is sent.
	n := len(rc.requests())
	var pending int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM deliveries WHERE subscription_id = $1 AND status = 'pending'`, sub).Scan(&pending); err != nil || pending != 1 {
		t.Fatalf("%d pending deliveries (%v)", pending, err)
	}
	if failures != n {
		t.Fatalf("%d requests, %d failures counted", n, failures)
	}
}

// Schedule events of a tenant reach its subscriptions on their booking, typed for filtering:
// a cancelled booking is CANCELLED, a late departure DELAY, another booking change BOOKING.
func TestScheduleEventTypes(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses())
	booking := uuid.NewString()
	sub, _ := e.subscribe(t, "acme", rc.URL, []string{"CANCELLED", "DELAY"}, "booking:"+booking)
	envelope := func() *commonv1.Envelope {
		return &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.Now(), TenantId: "acme"}
	}
	confirmed := &schedulev1.BookingEvent{Envelope: envelope(), BookingId: booking, DepartureId: uuid.NewString(),
		Change: &schedulev1.BookingEvent_Confirmed{Confirmed: &schedulev1.BookingConfirmed{}}}
	late := &schedulev1.ExceptionEvent{Envelope: envelope(), BookingId: booking, DepartureId: uuid.NewString(),
		Change: &schedulev1.ExceptionEvent_DepartureLate{DepartureLate: &schedulev1.DepartureLate{}}}
	cancelled := &schedulev1.BookingEvent{Envelope: envelope(), BookingId: booking, DepartureId: uuid.NewString(),
		Change: &schedulev1.BookingEvent_Cancelled{Cancelled: &schedulev1.BookingCancelled{Reason: "test"}}}
	for _, ev := range []events.Event{confirmed, late, cancelled} {
		e.Publish(t, ev)
	}
	d := e.waitDelivery(t, sub, cancelled.GetEnvelope().GetEventId(), "succeeded")
	l := e.waitDelivery(t, sub, late.GetEnvelope().GetEventId(), "succeeded")
	if d.EventType != "CANCELLED" || d.Event.Type != "scoda.schedule.booking.cancelled" || d.Subject != booking ||
		l.EventType != "DELAY" || l.Event.Type != "scoda.schedule.exception.departure_late" {
		t.Fatalf("deliveries %+v, %+v", d, l)
	}
	if p := e.deliveries(t, sub, e.acme, ""); len(p.Deliveries) != 2 {
		t.Fatalf("%d deliveries, want 2 (the confirmation is filtered out)", len(p.Deliveries))
	}
}

// skipped reads how many container events the tracking consumer acked unread (nobody owned
// their container) from /metrics.
func (e *denv) skipped(t *testing.T) int {
	t.Helper()
	_, body := e.Do(t, http.MethodGet, "/metrics", "", "")
	total := 0
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "messaging_client_consumed_messages_total{") &&
			strings.Contains(line, `messaging_consumer_group_name="notification-tracking"`) && strings.Contains(line, `outcome="skip"`) {
			_, v, _ := strings.Cut(strings.TrimSpace(line), "} ")
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			total += int(n)
		}
	}
	return total
}

// Events about containers nobody owns are acked unread; once a tenant owns the container, its
// events are matched and delivered.
func TestUnownedContainersSkipped(t *testing.T) {
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses())
	owned, other := container(t, 41), container(t, 42)
	e.own(t, "acme", owned)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "tenant:acme")

	before := e.skipped(t)
	unowned := servicetest.GateIn(uuid.NewString(), other)
	e.Publish(t, unowned)
	ev := servicetest.GateIn(uuid.NewString(), owned)
	e.Publish(t, ev)
	e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := e.skipped(t) - before; n != 1 {
			return fmt.Errorf("%d events skipped, want the one about %s", n, other)
		}
		return nil
	})

	e.own(t, "acme", other)
	later := servicetest.GateIn(uuid.NewString(), other)
	e.Publish(t, later)
	e.waitDelivery(t, sub, later.GetEnvelope().GetEventId(), "succeeded")
	for _, d := range e.deliveries(t, sub, e.admin, "").Deliveries {
		if d.EventID == unowned.GetEnvelope().GetEventId() {
			t.Fatalf("the event about %s before anybody owned it was delivered", other)
		}
	}
}
