package natsx_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
)

// TestSubscriberUnderBacklogDeliversEachMessageOnce: with thousands of messages waiting and
// slow handlers, nothing is dropped by the client (which would show as redeliveries after
// AckWait) and every message is handled once.
func TestSubscriberUnderBacklogDeliversEachMessageOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, testConsumer("backlog", natsx.WithMaxAckPending(1000)))
	const n = 2000
	msgs := make([]natsx.Msg, n)
	for i := range msgs {
		msgs[i] = natsx.Msg{Subject: testSubject, MsgID: fmt.Sprintf("backlog-%d", i), Data: []byte("x")}
	}
	if _, err := e.publisher().PublishBatch(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]uint64{}
	)
	start(t, e.subscriber(t, e.js, "backlog", func(_ context.Context, m *natsx.Message) error {
		time.Sleep(200 * time.Microsecond) // slow work while the backlog waits
		mu.Lock()
		defer mu.Unlock()
		seen[m.MsgID] = max(seen[m.MsgID], m.NumDelivered)
		return nil
	}, natsx.SubscriberOptions{Workers: 2}))
	testkit.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != n {
			return fmt.Errorf("%d of %d handled", len(seen), n)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for id, d := range seen {
		if d != 1 {
			t.Fatalf("%s was delivered %d times: the client dropped it", id, d)
		}
	}
}
