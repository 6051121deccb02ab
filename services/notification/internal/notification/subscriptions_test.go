package notification_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

// publicHook is a callback URL on a public address literal: accepted at subscribe time
// without a DNS lookup, never called by these tests.
const publicHook = "https://1.1.1.1/hooks/scoda"

// subEnv is the notification service with tokens for every role and a pool on its schema.
type subEnv struct {
	*servicetest.Harness
	admin, dispatcher, carrier, acme, globex string
	pool                                     *pgxpool.Pool
}

// startSubEnv runs the service with the notification variables vars (set for the test).
// With none, callbacks on 127.0.0.1 are allowed, for local receivers.
func startSubEnv(t *testing.T, vars map[string]string) *subEnv {
	t.Helper()
	if vars == nil {
		vars = map[string]string{"NOTIFICATION_ALLOWED_NETS": "127.0.0.1/32"}
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	h := servicetest.Start(t, notification.Service("test"))
	pool, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &subEnv{Harness: h, admin: h.Token(t, auth.RoleAdmin, ""), dispatcher: h.Token(t, auth.RoleDispatcher, ""),
		carrier: h.Token(t, auth.RoleCarrier, ""), acme: h.Token(t, auth.RoleShipper, "acme"),
		globex: h.Token(t, auth.RoleShipper, "globex"), pool: pool}
}

// send sends a request with an optional If-Match and JSON body (a string is sent as it is)
// and checks the status; out (when not nil) receives the JSON answer.
func (e *subEnv) send(t *testing.T, method, path, token, ifMatch string, body any, want int, out any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		s, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			s = string(b)
		}
		rd = strings.NewReader(s)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, raw := testkit.Send(t, req)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp, raw
}

// fieldErrors sends a request that must answer 422 and returns its fields.
func (e *subEnv) fieldErrors(t *testing.T, method, path, token, ifMatch string, body any) map[string]string {
	t.Helper()
	var p kitx.Problem
	resp, raw := e.send(t, method, path, token, ifMatch, body, http.StatusUnprocessableEntity, &p)
	if resp.Header.Get("Content-Type") != kitx.ProblemContentType {
		t.Fatalf("422 is not problem+json: %s", raw)
	}
	out := map[string]string{}
	for _, f := range p.Errors {
		out[f.Field] = f.Reason
	}
	return out
}

type subscriptionOut struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant"`
	CallbackURL string `json:"callbackUrl"`
	Scheme      string `json:"scheme"`
	Filters     struct {
		EquipmentReferences         []string `json:"equipmentReferences"`
		BookingReferences           []string `json:"bookingReferences"`
		TransportDocumentReferences []string `json:"transportDocumentReferences"`
		AllContainers               bool     `json:"allContainers"`
		EventTypes                  []string `json:"eventTypes"`
	} `json:"filters"`
	Status                   string     `json:"status"`
	DisabledReason           string     `json:"disabledReason"`
	Secret                   string     `json:"secret"`
	PreviousSecretValidUntil *time.Time `json:"previousSecretValidUntil"`
	Version                  int        `json:"version"`
}

type subscriptionPage struct {
	Subscriptions []subscriptionOut `json:"subscriptions"`
	NextCursor    string            `json:"nextCursor"`
}

// subscribe creates a subscription that must be accepted.
func (e *subEnv) subscribe(t *testing.T, token string, body map[string]any) subscriptionOut {
	t.Helper()
	var s subscriptionOut
	resp, _ := e.send(t, http.MethodPost, "/v1/subscriptions", token, "", body, http.StatusCreated, &s)
	if got := resp.Header.Get("ETag"); got != `"1"` || s.Version != 1 || s.Secret == "" {
		t.Fatalf("created: ETag %q, %+v", got, s)
	}
	return s
}

func (e *subEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// publishSchedule publishes ev on the SCHEDULE stream, as scheduling would.
func (e *subEnv) publishSchedule(t *testing.T, ev events.Event) {
	t.Helper()
	e.Publish(t, ev)
}

// waitProcessed waits until the schedule consumer has processed event id (Own and Match
// committed together).
func (e *subEnv) waitProcessed(t *testing.T, id string) {
	t.Helper()
	testkit.Eventually(t, 15*time.Second, func() error {
		if e.count(t, `SELECT count(*) FROM inbox WHERE consumer = 'notification-schedule' AND event_id = $1`, id) != 1 {
			return fmt.Errorf("event %s not processed yet", id)
		}
		return nil
	})
}

// waitOwned waits until tenant owns the thing of kind and value.
func (e *subEnv) waitOwned(t *testing.T, tenant, kind, value string) {
	t.Helper()
	testkit.Eventually(t, 15*time.Second, func() error {
		if e.count(t, `SELECT count(*) FROM ownership WHERE tenant_id = $1 AND kind = $2 AND value = $3`, tenant, kind, value) != 1 {
			return fmt.Errorf("%s does not own %s %s yet", tenant, kind, value)
		}
		return nil
	})
}

func newEventID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func envelope(t *testing.T, tenant string) *commonv1.Envelope {
	return &commonv1.Envelope{EventId: newEventID(t), OccurredAt: timestamppb.Now(), RecordedAt: timestamppb.Now(), TenantId: tenant}
}

// bookingEvent is a booking of container for tenant: created, or cancelled when cancel.
func bookingEvent(t *testing.T, tenant, booking, container, tdr string, cancel bool) *schedulev1.BookingEvent {
	ev := &schedulev1.BookingEvent{Envelope: envelope(t, tenant), BookingId: booking, DepartureId: newEventID(t),
		RouteCode: "SCO-KZ-ALA", TrainNumber: "X8001", EquipmentReference: container, TransportDocumentReference: tdr}
	if cancel {
		ev.Change = &schedulev1.BookingEvent_Cancelled{Cancelled: &schedulev1.BookingCancelled{Reason: "customer request"}}
	} else {
		ev.Change = &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{IsoEquipmentCode: "45G1",
			Status: schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED}}
	}
	return ev
}

// unitNumber is a valid container number of the tests, i-th of its series.
func unitNumber(t *testing.T, i int) string {
	t.Helper()
	n, err := iso6346.Make("SCS", 'U', 400000+i)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

// own makes tenant the owner of container, booking and tdr through a booking event.
func (e *subEnv) own(t *testing.T, tenant, booking, container, tdr string) {
	t.Helper()
	ev := bookingEvent(t, tenant, booking, container, tdr, false)
	e.publishSchedule(t, ev)
	e.waitProcessed(t, events.EventID(ev))
	e.waitOwned(t, tenant, "container", container)
}

func TestSubscriptionsAPI(t *testing.T) {
	e := startSubEnv(t, nil)
	c1 := unitNumber(t, 1)
	e.own(t, "acme", "bk-a1", c1, "MBL-A1")

	// Create: the container in any printed form, event types deduplicated; 201 with the secret.
	printed := strings.ToLower(c1[:4] + " " + c1[4:10] + "-" + c1[10:])
	s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": publicHook,
		"filters": map[string]any{"equipmentReferences": []string{printed}, "eventTypes": []string{"DEPA", "ARRI", "ETA", "DEPA"}}})
	if s.Tenant != "acme" || s.Scheme != "standard" || s.Status != "active" || s.CallbackURL != publicHook ||
		!slices.Equal(s.Filters.EquipmentReferences, []string{c1}) || !slices.Equal(s.Filters.EventTypes, []string{"DEPA", "ARRI", "ETA"}) ||
		s.Filters.AllContainers || len(s.Filters.BookingReferences) != 0 || s.PreviousSecretValidUntil != nil {
		t.Fatalf("created %+v", s)
	}
	if _, err := webhook.ParseSecret(s.Secret); err != nil {
		t.Fatalf("generated secret %q: %v", s.Secret, err)
	}
	path := "/v1/subscriptions/" + s.ID

	// The secret is shown once: never when read or listed.
	var got subscriptionOut
	resp, raw := e.send(t, http.MethodGet, path, e.acme, "", nil, http.StatusOK, &got)
	if resp.Header.Get("ETag") != `"1"` || got.ID != s.ID || got.Secret != "" || strings.Contains(string(raw), s.Secret) || strings.Contains(string(raw), `"secret"`) {
		t.Fatalf("GET: ETag %q, %s", resp.Header.Get("ETag"), raw)
	}
	var page subscriptionPage
	_, raw = e.send(t, http.MethodGet, "/v1/subscriptions", e.acme, "", nil, http.StatusOK, &page)
	if len(page.Subscriptions) != 1 || page.Subscriptions[0].ID != s.ID || strings.Contains(string(raw), s.Secret) || strings.Contains(string(raw), `"secret"`) {
		t.Fatalf("list: %s", raw)
	}

	// PATCH: If-Match required and checked; the filters are replaced as a whole.
	patch := map[string]any{"callbackUrl": "https://1.1.1.1/v2",
		"filters": map[string]any{"bookingReferences": []string{"bk-a1"}, "transportDocumentReferences": []string{"MBL-A1"}, "eventTypes": []string{"ETA"}}}
	e.send(t, http.MethodPatch, path, e.acme, "", patch, http.StatusPreconditionRequired, nil)
	e.send(t, http.MethodPatch, path, e.acme, `"7"`, patch, http.StatusPreconditionFailed, nil)
	e.send(t, http.MethodPatch, path, e.acme, `W/"1"`, patch, http.StatusPreconditionFailed, nil)
	resp, raw = e.send(t, http.MethodPatch, path, e.acme, `"1"`, patch, http.StatusOK, &got)
	if resp.Header.Get("ETag") != `"2"` || got.Version != 2 || got.CallbackURL != "https://1.1.1.1/v2" || len(got.Filters.EquipmentReferences) != 0 ||
		!slices.Equal(got.Filters.BookingReferences, []string{"bk-a1"}) || !slices.Equal(got.Filters.TransportDocumentReferences, []string{"MBL-A1"}) ||
		!slices.Equal(got.Filters.EventTypes, []string{"ETA"}) || got.Secret != "" {
		t.Fatalf("PATCH: ETag %q, %s", resp.Header.Get("ETag"), raw)
	}
	// Bad input changes nothing.
	if f := e.fieldErrors(t, http.MethodPatch, path, e.acme, `"2"`, map[string]any{"filters": map[string]any{}, "status": "paused"}); f["filters"] == "" || f["status"] == "" {
		t.Fatalf("bad PATCH fields %v", f)
	}
	e.send(t, http.MethodPatch, path, e.acme, `"2"`, `{"scheme": "dcsa"}`, http.StatusBadRequest, nil)
	e.send(t, http.MethodGet, path, e.acme, "", nil, http.StatusOK, &got)
	if got.Version != 2 {
		t.Fatalf("version after refused PATCHes: %d", got.Version)
	}

	// Pause and re-enable.
	e.send(t, http.MethodPatch, path, e.acme, `"2"`, map[string]any{"status": "disabled"}, http.StatusOK, &got)
	if got.Status != "disabled" || got.DisabledReason == "" {
		t.Fatalf("paused %+v", got)
	}
	var enabled subscriptionOut // decoded afresh: absent fields must stay empty
	e.send(t, http.MethodPatch, path, e.acme, `"3"`, map[string]any{"status": "active"}, http.StatusOK, &enabled)
	if enabled.Status != "active" || enabled.DisabledReason != "" || enabled.Version != 4 {
		t.Fatalf("re-enabled %+v", enabled)
	}

	// Rotate: 428/412, then a new secret shown once, the previous one valid for the grace.
	e.send(t, http.MethodPut, path+"/secret", e.acme, "", nil, http.StatusPreconditionRequired, nil)
	e.send(t, http.MethodPut, path+"/secret", e.acme, `"3"`, nil, http.StatusPreconditionFailed, nil)
	if f := e.fieldErrors(t, http.MethodPut, path+"/secret", e.acme, `"4"`, map[string]any{"secret": "whsec_short"}); f["secret"] == "" {
		t.Fatalf("bad secret: %v", f)
	}
	var rotated subscriptionOut
	before := time.Now()
	resp, _ = e.send(t, http.MethodPut, path+"/secret", e.acme, `"4"`, nil, http.StatusOK, &rotated)
	if resp.Header.Get("ETag") != `"5"` || rotated.Secret == "" || rotated.Secret == s.Secret || rotated.PreviousSecretValidUntil == nil ||
		rotated.PreviousSecretValidUntil.Before(before.Add(23*time.Hour)) || rotated.PreviousSecretValidUntil.After(time.Now().Add(25*time.Hour)) {
		t.Fatalf("rotated: ETag %q, %+v", resp.Header.Get("ETag"), rotated)
	}
	given := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-secret-of-thirty-two-bytes-ok!"))
	e.send(t, http.MethodPut, path+"/secret", e.acme, `"5"`, map[string]any{"secret": given}, http.StatusOK, &rotated)
	if rotated.Secret != given {
		t.Fatalf("given secret: %q", rotated.Secret)
	}
	_, raw = e.send(t, http.MethodGet, path, e.acme, "", nil, http.StatusOK, &got)
	if got.PreviousSecretValidUntil == nil || strings.Contains(string(raw), given) || strings.Contains(string(raw), `"secret"`) {
		t.Fatalf("GET after rotation: %s", raw)
	}

	// Roles: dispatchers and carriers have no subscriptions.
	for _, token := range []string{e.dispatcher, e.carrier} {
		e.send(t, http.MethodPost, "/v1/subscriptions", token, "", map[string]any{"callbackUrl": publicHook,
			"filters": map[string]any{"allContainers": true}}, http.StatusForbidden, nil)
		e.send(t, http.MethodGet, "/v1/subscriptions", token, "", nil, http.StatusForbidden, nil)
		e.send(t, http.MethodGet, path, token, "", nil, http.StatusForbidden, nil)
		e.send(t, http.MethodDelete, path, token, `"6"`, nil, http.StatusForbidden, nil)
	}
	e.send(t, http.MethodGet, "/v1/subscriptions", "", "", nil, http.StatusUnauthorized, nil)

	// An admin names the tenant (no ownership check) and sees every tenant's.
	if f := e.fieldErrors(t, http.MethodPost, "/v1/subscriptions", e.admin, "", map[string]any{"callbackUrl": publicHook,
		"filters": map[string]any{"allContainers": true}}); f["tenant"] == "" {
		t.Fatalf("admin without tenant: %v", f)
	}
	other := e.subscribe(t, e.admin, map[string]any{"tenant": "globex", "callbackUrl": publicHook, "scheme": "dcsa",
		"filters": map[string]any{"equipmentReferences": []string{c1}}})
	if other.Tenant != "globex" || other.Scheme != "dcsa" {
		t.Fatalf("admin's %+v", other)
	}
	if key, err := base64.StdEncoding.DecodeString(other.Secret); err != nil || len(key) != 32 {
		t.Fatalf("generated DCSA secret %q: %v", other.Secret, err)
	}
	e.send(t, http.MethodGet, "/v1/subscriptions?limit=1", e.admin, "", nil, http.StatusOK, &page)
	if len(page.Subscriptions) != 1 || page.Subscriptions[0].ID != other.ID || page.NextCursor == "" {
		t.Fatalf("admin's first page %+v", page)
	}
	var second subscriptionPage
	e.send(t, http.MethodGet, "/v1/subscriptions?limit=1&cursor="+page.NextCursor, e.admin, "", nil, http.StatusOK, &second)
	if len(second.Subscriptions) != 1 || second.Subscriptions[0].ID != s.ID || second.NextCursor != "" {
		t.Fatalf("admin's second page %+v", second)
	}
	if f := e.fieldErrors(t, http.MethodGet, "/v1/subscriptions?limit=0&cursor=nope", e.admin, "", nil); f["limit"] == "" || f["cursor"] == "" {
		t.Fatalf("bad paging: %v", f)
	}
	var acmes subscriptionPage
	e.send(t, http.MethodGet, "/v1/subscriptions", e.acme, "", nil, http.StatusOK, &acmes)
	if len(acmes.Subscriptions) != 1 || acmes.Subscriptions[0].ID != s.ID || acmes.NextCursor != "" {
		t.Fatalf("acme sees %+v", acmes)
	}

	// Delete: 428/412/204, then gone.
	e.send(t, http.MethodDelete, path, e.acme, "", nil, http.StatusPreconditionRequired, nil)
	e.send(t, http.MethodDelete, path, e.acme, `"5"`, nil, http.StatusPreconditionFailed, nil)
	e.send(t, http.MethodDelete, path, e.acme, `"6"`, nil, http.StatusNoContent, nil)
	e.send(t, http.MethodGet, path, e.acme, "", nil, http.StatusNotFound, nil)
	if n := e.count(t, `SELECT count(*) FROM subscription_keys WHERE subscription_id = $1`, s.ID); n != 0 {
		t.Fatalf("%d keys left after delete", n)
	}
}

func TestSubscriptionsStayWithTheirTenant(t *testing.T) {
	e := startSubEnv(t, nil)
	c1, c2, c3 := unitNumber(t, 11), unitNumber(t, 12), unitNumber(t, 13)
	e.own(t, "acme", "bk-1", c1, "MBL-1")

	// A shipment makes its containers, its legs' bookings and its document the tenant's.
	created := &schedulev1.ShipmentEvent{Envelope: envelope(t, "acme"), ShipmentId: newEventID(t), TransportDocumentReference: "MBL-2",
		Change: &schedulev1.ShipmentEvent_Created{Created: &schedulev1.ShipmentCreated{EquipmentReferences: []string{c2},
			Legs: []*schedulev1.Leg{{Sequence: 1, BookingId: "bk-2"}}}}}
	legAdded := &schedulev1.ShipmentEvent{Envelope: envelope(t, "acme"), ShipmentId: created.ShipmentId, TransportDocumentReference: "MBL-2",
		Change: &schedulev1.ShipmentEvent_LegAdded{LegAdded: &schedulev1.ShipmentLegAdded{Leg: &schedulev1.Leg{Sequence: 2, BookingId: "bk-3"}}}}
	e.publishSchedule(t, created)
	e.publishSchedule(t, legAdded)
	e.waitOwned(t, "acme", "container", c2)
	e.waitOwned(t, "acme", "booking", "bk-2")
	e.waitOwned(t, "acme", "booking", "bk-3")
	e.waitOwned(t, "acme", "document", "MBL-2")
	e.own(t, "globex", "bk-g", c3, "")

	mine := e.subscribe(t, e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{
		"equipmentReferences": []string{c1, c2}, "bookingReferences": []string{"bk-1", "bk-3"}, "transportDocumentReferences": []string{"MBL-1", "MBL-2"}}})

	// Naming another tenant's reference: 404 naming nothing, and nothing stored.
	stored := e.count(t, `SELECT count(*) FROM subscriptions`)
	for _, filters := range []map[string]any{
		{"equipmentReferences": []string{c1}},
		{"bookingReferences": []string{"bk-1"}},
		{"transportDocumentReferences": []string{"MBL-2"}},
		{"equipmentReferences": []string{c3, c2}},                                   // one of its own, one not
		{"equipmentReferences": []string{unitNumber(t, 99)}, "allContainers": true}, // never booked by anyone
	} {
		var p kitx.Problem
		_, raw := e.send(t, http.MethodPost, "/v1/subscriptions", e.globex, "", map[string]any{"callbackUrl": publicHook, "filters": filters},
			http.StatusNotFound, &p)
		if p.Detail != apperr.ErrNotFound.Error() || strings.Contains(string(raw), c1) || strings.Contains(string(raw), c2) ||
			strings.Contains(string(raw), "bk-1") || strings.Contains(string(raw), "MBL") {
			t.Fatalf("404 names something: %s", raw)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM subscriptions`); n != stored {
		t.Fatalf("%d subscriptions stored by refused requests", n-stored)
	}

	// globex's own subscription may not be turned onto acme's container either.
	theirs := e.subscribe(t, e.globex, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"equipmentReferences": []string{c3}}})
	e.send(t, http.MethodPatch, "/v1/subscriptions/"+theirs.ID, e.globex, `"1"`,
		map[string]any{"filters": map[string]any{"equipmentReferences": []string{c3, c1}}}, http.StatusNotFound, nil)
	var got subscriptionOut
	e.send(t, http.MethodGet, "/v1/subscriptions/"+theirs.ID, e.globex, "", nil, http.StatusOK, &got)
	if got.Version != 1 || !slices.Equal(got.Filters.EquipmentReferences, []string{c3}) {
		t.Fatalf("globex's subscription changed: %+v", got)
	}

	// Every route on acme's subscription answers globex 404, and changes nothing.
	path := "/v1/subscriptions/" + mine.ID
	e.send(t, http.MethodGet, path, e.globex, "", nil, http.StatusNotFound, nil)
	e.send(t, http.MethodPatch, path, e.globex, `"1"`, map[string]any{"callbackUrl": "https://1.1.1.1/stolen"}, http.StatusNotFound, nil)
	e.send(t, http.MethodPatch, path, e.globex, `"9"`, map[string]any{"status": "disabled"}, http.StatusNotFound, nil)
	e.send(t, http.MethodPut, path+"/secret", e.globex, `"1"`, nil, http.StatusNotFound, nil)
	e.send(t, http.MethodPost, path+"/test", e.globex, "", nil, http.StatusNotFound, nil)
	e.send(t, http.MethodDelete, path, e.globex, `"1"`, nil, http.StatusNotFound, nil)
	var page subscriptionPage
	e.send(t, http.MethodGet, "/v1/subscriptions", e.globex, "", nil, http.StatusOK, &page)
	if len(page.Subscriptions) != 1 || page.Subscriptions[0].ID != theirs.ID {
		t.Fatalf("globex lists %+v", page)
	}
	e.send(t, http.MethodGet, path, e.acme, "", nil, http.StatusOK, &got)
	if got.Version != 1 || got.CallbackURL != publicHook || got.Status != "active" {
		t.Fatalf("acme's subscription changed by globex: %+v", got)
	}

	// A cancelled booking stays its tenant's: its history remains visible.
	cancelled := bookingEvent(t, "acme", "bk-1", c1, "MBL-1", true)
	e.publishSchedule(t, cancelled)
	e.waitProcessed(t, events.EventID(cancelled))
	e.subscribe(t, e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"equipmentReferences": []string{c1}, "bookingReferences": []string{"bk-1"}}})
}

func TestAllMyContainers(t *testing.T) {
	e := startSubEnv(t, nil)
	s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"allContainers": true, "eventTypes": []string{"GTIN", "DEPA"}}})
	if !s.Filters.AllContainers || len(s.Filters.EquipmentReferences) != 0 {
		t.Fatalf("created %+v", s)
	}
	// It listens on the tenant key, which events about any container acme owns carry:
	// nothing is copied when acme books another container.
	tenantKey := `SELECT count(*) FROM subscription_keys WHERE subscription_id = $1 AND kind = 'tenant' AND value = $2`
	if e.count(t, tenantKey, s.ID, "acme") != 1 || e.count(t, `SELECT count(*) FROM subscription_keys WHERE subscription_id = $1`, s.ID) != 1 {
		t.Fatal("no tenant key for all my containers")
	}
	c := unitNumber(t, 21)
	e.own(t, "acme", "bk-21", c, "")
	if e.count(t, `SELECT count(*) FROM subscription_keys WHERE subscription_id = $1`, s.ID) != 1 {
		t.Fatal("owning a container changed the subscription's keys")
	}
	// Back to one container: the tenant key goes.
	var got subscriptionOut
	e.send(t, http.MethodPatch, "/v1/subscriptions/"+s.ID, e.acme, `"1"`, map[string]any{"filters": map[string]any{"equipmentReferences": []string{c}}}, http.StatusOK, &got)
	if got.Filters.AllContainers || e.count(t, tenantKey, s.ID, "acme") != 0 ||
		e.count(t, `SELECT count(*) FROM subscription_keys WHERE subscription_id = $1 AND kind = 'container' AND value = $2`, s.ID, c) != 1 {
		t.Fatalf("after PATCH: %+v", got)
	}
}

func TestSubscriptionInputIsChecked(t *testing.T) {
	// Production rules: https only, no exempt networks.
	e := startSubEnv(t, map[string]string{"NOTIFICATION_ALLOW_HTTP": "false", "NOTIFICATION_ALLOWED_NETS": ""})
	all := map[string]any{"allContainers": true}
	for _, tc := range []struct{ url, reason string }{
		{"https://127.0.0.1/hook", "loopback"},
		{"https://[::1]/hook", "loopback"},
		{"https://10.0.0.1/hook", "private"},
		{"https://172.16.0.1/hook", "private"},
		{"https://192.168.1.1/hook", "private"},
		{"https://169.254.169.254/latest/meta-data/", "metadata"},
		{"https://100.64.0.1/hook", "CGNAT"},
		{"https://0.0.0.0/hook", "0.0.0.0"},
		{"https://[::ffff:127.0.0.1]/hook", "loopback"},
		{"https://[fc00::1]/hook", "private"},
		{"https://[fe80::1]/hook", "link-local"},
		{"https://localhost/hook", "loopback"},
		{"https://app.localhost:8443/hook", "loopback"},
		{"https://2130706433/hook", "127.0.0.1"},
		{"https://[ff02::1]/hook", "multicast"},
		{"ftp://files.example.com/hook", "scheme ftp"},
		{"https://user:pass@1.1.1.1/hook", "user info"},
		{"http://1.1.1.1/hook", "scheme http"},
		{"/relative/hook", "absolute"},
		{"https://nonexistent.invalid/hook", "does not resolve"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			f := e.fieldErrors(t, http.MethodPost, "/v1/subscriptions", e.acme, "", map[string]any{"callbackUrl": tc.url, "filters": all})
			if len(f) != 1 || !strings.Contains(f["callbackUrl"], tc.reason) {
				t.Fatalf("fields %v, want callbackUrl: …%s…", f, tc.reason)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM subscriptions`); n != 0 {
		t.Fatalf("%d refused subscriptions stored", n)
	}

	// Every other field, each with its reason.
	many := make([]string, 1001)
	for i := range many {
		many[i] = unitNumber(t, i)
	}
	for _, tc := range []struct {
		name  string
		token string
		body  map[string]any
		field string
	}{
		{"no callback", e.acme, map[string]any{"filters": all}, "callbackUrl"},
		{"check digit", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"equipmentReferences": []string{"CSQU3054384"}}}, "filters.equipmentReferences[0]"},
		{"not a container", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"allContainers": true, "equipmentReferences": []string{"hello"}}}, "filters.equipmentReferences[0]"},
		{"empty booking", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"bookingReferences": []string{""}}}, "filters.bookingReferences[0]"},
		{"long document", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"transportDocumentReferences": []string{strings.Repeat("M", 101)}}}, "filters.transportDocumentReferences[0]"},
		{"nothing to listen on", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"eventTypes": []string{"DEPA"}}}, "filters"},
		{"over 1,000 references", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"equipmentReferences": many}}, "filters"},
		{"event type", e.acme, map[string]any{"callbackUrl": publicHook, "filters": map[string]any{"allContainers": true, "eventTypes": []string{"DEPA", "depa"}}}, "filters.eventTypes[1]"},
		{"scheme", e.acme, map[string]any{"callbackUrl": publicHook, "scheme": "hmac", "filters": all}, "scheme"},
		{"standard secret", e.acme, map[string]any{"callbackUrl": publicHook, "secret": "not-a-whsec", "filters": all}, "secret"},
		{"short standard secret", e.acme, map[string]any{"callbackUrl": publicHook, "secret": "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "filters": all}, "secret"},
		{"short dcsa secret", e.acme, map[string]any{"callbackUrl": publicHook, "scheme": "dcsa", "secret": base64.StdEncoding.EncodeToString(make([]byte, 31)), "filters": all}, "secret"},
		{"dcsa secret not base64", e.acme, map[string]any{"callbackUrl": publicHook, "scheme": "dcsa", "secret": "%%%", "filters": all}, "secret"},
		{"another tenant", e.acme, map[string]any{"tenant": "globex", "callbackUrl": publicHook, "filters": all}, "tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := e.fieldErrors(t, http.MethodPost, "/v1/subscriptions", tc.token, "", tc.body)
			if f[tc.field] == "" {
				t.Fatalf("fields %v, want %s", f, tc.field)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM subscriptions`); n != 0 {
		t.Fatalf("%d invalid subscriptions stored", n)
	}

	// What is allowed is allowed, and a PATCH is checked the same way.
	s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": publicHook, "scheme": "dcsa",
		"secret": base64.StdEncoding.EncodeToString(make([]byte, 64)), "filters": all})
	if f := e.fieldErrors(t, http.MethodPatch, "/v1/subscriptions/"+s.ID, e.acme, `"1"`, map[string]any{"callbackUrl": "https://169.254.169.254/"}); !strings.Contains(f["callbackUrl"], "metadata") {
		t.Fatalf("PATCH to the metadata address: %v", f)
	}
}

// hook is a local webhook receiver that records what it gets and answers status.
type hook struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []hookRequest
}

type hookRequest struct {
	path   string
	header http.Header
	body   []byte
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.status.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{path: r.URL.Path, header: r.Header.Clone(), body: body})
		h.mu.Unlock()
		if code := int(h.status.Load()); code == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		} else {
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// last returns the last request received, and how many there were.
func (h *hook) last(t *testing.T) (hookRequest, int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return h.got[len(h.got)-1], len(h.got)
}

type testOut struct {
	StatusCode int    `json:"statusCode"`
	LatencyMs  int64  `json:"latencyMs"`
	Error      string `json:"error"`
}

func (e *subEnv) testEvent(t *testing.T, token, id string) testOut {
	t.Helper()
	var out testOut
	e.send(t, http.MethodPost, "/v1/subscriptions/"+id+"/test", token, "", nil, http.StatusOK, &out)
	return out
}

func TestTestEvent(t *testing.T) {
	e := startSubEnv(t, nil)
	h := newHook(t)

	t.Run("standard webhooks", func(t *testing.T) {
		s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": h.srv.URL + "/standard", "filters": map[string]any{"allContainers": true}})
		first := mustSecret(t, s.Secret)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusOK || out.Error != "" || out.LatencyMs < 0 {
			t.Fatalf("test event: %+v", out)
		}
		req, _ := h.last(t)
		if err := webhook.Verify(first, req.header, req.body, time.Now()); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var env notification.Envelope
		if err := json.Unmarshal(req.body, &env); err != nil || env.EventType != "TEST" || env.Subject != s.ID || env.Tenant != "acme" ||
			env.ID == "" || req.header.Get(webhook.HeaderID) != env.ID {
			t.Fatalf("test event body %s (%v), webhook-id %q", req.body, err, req.header.Get(webhook.HeaderID))
		}

		// During a rotation both secrets sign: a receiver with either one accepts.
		var rotated subscriptionOut
		e.send(t, http.MethodPut, "/v1/subscriptions/"+s.ID+"/secret", e.acme, `"1"`, nil, http.StatusOK, &rotated)
		second := mustSecret(t, rotated.Secret)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusOK || out.Error != "" {
			t.Fatalf("test event after rotation: %+v", out)
		}
		req, _ = h.last(t)
		for i, secret := range []webhook.Secret{first, second} {
			if err := webhook.Verify(secret, req.header, req.body, time.Now()); err != nil {
				t.Fatalf("secret %d during rotation: %v", i, err)
			}
		}
		if n := len(strings.Fields(req.header.Get(webhook.HeaderSignature))); n != 2 {
			t.Fatalf("%d signatures during rotation", n)
		}

		// An answer that is not 2xx is reported.
		h.status.Store(http.StatusInternalServerError)
		defer h.status.Store(http.StatusOK)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusInternalServerError || !strings.Contains(out.Error, "500") {
			t.Fatalf("test event answered 500: %+v", out)
		}
		// A redirect is reported, not followed.
		h.status.Store(http.StatusFound)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusFound || !strings.Contains(out.Error, "redirect") {
			t.Fatalf("test event answered 302: %+v", out)
		}
		if req, _ := h.last(t); req.path != "/standard" {
			t.Fatalf("the redirect was followed to %s", req.path)
		}
	})

	t.Run("dcsa", func(t *testing.T) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": h.srv.URL + "/dcsa", "scheme": "dcsa",
			"secret": base64.StdEncoding.EncodeToString(key), "filters": map[string]any{"allContainers": true}})
		if s.Secret != base64.StdEncoding.EncodeToString(key) {
			t.Fatalf("given DCSA secret not kept: %q", s.Secret)
		}
		h.status.Store(http.StatusNoContent)
		defer h.status.Store(http.StatusOK)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusNoContent || out.Error != "" {
			t.Fatalf("test event: %+v", out)
		}
		req, _ := h.last(t)
		if err := webhook.VerifyDCSA(key, req.header, req.body); err != nil {
			t.Fatalf("DCSA signature: %v", err)
		}
		var batch []notification.Envelope
		if err := json.Unmarshal(req.body, &batch); err != nil || len(batch) != 1 || batch[0].EventType != "TEST" ||
			req.header.Get(webhook.HeaderDCSASubscriptionID) != s.ID {
			t.Fatalf("DCSA body %s (%v), Subscription-ID %q", req.body, err, req.header.Get(webhook.HeaderDCSASubscriptionID))
		}

		// Rotation: one Notification-Signature line per secret; either secret finds its own.
		var rotated subscriptionOut
		e.send(t, http.MethodPut, "/v1/subscriptions/"+s.ID+"/secret", e.acme, `"1"`, nil, http.StatusOK, &rotated)
		newKey, err := base64.StdEncoding.DecodeString(rotated.Secret)
		if err != nil || len(newKey) != 32 {
			t.Fatalf("rotated DCSA secret %q: %v", rotated.Secret, err)
		}
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusNoContent || out.Error != "" {
			t.Fatalf("test event after rotation: %+v", out)
		}
		req, _ = h.last(t)
		sigs := req.header.Values(webhook.HeaderDCSASignature)
		if len(sigs) != 2 {
			t.Fatalf("%d Notification-Signature lines during rotation", len(sigs))
		}
		for i, k := range [][]byte{key, newKey} {
			ok := slices.ContainsFunc(sigs, func(sig string) bool {
				one := http.Header{}
				one.Set(webhook.HeaderDCSASignature, sig)
				one.Set(webhook.HeaderDCSASubscriptionID, s.ID)
				return webhook.VerifyDCSA(k, one, req.body) == nil
			})
			if !ok {
				t.Fatalf("secret %d matches no signature during rotation", i)
			}
		}
		// DCSA expects 204: a 200 is reported as a failure.
		h.status.Store(http.StatusOK)
		if out := e.testEvent(t, e.acme, s.ID); out.StatusCode != http.StatusOK || !strings.Contains(out.Error, "204") {
			t.Fatalf("DCSA test answered 200: %+v", out)
		}
	})

	t.Run("refused at dial time", func(t *testing.T) {
		// A callback stored before the address became one the guard refuses (or a name that now
		// resolves to one): the client refuses it when connecting, and says so.
		s := e.subscribe(t, e.acme, map[string]any{"callbackUrl": h.srv.URL + "/later", "filters": map[string]any{"allContainers": true}})
		if _, err := e.pool.Exec(context.Background(), `UPDATE subscriptions SET callback_url = 'http://10.0.0.1:9/hook' WHERE id = $1`, s.ID); err != nil {
			t.Fatal(err)
		}
		_, before := h.last(t)
		out := e.testEvent(t, e.acme, s.ID)
		if out.StatusCode != 0 || !strings.HasPrefix(out.Error, "refused:") || !strings.Contains(out.Error, "private") {
			t.Fatalf("test event to 10.0.0.1: %+v", out)
		}
		if _, after := h.last(t); after != before {
			t.Fatal("the receiver was called")
		}
		// An admin may test any tenant's subscription; another shipper may not.
		if out := e.testEvent(t, e.admin, s.ID); !strings.HasPrefix(out.Error, "refused:") {
			t.Fatalf("admin's test: %+v", out)
		}
		e.send(t, http.MethodPost, "/v1/subscriptions/"+s.ID+"/test", e.globex, "", nil, http.StatusNotFound, nil)
	})
}

func mustSecret(t *testing.T, s string) webhook.Secret {
	t.Helper()
	secret, err := webhook.ParseSecret(s)
	if err != nil {
		t.Fatalf("secret %q: %v", s, err)
	}
	return secret
}
