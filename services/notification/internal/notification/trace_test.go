package notification_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/otlptest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
)

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// publishTraced publishes ev the way tracking does after its HTTP ingest: protobuf, content
// type, Nats-Msg-Id = event id, and the lowercase traceparent of the ingest's span.
func publishTraced(t *testing.T, e *denv, ev events.Event, traceparent string) {
	t.Helper()
	subject, err := events.Subject(ev)
	if err != nil {
		t.Fatal(err)
	}
	data, err := events.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Connect(t, e.NATS.URL)
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(events.HeaderContentType, events.ContentType(ev))
	msg.Header[nats.MsgIdHdr] = []string{events.EventID(ev)}
	msg.Header["traceparent"] = []string{traceparent}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

// One trace covers the event from the carrier's ingest to the webhook call: the consumer span
// continues the traceparent the event arrived with, and each attempt to deliver it — the
// first, answered 500, and the retry, answered 200 — is a CLIENT span, a child of the consumer
// span, whose traceparent the receiver gets. Every span is the notification service's.
func TestDeliveryIsInTheEventsTrace(t *testing.T) {
	otlp := otlptest.Start(t)
	otlp.Setenv(t) // before the service starts: observability.Setup reads OTEL_* once
	e := startDeliveries(t, nil)
	rc := newReceiver(t, statuses(http.StatusInternalServerError))
	box := container(t, 30)
	e.own(t, "acme", box)
	// A query on the callback URL (it may carry a receiver's token) never reaches a span.
	sub, _ := e.subscribe(t, "acme", rc.URL+"/hooks/scoda?token=not-for-spans", nil, "container:"+box)

	traceID, ingestSpan := randomHex(t, 16), randomHex(t, 8)
	ev := servicetest.GateIn(uuid.NewString(), box)
	publishTraced(t, e, ev, "00-"+traceID+"-"+ingestSpan+"-01")
	d := e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "succeeded")

	// The receiver saw the trace on both attempts, each time from another span.
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	var sentFrom []string
	for i, r := range got {
		tid, sid, err := otlptest.ParseTraceparent(r.header.Get("traceparent"))
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if tid != traceID {
			t.Fatalf("request %d: trace id %s, want the event's %s", i+1, tid, traceID)
		}
		if r.header.Get("baggage") != "" {
			t.Fatalf("request %d: baggage sent to a receiver: %q", i+1, r.header.Get("baggage"))
		}
		sentFrom = append(sentFrom, sid)
	}
	if sentFrom[0] == sentFrom[1] {
		t.Fatalf("both attempts sent span %s: want one span per attempt", sentFrom[0])
	}

	isConsumer := func(s otlptest.Span) bool {
		return s.Kind == trace.SpanKindConsumer && s.Attr("messaging.consumer.group.name") == notification.TrackingConsumer.Config.Durable
	}
	isWebhook := func(s otlptest.Span) bool { return s.Kind == trace.SpanKindClient && s.Name == "webhook POST" }
	spans := otlp.WaitTrace(t, 20*time.Second, traceID, func(spans []otlptest.Span) error {
		if c, w := otlptest.Find(spans, isConsumer), otlptest.Find(spans, isWebhook); len(c) != 1 || len(w) != 2 {
			return fmt.Errorf("%d consumer and %d webhook spans of the trace, want 1 and 2: %v", len(c), len(w), spans)
		}
		return nil
	})
	consumer := otlptest.Find(spans, isConsumer)[0]
	subject, _ := events.Subject(ev)
	for k, want := range map[string]string{
		"messaging.system":               "nats",
		"messaging.destination.name":     subject,
		"messaging.operation.type":       "process",
		"messaging.destination.template": events.SubjectTemplate(subject),
		"messaging.message.id":           ev.GetEnvelope().GetEventId(),
	} {
		if got := consumer.Attr(k); got != want {
			t.Errorf("consumer span %s = %q, want %q", k, got, want)
		}
	}
	if consumer.ParentSpanID != ingestSpan || consumer.Service != notification.Name {
		t.Errorf("consumer span %v: want service %s and the ingest span %s as parent", consumer, notification.Name, ingestSpan)
	}

	webhooks := otlptest.Find(spans, isWebhook)
	for _, w := range webhooks {
		attempt := w.Attr("scoda.attempt")
		status := map[string]string{"1": "500", "2": "200"}[attempt]
		if status == "" {
			t.Fatalf("webhook span %v: scoda.attempt %q", w, attempt)
		}
		for k, want := range map[string]string{
			"http.request.method":       "POST",
			"url.full":                  rc.URL + "/hooks/scoda",
			"server.address":            "127.0.0.1",
			"http.response.status_code": status,
			"scoda.delivery_id":         d.ID,
			"scoda.subscription_id":     sub,
			"scoda.event_id":            ev.GetEnvelope().GetEventId(),
		} {
			if got := w.Attr(k); got != want {
				t.Errorf("attempt %s: %s = %q, want %q", attempt, k, got, want)
			}
		}
		if w.ParentSpanID != consumer.SpanID || !otlptest.DescendsFrom(spans, w, ingestSpan) {
			t.Errorf("attempt %s: span %v is not a child of the consumer span %s", attempt, w, consumer.SpanID)
		}
		if w.Service != notification.Name {
			t.Errorf("attempt %s: service.name %q", attempt, w.Service)
		}
		if (attempt == "1") != (w.Attr("error.type") == "500") {
			t.Errorf("attempt %s: error.type %q", attempt, w.Attr("error.type"))
		}
		if w.SpanID != sentFrom[0] && w.SpanID != sentFrom[1] {
			t.Errorf("attempt %s: span %s is not the parent the receiver was sent (%v)", attempt, w.SpanID, sentFrom)
		}
	}
	for _, s := range spans {
		if s.Service != notification.Name {
			t.Errorf("span %v of the trace is not the notification service's", s)
		}
		if strings.Contains(fmt.Sprint(s.Attributes), "not-for-spans") {
			t.Errorf("span %v carries the callback URL's query", s)
		}
	}
}

// A delivery that dies is announced in its event's trace: the relay's publish of the
// dead-letter event is a PRODUCER span, a child of the last attempt's span, and the event on
// the NOTIFICATION stream carries that producer span as its parent.
func TestDeadLetterIsInTheEventsTrace(t *testing.T) {
	otlp := otlptest.Start(t)
	otlp.Setenv(t)
	e := startDeliveries(t, map[string]string{"NOTIFICATION_RETRY_SCHEDULE": "50ms"})
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	box := container(t, 31)
	e.own(t, "acme", box)
	sub, _ := e.subscribe(t, "acme", rc.URL, nil, "container:"+box)

	traceID := randomHex(t, 16)
	ev := servicetest.GateIn(uuid.NewString(), box)
	publishTraced(t, e, ev, "00-"+traceID+"-"+randomHex(t, 8)+"-01")
	e.waitDelivery(t, sub, ev.GetEnvelope().GetEventId(), "dead")

	msgs := notificationMsgs(t, e, "notification.v1.delivery.dead_lettered", 1)
	tid, parent, err := otlptest.ParseTraceparent(msgs[0].Headers().Get("traceparent"))
	if err != nil {
		t.Fatalf("dead-letter event: %v (headers %v)", err, msgs[0].Headers())
	}
	if tid != traceID {
		t.Fatalf("dead-letter event in trace %s, want the event's %s", tid, traceID)
	}
	spans := otlp.WaitTrace(t, 20*time.Second, traceID, func(spans []otlptest.Span) error {
		attempts := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Name == "webhook POST" })
		producers := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Kind == trace.SpanKindProducer })
		if len(attempts) != 2 || len(producers) != 1 {
			return fmt.Errorf("%d attempt and %d producer spans, want 2 and 1: %v", len(attempts), len(producers), spans)
		}
		return nil
	})
	last := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Name == "webhook POST" && s.Attr("scoda.attempt") == "2" })
	if len(last) != 1 || last[0].Attr("error.type") != "503" {
		t.Fatalf("last attempt spans %v", last)
	}
	producer := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Kind == trace.SpanKindProducer })[0]
	if producer.ParentSpanID != last[0].SpanID || parent != producer.SpanID ||
		producer.Attr("messaging.destination.template") != "notification.v1.delivery.dead_lettered" {
		t.Fatalf("dead letter published from %v (the message's parent %s), want a child of the last attempt %s", producer, parent, last[0].SpanID)
	}
}
