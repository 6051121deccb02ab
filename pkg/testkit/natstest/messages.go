package natstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/testkit"
)

// Messages waits (up to 20 s) until stream holds exactly want messages on subject, then returns
// them in stream order, read with an ordered consumer that leaves no durable state behind. The
// test fails when the count never settles at want or the messages cannot be fetched. Use it to
// check what a service published: the count makes "published once" as checkable as "published".
func Messages(t testing.TB, js jetstream.JetStream, stream, subject string, want int) []jetstream.Msg {
	t.Helper()
	ctx := t.Context()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			return err
		}
		if n := info.State.Subjects[subject]; n != uint64(want) {
			return fmt.Errorf("%d messages on %s in %s, want %d", n, subject, stream, want)
		}
		return nil
	})
	if want == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatalf("natstest: consumer on %s: %v", subject, err)
	}
	batch, err := cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("natstest: fetch %s: %v", subject, err)
	}
	out := make([]jetstream.Msg, 0, want)
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if len(out) != want {
		t.Fatalf("natstest: fetched %d messages on %s, want %d (%v)", len(out), subject, want, batch.Error())
	}
	return out
}

// WaitSettled waits (up to 20 s) until the durable consumer on stream has been delivered
// every message of the stream it filters and has settled (acked or terminated) each one, and
// fails the test otherwise. Use it to know a service has consumed what was published when its
// handler leaves no trace of its own (an idempotent consumer without an inbox row).
func WaitSettled(t testing.TB, js jetstream.JetStream, stream, consumer string) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		c, err := js.Consumer(t.Context(), stream, consumer)
		if err != nil {
			return err
		}
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
			return fmt.Errorf("consumer %s: %d pending, %d unacknowledged, %d redelivered", consumer,
				info.NumPending, info.NumAckPending, info.NumRedelivered)
		}
		return nil
	})
}
