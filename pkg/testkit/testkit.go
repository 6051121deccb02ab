// Package testkit holds the helpers our tests share: waiting for asynchronous work without
// sleeping blindly, leak checks, and the rule that integration tests never skip in CI.
//
// Store-specific helpers live in sub-packages (pgtest, redistest, natstest) so a test only
// links the stores it uses.
package testkit

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// InCI reports whether the tests run under CI (CI=true), where an integration test whose store
// is missing must fail rather than skip.
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Unavailable handles a missing store: it fails the test in CI and skips it elsewhere, naming
// what was missing and how to bring it up.
func Unavailable(t testing.TB, store string, err error) {
	t.Helper()
	msg := store + " is not reachable (" + err.Error() + "); start it with `make stores`"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Eventually polls cond every tick until it returns nil or the deadline passes, then fails the
// test with the last error. It is the way to wait for asynchronous work: no bare sleeps.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	const tick = 10 * time.Millisecond
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", within, err)
		}
		time.Sleep(tick)
	}
}

// VerifyNoLeaks runs the package's tests and then fails if goroutines are left behind. Use it
// as `func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }` in packages that start
// goroutines; pass goleak options only for goroutines a library owns for the whole process.
func VerifyNoLeaks(m *testing.M, opts ...goleak.Option) {
	goleak.VerifyTestMain(m, opts...)
}

// Send sends req with the default client and returns the response with its body read and
// closed; a request that cannot be made or read fails the test.
func Send(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, body
}
