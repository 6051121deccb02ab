package e2e_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/otlptest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/pkg/testkit/proctest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
	"github.com/scodalabs/scoda/scripts/internal/hooks"
	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// binaries are the three service executables, built once for every story.
type binaries struct{ tracking, scheduling, notification string }

func build(t *testing.T) binaries {
	t.Helper()
	const svc = "github.com/scodalabs/scoda/services/"
	return binaries{
		tracking:     proctest.Build(t, svc+"tracking/cmd/tracking"),
		scheduling:   proctest.Build(t, svc+"scheduling/cmd/scheduling"),
		notification: proctest.Build(t, svc+"notification/cmd/notification"),
	}
}

// stack is the three services running as child processes: a schema and a Redis key prefix
// each, one shared JetStream server, every span exported to one OTLP receiver.
type stack struct {
	tracking, scheduling, notification string // base URLs
	otlp                               *otlptest.Receiver
	http                               *http.Client
	key                                auth.Key
}

func startStack(t *testing.T, bin binaries) *stack {
	t.Helper()
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so closed last: after the processes are killed.
	rc := otlptest.Start(t)
	ns := natstest.Start(t)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	s := &stack{otlp: rc, http: &http.Client{Transport: transport, Timeout: 30 * time.Second}, key: key}

	common := append([]string{"SCODA_ENV=test", "REDIS_URL=" + redistest.URL(), "NATS_URL=" + ns.URL,
		"AUTH_JWT_SECRET=" + auth.DevSecret, "LOG_LEVEL=warn"}, rc.Environ()...)
	start := func(bin, schemaPrefix string, extra ...string) string {
		dsn, schema := pgtest.Schema(t, schemaPrefix)
		_, prefix := redistest.New(t)
		env := append(append([]string{"DATABASE_URL=" + dsn, "DB_SCHEMA=" + schema, "REDIS_KEY_PREFIX=" + prefix},
			common...), extra...)
		return proctest.Start(t, bin, env...).URL
	}
	s.tracking = start(bin.tracking, "e2etrk")
	s.scheduling = start(bin.scheduling, "e2esch")
	s.notification = start(bin.notification, "e2entf", "NOTIFICATION_ALLOWED_NETS=127.0.0.1/32",
		"NOTIFICATION_RETRY_SCHEDULE=50ms,100ms,200ms,400ms", "NOTIFICATION_POLL_INTERVAL=50ms", "NOTIFICATION_TIMEOUT=5s")
	return s
}

// Who calls.
var (
	carrier     = auth.Principal{Role: auth.RoleCarrier, Subject: "e2e-carrier"}
	dispatcher  = auth.Principal{Role: auth.RoleDispatcher, Subject: "dispatcher-1@scoda"}
	dispatcher2 = auth.Principal{Role: auth.RoleDispatcher, Subject: "dispatcher-2@scoda"}
)

func shipper(tenant string) auth.Principal {
	return auth.Principal{Role: auth.RoleShipper, Tenant: tenant, Subject: "ops@" + tenant}
}

// answer is an HTTP response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends body (JSON; nil for none) as who, with the extra header.
func (s *stack) call(t *testing.T, who auth.Principal, method, url string, header http.Header, body any) answer {
	t.Helper()
	token, err := auth.Mint(s.key, who, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, err := stackapi.NewRequest(t.Context(), method, url, token, header, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}
}

// must is call that fails the test unless the answer has status want; it decodes the body
// into out (when not nil) and returns the answer's header.
func (s *stack) must(t *testing.T, who auth.Principal, want int, method, url string, header http.Header, body, out any) http.Header {
	t.Helper()
	a := s.call(t, who, method, url, header, body)
	if a.status != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, url, a.status, want, a.body)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, a.body)
		}
	}
	return a.header
}

type departureStop struct {
	UNLocationCode string     `json:"UNLocationCode"`
	PlannedArrival *time.Time `json:"plannedArrival"`
}

type departure struct {
	ID               string          `json:"id"`
	TrainNumber      string          `json:"trainNumber"`
	PlannedDeparture time.Time       `json:"plannedDeparture"`
	Stops            []departureStop `json:"stops"`
}

// arrival is the departure's planned arrival at code.
func (d departure) arrival(t *testing.T, code string) time.Time {
	t.Helper()
	for _, st := range d.Stops {
		if st.UNLocationCode == code && st.PlannedArrival != nil {
			return *st.PlannedArrival
		}
	}
	t.Fatalf("departure %s has no planned arrival at %s: %+v", d.ID, code, d.Stops)
	return time.Time{}
}

// createDeparture opens a departure of route on train, leaving at planned (cut-off 12 h before).
func (s *stack) createDeparture(t *testing.T, route, train string, planned time.Time) departure {
	t.Helper()
	var d departure
	s.must(t, dispatcher, http.StatusCreated, http.MethodPost, s.scheduling+"/v1/departures", nil, map[string]any{
		"route": route, "trainNumber": train, "status": "open",
		"plannedDeparture": planned.UTC().Format(time.RFC3339), "cutoff": planned.Add(-12 * time.Hour).UTC().Format(time.RFC3339),
	}, &d)
	return d
}

type booking struct {
	ID                 string     `json:"id"`
	EquipmentReference string     `json:"equipmentReference"`
	Status             string     `json:"status"`
	ETA                *time.Time `json:"eta"`
}

// book books container on departure for tenant, as its shipper, from CNJZH to KZALA.
func (s *stack) book(t *testing.T, tenant, departureID, container string) booking {
	t.Helper()
	var b booking
	s.must(t, shipper(tenant), http.StatusCreated, http.MethodPost, s.scheduling+"/v1/bookings", nil, map[string]any{
		"departureID": departureID, "equipmentReference": container, "isoEquipmentCode": "45G1",
		"grossWeightKg": 18000, "from": "CNJZH", "to": "KZALA",
	}, &b)
	return b
}

// subscribe makes tenant's webhook subscription to callback with filters, retrying while
// notification answers 404 (it does not know yet that the tenant owns a reference named: the
// ownership comes from scheduling's events, asynchronously). It returns the id and the secret.
func (s *stack) subscribe(t *testing.T, tenant, callback string, filters map[string]any) (id, secret string) {
	t.Helper()
	var out struct{ ID, Secret string }
	testkit.Eventually(t, 30*time.Second, func() error {
		a := s.call(t, shipper(tenant), http.MethodPost, s.notification+"/v1/subscriptions", nil,
			map[string]any{"callbackUrl": callback, "filters": filters})
		switch a.status {
		case http.StatusCreated:
			if err := json.Unmarshal(a.body, &out); err != nil {
				t.Fatalf("subscription: %v in %s", err, a.body)
			}
			return nil
		case http.StatusNotFound:
			return fmt.Errorf("subscribe: 404 (ownership not projected yet): %s", a.body)
		}
		t.Fatalf("subscribe = %d: %s", a.status, a.body)
		return nil
	})
	if out.ID == "" || out.Secret == "" {
		t.Fatalf("subscription without id or secret: %+v", out)
	}
	return out.ID, out.Secret
}

// postEvents sends evs to tracking as the carrier (with the extra header) and checks they were
// all accepted.
func (s *stack) postEvents(t *testing.T, header http.Header, evs ...map[string]any) {
	t.Helper()
	var out struct {
		Accepted int `json:"accepted"`
	}
	s.must(t, carrier, http.StatusAccepted, http.MethodPost, s.tracking+"/v1/events", header, map[string]any{"events": evs}, &out)
	if out.Accepted != len(evs) {
		t.Fatalf("tracking accepted %d of %d events", out.Accepted, len(evs))
	}
}

// status is tracking's GET /v1/containers/{no}, as who sees it; ok is false on a 404.
type status struct {
	Position *struct {
		EventID string `json:"eventID"`
	} `json:"position"`
	LastMilestone *struct {
		EventType string    `json:"eventType"`
		TypeCode  string    `json:"typeCode"`
		Location  string    `json:"UNLocationCode"`
		At        time.Time `json:"eventDateTime"`
	} `json:"lastMilestone"`
}

func (s *stack) containerStatus(t *testing.T, who auth.Principal, no string) (st status, ok bool) {
	t.Helper()
	a := s.call(t, who, http.MethodGet, s.tracking+"/v1/containers/"+no, nil, nil)
	switch a.status {
	case http.StatusOK:
		if err := json.Unmarshal(a.body, &st); err != nil {
			t.Fatalf("container status: %v in %s", err, a.body)
		}
		return st, true
	case http.StatusNotFound:
		return st, false
	}
	t.Fatalf("GET container %s = %d: %s", no, a.status, a.body)
	return st, false
}

// containerNo is a valid ISO 6346 number of the SCD owner code with the given serial.
func containerNo(t *testing.T, serial int) string {
	t.Helper()
	no, err := iso6346.Make("SCD", 'U', serial)
	if err != nil {
		t.Fatal(err)
	}
	return string(no)
}

// The DCSA 2.2 events a carrier posts (tracking's POST /v1/events), each with a fresh id.

func equipmentEvent(code, container, location string, at time.Time) map[string]any {
	ts := at.UTC().Format(time.RFC3339)
	return map[string]any{"eventID": uuid.NewString(), "eventClassifierCode": "ACT", "eventDateTime": ts,
		"eventCreatedDateTime": ts, "equipmentReference": container, "eventType": "EQUIPMENT",
		"equipmentEventTypeCode": code, "ISOEquipmentCode": "45G1", "emptyIndicatorCode": "LADEN",
		"eventLocation": map[string]any{"UNLocationCode": location},
		"transportCall": map[string]any{"modeOfTransport": "TRUCK", "UNLocationCode": location}}
}

func transportEvent(code, container, location, train string, seq int, at time.Time) map[string]any {
	ts := at.UTC().Format(time.RFC3339)
	return map[string]any{"eventID": uuid.NewString(), "eventClassifierCode": "ACT", "eventDateTime": ts,
		"eventCreatedDateTime": ts, "equipmentReference": container, "eventType": "TRANSPORT",
		"transportEventTypeCode": code,
		"transportCall": map[string]any{"modeOfTransport": "RAIL", "UNLocationCode": location,
			"transportCallSequenceNumber": seq, "rail": map[string]any{"trainNumber": train}}}
}

func positionEvent(container, train string, lat, lon float64, at time.Time) map[string]any {
	return map[string]any{"eventID": uuid.NewString(), "eventClassifierCode": "ACT",
		"eventDateTime": at.UTC().Format(time.RFC3339), "equipmentReference": container, "eventType": "POSITION",
		"latitude": lat, "longitude": lon, "speedKmh": 60, "headingDeg": 300, "positionSource": "GNSS",
		"deviceID": "trk-" + container, "accuracyM": 10, "trainNumber": train, "modeOfTransport": "RAIL"}
}

// envelope is the CloudEvents body of a standard webhook delivery.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Subject   string          `json:"subject"`
	Time      time.Time       `json:"time"`
	Tenant    string          `json:"tenant"`
	EventType string          `json:"eventtype"`
	Data      json.RawMessage `json:"data"`
}

// delivery is one webhook request that verified.
type delivery struct {
	WebhookID   string
	TraceParent string
	Envelope    envelope
}

// receiver is the shippers' webhook endpoint: one callback path per subscription, each with
// its secret. It answers 204 to a request whose Standard Webhooks signature verifies, and 401
// (remembering why) to any other; it keeps the verified deliveries of each path in arrival
// order, once per webhook-id.
type receiver struct {
	*httptest.Server

	mu      sync.Mutex
	keys    map[string][]byte // path -> signing key
	got     map[string][]delivery
	seen    map[string]bool // webhook-ids
	refused []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{keys: map[string][]byte{}, got: map[string][]delivery{}, seen: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

// setSecret makes secret ("whsec_<base64 key>", as POST /v1/subscriptions answers it) the key
// of path.
func (rc *receiver) setSecret(t *testing.T, path, secret string) {
	t.Helper()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret without the whsec_ prefix")
	}
	key, err := hooks.ParseSecret(secret)
	if err != nil || len(key) < 24 {
		t.Fatalf("secret is not a base64 key of 24 bytes or more (%v)", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.keys[path] = key
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key, ok := rc.keys[r.URL.Path]
	if !ok {
		rc.refused = append(rc.refused, r.URL.Path+": no subscription here")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err := hooks.Verify(key, r.Header, body, time.Now()); err != nil {
		rc.refused = append(rc.refused, r.URL.Path+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		rc.refused = append(rc.refused, fmt.Sprintf("%s: body %q: %v", r.URL.Path, body, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	if !rc.seen[id] {
		rc.seen[id] = true
		rc.got[r.URL.Path] = append(rc.got[r.URL.Path], delivery{WebhookID: id, TraceParent: r.Header.Get("traceparent"), Envelope: env})
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliveries returns what path received so far.
func (rc *receiver) deliveries(path string) []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got[path]...)
}

// wait waits until path has received n deliveries and returns them.
func (rc *receiver) wait(t *testing.T, path string, n int, within time.Duration) []delivery {
	t.Helper()
	var got []delivery
	testkit.Eventually(t, within, func() error {
		if got = rc.deliveries(path); len(got) < n {
			return fmt.Errorf("%s received %d deliveries, want %d: %v (refused: %v)", path, len(got), n, summary(got), rc.refusals())
		}
		return nil
	})
	return got
}

// refusals returns why requests were refused.
func (rc *receiver) refusals() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.refused...)
}

// checkAllVerified fails the test when a request did not verify.
func (rc *receiver) checkAllVerified(t *testing.T) {
	t.Helper()
	if r := rc.refusals(); len(r) > 0 {
		t.Errorf("%d webhook requests refused, e.g. %s", len(r), r[0])
	}
}

func summary(ds []delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Envelope.EventType + "@" + d.Envelope.Time.Format(time.RFC3339)
	}
	return out
}

// randomHex is n random bytes in lowercase hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
