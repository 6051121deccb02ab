package notification_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
)

// matchFixture is one migrated schema with the ownership and subscriptions of the matching
// tests: acme owns c1 (booking b1, document d1) and c2, globex owns c2 and c4, c3 is nobody's.
type matchFixture struct {
	pool *pgxpool.Pool
	n    *notification.Notifier
}

// matchSub is the id of the fixture's subscription name, fixed so two schemas can be
// compared row by row.
func matchSub(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:test:sub:"+name)).String()
}

func newMatchFixture(t *testing.T, c func(int) string) *matchFixture {
	t.Helper()
	ctx := context.Background()
	pool := migratedPool(t, "notifmatch")
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, o := range []struct{ tenant, kind, value, container string }{
		{"acme", "container", c(1), ""}, {"acme", "booking", "B1", c(1)}, {"acme", "document", "D1", ""},
		{"acme", "container", c(2), ""}, {"globex", "container", c(2), ""}, {"globex", "container", c(4), ""},
		{"globex", "booking", "B4", c(4)},
	} {
		exec(`INSERT INTO ownership (tenant_id, kind, value, container) VALUES ($1, $2, $3, $4)`, o.tenant, o.kind, o.value, o.container)
	}
	exec(`INSERT INTO document_containers (tenant_id, container, document) VALUES ('acme', $1, 'D1')`, c(1))
	for _, s := range []struct {
		name, tenant, status string
		types                []string
		keys                 []string
	}{
		{"acme-c1", "acme", "active", nil, []string{"container:" + c(1)}},
		{"acme-b1-gtin", "acme", "active", []string{"GTIN"}, []string{"booking:B1"}},
		{"acme-d1", "acme", "active", nil, []string{"document:D1"}},
		{"acme-all-depa-position", "acme", "active", []string{"DEPA", "POSITION"}, []string{"tenant:acme"}},
		{"acme-c1-and-b1", "acme", "active", nil, []string{"container:" + c(1), "booking:B1", "document:D1"}},
		{"acme-c3", "acme", "active", nil, []string{"container:" + c(3)}},       // c3 is nobody's
		{"acme-c1-off", "acme", "disabled", nil, []string{"container:" + c(1)}}, // disabled
		{"globex-all", "globex", "active", nil, []string{"tenant:globex"}},
		{"globex-c1", "globex", "active", nil, []string{"container:" + c(1)}}, // not globex's container
		{"globex-b4-eta", "globex", "active", []string{"ETA"}, []string{"booking:B4"}},
		{"globex-b9", "globex", "active", nil, []string{"booking:B9"}},
		{"initech-c2", "initech", "active", nil, []string{"container:" + c(2)}}, // not initech's
		{"initech-all", "initech", "active", nil, []string{"tenant:initech"}},
	} {
		if s.types == nil {
			s.types = []string{}
		}
		exec(`INSERT INTO subscriptions (id, tenant_id, callback_url, secret, event_types, status)
VALUES ($1, $2, 'https://example.com/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $3, $4)`, matchSub(s.name), s.tenant, s.types, s.status)
		for _, k := range s.keys {
			kind, value, _ := strings.Cut(k, ":")
			exec(`INSERT INTO subscription_keys (kind, value, subscription_id) VALUES ($1, $2, $3)`, kind, value, matchSub(s.name))
		}
	}
	return &matchFixture{pool: pool, n: notification.NewNotifier(pgstore.New(pool), notification.Config{})}
}

// deliveryRows are the fixture's deliveries as comparable lines, with whether each is blocked
// behind another of its lane and its rank in the lane (the order the dispatcher sends them in).
func (f *matchFixture) deliveryRows(t *testing.T) []string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT subscription_id::text, tenant_id, event_id, event_type, subject, lane,
       encode(sha256(body), 'hex'), coalesce(traceparent, ''), coalesce(tracestate, ''), status, blocked,
       rank() OVER (PARTITION BY subscription_id, lane ORDER BY seq)
FROM deliveries ORDER BY subscription_id, lane, seq`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var sub, tenant, event, typ, subject, lane, body, parent, state, status string
	var blocked bool
	var rank int
	_, err = pgx.ForEachRow(rows, []any{&sub, &tenant, &event, &typ, &subject, &lane, &body, &parent, &state, &status, &blocked, &rank}, func() error {
		out = append(out, strings.Join([]string{sub, tenant, event, typ, subject, lane, body, parent, state, status,
			fmt.Sprint(blocked), fmt.Sprint(rank)}, " "))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// inTx runs fn in a transaction of f.
func (f *matchFixture) inTx(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), f.pool, fn); err != nil {
		t.Fatal(err)
	}
}

// traced is ev as a batch hands it over: with a context carrying a span of its own trace.
func traced(i int, ev events.Event) app.BatchEvent {
	var tid trace.TraceID
	var sid trace.SpanID
	tid[0], tid[15], sid[7] = 0x5c, byte(i+1), byte(i+1)
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}
	if i%2 == 0 {
		cfg.TraceState, _ = trace.ParseTraceState(fmt.Sprintf("scoda=e%d", i))
	}
	subject, _ := events.Subject(ev)
	return app.BatchEvent{Ctx: trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg)), Subject: subject, Event: ev}
}

func matchEnvelope(tenant string) *commonv1.Envelope {
	return &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.New(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)),
		RecordedAt: timestamppb.Now(), TenantId: tenant}
}

// departure is a departure event: hub-wide, no tenant.
func departure() *schedulev1.DepartureEvent {
	return &schedulev1.DepartureEvent{Envelope: matchEnvelope(""), DepartureId: uuid.NewString(), RouteCode: "QD-DUI",
		Change: &schedulev1.DepartureEvent_Departed{Departed: &schedulev1.DepartureDeparted{ActualDepartureAt: timestamppb.Now()}}}
}

// booking is the creation of booking for container by tenant.
func booking(tenant, booking, container string) *schedulev1.BookingEvent {
	return &schedulev1.BookingEvent{Envelope: matchEnvelope(tenant), BookingId: booking, DepartureId: uuid.NewString(),
		RouteCode: "QD-DUI", EquipmentReference: container,
		Change: &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{IsoEquipmentCode: "45G1",
			Status: schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED}}}
}

// TestMatchBatchIsMatchPerEvent: matching batches (MatchBatch for container events,
// OwnAndMatch for schedule events) records the same deliveries, with the same bodies, trace
// contexts and order in their lanes, as matching their events one by one in their own
// transactions (Match, after Own for a schedule event), as the consumers did before batches.
func TestMatchBatchIsMatchPerEvent(t *testing.T) {
	c := func(i int) string { return container(t, 900+i) }
	equipment := func(box string, typ trackingv1.EquipmentEventType) events.Event {
		return &trackingv1.ContainerEvent{Envelope: matchEnvelope("carrier-x"), EquipmentReference: box,
			Classifier: trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
			Payload:    &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{EventType: typ}}}
	}
	position := func(box string) events.Event {
		return &trackingv1.ContainerEvent{Envelope: matchEnvelope("carrier-x"), EquipmentReference: box,
			Classifier: trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
			Payload:    &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{Latitude: 36.1, Longitude: 120.3}}}
	}
	gtinC1 := equipment(c(1), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN)
	// First batch: container events of owned and unowned containers, one repeated.
	tracking1 := []events.Event{
		gtinC1,
		transport(c(1), false), // DEPA
		position(c(2)),
		equipment(c(3), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN),
		transport(c(4), true), // ARRI
		position(c(1)),
		proto.Clone(gtinC1).(events.Event), // the same event id again
		equipment(c(2), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTOT),
		position(c(5)),
		departure(), // to no subscriber
	}
	eta := &schedulev1.EtaEvent{Envelope: matchEnvelope("globex"), BookingId: "B4", EquipmentReference: c(4),
		DepartureId: uuid.NewString(), Change: &schedulev1.EtaEvent_Changed{Changed: &schedulev1.EtaChanged{}}}
	// Schedule events: globex books c5 (which makes it globex's for the second batch), an ETA
	// of globex's, a booking of initech's, acme's shipment of d1, a departure (no tenant).
	schedule := []events.Event{
		booking("globex", "B9", c(5)),
		eta,
		booking("initech", "B7", c(2)),
		&schedulev1.ShipmentEvent{Envelope: matchEnvelope("acme"), ShipmentId: "S1", TransportDocumentReference: "D1",
			Change: &schedulev1.ShipmentEvent_Created{Created: &schedulev1.ShipmentCreated{EquipmentReferences: []string{c(1)}}}},
		departure(),
		proto.Clone(eta).(events.Event),
	}
	// Second batch: after the schedule events, c5 is globex's and c2 initech's too.
	tracking2 := []events.Event{
		position(c(5)),
		equipment(c(2), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN),
		transport(c(1), true),
		position(c(3)),
	}
	var batches [][]app.BatchEvent
	i := 0
	for _, b := range [][]events.Event{tracking1, schedule, tracking2} {
		var batch []app.BatchEvent
		for _, ev := range b {
			batch = append(batch, traced(i, ev))
			i++
		}
		batches = append(batches, batch)
	}
	isSchedule := func(b []app.BatchEvent) bool { return strings.HasPrefix(b[0].Subject, events.PrefixSchedule) }

	perEvent, batched := newMatchFixture(t, c), newMatchFixture(t, c)
	seen := map[string]bool{} // the inbox, for the events one by one
	for _, b := range batches {
		for _, ev := range b {
			if id := events.EventID(ev.Event); seen[id] {
				continue
			} else {
				seen[id] = true
			}
			perEvent.inTx(t, func(tx pgx.Tx) error {
				if isSchedule(b) {
					if err := perEvent.n.Own(ev.Ctx, tx, ev.Event); err != nil {
						return err
					}
				}
				return perEvent.n.Match(ev.Ctx, tx, ev.Event)
			})
		}
		batched.inTx(t, func(tx pgx.Tx) error {
			if isSchedule(b) {
				return batched.n.OwnAndMatch(context.Background(), tx, b)
			}
			return batched.n.MatchBatch(context.Background(), tx, b)
		})
	}

	want, got := perEvent.deliveryRows(t), batched.deliveryRows(t)
	if !slices.Equal(got, want) {
		t.Errorf("batched deliveries differ from per-event ones\nbatched:\n%s\nper event:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// And they are the right ones (not two equal mistakes): who got which event.
	wantPairs := map[string][]events.Event{
		"acme-c1":                {tracking1[0], tracking1[1], tracking1[5], tracking2[2]},
		"acme-b1-gtin":           {tracking1[0]},
		"acme-d1":                {tracking1[0], tracking1[1], tracking1[5], schedule[3], tracking2[2]},
		"acme-all-depa-position": {tracking1[1], tracking1[2], tracking1[5]},
		"acme-c1-and-b1":         {tracking1[0], tracking1[1], tracking1[5], schedule[3], tracking2[2]},
		"globex-all":             {tracking1[2], tracking1[4], tracking1[7], schedule[0], schedule[1], tracking2[0], tracking2[1]},
		"globex-b4-eta":          {schedule[1]},
		"globex-b9":              {schedule[0], tracking2[0]},
		"initech-c2":             {schedule[2], tracking2[1]},
		"initech-all":            {schedule[2], tracking2[1]},
	}
	var wantIDs []string
	for name, evs := range wantPairs {
		for _, ev := range evs {
			wantIDs = append(wantIDs, matchSub(name)+" "+events.EventID(ev))
		}
	}
	var gotIDs []string
	for _, r := range got {
		f := strings.Fields(r)
		gotIDs = append(gotIDs, f[0]+" "+f[2])
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		names := map[string]string{}
		for name := range wantPairs {
			names[matchSub(name)] = name
		}
		show := func(pairs []string) string {
			var out []string
			for _, p := range pairs {
				sub, ev, _ := strings.Cut(p, " ")
				out = append(out, names[sub]+" "+ev)
			}
			return strings.Join(out, "\n")
		}
		t.Errorf("deliveries (subscription event):\n%s\nwant:\n%s", show(gotIDs), show(wantIDs))
	}
}
