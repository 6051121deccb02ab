package natsx_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/natsx"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nc, js, err := natsx.Connect(t.Context(), e.url, "tracking-test", e.log)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	if _, err := js.AccountInfo(t.Context()); err != nil {
		t.Errorf("JetStream not usable: %v", err)
	}
	if _, ok := e.logs.find("INFO", "nats connected", "nats.client=tracking-test"); !ok {
		t.Error("connect was not logged")
	}
}

func TestConnectFailsFast(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: take one, then free it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	url := fmt.Sprintf("nats://alice:s3cret@%s", addr)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	begin := time.Now()
	nc, _, err := natsx.Connect(ctx, url, "tracking-test", nil)
	if err == nil {
		nc.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Connect took %s to fail", d)
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cret") || !strings.Contains(msg, addr) || !strings.Contains(msg, "tracking-test") {
		t.Errorf("error %q should name the address and client and hide the password", msg)
	}

	cancelled, stop := context.WithCancel(t.Context())
	stop()
	if _, _, err := natsx.Connect(cancelled, url, "x", nil); err == nil {
		t.Error("Connect with a cancelled ctx succeeded")
	}
}
