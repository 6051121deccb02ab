package natsx_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/natsx"
)

const (
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
)

func TestHeaderCarrierGet(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		key    string
		want   string
	}{
		{"lowercase key", nats.Header{"traceparent": {traceparent}}, "traceparent", traceparent},
		{"asked in another case", nats.Header{"traceparent": {traceparent}}, "Traceparent", traceparent},
		{"stored capitalised", nats.Header{"Traceparent": {traceparent}}, "traceparent", traceparent},
		{"stored upper case", nats.Header{"TRACESTATE": {"k=v"}}, "tracestate", "k=v"},
		{"lowercase wins over other spellings", nats.Header{"Baggage": {"old=1"}, "baggage": {"new=1"}}, "baggage", "new=1"},
		{"missing", nats.Header{"Nats-Msg-Id": {"e1"}}, "traceparent", ""},
		{"empty value list", nats.Header{"traceparent": {}}, "traceparent", ""},
		{"nil header", nil, "traceparent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := natsx.HeaderCarrier(tt.header).Get(tt.key); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestHeaderCarrierSet(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		key    string
		want   nats.Header
	}{
		{"stores lowercase", nats.Header{}, "Traceparent", nats.Header{"traceparent": {"v"}}},
		{"replaces other spellings", nats.Header{"Traceparent": {"old"}, "TRACEPARENT": {"older"}}, "traceparent",
			nats.Header{"traceparent": {"v"}}},
		{"keeps unrelated keys", nats.Header{"Nats-Msg-Id": {"e1"}}, "baggage",
			nats.Header{"Nats-Msg-Id": {"e1"}, "baggage": {"v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			natsx.HeaderCarrier(tt.header).Set(tt.key, "v")
			if fmt.Sprint(tt.header) != fmt.Sprint(tt.want) {
				t.Errorf("header = %v, want %v", tt.header, tt.want)
			}
		})
	}
}

func TestHeaderCarrierKeys(t *testing.T) {
	h := nats.Header{"traceparent": {"a"}, "Traceparent": {"b"}, "Baggage": {"c"}, "Nats-Msg-Id": {"d"}}
	got := natsx.HeaderCarrier(h).Keys()
	slices.Sort(got)
	want := []string{"baggage", "nats-msg-id", "traceparent"}
	if !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
}

func TestInjectExtractRoundTrip(t *testing.T) {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	tid, _ := trace.TraceIDFromHex(traceID)
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	ctx := baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), sc), bag)

	h := nats.Header{}
	natsx.Inject(ctx, h, prop)
	if _, ok := h["traceparent"]; !ok {
		t.Fatalf("no lowercase traceparent in %v", h)
	}
	if _, ok := h["baggage"]; !ok {
		t.Fatalf("no lowercase baggage in %v", h)
	}

	got := natsx.Extract(context.Background(), h, prop)
	if gsc := trace.SpanContextFromContext(got); gsc.TraceID() != tid || gsc.SpanID() != sid || !gsc.IsRemote() {
		t.Errorf("extracted span context %v, want trace %s span %s, remote", gsc, tid, sid)
	}
	if v := baggage.FromContext(got).Member("tenant").Value(); v != "acme" {
		t.Errorf("baggage tenant = %q, want acme", v)
	}

	natsx.Inject(ctx, nil, prop) // a nil header is left alone, no panic
}

// A producer outside our code wrote the header capitalised; the trace still continues.
func TestExtractCapitalisedHeader(t *testing.T) {
	h := nats.Header{"Traceparent": {traceparent}}
	sc := trace.SpanContextFromContext(natsx.Extract(context.Background(), h, propagation.TraceContext{}))
	if sc.TraceID().String() != traceID {
		t.Errorf("trace id = %s, want %s", sc.TraceID(), traceID)
	}
}

func ExampleHeaderCarrier() {
	h := nats.Header{}
	c := natsx.HeaderCarrier(h)
	c.Set("Traceparent", traceparent)
	fmt.Println(c.Keys())
	fmt.Println(c.Get("TRACEPARENT") == traceparent)
	// Output:
	// [traceparent]
	// true
}
