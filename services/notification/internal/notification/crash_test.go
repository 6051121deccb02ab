package notification_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/pkg/testkit/proctest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

// flakyReceiver is a webhook endpoint that verifies every signature, fails about one request
// in five (decided by a hash of the webhook-id and its attempt, and never from the fourth
// attempt of a webhook-id on, so nothing is dead-lettered), and remembers which webhook-ids
// brought which event.
type flakyReceiver struct {
	*httptest.Server
	secret webhook.Secret

	mu        sync.Mutex
	attempts  map[string]int             // webhook-id -> requests
	hooks     map[string]map[string]bool // event id -> webhook-ids that brought it
	accepted  map[string]int             // event id -> 2xx answers
	requests  int
	failed    int
	badSigned []string // what went wrong verifying, for the failure message
}

func newFlakyReceiver(t *testing.T) *flakyReceiver {
	t.Helper()
	rc := &flakyReceiver{attempts: map[string]int{}, hooks: map[string]map[string]bool{}, accepted: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *flakyReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	id := r.Header.Get(webhook.HeaderID)
	if err := webhook.Verify(rc.secret, r.Header, body, time.Now()); err != nil {
		rc.badSigned = append(rc.badSigned, id+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var env notification.Envelope
	if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
		rc.badSigned = append(rc.badSigned, fmt.Sprintf("%s: body %q (%v)", id, body, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if rc.hooks[env.ID] == nil {
		rc.hooks[env.ID] = map[string]bool{}
	}
	rc.hooks[env.ID][id] = true
	rc.attempts[id]++
	h := fnv.New32a()
	_, _ = fmt.Fprintf(h, "%s/%d", id, rc.attempts[id])
	if rc.attempts[id] < 4 && h.Sum32()%5 == 0 {
		rc.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.accepted[env.ID]++
	w.WriteHeader(http.StatusNoContent)
}

// received returns how many distinct events were accepted.
func (rc *flakyReceiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.accepted)
}

// The crash test: the service is killed with SIGKILL while delivering 10,000 events to
// a receiver failing one request in five; after a restart every event has reached the
// receiver, none is lost, and an event that came twice came with the same webhook-id (a retry
// of one delivery, never a second delivery).
func TestKilledWhileDeliveringLosesNothing(t *testing.T) {
	if testing.Short() && !testkit.InCI() {
		t.Skip("builds and runs the service binary (not with -short outside CI)")
	}
	const containers, perContainer = 100, 100
	const total = containers * perContainer

	bin := proctest.Build(t, "github.com/scodalabs/scoda/services/notification/cmd/notification")
	dsn, schema := pgtest.Schema(t, "notifcrash")
	_, prefix := redistest.New(t)
	ns := natstest.Start(t)
	env := []string{"SCODA_ENV=test", "DATABASE_URL=" + dsn, "DB_SCHEMA=" + schema, "REDIS_URL=" + redistest.URL(),
		"REDIS_KEY_PREFIX=" + prefix, "NATS_URL=" + ns.URL, "AUTH_JWT_SECRET=" + auth.DevSecret, "LOG_LEVEL=warn",
		"NOTIFICATION_ALLOWED_NETS=127.0.0.1/32", "NOTIFICATION_RETRY_SCHEDULE=20ms,50ms,100ms,200ms,400ms,800ms,1s",
		"NOTIFICATION_POLL_INTERVAL=20ms", "NOTIFICATION_TIMEOUT=2s"}
	first := proctest.Start(t, bin, env...)

	nc, err := nats.Connect(ns.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(t.Context(), dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// acme books the containers (Own runs on the booking events), then subscribes to all of them.
	boxes := make([]string, containers)
	booked := make([]events.Event, containers)
	for i := range boxes {
		boxes[i] = container(t, 1000+i)
		booked[i] = bookingEvent(t, "acme", fmt.Sprintf("bk-crash-%d", i), boxes[i], "", false)
	}
	publishAll(t, js, booked)
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := count(`SELECT count(*) FROM ownership WHERE tenant_id = 'acme' AND kind = 'container'`); n != containers {
			return fmt.Errorf("acme owns %d containers, want %d", n, containers)
		}
		return nil
	})
	rc := newFlakyReceiver(t)
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	token, err := auth.Mint(key, auth.Principal{Role: auth.RoleShipper, Tenant: "acme"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	status, raw := first.Post(t, "/v1/subscriptions", token,
		map[string]any{"callbackUrl": rc.URL + "/hook", "filters": map[string]any{"allContainers": true}})
	var sub struct{ ID, Secret string }
	if status != http.StatusCreated || json.Unmarshal(raw, &sub) != nil {
		t.Fatalf("subscribe = %d: %s", status, raw)
	}
	secret, err := webhook.ParseSecret(sub.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()

	// 10,000 container events, 100 for each container, interleaved as they would come.
	sent := make([]events.Event, 0, total)
	for range perContainer {
		for _, box := range boxes {
			sent = append(sent, transport(box, len(sent)%2 == 1))
		}
	}
	start := time.Now()
	publishAll(t, js, sent)
	t.Logf("published %d events in %v", total, time.Since(start).Round(time.Millisecond))

	testkit.Eventually(t, time.Minute, func() error {
		if n := rc.received(); n < total/5 {
			return fmt.Errorf("%d events received before the kill, waiting for %d", n, total/5)
		}
		return nil
	})
	before := rc.received()
	first.Kill(t)
	killedAt := time.Since(start)
	t.Logf("killed after %d events received in %v (%.0f deliveries/s)", before, killedAt.Round(time.Millisecond),
		float64(before)/killedAt.Seconds())

	restart := time.Now()
	proctest.Start(t, bin, env...)
	testkit.Eventually(t, 3*time.Minute, func() error {
		if n := rc.received(); n < total {
			return fmt.Errorf("%d of %d events received", n, total)
		}
		return nil
	})
	t.Logf("all %d events received %v after the restart (%v in all)", total, time.Since(restart).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))

	rc.mu.Lock()
	if len(rc.badSigned) > 0 {
		t.Errorf("%d requests failed verification, e.g. %s", len(rc.badSigned), rc.badSigned[0])
	}
	twice := 0
	for _, ev := range sent {
		id := events.EventID(ev)
		if rc.accepted[id] == 0 {
			t.Errorf("event %s never accepted", id)
		}
		if rc.accepted[id] > 1 {
			twice++
		}
		if len(rc.hooks[id]) != 1 {
			t.Errorf("event %s came under %d webhook-ids, want 1", id, len(rc.hooks[id]))
		}
	}
	if len(rc.accepted) != total {
		t.Errorf("%d distinct events accepted, want %d", len(rc.accepted), total)
	}
	t.Logf("%d requests, %d answered 503, %d events accepted twice (re-sent after the kill)", rc.requests, rc.failed, twice)
	rc.mu.Unlock()

	// Every delivery is recorded as succeeded, once per event. One accepted just before the kill
	// but not recorded is sent again only when its lease (timeout + 30 s margin, from its claim)
	// expires, which may be well after the receiver has seen every event: wait past a lease.
	testkit.Eventually(t, time.Minute, func() error {
		all := count(`SELECT count(*) FROM deliveries`)
		done := count(`SELECT count(*) FROM deliveries WHERE status = 'succeeded'`)
		if all != total || done != total {
			return fmt.Errorf("%d deliveries, %d succeeded, want %d", all, done, total)
		}
		return nil
	})
}

// publishAll publishes evs to their streams asynchronously, as producers do (content type and
// event id as msg id), and waits for every ack.
func publishAll(t *testing.T, js jetstream.JetStream, evs []events.Event) {
	t.Helper()
	const window = 512
	for from := 0; from < len(evs); from += window {
		futures := make([]jetstream.PubAckFuture, 0, window)
		for _, ev := range evs[from:min(from+window, len(evs))] {
			subject, err := events.Subject(ev)
			if err != nil {
				t.Fatal(err)
			}
			data, err := events.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			m := nats.NewMsg(subject)
			m.Data = data
			m.Header.Set(events.HeaderContentType, events.ContentType(ev))
			f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(events.EventID(ev)))
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				t.Fatalf("publish: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("publish: no ack within 10s")
			}
		}
	}
}
