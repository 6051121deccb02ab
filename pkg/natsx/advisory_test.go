package natsx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/natsx"
)

func TestWatchMaxDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("c", natsx.WithMaxDeliver(2)))

	advisories := make(chan natsx.MaxDeliveriesAdvisory, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := natsx.WatchMaxDeliveries(ctx, e.nc, testStream, "c", e.log,
		func(_ context.Context, a natsx.MaxDeliveriesAdvisory) { advisories <- a },
		natsx.WithAdvisoryMeterProvider(e.mp)); err != nil {
		t.Fatal(err)
	}

	var c calls
	start(t, e.subscriber(t, e.js, "c", c.handler(func(context.Context, *natsx.Message, int) error {
		return natsx.Retry(errors.New("downstream keeps failing"), 10*time.Millisecond)
	}), natsx.SubscriberOptions{}))

	ack := e.publish(t, "evt-doomed")
	a := receive(t, advisories)
	if a.Stream != testStream || a.Consumer != "c" || a.StreamSeq != ack.Sequence || a.Deliveries != 2 {
		t.Errorf("advisory = %+v, want stream %s consumer c seq %d deliveries 2", a, testStream, ack.Sequence)
	}
	if n := len(c.of("evt-doomed")); n != 2 {
		t.Errorf("handled %d times, want MaxDeliver = 2", n)
	}
	e.wantCounter(t, 1, "messaging.nats.max_deliveries_exceeded")
	if _, ok := e.logs.find("ERROR", "exhausted MaxDeliver", "stream_seq=1", "deliveries=2"); !ok {
		t.Error("advisory was not logged")
	}
	if _, ok := e.logs.find("ERROR", "last delivery failed", "msg_id=evt-doomed"); !ok {
		t.Error("the subscriber did not log the last failed delivery")
	}
}
