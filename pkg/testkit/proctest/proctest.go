// Package proctest runs a service binary as a child process in a test, as it runs in
// production: built with `go build`, configured through its environment, ready when /readyz
// answers 200, and stopped with SIGKILL to test what survives a crash.
package proctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/testkit"
)

// Build compiles the main package pkg (an import path) into the test's temporary directory and
// returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a running service binary.
type Process struct {
	// URL is the service's base URL, http://127.0.0.1:<port>.
	URL string

	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
}

// Write collects the process's output (stdout and stderr), shown when the test fails.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.Write(b)
}

// Start runs bin with env (plus HTTP_ADDR on a free local port) and waits up to a minute until
// its /readyz answers 200. The process is killed at cleanup if the test has not killed it, and
// its output is logged when the test failed.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	p := &Process{URL: "http://" + addr, cmd: exec.Command(bin)}
	p.cmd.Env = append(append(os.Environ(), env...), "HTTP_ADDR="+addr)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil { // still running: the test ended before killing it
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s output:\n%s", filepath.Base(bin), p.logs.String())
			p.mu.Unlock()
		}
	})
	testkit.Eventually(t, time.Minute, func() error {
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

// Kill ends the process with SIGKILL — no drain, no shutdown hooks — and reaps it.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait() // "signal: killed"
}

// Post sends body, marshalled as JSON, to p.URL+path with the bearer token and returns the
// status and the answer's body; a request that cannot be made fails the test.
func (p *Process) Post(t testing.TB, path, token string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, p.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, raw := testkit.Send(t, req)
	return resp.StatusCode, raw
}
