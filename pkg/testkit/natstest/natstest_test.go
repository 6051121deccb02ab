package natstest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

func TestStartServesJetStream(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "t.one", []byte("x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	info, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatalf("account info: %v", err)
	}
	if info.Streams != 1 {
		t.Errorf("streams = %d, want 1", info.Streams)
	}
}

func TestServersAreIsolated(t *testing.T) {
	a, b := natstest.Start(t), natstest.Start(t)
	if a.URL == b.URL {
		t.Fatalf("two servers share %s", a.URL)
	}
	_, jsA := natstest.Connect(t, a.URL)
	_, jsB := natstest.Connect(t, b.URL)
	ctx := t.Context()
	if _, err := jsA.CreateStream(ctx, jetstream.StreamConfig{Name: "ONLY_A", Subjects: []string{"a.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := jsB.Stream(ctx, "ONLY_A"); err == nil {
		t.Fatal("stream created on server A is visible on server B")
	}
}

func TestShutdownTwice(t *testing.T) {
	srv := natstest.Start(t)
	nc, _ := natstest.Connect(t, srv.URL)
	srv.Shutdown()
	testkit.Eventually(t, 5*time.Second, func() error {
		if nc.IsConnected() {
			return errors.New("client still connected")
		}
		return nil
	})
	// t.Cleanup calls Shutdown again; it must not block or panic.
}

func TestRestartKeepsPortAndStreams(t *testing.T) {
	s := natstest.Start(t)
	_, js := natstest.Connect(t, s.URL)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), "kept.one", []byte("x")); err != nil {
		t.Fatal(err)
	}
	url := s.URL
	s.Shutdown()
	s.Restart(t)
	if s.URL != url {
		t.Fatalf("restarted at %s, want %s", s.URL, url)
	}
	_, js = natstest.Connect(t, s.URL)
	st, err := js.Stream(t.Context(), "KEPT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("after the restart: %d msgs, want 1", info.State.Msgs)
	}
}
