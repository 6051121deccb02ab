package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/testkit"
)

// Server is a private redis-server process for one test. Tests that need to FLUSHALL or restart
// Redis use it instead of the shared server, so they never touch another test's keys.
type Server struct {
	addr string // 127.0.0.1:<port>, the same across restarts
	dir  string

	mu   sync.Mutex
	proc *process // nil while stopped
}

type process struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{} // closed when cmd.Wait returns
}

// startTimeout bounds how long one start of redis-server may take until it answers PING.
const startTimeout = 10 * time.Second

// StartServer starts redis-server (found on PATH) on a free 127.0.0.1 port, without
// persistence (--save "" --appendonly no) and with a t.TempDir() as its working directory,
// waits until it answers PING and stops it when the test finishes. It returns the server's URL
// (redis://127.0.0.1:<port>/0) and a handle to restart or flush it. A missing binary fails the
// test in CI and skips it elsewhere.
func StartServer(t testing.TB) (url string, srv *Server) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testkit.Unavailable(t, "redis-server", err)
	}
	s := &Server{dir: t.TempDir()} // registered before the stop below, so removed after it
	t.Cleanup(s.stop)

	// The free port is found by binding :0 and closing it; another process may take it before
	// redis-server binds, so a start that fails to bind is retried on a fresh port.
	const attempts = 5
	var lastErr error
	for range attempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(bin); lastErr == nil {
			return "redis://" + s.addr + "/0", s
		}
	}
	t.Fatalf("redistest: start redis-server (%d attempts): %v", attempts, lastErr)
	return "", nil
}

// Addr returns host:port of the server.
func (s *Server) Addr() string { return s.addr }

// Restart stops the server abruptly (SIGKILL, like a crashed cache) and starts it again on the
// same port. It comes back empty: no data, no loaded scripts. Clients reconnect on their own.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
	s.stop()
	if err := s.start(bin); err != nil {
		t.Fatalf("redistest: restart redis-server on %s: %v", s.addr, err)
	}
}

// FlushAll deletes every key on the server (FLUSHALL). Loaded scripts stay.
func (s *Server) FlushAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := command(ctx, s.addr, "FLUSHALL")
	if err != nil {
		t.Fatalf("redistest: FLUSHALL: %v", err)
	}
	if reply != "+OK" {
		t.Fatalf("redistest: FLUSHALL replied %q", reply)
	}
}

// start runs redis-server on s.addr and waits until it answers PING. When the process exits
// first (for example because the port is taken), start returns an error with its output.
func (s *Server) start(bin string) error {
	_, port, _ := net.SplitHostPort(s.addr)
	out := &lockedBuffer{}
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1",
		"--port", port,
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()

	if err := waitReady(s.addr, p); err != nil {
		s.stop()
		return fmt.Errorf("%w; output: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// waitReady polls PING until the server answers, the process exits or startTimeout passes.
func waitReady(addr string, p *process) error {
	const tick = 10 * time.Millisecond
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		reply, err := command(ctx, addr, "PING")
		cancel()
		if err == nil && reply == "+PONG" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("PING replied %q", reply)
		}
		lastErr = err
		select {
		case <-p.exited:
			return errors.New("redis-server exited before answering PING")
		case <-deadline.C:
			return fmt.Errorf("redis-server did not answer PING within %s: %w", startTimeout, lastErr)
		case <-ticker.C:
		}
	}
}

// stop kills the running process, if any, and waits for it to exit. It is safe to call more
// than once.
func (s *Server) stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill() // no persistence: nothing to lose, and it frees the port at once
	<-p.exited
}

// command sends one command to addr on a fresh connection and returns the first line of the
// reply ("+OK", "+PONG", "-ERR ..."). It is enough for the few single-line commands used here
// and keeps no connection (or client goroutine) around.
func command(ctx context.Context, addr string, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(req.Bytes()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects a process's output; exec copies into it from its own goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 { // keep the head; a failing start says why in its first lines
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
