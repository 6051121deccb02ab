package natsx_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/natsx"
)

func TestTopologyEnsureIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	top := natsx.Topology{
		Streams: []jetstream.StreamConfig{natsx.DefaultStream("TRACKING", "tracking.v1.>")},
		Consumers: []natsx.Consumer{
			{Stream: "TRACKING", Config: natsx.DurableConsumer("projector", []string{"tracking.v1.container.>"})},
			{Stream: "TRACKING", Config: natsx.DurableConsumer("eta", []string{"tracking.v1.container.departed", "tracking.v1.container.arrived"})},
		},
	}
	ctx := t.Context()
	for i := range 2 {
		if err := top.Ensure(ctx, e.js); err != nil {
			t.Fatalf("Ensure #%d: %v", i+1, err)
		}
	}
	stream, err := e.js.Stream(ctx, "TRACKING")
	if err != nil {
		t.Fatal(err)
	}
	si, _ := stream.Info(ctx)
	if si.Config.Duplicates != natsx.DefaultDuplicates || si.Config.Storage != jetstream.FileStorage {
		t.Errorf("stream config not applied: %+v", si.Config)
	}

	// Update a field of each, and raise replicas on a single server: the Replicas knob is
	// applied (the server rejects R3 without a cluster, so keep 1 and change MaxAge instead).
	top.Streams[0].MaxAge = 7 * 24 * time.Hour
	top.Consumers[0].Config.MaxAckPending = 64
	top.Replicas = 1
	if err := top.Ensure(ctx, e.js); err != nil {
		t.Fatalf("Ensure with changes: %v", err)
	}
	si, _ = stream.Info(ctx)
	if si.Config.MaxAge != 7*24*time.Hour {
		t.Errorf("stream MaxAge = %s, want 168h", si.Config.MaxAge)
	}
	ci := e.consumerInfoOn(t, "TRACKING", "projector")
	if ci.Config.MaxAckPending != 64 {
		t.Errorf("consumer MaxAckPending = %d, want 64", ci.Config.MaxAckPending)
	}
	if ci := e.consumerInfoOn(t, "TRACKING", "eta"); !slices.Equal(ci.Config.FilterSubjects, top.Consumers[1].Config.FilterSubjects) {
		t.Errorf("eta filters = %v", ci.Config.FilterSubjects)
	}

	// A change the server cannot make in place is reported, naming the stream.
	top.Streams[0].Storage = jetstream.MemoryStorage
	if err := top.Ensure(ctx, e.js); err == nil {
		t.Error("changing storage type was accepted")
	}
}

func (e *env) consumerInfoOn(t *testing.T, stream, name string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := e.js.Consumer(t.Context(), stream, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestDurableConsumerConfig(t *testing.T) {
	tests := []struct {
		name        string
		filters     []string
		opts        []natsx.ConsumerOption
		wantAckWait time.Duration
		wantBackOff []time.Duration
		wantMaxDel  int
	}{
		{
			name: "defaults", filters: []string{"a.>"},
			wantAckWait: 30 * time.Second, wantMaxDel: 10,
			wantBackOff: []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute},
		},
		{
			name: "short ack wait scales the default waits", opts: []natsx.ConsumerOption{natsx.WithAckWait(time.Second)},
			wantAckWait: time.Second, wantMaxDel: 10,
			wantBackOff: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
		{
			name:        "explicit redelivery waits follow the ack wait",
			opts:        []natsx.ConsumerOption{natsx.WithAckWait(5 * time.Second), natsx.WithRedeliveryWaits(time.Minute)},
			wantAckWait: 5 * time.Second, wantMaxDel: 10,
			wantBackOff: []time.Duration{5 * time.Second, time.Minute},
		},
		{
			name: "backoff trimmed to MaxDeliver", opts: []natsx.ConsumerOption{natsx.WithMaxDeliver(2)},
			wantAckWait: 30 * time.Second, wantMaxDel: 2,
			wantBackOff: []time.Duration{30 * time.Second, time.Minute},
		},
		{
			name: "no redelivery waits means no backoff", opts: []natsx.ConsumerOption{natsx.WithRedeliveryWaits()},
			wantAckWait: 30 * time.Second, wantMaxDel: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := natsx.DurableConsumer("c", tt.filters, tt.opts...)
			if c.Durable != "c" || c.AckPolicy != jetstream.AckExplicitPolicy || c.MaxAckPending != natsx.DefaultMaxAckPending {
				t.Errorf("basic fields: %+v", c)
			}
			if c.AckWait != tt.wantAckWait || c.MaxDeliver != tt.wantMaxDel || !slices.Equal(c.BackOff, tt.wantBackOff) {
				t.Errorf("AckWait %s MaxDeliver %d BackOff %v; want %s %d %v",
					c.AckWait, c.MaxDeliver, c.BackOff, tt.wantAckWait, tt.wantMaxDel, tt.wantBackOff)
			}
		})
	}
}

func TestDefaultStream(t *testing.T) {
	s := natsx.DefaultStream("TRACKING", "tracking.v1.>")
	if s.Storage != jetstream.FileStorage || s.Retention != jetstream.LimitsPolicy ||
		s.Discard != jetstream.DiscardOld || s.Duplicates != 10*time.Minute ||
		s.MaxAge != 30*24*time.Hour || s.Replicas != 1 || !slices.Equal(s.Subjects, []string{"tracking.v1.>"}) {
		t.Errorf("DefaultStream = %+v", s)
	}
}
