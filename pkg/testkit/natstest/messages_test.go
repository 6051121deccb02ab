package natstest_test

import (
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

// Messages waits for messages published after it starts looking and returns only the subject's,
// in order.
func TestMessagesWaitsForTheCount(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.URL)
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "m.other", []byte("x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 3 {
			if _, err := js.Publish(ctx, "m.wanted", []byte(strconv.Itoa(i))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	msgs := natstest.Messages(t, js, "M", "m.wanted", 3)
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	for i, m := range msgs {
		if m.Subject() != "m.wanted" || string(m.Data()) != strconv.Itoa(i) {
			t.Errorf("message %d = %s %q, want m.wanted %q", i, m.Subject(), m.Data(), strconv.Itoa(i))
		}
	}
	if got := natstest.Messages(t, js, "M", "m.other", 1); string(got[0].Data()) != "x" {
		t.Errorf("m.other = %q, want x", got[0].Data())
	}
	if got := natstest.Messages(t, js, "M", "m.none", 0); len(got) != 0 {
		t.Errorf("m.none = %d messages, want none", len(got))
	}
}
