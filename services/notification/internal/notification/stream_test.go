package notification

// The stream's tests live in the package itself, to shorten keepaliveInterval; they run the
// whole service through servicetest all the same.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
)

// streamEnv is the service with a short keepalive, tokens and a pool on its schema.
type streamEnv struct {
	*servicetest.Harness
	pool                              *pgxpool.Pool
	acme, globex, dispatcher, carrier string
	admin                             string
}

func startStreamEnv(t *testing.T) *streamEnv {
	t.Helper()
	before := keepaliveInterval
	keepaliveInterval = 100 * time.Millisecond
	t.Cleanup(func() { keepaliveInterval = before }) // runs after the service has stopped
	h := servicetest.Start(t, Service("test"))
	pool, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &streamEnv{Harness: h, pool: pool,
		acme: h.Token(t, auth.RoleShipper, "acme"), globex: h.Token(t, auth.RoleShipper, "globex"),
		dispatcher: h.Token(t, auth.RoleDispatcher, ""), carrier: h.Token(t, auth.RoleCarrier, ""),
		admin: h.Token(t, auth.RoleAdmin, "")}
}

// streamUnit is the i-th container number of these tests.
func streamUnit(t *testing.T, i int) string {
	t.Helper()
	n, err := iso6346.Make("STR", 'U', 500000+i)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

func streamEnvelope(tenant string) *commonv1.Envelope {
	return &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.New(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)),
		RecordedAt: timestamppb.Now(), TenantId: tenant}
}

// containerEvent is an actual equipment event (GTIN, GTOT, ...) of container.
func containerEvent(container string, typ trackingv1.EquipmentEventType) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{Envelope: streamEnvelope("carrier-x"), EquipmentReference: container,
		Classifier: trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload:    &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{EventType: typ}}}
}

// departed is a departure event: hub-wide, no tenant.
func departed() *schedulev1.DepartureEvent {
	return &schedulev1.DepartureEvent{Envelope: streamEnvelope(""), DepartureId: uuid.NewString(), RouteCode: "QD-DUI",
		TrainNumber: "X8024", Change: &schedulev1.DepartureEvent_Departed{Departed: &schedulev1.DepartureDeparted{
			ActualDepartureAt: timestamppb.Now(), Location: &commonv1.Location{UnLocationCode: "CNTAO"}}}}
}

// booked is the creation of booking for container by tenant.
func booked(tenant, booking, container string) *schedulev1.BookingEvent {
	return &schedulev1.BookingEvent{Envelope: streamEnvelope(tenant), BookingId: booking, DepartureId: uuid.NewString(),
		RouteCode: "QD-DUI", TrainNumber: "X8024", EquipmentReference: container,
		Change: &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{IsoEquipmentCode: "45G1",
			Status: schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED}}}
}

// own makes tenant the owner of container through a booking event, and waits for it.
func (e *streamEnv) own(t *testing.T, tenant, container string) *schedulev1.BookingEvent {
	t.Helper()
	ev := booked(tenant, "BK-"+container, container)
	e.Publish(t, ev)
	testkit.Eventually(t, 15*time.Second, func() error {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM ownership WHERE tenant_id = $1 AND kind = 'container' AND value = $2`,
			tenant, container).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%s does not own %s yet", tenant, container)
		}
		return nil
	})
	return ev
}

// sseMsg is one SSE message as a client parses it: its fields and comment lines.
type sseMsg struct {
	id, event, data string
	hasID           bool
	comments        []string
}

// sseClient is an open stream, read into msgs by a goroutine.
type sseClient struct {
	resp   *http.Response
	msgs   chan sseMsg
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	lastID string // of the last message with data taken by next
}

// open opens a stream and checks it answered 200 with the stream's headers.
func (e *streamEnv) open(t *testing.T, token, query, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/v1/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET /v1/stream%s = %d: %s", query, resp.StatusCode, body)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	c := &sseClient{resp: resp, msgs: make(chan sseMsg, 100), cancel: cancel, done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) read() {
	defer close(c.done)
	defer close(c.msgs)
	sc := bufio.NewScanner(c.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var m sseMsg
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if m.data != "" {
				c.msgs <- m
			} else {
				select { // ids and keepalives nobody waits for are dropped
				case c.msgs <- m:
				default:
				}
			}
			m = sseMsg{}
			continue
		}
		if rest, ok := strings.CutPrefix(line, ":"); ok {
			m.comments = append(m.comments, strings.TrimSpace(rest))
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.id, m.hasID = value, true
		case "event":
			m.event = value
		case "data":
			m.data += value
		}
	}
}

// close cancels the request and waits for the reader.
func (c *sseClient) close() {
	c.once.Do(func() {
		c.cancel()
		c.resp.Body.Close()
		for range c.msgs { // drain: the reader must not block on a full channel
		}
		<-c.done
	})
}

// next returns the next message with data.
func (c *sseClient) next(t *testing.T) sseMsg {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatal("the stream ended")
			}
			if m.data != "" {
				c.lastID = m.id
				return m
			}
		case <-timeout:
			t.Fatal("no event within 15s")
		}
	}
}

// eventID is the SCODA event id of m's envelope.
func (m sseMsg) eventID(t *testing.T) string {
	t.Helper()
	var env Envelope
	if err := json.Unmarshal([]byte(m.data), &env); err != nil {
		t.Fatalf("data %q: %v", m.data, err)
	}
	return env.ID
}

// collect takes n messages with data and returns their event ids.
func (c *sseClient) collect(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		ids = append(ids, c.next(t).eventID(t))
	}
	return ids
}

// TestStreamShowsShippersOnlyTheirOwn: a shipper's stream carries its own container and
// schedule events with their id, type and envelope, and never another tenant's or a departure;
// a dispatcher's carries everything.
func TestStreamShowsShippersOnlyTheirOwn(t *testing.T) {
	e := startStreamEnv(t)
	mine, theirs := streamUnit(t, 1), streamUnit(t, 2)
	e.own(t, "acme", mine)
	e.own(t, "globex", theirs)
	acme := e.open(t, e.acme, "", "")
	dispatcher := e.open(t, e.dispatcher, "", "")

	// Another tenant's container event, a departure and another tenant's booking, before the
	// shipper's own events: had any of them passed, it would come first.
	foreign := containerEvent(theirs, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	dep := departed()
	foreignBooking := booked("globex", "BK-G-2", theirs)
	own := containerEvent(mine, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	for _, ev := range []events.Event{foreign, dep, foreignBooking, own} {
		e.Publish(t, ev)
	}
	m := acme.next(t)
	if m.event != "GTIN" {
		t.Errorf("event: %q, want GTIN", m.event)
	}
	if _, err := parsePosition(m.id); err != nil {
		t.Errorf("id %q: %v", m.id, err)
	}
	var env Envelope
	if err := json.Unmarshal([]byte(m.data), &env); err != nil {
		t.Fatal(err)
	}
	if env.ID != events.EventID(own) || env.Tenant != "acme" || env.Subject != mine || env.EventType != "GTIN" ||
		env.Type != "scoda.tracking.container.equipment" || env.SpecVersion != "1.0" || !strings.Contains(string(env.Data), mine) {
		t.Errorf("envelope: %s", m.data)
	}
	// The same body a webhook delivery carries.
	f, _ := factsOf(own)
	want, err := envelopeBody(own, f, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if m.data != string(want) {
		t.Errorf("data\n%s\nwant the delivery body\n%s", m.data, want)
	}

	// Its own schedule event comes too, after a later foreign one was passed over.
	e.Publish(t, booked("globex", "BK-G-3", theirs))
	ownBooking := booked("acme", "BK-A-9", mine)
	e.Publish(t, ownBooking)
	m = acme.next(t)
	if m.event != TypeBooking || m.eventID(t) != events.EventID(ownBooking) {
		t.Errorf("second event: %s %s, want the acme booking %s", m.event, m.data, events.EventID(ownBooking))
	}

	// The dispatcher sees all six, the departure as DEPA with no tenant.
	got := map[string]sseMsg{}
	for range 6 {
		m := dispatcher.next(t)
		got[m.eventID(t)] = m
	}
	for _, ev := range []events.Event{foreign, dep, foreignBooking, own, ownBooking} {
		if _, ok := got[events.EventID(ev)]; !ok {
			t.Errorf("dispatcher did not get %T %s", ev, events.EventID(ev))
		}
	}
	if d := got[events.EventID(dep)]; d.event != "DEPA" || !strings.Contains(d.data, `"type":"scoda.schedule.departure.departed"`) ||
		!strings.Contains(d.data, `"tenant":""`) {
		t.Errorf("departure: event %q data %s", d.event, d.data)
	}
	if b := got[events.EventID(foreignBooking)]; !strings.Contains(b.data, `"tenant":"globex"`) {
		t.Errorf("a booking shows its tenant to a dispatcher: %s", b.data)
	}
}

// TestStreamResumes: reconnecting with Last-Event-ID gets exactly the events after it, from
// both streams, none repeated and none missed.
func TestStreamResumes(t *testing.T) {
	e := startStreamEnv(t)
	unit := streamUnit(t, 3)
	e.own(t, "acme", unit)
	gtin := func() events.Event {
		return containerEvent(unit, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	}

	first := e.open(t, e.acme, "", "")
	e1, e2 := gtin(), gtin()
	e.Publish(t, e1)
	if id := first.next(t).eventID(t); id != events.EventID(e1) {
		t.Fatalf("first event %s, want %s", id, events.EventID(e1))
	}
	resumeAt := first.lastID
	e.Publish(t, e2)
	if id := first.next(t).eventID(t); id != events.EventID(e2) {
		t.Fatalf("second event %s, want %s", id, events.EventID(e2))
	}
	first.close()

	// While away: a schedule event of its own, more container events, and others' events.
	b := booked("acme", "BK-A-R", unit)
	e3, e4 := gtin(), gtin()
	for _, ev := range []events.Event{e3, departed(), b, containerEvent(streamUnit(t, 4), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN), e4} {
		e.Publish(t, ev)
	}
	again := e.open(t, e.acme, "", resumeAt)
	got := again.collect(t, 4)
	want := []string{events.EventID(e2), events.EventID(e3), events.EventID(b), events.EventID(e4)}
	if !sameSet(got, want) {
		t.Fatalf("after %s: %v, want %v in any order", resumeAt, got, want)
	}
	// The container's events in their order (the booking may come anywhere between).
	var tracking []string
	for _, id := range got {
		if id != events.EventID(b) {
			tracking = append(tracking, id)
		}
	}
	if !slices.Equal(tracking, []string{events.EventID(e2), events.EventID(e3), events.EventID(e4)}) {
		t.Errorf("container events out of order: %v", tracking)
	}
	// Nothing repeated after them: the next event is a new one.
	e5 := gtin()
	e.Publish(t, e5)
	if id := again.next(t).eventID(t); id != events.EventID(e5) {
		t.Errorf("after the resumed events: %s, want %s", id, events.EventID(e5))
	}

	// Resuming from the last id gets nothing old either.
	last := again.lastID
	again.close()
	e6 := gtin()
	e.Publish(t, e6)
	third := e.open(t, e.acme, "", last)
	if id := third.next(t).eventID(t); id != events.EventID(e6) {
		t.Errorf("resumed from %s: %s, want %s", last, id, events.EventID(e6))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestStreamStartsWithItsPosition: the first message names where the stream starts, so a
// client that reconnects before any event misses none; keepalives follow.
func TestStreamStartsWithItsPosition(t *testing.T) {
	e := startStreamEnv(t)
	unit := streamUnit(t, 5)
	e.own(t, "acme", unit)
	c := e.open(t, e.acme, "", "")
	first := <-c.msgs
	if !first.hasID || first.data != "" {
		t.Fatalf("first message %+v, want only an id", first)
	}
	if _, err := parsePosition(first.id); err != nil {
		t.Fatalf("first id %q: %v", first.id, err)
	}
	// Keepalive comments arrive while nothing happens.
	timeout := time.After(10 * time.Second)
	for keepalives := 0; keepalives < 2; {
		select {
		case m := <-c.msgs:
			if slices.Contains(m.comments, "keepalive") {
				keepalives++
			}
		case <-timeout:
			t.Fatal("no keepalive")
		}
	}
	c.close()
	ev := containerEvent(unit, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTOT)
	e.Publish(t, ev)
	again := e.open(t, e.acme, "", first.id)
	if m := again.next(t); m.eventID(t) != events.EventID(ev) || m.event != "GTOT" {
		t.Errorf("resumed from the start: %s %s", m.event, m.data)
	}
}

// TestStreamFilters: eventType and references narrow the stream like a subscription's filters.
func TestStreamFilters(t *testing.T) {
	e := startStreamEnv(t)
	a, b := streamUnit(t, 6), streamUnit(t, 7)
	e.own(t, "acme", a)
	e.own(t, "acme", b)
	byType := e.open(t, e.acme, "?eventType=GTOT&eventType=ETA", "")
	byUnit := e.open(t, e.acme, "?equipmentReference="+b, "")
	byBooking := e.open(t, e.acme, "?bookingReference=BK-F-1", "")
	gtinB := containerEvent(b, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	gtotA := containerEvent(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	gtotA.GetEquipment().EventType = trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTOT
	bk := booked("acme", "BK-F-1", a)
	for _, ev := range []events.Event{containerEvent(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN), gtinB, gtotA} {
		e.Publish(t, ev)
	}
	if m := byType.next(t); m.event != "GTOT" || m.eventID(t) != events.EventID(gtotA) {
		t.Errorf("eventType=GTOT,ETA: first %s %s", m.event, m.data)
	}
	if m := byUnit.next(t); m.eventID(t) != events.EventID(gtinB) {
		t.Errorf("equipmentReference=%s: first %s", b, m.data)
	}
	e.Publish(t, bk)
	if m := byBooking.next(t); m.eventID(t) != events.EventID(bk) || m.event != TypeBooking {
		t.Errorf("bookingReference=BK-F-1: first %s %s", m.event, m.data)
	}
	// A dispatcher may filter on departures.
	deps := e.open(t, e.admin, "?eventType=DEPA", "")
	dep := departed()
	e.Publish(t, containerEvent(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN))
	e.Publish(t, dep)
	if m := deps.next(t); m.eventID(t) != events.EventID(dep) {
		t.Errorf("admin eventType=DEPA: first %s", m.data)
	}
}

// TestStreamRefuses: bad requests are problems, and no stream is opened.
func TestStreamRefuses(t *testing.T) {
	e := startStreamEnv(t)
	cases := []struct {
		name, token, query, lastID, accept string
		want                               int
	}{
		{"no token", "", "", "", "text/event-stream", http.StatusUnauthorized},
		{"carrier", e.carrier, "", "", "text/event-stream", http.StatusForbidden},
		{"not asking for a stream", e.acme, "", "", "", http.StatusNotAcceptable},
		{"asking for json", e.acme, "", "", "application/json", http.StatusNotAcceptable},
		{"garbage id", e.acme, "", "abc", "text/event-stream", http.StatusBadRequest},
		{"half an id", e.acme, "", "t12", "text/event-stream", http.StatusBadRequest},
		{"negative", e.acme, "", "t-1-s2", "text/event-stream", http.StatusBadRequest},
		{"signed", e.acme, "", "t+1-s2", "text/event-stream", http.StatusBadRequest},
		{"overflow", e.acme, "", "t1-s99999999999999999999", "text/event-stream", http.StatusBadRequest},
		{"unknown event type", e.acme, "?eventType=NOPE", "", "text/event-stream", http.StatusUnprocessableEntity},
		{"bad container", e.acme, "?equipmentReference=ABCU1234567", "", "text/event-stream", http.StatusUnprocessableEntity},
		{"empty booking", e.acme, "?bookingReference=", "", "text/event-stream", http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.URL+"/v1/stream"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != kitx.ProblemContentType {
				t.Errorf("content type %q, want problem+json", ct)
			}
		})
	}
}

// TestStreamEnds: a stream's consumers are deleted when its client goes away, and the
// service stopping ends the streams still open.
func TestStreamEnds(t *testing.T) {
	e := startStreamEnv(t)
	_, js := natstest.Connect(t, e.NATS.URL)
	streamConsumers := func() (int, error) {
		n := 0
		for _, stream := range []string{events.StreamTracking, events.StreamSchedule} {
			st, err := js.Stream(context.Background(), stream)
			if err != nil {
				return 0, err
			}
			names := st.ConsumerNames(context.Background())
			for name := range names.Name() {
				if !strings.HasPrefix(name, "notification-") { // the service's durable consumers
					n++
				}
			}
			if err := names.Err(); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	c := e.open(t, e.acme, "", "")
	<-c.msgs // open: its position has been written
	if n, err := streamConsumers(); err != nil || n != 2 {
		t.Fatalf("consumers of an open stream: %d (%v), want 2", n, err)
	}
	c.close()
	testkit.Eventually(t, 10*time.Second, func() error {
		n, err := streamConsumers()
		if err == nil && n != 0 {
			err = fmt.Errorf("%d stream consumers left", n)
		}
		return err
	})

	open := e.open(t, e.dispatcher, "", "")
	<-open.msgs
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.Running.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-open.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream is still open after the service stopped")
	}
}
