package natsx_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

func TestPublishDedupesOnMsgID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	pub := e.publisher()

	first, err := pub.Publish(t.Context(), testSubject, "evt-1", []byte("a"), nil)
	if err != nil {
		t.Fatalf("first publish: %v", err)
	}
	second, err := pub.Publish(t.Context(), testSubject, "evt-1", []byte("a"), nil)
	if err != nil {
		t.Fatalf("second publish: %v", err)
	}
	if first.Duplicate || !second.Duplicate {
		t.Errorf("Duplicate = %v then %v, want false then true", first.Duplicate, second.Duplicate)
	}
	if second.Sequence != first.Sequence {
		t.Errorf("duplicate ack sequence %d, want the original %d", second.Sequence, first.Sequence)
	}
	stream, err := e.js.Stream(t.Context(), testStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
	if got := e.counter(t, "messaging.client.sent.messages"); got != 2 {
		t.Errorf("sent counter = %d, want 2", got)
	}
	if got := e.histogramCount(t, "messaging.client.operation.duration"); got != 2 {
		t.Errorf("operation duration observations = %d, want 2", got)
	}
}

func TestPublishValidatesAndKeepsCallerHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	pub := e.publisher()

	if _, err := pub.Publish(t.Context(), testSubject, "", []byte("a"), nil); !errors.Is(err, natsx.ErrNoMsgID) {
		t.Errorf("publish without id: err = %v, want ErrNoMsgID", err)
	}

	hdr := nats.Header{"Content-Type": {"application/protobuf"}}
	ctx, span := e.tp.Tracer("test").Start(t.Context(), "ingest")
	_, err := pub.Publish(ctx, testSubject, "evt-h", []byte("a"), hdr)
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	if len(hdr) != 1 {
		t.Errorf("caller's header was modified: %v", hdr)
	}
	stream, _ := e.js.Stream(t.Context(), testStream)
	raw, err := stream.GetLastMsgForSubject(t.Context(), testSubject)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Content-Type", "traceparent", jetstream.MsgIDHeader} {
		if raw.Header.Get(k) == "" && len(raw.Header.Values(k)) == 0 {
			t.Errorf("stored message lacks header %q: %v", k, raw.Header)
		}
	}

	// A subject no stream stores fails with an error on the span and in the metrics.
	if _, err := pub.Publish(t.Context(), "nowhere.v1.x", "evt-x", nil, nil); err == nil {
		t.Error("publish to a subject without stream succeeded")
	}
	if got := e.counter(t, "messaging.client.sent.messages", errorTypeAttr("no_stream")); got != 1 {
		t.Errorf("failed sends counted = %d, want 1", got)
	}
}

func TestPublishExpectStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	if _, err := e.publisher(natsx.WithExpectStream("OTHER")).Publish(t.Context(), testSubject, "e1", nil, nil); err == nil {
		t.Error("publish expecting another stream succeeded")
	}
	if _, err := e.publisher(natsx.WithExpectStream(testStream)).Publish(t.Context(), testSubject, "e1", nil, nil); err != nil {
		t.Errorf("publish expecting the right stream: %v", err)
	}
}

func TestPublishBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t)
	pub := e.publisher()
	e.publish(t, "evt-0") // published before: its re-send in the batch is a duplicate

	const n = 1000
	msgs := make([]natsx.Msg, n)
	for i := range msgs {
		msgs[i] = natsx.Msg{Subject: testSubject, MsgID: fmt.Sprintf("evt-%d", i), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
	}
	msgs[500].Subject = "nowhere.v1.x" // no stream stores it
	msgs[700].MsgID = ""               // invalid

	start := time.Now()
	acks, err := pub.PublishBatch(t.Context(), msgs)
	elapsed := time.Since(start)
	t.Logf("batch of %d published in %s", n, elapsed)

	var be *natsx.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BatchError", err)
	}
	if got := be.Failed(); !slices.Equal(got, []int{500, 700}) {
		t.Errorf("failed indexes = %v, want [500 700]", got)
	}
	if !errors.Is(err, natsx.ErrNoMsgID) {
		t.Error("BatchError does not unwrap to the per-message errors")
	}
	if len(acks) != n || acks[500] != nil || acks[700] != nil {
		t.Fatalf("acks: len %d, [500]=%v, [700]=%v", len(acks), acks[500], acks[700])
	}
	if !acks[0].Duplicate {
		t.Error("re-sent evt-0 was not reported as a duplicate")
	}
	for i, a := range acks {
		if i != 0 && i != 500 && i != 700 && (a == nil || a.Duplicate) {
			t.Fatalf("ack %d = %+v, want a fresh ack", i, a)
		}
	}

	stream, _ := e.js.Stream(t.Context(), testStream)
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(n - 2); info.State.Msgs != want { // evt-0 once, minus the two failures
		t.Errorf("stream holds %d messages, want %d", info.State.Msgs, want)
	}

	// Re-sending the whole batch is safe: everything that was stored comes back duplicate.
	msgs[500].Subject, msgs[700].MsgID = testSubject, "evt-700"
	acks, err = pub.PublishBatch(t.Context(), msgs)
	if err != nil {
		t.Fatalf("re-send: %v", err)
	}
	dups := 0
	for _, a := range acks {
		if a.Duplicate {
			dups++
		}
	}
	if dups != n-2 {
		t.Errorf("re-send: %d duplicates, want %d", dups, n-2)
	}
}

func BenchmarkPublishBatch1000(b *testing.B) {
	srv := natstest.Start(b)
	_, js := natstest.Connect(b, srv.URL)
	top := natsx.Topology{Streams: []jetstream.StreamConfig{natsx.DefaultStream(testStream, "events.>")}}
	if err := top.Ensure(b.Context(), js); err != nil {
		b.Fatal(err)
	}
	pub := natsx.NewPublisher(js)
	msgs := make([]natsx.Msg, 1000)
	data := make([]byte, 256)
	round := 0
	for b.Loop() {
		round++
		for i := range msgs {
			msgs[i] = natsx.Msg{Subject: testSubject, MsgID: fmt.Sprintf("r%d-e%d", round, i), Data: data}
		}
		if _, err := pub.PublishBatch(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
	}
}

func errorTypeAttr(v string) attribute.KeyValue { return attribute.String("error.type", v) }
