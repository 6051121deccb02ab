package natsx_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

// The trace started at ingest continues through the stream into the consumer, although the
// publisher and the subscriber use separate connections (as separate services do).
func TestTraceContextSurvivesPublishToConsume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, natsx.DurableConsumer("projector", []string{"events.>"}))
	_, subJS := natstest.Connect(t, e.url) // the consumer's own connection

	type seen struct {
		traceID trace.TraceID
		header  nats.Header
	}
	got := make(chan seen, 1)
	sub := e.subscriber(t, subJS, "projector", func(ctx context.Context, m *natsx.Message) error {
		got <- seen{trace.SpanContextFromContext(ctx).TraceID(), m.Header}
		return nil
	}, natsx.SubscriberOptions{})
	start(t, sub)

	ctx, ingest := e.tp.Tracer("test").Start(t.Context(), "POST /v1/events")
	if _, err := e.publisher().Publish(ctx, testSubject, "evt-trace", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	ingest.End()
	s := receive(t, got)
	if _, ok := s.header["traceparent"]; !ok {
		t.Errorf("delivered headers lack lowercase traceparent: %v", s.header)
	}

	var producer, consumer sdktrace.ReadOnlySpan
	testkit.Eventually(t, waitFor, func() error {
		producer, consumer = nil, nil
		for _, sp := range e.spans.Ended() {
			switch sp.SpanKind() {
			case trace.SpanKindProducer:
				producer = sp
			case trace.SpanKindConsumer:
				consumer = sp
			}
		}
		if producer == nil || consumer == nil {
			return fmt.Errorf("producer %v, consumer %v spans ended", producer != nil, consumer != nil)
		}
		return nil
	})

	wantTrace := ingest.SpanContext().TraceID()
	if producer.SpanContext().TraceID() != wantTrace || producer.Parent().SpanID() != ingest.SpanContext().SpanID() {
		t.Errorf("producer span is not a child of the ingest span")
	}
	if consumer.SpanContext().TraceID() != wantTrace {
		t.Errorf("consumer trace id %s, want %s", consumer.SpanContext().TraceID(), wantTrace)
	}
	if consumer.Parent().SpanID() != producer.SpanContext().SpanID() || !consumer.Parent().IsRemote() {
		t.Errorf("consumer parent %s, want the producer span %s (remote)", consumer.Parent().SpanID(), producer.SpanContext().SpanID())
	}
	if s.traceID != wantTrace {
		t.Errorf("handler ctx trace id %s, want %s", s.traceID, wantTrace)
	}
	if links := consumer.Links(); len(links) != 1 || links[0].SpanContext.SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("consumer links = %v, want one to the producer span", links)
	}
	if producer.Name() != "send "+testSubject || consumer.Name() != "process "+testSubject {
		t.Errorf("span names %q, %q", producer.Name(), consumer.Name())
	}

	wantAttrs(t, "producer", producer.Attributes(), map[string]string{
		"messaging.system":            "nats",
		"messaging.operation.type":    "send",
		"messaging.destination.name":  testSubject,
		"messaging.message.id":        "evt-trace",
		"messaging.message.body.size": "5",
	})
	wantAttrs(t, "consumer", consumer.Attributes(), map[string]string{
		"messaging.system":                      "nats",
		"messaging.operation.type":              "process",
		"messaging.destination.name":            testSubject,
		"messaging.consumer.group.name":         "projector",
		"messaging.message.id":                  "evt-trace",
		"messaging.nats.message.delivery_count": "1",
		"outcome":                               "ack",
	})
}

// A producer we do not control (a terminal's gateway publishing with another client) wrote a
// capitalised Traceparent header; the consumer span still continues that trace.
func TestTraceContinuesFromForeignProducer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, natsx.DurableConsumer("projector", []string{"events.>"}))
	sub := e.subscriber(t, e.js, "projector", func(context.Context, *natsx.Message) error { return nil }, natsx.SubscriberOptions{})
	start(t, sub)

	msg := &nats.Msg{Subject: testSubject, Data: []byte("x"), Header: nats.Header{
		"Traceparent": {traceparent}, "Nats-Msg-Id": {"foreign-1"},
	}}
	if _, err := e.js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitFor, func() error {
		for _, sp := range e.spans.Ended() {
			if sp.SpanKind() == trace.SpanKindConsumer {
				if got := sp.SpanContext().TraceID().String(); got != traceID {
					return fmt.Errorf("consumer trace id %s, want %s", got, traceID)
				}
				return nil
			}
		}
		return fmt.Errorf("no consumer span yet")
	})
}

func wantAttrs(t *testing.T, span string, attrs []attribute.KeyValue, want map[string]string) {
	t.Helper()
	got := make(map[string]string, len(attrs))
	for _, a := range attrs {
		got[string(a.Key)] = a.Value.String()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s span %s = %q, want %q", span, k, got[k], v)
		}
	}
}
