package egress_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/services/notification/internal/egress"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// stubResolver answers names from a fixed table and counts lookups.
type stubResolver struct {
	answers map[string][]netip.Addr
	calls   atomic.Int64
}

func newStub(pairs ...string) *stubResolver {
	s := &stubResolver{answers: map[string][]netip.Addr{}}
	for i := 0; i < len(pairs); i += 2 {
		s.answers[pairs[i]] = append(s.answers[pairs[i]], netip.MustParseAddr(pairs[i+1]))
	}
	return s
}

func (s *stubResolver) lookup(_ context.Context, _, host string) ([]netip.Addr, error) {
	s.calls.Add(1)
	if a, ok := s.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// countingListener accepts TCP connections on addr, counts and closes them.
type countingListener struct {
	ln       net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

func listen(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	l := &countingListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepted.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-l.done
	})
	return l
}

func (l *countingListener) port() string {
	return strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port)
}

// hostPort writes addr and port as a URL authority.
func hostPort(addr, port string) string {
	return net.JoinHostPort(strings.Trim(addr, "[]"), port)
}

func loopbackOnly() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

func wantRefused(t *testing.T, err error, contains string) {
	t.Helper()
	var re *egress.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want a *egress.RefusedError", err, err)
	}
	if contains != "" && !strings.Contains(re.Reason, contains) {
		t.Errorf("reason = %q, want it to contain %q", re.Reason, contains)
	}
}

// blockedAddrs must be refused both at subscribe time and at dial time.
var blockedAddrs = []struct {
	host   string // as written in a URL
	reason string
}{
	{"127.0.0.1", "is a loopback address"},
	{"[::1]", "is a loopback address"},
	{"10.0.0.1", "is a private address"},
	{"172.16.0.1", "is a private address"},
	{"192.168.1.1", "is a private address"},
	{"169.254.169.254", "is a cloud metadata address"},
	{"100.64.0.1", "is a shared (CGNAT) address"},
	{"0.0.0.0", "is an unspecified address"},
	{"[::ffff:127.0.0.1]", "is a loopback address"},
	{"[fc00::1]", "is a private (unique local) address"},
	{"[fe80::1]", "is a link-local address"},
}

func TestCheckURLRefusesBlockedAddresses(t *testing.T) {
	ctx := context.Background()
	for _, b := range blockedAddrs {
		ip := strings.Trim(b.host, "[]")
		stub := newStub("hook.example.com", ip)
		opt := egress.Options{Resolver: stub.lookup}
		t.Run("literal "+b.host, func(t *testing.T) {
			err := egress.CheckURL(ctx, "https://"+b.host+"/hook", opt)
			wantRefused(t, err, "host "+ip+" "+b.reason)
		})
		t.Run("name resolving to "+b.host, func(t *testing.T) {
			err := egress.CheckURL(ctx, "https://hook.example.com/hook", opt)
			wantRefused(t, err, "host hook.example.com resolves to "+netip.MustParseAddr(ip).Unmap().String()+", a")
			wantRefused(t, err, b.reason[len("is "):])
		})
	}
	t.Run("localhost", func(t *testing.T) {
		stub := newStub()
		for _, host := range []string{"localhost", "LOCALHOST", "localhost.", "api.localhost"} {
			err := egress.CheckURL(ctx, "https://"+host+"/hook", egress.Options{Resolver: stub.lookup})
			wantRefused(t, err, "a loopback address")
		}
		if n := stub.calls.Load(); n != 0 {
			t.Errorf("resolver asked %d times about localhost names, want 0", n)
		}
	})
}

func TestCheckURL(t *testing.T) {
	stub := newStub(
		"hooks.example.com", "93.184.215.14",
		"v6.example.com", "2606:4700:4700::1111",
		"mixed.example.com", "93.184.215.14",
		"mixed.example.com", "10.1.2.3",
		"mapped.example.com", "::ffff:93.184.215.14",
		"local.example.com", "127.0.0.1",
	)
	stub.answers["empty.example.com"] = []netip.Addr{}

	tests := []struct {
		name   string
		url    string
		opt    egress.Options
		reason string // "" means accepted
	}{
		{name: "https name", url: "https://hooks.example.com/scoda/events?x=1"},
		{name: "https name with port", url: "https://hooks.example.com:8443/x"},
		{name: "https IPv6 name", url: "https://v6.example.com/x"},
		{name: "resolver answers IPv4-mapped", url: "https://mapped.example.com/x"},
		{name: "public IPv4 literal", url: "https://8.8.8.8/x"},
		{name: "public IPv6 literal", url: "https://[2606:4700:4700::1111]:443/x"},
		{name: "upper-case scheme", url: "HTTPS://hooks.example.com/x"},
		{name: "http allowed", url: "http://hooks.example.com/x", opt: egress.Options{AllowHTTP: true}},
		{name: "allowed net", url: "http://127.0.0.1:8080/x", opt: egress.Options{AllowHTTP: true, AllowedNets: loopbackOnly()}},
		{name: "allowed net by name", url: "https://local.example.com/x", opt: egress.Options{AllowedNets: loopbackOnly()}},

		{name: "http not allowed", url: "http://hooks.example.com/x", reason: "scheme http is not allowed; use https"},
		{name: "ftp", url: "ftp://hooks.example.com/x", reason: "scheme ftp is not allowed"},
		{name: "file", url: "file:///etc/passwd", reason: "scheme file is not allowed"},
		{name: "gopher", url: "gopher://hooks.example.com:70/_x", reason: "scheme gopher is not allowed"},
		{name: "javascript", url: "javascript:alert(1)", reason: "scheme javascript is not allowed"},
		{name: "relative", url: "/hooks", reason: "must be absolute"},
		{name: "scheme-relative", url: "//hooks.example.com/x", reason: "must be absolute"},
		{name: "opaque", url: "https:hooks.example.com", reason: "must have the form"},
		{name: "user and password", url: "https://user:pass@hooks.example.com/x", reason: "user info"},
		{name: "user only", url: "https://user@hooks.example.com/x", reason: "user info"},
		{name: "empty user info", url: "https://@hooks.example.com/x", reason: "user info"},
		{name: "no host", url: "https:///x", reason: "no host"},
		{name: "port only", url: "https://:443/x", reason: "no host"},
		{name: "port 0", url: "https://hooks.example.com:0/x", reason: "port 0 is out of range"},
		{name: "port too big", url: "https://hooks.example.com:70000/x", reason: "port 70000 is out of range"},
		{name: "not a URL", url: "https://hooks.example.com:port/x", reason: "not a valid URL"},
		{name: "too long", url: "https://hooks.example.com/" + strings.Repeat("a", egress.MaxURLLength), reason: "longer than"},
		{name: "any answer private", url: "https://mixed.example.com/x", reason: "host mixed.example.com resolves to 10.1.2.3, a private address"},
		{name: "no answers", url: "https://empty.example.com/x", reason: "has no addresses"},
		{name: "non-ASCII name", url: "https://hööks.example.com/x", reason: "not a valid host name"},
		{name: "decimal IPv4", url: "https://2130706433/x", reason: "host 2130706433 (127.0.0.1) is a loopback address"},
		{name: "hex IPv4", url: "https://0x7f000001/x", reason: "(127.0.0.1) is a loopback address"},
		{name: "octal IPv4", url: "https://0177.0.0.1/x", reason: "(127.0.0.1) is a loopback address"},
		{name: "short IPv4", url: "https://127.1/x", reason: "(127.0.0.1) is a loopback address"},
		{name: "dotted hex IPv4", url: "https://0xa9.0xfe.0xa9.0xfe/x", reason: "(169.254.169.254) is a cloud metadata address"},
		{name: "trailing-dot IPv4", url: "https://10.0.0.1./x", reason: "(10.0.0.1) is a private address"},
		{name: "non-canonical public IPv4", url: "https://0x08.0x08.0x08.0x08/x", reason: "non-canonical form of IPv4 address 8.8.8.8"},
		{name: "invalid IPv4", url: "https://999.1.1.1/x", reason: "not a valid IPv4 address"},
		{name: "percent-encoded host", url: "https://127%2E0%2E0%2E1/x", reason: "not a valid URL"},
		{name: "zoned link-local", url: "https://[fe80::1%25eth0]/x", reason: "a scoped (zoned) address"},
		{name: "NAT64 of loopback", url: "https://[64:ff9b::7f00:1]/x", reason: "NAT64 address for 127.0.0.1"},
		{name: "allowed nets do not open others", url: "https://10.0.0.1/x", opt: egress.Options{AllowedNets: loopbackOnly()}, reason: "private address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Resolver = stub.lookup
			err := egress.CheckURL(context.Background(), tt.url, opt)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			wantRefused(t, err, tt.reason)
		})
	}
}

func TestCheckURLResolverFailure(t *testing.T) {
	stub := newStub()
	err := egress.CheckURL(context.Background(), "https://nowhere.example.com/x", egress.Options{Resolver: stub.lookup})
	var re *egress.RefusedError
	var dnsErr *net.DNSError
	if err == nil || errors.As(err, &re) || !errors.As(err, &dnsErr) {
		t.Fatalf("CheckURL = %v, want the resolver's *net.DNSError and no *RefusedError", err)
	}
}

// TestClientRefusesBlockedAddressesAtDial sends to every blocked address,
// written as a literal and as a name, with ports of local listeners; the
// loopback listeners must never see a connection.
func TestClientRefusesBlockedAddressesAtDial(t *testing.T) {
	v4 := listen(t, "127.0.0.1:0")
	v6 := listen(t, "[::1]:0")

	for _, scheme := range []string{"https", "http"} {
		for _, b := range blockedAddrs {
			ip := netip.MustParseAddr(strings.Trim(b.host, "[]"))
			port := v4.port()
			if ip.Is6() && !ip.Is4In6() {
				port = v6.port()
			}
			stub := newStub("hook.example.com", ip.String())
			client := egress.NewClient(egress.Options{AllowHTTP: true, Resolver: stub.lookup, Timeout: 5 * time.Second})
			urls := []string{
				scheme + "://" + hostPort(b.host, port) + "/hook",
				scheme + "://" + hostPort("hook.example.com", port) + "/hook",
			}
			for _, u := range urls {
				t.Run(u, func(t *testing.T) {
					resp, err := client.Post(u, "application/json", strings.NewReader(`{}`))
					if err == nil {
						_ = resp.Body.Close()
						t.Fatal("delivery succeeded")
					}
					wantRefused(t, err, "address "+ip.Unmap().String()+" "+b.reason)
				})
			}
			client.CloseIdleConnections()
		}
	}
	t.Run("localhost", func(t *testing.T) {
		stub := newStub()
		client := egress.NewClient(egress.Options{AllowHTTP: true, Resolver: stub.lookup})
		resp, err := client.Get("http://" + hostPort("localhost", v4.port()) + "/")
		if err == nil {
			_ = resp.Body.Close()
			t.Fatal("delivery succeeded")
		}
		wantRefused(t, err, "a loopback address")
	})
	if n := v4.accepted.Load() + v6.accepted.Load(); n != 0 {
		t.Errorf("loopback listeners accepted %d connections, want 0", n)
	}
}

func TestClientDeliversToAllowedNet(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	client := egress.NewClient(egress.Options{AllowHTTP: true, AllowedNets: loopbackOnly()})
	defer client.CloseIdleConnections()
	resp, err := client.Post(srv.URL+"/hook", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if _, err := egress.ReadBody(resp, 0); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || got.Load() != "application/json" {
		t.Errorf("status %d, content type %v", resp.StatusCode, got.Load())
	}
}

func TestClientRefusesHTTPWhenNotAllowed(t *testing.T) {
	l := listen(t, "127.0.0.1:0")
	client := egress.NewClient(egress.Options{AllowedNets: loopbackOnly()})
	resp, err := client.Get("http://" + hostPort("127.0.0.1", l.port()) + "/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("http delivery succeeded")
	}
	wantRefused(t, err, "scheme http is not allowed")

	resp, err = client.Get("https://user:pw@" + hostPort("127.0.0.1", l.port()) + "/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("delivery with user info succeeded")
	}
	wantRefused(t, err, "user info")
	if n := l.accepted.Load(); n != 0 {
		t.Errorf("listener accepted %d connections, want 0", n)
	}
}

func TestClientRefusesRedirects(t *testing.T) {
	// The second server listens on 127.0.0.2, which is loopback but not in
	// the allowed nets.
	var secondHits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	second := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		secondHits.Add(1)
	}))
	_ = second.Listener.Close()
	second.Listener = ln
	second.Start()
	defer second.Close()
	secondPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tests := []struct {
		name     string
		location string
		allowed  []netip.Prefix
	}{
		{name: "to 127.0.0.2", location: "http://" + hostPort("127.0.0.2", secondPort) + "/"},
		{name: "to a blocked name", location: "http://" + hostPort("internal.example.com", secondPort) + "/"},
		{name: "even to an allowed address", location: "http://" + hostPort("127.0.0.2", secondPort) + "/",
			allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusTemporaryRedirect)
			}))
			defer first.Close()

			stub := newStub("internal.example.com", "127.0.0.2")
			client := egress.NewClient(egress.Options{
				AllowHTTP:   true,
				AllowedNets: append(loopbackOnly(), tt.allowed...),
				Resolver:    stub.lookup,
			})
			defer client.CloseIdleConnections()

			resp, err := client.Post(first.URL+"/hook", "application/json", strings.NewReader(`{}`))
			if resp != nil {
				_ = resp.Body.Close()
			}
			if !errors.Is(err, egress.ErrRedirect) {
				t.Fatalf("err = %v, want ErrRedirect", err)
			}
			if n := secondHits.Load(); n != 0 {
				t.Errorf("redirect target got %d requests, want 0", n)
			}
		})
	}
}

// TestClientRefusesRebinding resolves a name to a public address when the
// subscription is checked and to 127.0.0.1 at delivery.
func TestClientRefusesRebinding(t *testing.T) {
	l := listen(t, "127.0.0.1:0")

	var calls atomic.Int64
	resolver := func(_ context.Context, _, host string) ([]netip.Addr, error) {
		if host != "rebind.example.com" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		if calls.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	opt := egress.Options{AllowHTTP: true, Resolver: resolver}
	u := "http://" + hostPort("rebind.example.com", l.port()) + "/hook"

	if err := egress.CheckURL(context.Background(), u, opt); err != nil {
		t.Fatalf("CheckURL: %v", err)
	}
	client := egress.NewClient(opt)
	defer client.CloseIdleConnections()
	resp, err := client.Post(u, "application/json", strings.NewReader(`{}`))
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("delivery succeeded after rebinding")
	}
	wantRefused(t, err, "address 127.0.0.1 is a loopback address")
	if n := calls.Load(); n != 2 {
		t.Errorf("resolver called %d times, want 2", n)
	}
	if n := l.accepted.Load(); n != 0 {
		t.Errorf("listener accepted %d connections, want 0", n)
	}
}

func TestClientTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up,
		// which cancels r.Context().
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()

	client := egress.NewClient(egress.Options{AllowHTTP: true, AllowedNets: loopbackOnly(), Timeout: 200 * time.Millisecond})
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{}`))
	elapsed := time.Since(start)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("slow delivery succeeded")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("took %v, want about 200ms", elapsed)
	}
}

func TestReadBody(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	}))
	var newConns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := egress.NewClient(egress.Options{AllowHTTP: true, AllowedNets: loopbackOnly()})
	defer client.CloseIdleConnections()

	tests := []struct {
		name  string
		size  int
		limit int64
		want  int
	}{
		{name: "short body", size: 2, limit: 0, want: 2},
		{name: "default limit", size: 10_000, limit: 0, want: egress.DefaultBodyLimit},
		{name: "given limit", size: 10_000, limit: 100, want: 100},
		{name: "exact limit", size: 100, limit: 100, want: 100},
		{name: "huge body", size: 8 << 20, limit: 100, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(fmt.Sprintf("%s/?n=%d", srv.URL, tt.size))
			if err != nil {
				t.Fatal(err)
			}
			b, err := egress.ReadBody(resp, tt.limit)
			if err != nil {
				t.Fatalf("ReadBody: %v", err)
			}
			if len(b) != tt.want {
				t.Errorf("read %d bytes, want %d", len(b), tt.want)
			}
		})
	}
	// Bodies within the drain bound leave the connection reusable: the four
	// small responses above shared one connection; only the huge body, which
	// ReadBody abandons, cost one.
	if n := newConns.Load(); n != 1 {
		t.Errorf("server saw %d connections, want 1", n)
	}
}
