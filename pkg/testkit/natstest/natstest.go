// Package natstest runs an embedded NATS server with JetStream for tests: a random port and a
// temporary store directory per server, so a test never depends on a server left running on the
// machine or on what an earlier test stored.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is an embedded NATS server with JetStream enabled.
type Server struct {
	// URL is the client URL, nats://127.0.0.1:<port>.
	URL  string
	srv  *server.Server
	opts *server.Options
}

// Start runs a NATS server with JetStream on 127.0.0.1 and a random port, storing in a
// t.TempDir(), and shuts it down when the test and its subtests finish.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(), // registered before the shutdown below, so removed after it
		NoLog:      true,
		NoSigs:     true,
		// Keep the memory and disk the server may claim small: a laptop runs many at once.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}
	s := &Server{opts: opts}
	s.start(t)
	t.Cleanup(s.Shutdown)
	s.URL = s.srv.ClientURL()
	opts.Port = s.srv.Addr().(*net.TCPAddr).Port // a restart comes back on the same port
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	srv, err := server.NewServer(s.opts)
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	srv.Start()
	s.srv = srv
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("natstest: server not ready for connections within 10s")
	}
}

// Restart starts the server again after a Shutdown, on the same port and with the same store,
// as a NATS server comes back after an outage with its streams.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	s.start(t)
}

// Shutdown stops the server and waits until it has stopped. It is safe to call more than once
// (Start registers it with t.Cleanup); call it early to test how clients behave when the server
// goes away.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// Connect opens a client connection to url and a JetStream handle on it, both closed when the
// test finishes. The client gives up after a few reconnect attempts so a test that shut the
// server down does not leave it retrying.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url,
		nats.Name(t.Name()),
		nats.MaxReconnects(3),
		nats.ReconnectWait(50*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("natstest: connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}
