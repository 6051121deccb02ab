package e2e_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/otlptest"
)

// The route of the stories: Jiaozhou (CNJZH), Urumqi, Horgos (CNHRS) | Khorgos (KZHOR), Almaty
// (KZALA), with the break of gauge at the Khorgos border.
const route = "SCO-KZ-ALA"

// Two position fixes either side of the Horgos/Khorgos border, 15 km off the line between the
// two stations (so neither station's 5 km fence is entered, only the border crossed), within
// tracking's 50 km border reach of the pair's midpoint.
var (
	fixChina      = [2]float64{44.169, 80.922} // 15 km from Horgos, CNHRS (44.050, 80.833)
	fixKazakhstan = [2]float64{44.343, 80.473} // 15 km from Khorgos, KZHOR (44.224, 80.384)
)

// The three user stories, on the three service binaries built once.
func TestUserStories(t *testing.T) {
	if testing.Short() && !testkit.InCI() {
		t.Skip("builds and runs the three service binaries (not with -short outside CI)")
	}
	bin := build(t)
	t.Run("ShipperFollowsTheDocumentAcrossTheBorder", func(t *testing.T) { shipperStory(t, bin) })
	t.Run("DispatcherDelaysTheDeparture", func(t *testing.T) { dispatcherStory(t, bin) })
	t.Run("SRESeesOneTrace", func(t *testing.T) { sreStory(t, bin) })
	t.Run("EventsOfOneContainerKeepTheirOrder", func(t *testing.T) { orderStory(t, bin) })
}

// containerData is what the stories read of a container event's data (protobuf JSON).
type containerData struct {
	EquipmentReference string `json:"equipmentReference"`
	Equipment          *struct {
		EventType     string `json:"eventType"`
		EventLocation struct {
			UNLocationCode string `json:"unLocationCode"`
		} `json:"eventLocation"`
	} `json:"equipment"`
	Transport *struct {
		EventType     string `json:"eventType"`
		TransportCall struct {
			Location struct {
				UNLocationCode string `json:"unLocationCode"`
			} `json:"location"`
			Rail struct {
				TrainNumber      string `json:"trainNumber"`
				BorderCrossing   bool   `json:"borderCrossing"`
				ExitCountryCode  string `json:"exitCountryCode"`
				EntryCountryCode string `json:"entryCountryCode"`
			} `json:"rail"`
		} `json:"transportCall"`
	} `json:"transport"`
}

// location is where the event took place.
func (d containerData) location() string {
	switch {
	case d.Equipment != nil:
		return d.Equipment.EventLocation.UNLocationCode
	case d.Transport != nil:
		return d.Transport.TransportCall.Location.UNLocationCode
	}
	return ""
}

// Story 1. A shipper subscribes by transport document reference; the container gates in at
// Jiaozhou, departs, crosses the border at Khorgos and arrives in Almaty; the shipper's
// receiver gets, in that order, a signed delivery for each, and tracking's view of the
// container agrees with the last.
//
// The subscription names the container as well as the document: notification matches a
// container event by its container (and the tenants owning it), never by a document, so a
// subscription naming only the document gets none of these events (see the report).
func shipperStory(t *testing.T, bin binaries) {
	s := startStack(t, bin)
	rc := newReceiver(t)
	now := time.Now().UTC().Truncate(time.Second)

	dep := s.createDeparture(t, route, "X8101", now.Add(48*time.Hour))
	box := containerNo(t, 810001)
	bk := s.book(t, "acme", dep.ID, box)
	tdr := "SCODA-E2E-" + strings.ToUpper(randomHex(t, 4))
	var ship struct {
		ID                         string `json:"id"`
		TransportDocumentReference string `json:"transportDocumentReference"`
	}
	s.must(t, shipper("acme"), http.StatusCreated, http.MethodPost, s.scheduling+"/v1/shipments", nil,
		map[string]any{"transportDocumentReference": tdr, "legs": []map[string]any{{"bookingId": bk.ID}}}, &ship)
	if ship.TransportDocumentReference != tdr {
		t.Fatalf("shipment %s has document %q, want %q", ship.ID, ship.TransportDocumentReference, tdr)
	}

	_, secret := s.subscribe(t, "acme", rc.URL+"/acme", map[string]any{
		"transportDocumentReferences": []string{tdr},
		// A border crossing is delivered as ARRI: tracking derives a TRANSPORT arrival at the
		// entry-side border station (rail.borderCrossing set) from the position fixes.
		"eventTypes": []string{"GTIN", "DEPA", "ARRI"},
	})
	rc.setSecret(t, "/acme", secret)

	// The carrier reports gate-in and departure together (their order across kinds is kept:
	// see EventsOfOneContainerKeepTheirOrder); then the tracker's fixes either side of the
	// border, the second once the first is in tracking's live view.
	s.postEvents(t, nil, equipmentEvent("GTIN", box, "CNJZH", now.Add(-30*time.Hour)),
		transportEvent("DEPA", box, "CNJZH", dep.TrainNumber, 1, now.Add(-28*time.Hour)))
	first := positionEvent(box, dep.TrainNumber, fixChina[0], fixChina[1], now.Add(-6*time.Hour))
	s.postEvents(t, nil, first)
	testkit.Eventually(t, 20*time.Second, func() error {
		st, _ := s.containerStatus(t, dispatcher, box)
		if st.Position == nil || st.Position.EventID != first["eventID"] {
			return fmt.Errorf("tracking has not the first fix as the container's position yet: %+v", st.Position)
		}
		return nil
	})
	s.postEvents(t, nil, positionEvent(box, dep.TrainNumber, fixKazakhstan[0], fixKazakhstan[1], now.Add(-5*time.Hour)))
	// The crossing is derived from the second fix; the train reaches Almaty after it. (The
	// derived arrival and the carrier's are on one subject, so they keep the stream's order.)
	testkit.Eventually(t, 20*time.Second, func() error {
		st, _ := s.containerStatus(t, dispatcher, box)
		if m := st.LastMilestone; m == nil || m.TypeCode != "ARRI" || m.Location != "KZHOR" {
			return fmt.Errorf("tracking has not derived the border crossing at KZHOR yet: %+v", m)
		}
		return nil
	})
	s.postEvents(t, nil, transportEvent("ARRI", box, "KZALA", dep.TrainNumber, 5, now.Add(-1*time.Hour)))

	got := rc.wait(t, "/acme", 4, 30*time.Second)
	want := []struct{ code, location string }{{"GTIN", "CNJZH"}, {"DEPA", "CNJZH"}, {"ARRI", "KZHOR"}, {"ARRI", "KZALA"}}
	if len(got) != len(want) {
		t.Fatalf("received %v, want GTIN, DEPA, ARRI (border), ARRI", summary(got))
	}
	for i, d := range got {
		env := d.Envelope
		var data containerData
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatalf("delivery %d: data %s: %v", i, env.Data, err)
		}
		if env.EventType != want[i].code || data.location() != want[i].location {
			t.Errorf("delivery %d is %s at %s, want %s at %s (all: %v)", i, env.EventType, data.location(),
				want[i].code, want[i].location, summary(got))
		}
		if env.Tenant != "acme" || env.Subject != box || data.EquipmentReference != box {
			t.Errorf("delivery %d: tenant %q, subject %q, container %q; want acme and %s", i, env.Tenant, env.Subject,
				data.EquipmentReference, box)
		}
		if i > 0 && env.Time.Before(got[i-1].Envelope.Time) {
			t.Errorf("delivery %d happened at %v, before the one delivered earlier (%v)", i, env.Time, got[i-1].Envelope.Time)
		}
	}
	border := got[2].Envelope
	var crossing containerData
	if err := json.Unmarshal(border.Data, &crossing); err != nil {
		t.Fatal(err)
	}
	if r := crossing.Transport; r == nil || !r.TransportCall.Rail.BorderCrossing || r.TransportCall.Rail.ExitCountryCode != "CN" ||
		r.TransportCall.Rail.EntryCountryCode != "KZ" || r.TransportCall.Rail.TrainNumber != dep.TrainNumber {
		t.Errorf("the border crossing's data is %s, want rail.borderCrossing from CN to KZ on train %s", border.Data, dep.TrainNumber)
	}

	// Tracking, asked by the shipper, agrees with the last delivery.
	last := got[len(got)-1].Envelope
	testkit.Eventually(t, 20*time.Second, func() error {
		st, ok := s.containerStatus(t, shipper("acme"), box)
		if !ok {
			return errors.New("acme does not see its container in tracking yet (404)")
		}
		m := st.LastMilestone
		if m == nil || m.EventType != "TRANSPORT" || m.TypeCode != "ARRI" || m.Location != "KZALA" || !m.At.Equal(last.Time) {
			return fmt.Errorf("tracking's last milestone is %+v, want TRANSPORT ARRI at KZALA at %v", m, last.Time)
		}
		return nil
	})
	if n := len(rc.deliveries("/acme")); n != len(want) {
		t.Errorf("received %d deliveries in the end, want %d: %v", n, len(want), summary(rc.deliveries("/acme")))
	}
	rc.checkAllVerified(t)
}

// etaData is what the dispatcher story reads of an EtaEvent's data (protobuf JSON).
type etaData struct {
	BookingID          string `json:"bookingId"`
	EquipmentReference string `json:"equipmentReference"`
	DepartureID        string `json:"departureId"`
	Changed            *struct {
		PreviousETA *time.Time `json:"previousEta"`
		ETA         time.Time  `json:"eta"`
		Location    struct {
			UNLocationCode string `json:"unLocationCode"`
		} `json:"location"`
		Reason string `json:"reason"`
	} `json:"changed"`
}

// Story 2. A dispatcher delays a departure by 6 hours with If-Match; every shipper booked on
// it and subscribed gets an ETA delivery with the new ETA 6 hours later; a second dispatcher
// who read the departure before the delay is refused with 412.
func dispatcherStory(t *testing.T, bin binaries) {
	s := startStack(t, bin)
	rc := newReceiver(t)
	now := time.Now().UTC().Truncate(time.Minute)

	dep := s.createDeparture(t, route, "X8201", now.Add(72*time.Hour))
	booked := map[string]booking{
		"acme":   s.book(t, "acme", dep.ID, containerNo(t, 820001)),
		"globex": s.book(t, "globex", dep.ID, containerNo(t, 820002)),
	}
	for tenant := range booked {
		_, secret := s.subscribe(t, tenant, rc.URL+"/"+tenant, map[string]any{"allContainers": true, "eventTypes": []string{"ETA"}})
		rc.setSecret(t, "/"+tenant, secret)
	}

	// Both dispatchers read the departure; the first delays it.
	url := s.scheduling + "/v1/departures/" + dep.ID
	var before departure
	etag := s.must(t, dispatcher, http.StatusOK, http.MethodGet, url, nil, nil, &before).Get("ETag")
	staleETag := s.must(t, dispatcher2, http.StatusOK, http.MethodGet, url, nil, nil, nil).Get("ETag")
	if etag == "" || staleETag != etag {
		t.Fatalf("ETags %q and %q: want one, the same for both readers", etag, staleETag)
	}
	var after departure
	newETag := s.must(t, dispatcher, http.StatusOK, http.MethodPost, url+"/delay", http.Header{"If-Match": {etag}},
		map[string]any{"by": "6h", "reason": "locomotive change at Urumqi"}, &after).Get("ETag")
	if newETag == "" || newETag == etag {
		t.Errorf("ETag after the delay is %q, want a new one (was %q)", newETag, etag)
	}
	if d := after.PlannedDeparture.Sub(before.PlannedDeparture); d != 6*time.Hour {
		t.Errorf("planned departure moved by %v, want 6h", d)
	}
	arrival := before.arrival(t, "KZALA").Add(6 * time.Hour)
	if got := after.arrival(t, "KZALA"); !got.Equal(arrival) {
		t.Errorf("planned arrival at KZALA is %v after the delay, want %v", got, arrival)
	}

	// The second dispatcher, with what it read before the delay, is refused.
	a := s.call(t, dispatcher2, http.MethodPost, url+"/delay", http.Header{"If-Match": {staleETag}}, map[string]any{"by": "2h"})
	if a.status != http.StatusPreconditionFailed {
		t.Errorf("delay with the stale ETag = %d, want 412: %s", a.status, a.body)
	}

	for tenant, b := range booked {
		got := rc.wait(t, "/"+tenant, 1, 30*time.Second)
		env := got[0].Envelope
		var data etaData
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatalf("%s: ETA data %s: %v", tenant, env.Data, err)
		}
		if env.EventType != "ETA" || env.Tenant != tenant || data.BookingID != b.ID || data.EquipmentReference != b.EquipmentReference ||
			data.DepartureID != dep.ID || data.Changed == nil {
			t.Fatalf("%s received %s for tenant %q: %s; want the ETA of booking %s (%s) on departure %s", tenant, env.EventType,
				env.Tenant, env.Data, b.ID, b.EquipmentReference, dep.ID)
		}
		if !data.Changed.ETA.Equal(arrival) || data.Changed.Location.UNLocationCode != "KZALA" {
			t.Errorf("%s: new ETA %v at %s, want %v at KZALA", tenant, data.Changed.ETA, data.Changed.Location.UNLocationCode, arrival)
		}
		if p := data.Changed.PreviousETA; p != nil && data.Changed.ETA.Sub(*p) != 6*time.Hour {
			t.Errorf("%s: ETA moved from %v to %v, want 6h later", tenant, *p, data.Changed.ETA)
		}
		if b.ETA != nil && !data.Changed.ETA.Equal(b.ETA.Add(6*time.Hour)) {
			t.Errorf("%s: ETA %v, want the booking's %v + 6h", tenant, data.Changed.ETA, *b.ETA)
		}
	}
	// The refused delay announced nothing: one ETA change each. (Checked after both arrived,
	// which is after the refusal.)
	for tenant := range booked {
		if got := rc.deliveries("/" + tenant); len(got) != 1 {
			t.Errorf("%s received %v, want one ETA", tenant, summary(got))
		}
	}
	rc.checkAllVerified(t)
}

// Story 3. One trace, under the trace id of the carrier's request, covers the HTTP ingest and
// the publish in tracking, the consumers of scheduling and notification, and the webhook call;
// every span names its service, and the messaging spans carry messaging attributes.
//
// Tracking's own consumer of the event (the projector, a batch subscriber) is not in that
// trace: its CONSUMER span is the root of a new trace per batch, linked to the producer span
// (otlptest does not keep links, so the link itself is not checked here). The test checks that
// the span exists for the event's subject, and logs whether it is in the request's trace.
func sreStory(t *testing.T, bin binaries) {
	s := startStack(t, bin)
	rc := newReceiver(t)
	now := time.Now().UTC().Truncate(time.Second)

	dep := s.createDeparture(t, route, "X8301", now.Add(48*time.Hour))
	box := containerNo(t, 830001)
	s.book(t, "acme", dep.ID, box)
	_, secret := s.subscribe(t, "acme", rc.URL+"/acme", map[string]any{"equipmentReferences": []string{box}, "eventTypes": []string{"GTIN"}})
	rc.setSecret(t, "/acme", secret)

	traceID, parentID := randomHex(t, 16), randomHex(t, 8)
	s.postEvents(t, http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}},
		equipmentEvent("GTIN", box, "CNJZH", now.Add(-time.Hour)))
	hook := rc.wait(t, "/acme", 1, 30*time.Second)[0]
	if got, _, err := otlptest.ParseTraceparent(hook.TraceParent); err != nil || got != traceID {
		t.Errorf("the receiver got traceparent %q (%v), want trace %s", hook.TraceParent, err, traceID)
	}

	is := func(service, kind string) func(otlptest.Span) bool {
		return func(sp otlptest.Span) bool { return sp.Service == service && sp.Kind.String() == kind }
	}
	group := func(service, name string) func(otlptest.Span) bool {
		return func(sp otlptest.Span) bool {
			return is(service, "consumer")(sp) && sp.Attr("messaging.consumer.group.name") == name
		}
	}
	// The GTIN's subject, and its template (a subject names the container).
	subject, template := "tracking.v1.container.equipment."+box, "tracking.v1.container.equipment.{containerNo}"
	var server, producer, projector, scheduling, notification, webhook otlptest.Span
	one := func(spans []otlptest.Span, what string, match func(otlptest.Span) bool) (otlptest.Span, error) {
		found := otlptest.Find(spans, match)
		if len(found) == 0 {
			return otlptest.Span{}, fmt.Errorf("no %s span in the trace yet (%d spans: %v)", what, len(spans), spans)
		}
		return found[0], nil
	}
	spans := s.otlp.WaitTrace(t, 30*time.Second, traceID, func(spans []otlptest.Span) (err error) {
		if server, err = one(spans, "tracking SERVER", func(sp otlptest.Span) bool {
			return is("tracking", "server")(sp) && sp.ParentSpanID == parentID
		}); err != nil {
			return err
		}
		if producer, err = one(spans, "tracking PRODUCER", func(sp otlptest.Span) bool {
			return is("tracking", "producer")(sp) && sp.Attr("messaging.destination.template") == template &&
				otlptest.DescendsFrom(spans, sp, server.SpanID)
		}); err != nil {
			return err
		}
		below := func(parent otlptest.Span, match func(otlptest.Span) bool) func(otlptest.Span) bool {
			return func(sp otlptest.Span) bool { return match(sp) && otlptest.DescendsFrom(spans, sp, parent.SpanID) }
		}
		if projector, err = one(spans, "tracking CONSUMER (tracking-projector)", below(producer, group("tracking", "tracking-projector"))); err != nil {
			return err
		}
		if scheduling, err = one(spans, "scheduling CONSUMER (scheduling-tracking)", below(producer, group("scheduling", "scheduling-tracking"))); err != nil {
			return err
		}
		if notification, err = one(spans, "notification CONSUMER (notification-tracking)", below(producer, group("notification", "notification-tracking"))); err != nil {
			return err
		}
		webhook, err = one(spans, "notification webhook CLIENT", below(notification, func(sp otlptest.Span) bool {
			return is("notification", "client")(sp) && sp.Name == "webhook POST" && sp.Attr("url.full") == rc.URL+"/acme"
		}))
		return err
	})

	// otelhttp names the server span after the method only ("POST"); the route is an attribute.
	if server.Attr("http.request.method") != "POST" || server.Attr("http.route") != "/v1/events" ||
		server.Attr("http.response.status_code") != "202" {
		t.Errorf("tracking's server span %v: method %q, route %q, status %q; want POST /v1/events, 202", server,
			server.Attr("http.request.method"), server.Attr("http.route"), server.Attr("http.response.status_code"))
	}
	// The ingest publishes a batch: its span names the subject's template, not the subject.
	if producer.Attr("messaging.system") != "nats" || producer.Attr("messaging.operation.type") != "send" {
		t.Errorf("producer span %v: messaging.system %q, messaging.operation.type %q; want nats, send", producer,
			producer.Attr("messaging.system"), producer.Attr("messaging.operation.type"))
	}
	for _, c := range []otlptest.Span{projector, scheduling, notification} {
		if c.Attr("messaging.system") != "nats" || c.Attr("messaging.destination.name") != subject ||
			c.Attr("messaging.destination.template") != template {
			t.Errorf("%v: messaging.system %q, destination %q (%q); want nats, %s (%s)", c, c.Attr("messaging.system"),
				c.Attr("messaging.destination.name"), c.Attr("messaging.destination.template"), subject, template)
		}
	}
	if webhook.Attr("http.request.method") != "POST" || webhook.Attr("http.response.status_code") != "204" ||
		webhook.Attr("scoda.delivery_id") != hook.WebhookID {
		t.Errorf("webhook span: method %q, status %q, delivery %q; want POST, 204, %s", webhook.Attr("http.request.method"),
			webhook.Attr("http.response.status_code"), webhook.Attr("scoda.delivery_id"), hook.WebhookID)
	}
	for _, sp := range spans {
		if !slices.Contains([]string{"tracking", "scheduling", "notification"}, sp.Service) {
			t.Errorf("span %v: service.name %q is not one of the three services", sp, sp.Service)
		}
	}

	rc.checkAllVerified(t)
}

// A regression test for the ordering of one container's deliveries: for each of 25
// containers, the carrier posts gate-in and departure in one request, in that order; each
// container's lane must deliver them in that order. With the events of one container on
// several subjects (tracking.v1.container.<kind>.<no>) and notification's consumer ordering
// per subject only, most runs deliver some departure before its gate-in.
func orderStory(t *testing.T, bin binaries) {
	s := startStack(t, bin)
	rc := newReceiver(t)
	now := time.Now().UTC().Truncate(time.Second)
	dep := s.createDeparture(t, route, "X8401", now.Add(48*time.Hour))
	_, secret := s.subscribe(t, "acme", rc.URL+"/acme", map[string]any{"allContainers": true, "eventTypes": []string{"GTIN", "DEPA"}})
	rc.setSecret(t, "/acme", secret)
	const n = 25
	boxes := make([]string, n)
	for i := range boxes {
		boxes[i] = containerNo(t, 840001+i)
		s.book(t, "acme", dep.ID, boxes[i])
	}
	// acme owns every container before the events come (a subscription naming them is 404 until then).
	s.subscribe(t, "acme", rc.URL+"/owned", map[string]any{"equipmentReferences": boxes, "eventTypes": []string{"GTOT"}})
	var evs []map[string]any
	for _, box := range boxes {
		evs = append(evs, equipmentEvent("GTIN", box, "CNJZH", now.Add(-30*time.Hour)),
			transportEvent("DEPA", box, "CNJZH", dep.TrainNumber, 1, now.Add(-28*time.Hour)))
	}
	s.postEvents(t, nil, evs...)
	got := rc.wait(t, "/acme", 2*n, 30*time.Second)
	order := map[string][]string{}
	for _, d := range got {
		order[d.Envelope.Subject] = append(order[d.Envelope.Subject], d.Envelope.EventType)
	}
	for _, box := range boxes {
		if !slices.Equal(order[box], []string{"GTIN", "DEPA"}) {
			t.Errorf("%s: delivered %v, want GTIN then DEPA", box, order[box])
		}
	}
	rc.checkAllVerified(t)
}
