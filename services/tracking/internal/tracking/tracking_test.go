package tracking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/tracking/internal/tracking"
)

const within = 20 * time.Second

// env is a running tracking service and direct handles on its stores.
type env struct {
	*servicetest.Harness
	db      *pgxpool.Pool
	carrier string
	admin   string
}

func start(t *testing.T, options ...func(*app.Config)) *env {
	t.Helper()
	h := servicetest.Start(t, tracking.Service("test"), options...)
	return &env{Harness: h, db: dbOf(t, h), carrier: h.Token(t, auth.RoleCarrier, ""), admin: h.Token(t, auth.RoleAdmin, "")}
}

// dbOf connects to the service's own schema.
func dbOf(t testing.TB, h *servicetest.Harness) *pgxpool.Pool {
	t.Helper()
	db, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// container returns the i-th valid container number of an owner code.
func container(t testing.TB, owner string, i int) string {
	t.Helper()
	n, err := iso6346.Make(owner[:3], 'U', 100000+i)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

var base = time.Date(2026, 11, 20, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

func position(id, container string, lat, lon float64, at time.Time) map[string]any {
	return map[string]any{
		"eventID": id, "eventType": "POSITION", "eventClassifierCode": "ACT",
		"eventDateTime": at.Format(time.RFC3339Nano), "equipmentReference": container,
		"latitude": lat, "longitude": lon, "speedKmh": 60.0, "deviceID": "trk-1",
	}
}

func gateIn(id, container, location string, at time.Time) map[string]any {
	return map[string]any{
		"eventID": id, "eventType": "EQUIPMENT", "eventClassifierCode": "ACT", "equipmentEventTypeCode": "GTIN",
		"eventDateTime": at.Format(time.RFC3339), "eventCreatedDateTime": at.Format(time.RFC3339),
		"equipmentReference": container, "emptyIndicatorCode": "LADEN",
		"eventLocation": map[string]any{"UNLocationCode": location},
	}
}

func uuidFor(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func (e *env) post(t *testing.T, evs []map[string]any) (*http.Response, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"events": evs})
	return e.Do(t, http.MethodPost, "/v1/events", e.carrier, string(body))
}

func (e *env) mustPost(t *testing.T, evs []map[string]any) tracking.IngestResult {
	t.Helper()
	resp, body := e.post(t, evs)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events = %d: %s", resp.StatusCode, body)
	}
	var res tracking.IngestResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) waitHistory(t *testing.T, want int) {
	t.Helper()
	testkit.Eventually(t, within, func() error {
		if n := e.count(t, `SELECT count(*) FROM events`); n != want {
			return fmt.Errorf("history has %d events, want %d", n, want)
		}
		return nil
	})
}

func TestBatchWithOneBadItemStoresNothingAndNamesIt(t *testing.T) {
	e := start(t)
	evs := make([]map[string]any, 1000)
	for i := range evs {
		evs[i] = position(uuidFor(i), container(t, "SCDU", i%40), 36.28, 120.0, base.Add(time.Duration(i)*time.Second))
	}
	bad := container(t, "SCDU", 7)
	evs[737]["equipmentReference"] = bad[:10] + string('0'+(bad[10]-'0'+1)%10) // wrong check digit

	resp, body := e.post(t, evs)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d: %s", resp.StatusCode, body)
	}
	var p struct {
		Errors []struct {
			Index  *int   `json:"index"`
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) != 1 || p.Errors[0].Index == nil || *p.Errors[0].Index != 737 || p.Errors[0].Field != "equipmentReference" ||
		!strings.Contains(p.Errors[0].Reason, "check digit") {
		t.Fatalf("errors = %+v", p.Errors)
	}
	// Nothing of it reached the log, so nothing can ever reach history.
	_, js := natstest.Connect(t, e.NATS.URL)
	info, err := js.Stream(context.Background(), events.StreamTracking)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := info.Info(context.Background()); st.State.Msgs != 0 {
		t.Fatalf("the stream holds %d messages after a rejected batch", st.State.Msgs)
	}

	// The same batch fixed, sent twice: each event stored once.
	evs[737]["equipmentReference"] = bad
	first := e.mustPost(t, evs)
	second := e.mustPost(t, evs)
	if first.Accepted != 1000 || first.Duplicates != 0 || second.Accepted != 0 || second.Duplicates != 1000 {
		t.Fatalf("first %d/%d, second %d/%d (accepted/duplicates)", first.Accepted, first.Duplicates, second.Accepted, second.Duplicates)
	}
	e.waitHistory(t, 1000)
	if n := e.count(t, `SELECT count(DISTINCT event_id) FROM events`); n != 1000 {
		t.Fatalf("%d distinct events", n)
	}
}

func TestEventsWithoutIDAreStoredOnce(t *testing.T) {
	e := start(t)
	ev := gateIn("", container(t, "SCDU", 1), "CNTAO", base)
	delete(ev, "eventID")
	a := e.mustPost(t, []map[string]any{ev})
	b := e.mustPost(t, []map[string]any{ev})
	if a.Events[0].EventID == "" || a.Events[0].EventID != b.Events[0].EventID || !b.Events[0].Duplicate {
		t.Fatalf("ids %+v then %+v", a.Events, b.Events)
	}
	e.waitHistory(t, 1)
	// The alias was normalised: CNTAO is recorded as CNQIN.
	if n := e.count(t, `SELECT count(*) FROM events WHERE un_location_code = 'CNQIN'`); n != 1 {
		t.Fatal("CNTAO was not normalised to CNQIN")
	}
}

func TestLateAndRedeliveredPositionsNeverMoveBackwards(t *testing.T) {
	e := start(t)
	const containers, fixes = 20, 50
	rng := rand.New(rand.NewPCG(1, 2))
	var evs []map[string]any
	newest := map[string]time.Time{}
	for c := range containers {
		no := container(t, "MOVU", c)
		for f := range fixes {
			at := base.Add(time.Duration(f) * time.Minute)
			ev := position(uuidFor(c*1000+f), no, 43.0+float64(f)/100, 80.0+float64(c)/10, at)
			for range 1 + rng.IntN(3) { // each fix sent one to three times
				evs = append(evs, ev)
			}
			newest[no] = at
		}
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for i := 0; i < len(evs); i += 250 { // in several batches, so the projector sees them out of order
		e.mustPost(t, evs[i:min(i+250, len(evs))])
	}
	e.waitHistory(t, containers*fixes)
	for no, at := range newest {
		st := e.status(t, no, e.admin)
		if st.Position == nil || !st.Position.At.Equal(at) {
			t.Fatalf("%s: position %+v, want the fix at %s", no, st.Position, at)
		}
	}
}

func (e *env) status(t *testing.T, no, token string) tracking.Status {
	t.Helper()
	resp, body := e.Do(t, http.MethodGet, "/v1/containers/"+no, token, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET container %s = %d: %s", no, resp.StatusCode, body)
	}
	var st tracking.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCacheIsRebuiltAfterFlushAll(t *testing.T) {
	redisURL, srv := redistest.StartServer(t)
	e := start(t, func(c *app.Config) { c.RedisURL = redisURL })
	const containers = 30
	send := func(round int) {
		var evs []map[string]any
		for c := range containers {
			evs = append(evs, position(uuidFor(round*1000+c), container(t, "FLSU", c), 45.0, 82.0+float64(round)/100, base.Add(time.Duration(round)*time.Minute)))
		}
		e.mustPost(t, evs)
	}
	for round := range 10 {
		send(round)
		if round == 4 {
			srv.FlushAll(t) // the cache is lost in the middle of the load
		}
	}
	e.waitHistory(t, 10*containers)
	// After recovery every container's live position equals the store's latest.
	testkit.Eventually(t, within, func() error {
		for c := range containers {
			no := container(t, "FLSU", c)
			var at time.Time
			if err := e.db.QueryRow(context.Background(), `SELECT max(occurred_at) FROM events WHERE equipment_reference = $1`, no).Scan(&at); err != nil {
				return err
			}
			st := e.status(t, no, e.admin)
			if st.Position == nil || !st.Position.At.Equal(at) {
				return fmt.Errorf("%s: live %v, store %s", no, st.Position, at)
			}
		}
		return nil
	})
	// And the cache was rebuilt in the background, not only read through.
	c := e.redis(t, redisURL)
	testkit.Eventually(t, within, func() error {
		n, err := c.Exists(context.Background(), e.Config.RedisPrefix+"c:{"+container(t, "FLSU", 29)+"}").Result()
		if err != nil || n != 1 {
			return fmt.Errorf("container key exists = %d, %v", n, err)
		}
		return nil
	})
	srv.Restart(t) // a restarted, empty Redis is rebuilt the same way
	testkit.Eventually(t, within, func() error {
		n, err := c.DBSize(context.Background()).Result()
		if err != nil || n < containers {
			return fmt.Errorf("%d keys after restart (%v)", n, err)
		}
		return nil
	})
}

func TestShipperSeesOnlyOwnContainers(t *testing.T) {
	e := start(t)
	mine, theirs := container(t, "OWNU", 1), container(t, "OWNU", 2)
	e.mustPost(t, []map[string]any{gateIn(uuidFor(1), mine, "CNJZH", base), gateIn(uuidFor(2), theirs, "CNJZH", base)})
	e.waitHistory(t, 2)
	e.announceBooking(t, "acme", "bkg-1", mine)
	e.announceBooking(t, "globex", "bkg-2", theirs)
	acme := e.Token(t, auth.RoleShipper, "acme")
	testkit.Eventually(t, within, func() error {
		if resp, _ := e.Do(t, http.MethodGet, "/v1/containers/"+mine, acme, ""); resp.StatusCode != http.StatusOK {
			return fmt.Errorf("own container: %d", resp.StatusCode)
		}
		return nil
	})
	for _, path := range []string{"/v1/containers/" + theirs, "/v1/containers/" + theirs + "/events"} {
		resp, body := e.Do(t, http.MethodGet, path, acme, "")
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "globex") {
			t.Errorf("GET %s as acme = %d: %s", path, resp.StatusCode, body)
		}
	}
	resp, body := e.Do(t, http.MethodGet, "/v2/events?equipmentReference="+theirs, acme, "")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("/v2/events for another tenant's container = %d: %s", resp.StatusCode, body)
	}
	resp, body = e.Do(t, http.MethodGet, "/v2/events", acme, "")
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), theirs) || !strings.Contains(string(body), mine) {
		t.Errorf("/v2/events as acme = %d: %s", resp.StatusCode, body)
	}
	if resp, _ := e.Do(t, http.MethodGet, "/v1/containers?near=36.28,120&radiusKm=10", acme, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a shipper searched nearby containers: %d", resp.StatusCode)
	}
	// A cancelled booking takes the right back.
	e.publish(t, &schedulev1.BookingEvent{Envelope: envelope("bkg-1-cancel", "acme"), BookingId: "bkg-1", EquipmentReference: mine,
		Change: &schedulev1.BookingEvent_Cancelled{Cancelled: &schedulev1.BookingCancelled{Reason: "test"}}})
	testkit.Eventually(t, within, func() error {
		if resp, _ := e.Do(t, http.MethodGet, "/v1/containers/"+mine, acme, ""); resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("after cancellation: %d", resp.StatusCode)
		}
		return nil
	})
}

func envelope(id, tenant string) *commonv1.Envelope {
	return &commonv1.Envelope{EventId: id, TenantId: tenant, OccurredAt: timestamppb.Now(), RecordedAt: timestamppb.Now()}
}

func (e *env) announceBooking(t *testing.T, tenant, booking, no string) {
	t.Helper()
	e.publish(t, &schedulev1.BookingEvent{Envelope: envelope(booking+"-created", tenant), BookingId: booking, EquipmentReference: no,
		Change: &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{}}})
}

func (e *env) publish(t *testing.T, ev events.Event) {
	t.Helper()
	e.Publish(t, ev)
}

func TestSparseFixesAcrossABorderProduceTheCrossing(t *testing.T) {
	e := start(t)
	no := container(t, "BRDU", 1)
	// Two fixes 120 km apart on either side of Khorgos (CN) / Altynkol (KZ).
	e.mustPost(t, []map[string]any{position(uuidFor(1), no, 44.10, 81.60, base)})
	e.waitHistory(t, 1)
	e.mustPost(t, []map[string]any{position(uuidFor(2), no, 44.00, 79.70, base.Add(3*time.Hour))})
	testkit.Eventually(t, within, func() error {
		n := e.count(t, `SELECT count(*) FROM events WHERE equipment_reference = $1 AND derived AND type_code = 'ARRI'`, no)
		if n == 0 {
			return fmt.Errorf("no derived crossing yet")
		}
		return nil
	})
	resp, body := e.Do(t, http.MethodGet, "/v1/containers/"+no+"/events?eventType=TRANSPORT", e.admin, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "borderCrossing") || !strings.Contains(string(body), "KZ") {
		t.Fatalf("history = %d: %s", resp.StatusCode, body)
	}
}

func TestV2EventsPagingVisitsEveryEventOnce(t *testing.T) {
	e := start(t)
	var evs []map[string]any
	for i := range 25 {
		evs = append(evs, gateIn(uuidFor(i), container(t, "PAGU", i), "CNJZH", base.Add(time.Duration(i)*time.Minute)))
	}
	e.mustPost(t, evs)
	e.waitHistory(t, 25)
	seen := map[string]int{}
	next := "/v2/events?limit=1&eventType=EQUIPMENT&equipmentEventTypeCode=GTIN"
	for pages := 0; next != ""; pages++ {
		if pages > 30 {
			t.Fatal("paging does not end")
		}
		resp, body := e.Do(t, http.MethodGet, next, e.admin, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("API-Version") == "" {
			t.Fatalf("GET %s = %d: %s", next, resp.StatusCode, body)
		}
		var page []map[string]any
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, ev := range page {
			seen[ev["eventID"].(string)]++
		}
		next = resp.Header.Get("Next-Page")
		if next != "" && resp.Header.Get("Next-Page-Cursor") == "" {
			t.Fatal("Next-Page without Next-Page-Cursor")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("visited %d events, want 25", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s visited %d times", id, n)
		}
	}
	for _, q := range []string{"eventType=FOO", "equipmentEventTypeCode=LAOD", "eventCreatedDateTime:gte=yesterday", "eventCreatedDateTime:after=" + url.QueryEscape(base.Format(time.RFC3339))} {
		if resp, body := e.Do(t, http.MethodGet, "/v2/events?"+q, e.admin, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/v2/events?%s = %d: %s", q, resp.StatusCode, body)
		}
	}
}

func TestGatewayIngestOverNATS(t *testing.T) {
	e := start(t)
	nc, _ := natstest.Connect(t, e.NATS.URL)
	good, _ := json.Marshal(gateIn(uuidFor(1), container(t, "GWYU", 1), "CNJZH", base))
	bad, _ := json.Marshal(map[string]any{"eventType": "EQUIPMENT", "equipmentReference": "NOTACONTAINER"})
	for _, data := range [][]byte{good, bad} {
		if err := nc.Publish("tracking.v1.ingest.gw-qqct", data); err != nil {
			t.Fatal(err)
		}
	}
	e.waitHistory(t, 1)
	_, js := natstest.Connect(t, e.NATS.URL)
	testkit.Eventually(t, within, func() error {
		stream, err := js.Stream(context.Background(), events.StreamTracking)
		if err != nil {
			return err
		}
		msg, err := stream.GetLastMsgForSubject(context.Background(), "tracking.v1.deadletter.gw-qqct")
		if err != nil {
			return err
		}
		if !strings.Contains(msg.Header.Get("Scoda-Reject-Reason"), "equipmentReference") {
			return fmt.Errorf("dead letter reason %q", msg.Header.Get("Scoda-Reject-Reason"))
		}
		return nil
	})
}

func TestNearbyContainers(t *testing.T) {
	e := start(t)
	e.mustPost(t, []map[string]any{
		position(uuidFor(1), container(t, "NEAU", 1), 45.19, 82.44, base), // at Alashankou
		position(uuidFor(2), container(t, "NEAU", 2), 45.25, 82.48, base), // at Dostyk, ~8 km away
		position(uuidFor(3), container(t, "NEAU", 3), 43.25, 76.95, base), // Almaty, far away
	})
	e.waitHistory(t, 3)
	dispatcher := e.Token(t, auth.RoleDispatcher, "")
	testkit.Eventually(t, within, func() error {
		resp, body := e.Do(t, http.MethodGet, "/v1/containers?near=45.183,82.433&radiusKm=20", dispatcher, "")
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d: %s", resp.StatusCode, body)
		}
		var r struct {
			Containers []struct {
				No string `json:"equipmentReference"`
			} `json:"containers"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if len(r.Containers) != 2 || r.Containers[0].No != container(t, "NEAU", 1) {
			return fmt.Errorf("near = %s", body)
		}
		return nil
	})
	if resp, _ := e.Do(t, http.MethodGet, "/v1/containers?near=95,82&radiusKm=20", dispatcher, ""); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("latitude 95 accepted: %d", resp.StatusCode)
	}
}

func (e *env) redis(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
