package egress

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestParseLegacyIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0x0.0x0.0x1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"1.2.65535", "1.2.255.255"},
		{"10.0.0.1.", "10.0.0.1"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"4294967296", ""},
		{"08", ""},
		{"1..2", ""},
		{"example.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseLegacyIPv4(tt.in)
			if tt.want == "" {
				if ok {
					t.Errorf("parseLegacyIPv4(%q) = %v, want invalid", tt.in, got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Errorf("parseLegacyIPv4(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestNewClientConfiguration(t *testing.T) {
	c := NewClient(Options{})
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", c.Timeout, DefaultTimeout)
	}
	if c.CheckRedirect == nil {
		t.Error("CheckRedirect is nil: redirects would be followed")
	}
	g, ok := c.Transport.(*guardedTransport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	tr := g.base
	if tr.Proxy != nil {
		t.Error("Proxy is set; the client must never use a proxy")
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Error("TLS minimum version is not 1.2")
	}
	if tr.MaxResponseHeaderBytes <= 0 || tr.MaxResponseHeaderBytes > 1<<20 {
		t.Errorf("MaxResponseHeaderBytes = %d, want a bound", tr.MaxResponseHeaderBytes)
	}
	if tr.Protocols == nil || !tr.Protocols.HTTP1() || tr.Protocols.HTTP2() || tr.Protocols.UnencryptedHTTP2() {
		t.Errorf("Protocols = %v, want HTTP/1 only", tr.Protocols)
	}

	if got := NewClient(Options{Timeout: time.Second}).Timeout; got != time.Second {
		t.Errorf("Timeout = %v, want 1s", got)
	}
}

func TestClientHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	newClient := func() *http.Client {
		c := NewClient(Options{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		c.Transport.(*guardedTransport).base.TLSClientConfig.RootCAs = pool
		return c
	}

	c := newClient()
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := ReadBody(resp, 0); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.StatusCode)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("protocol = %s, want HTTP/1.x", resp.Proto)
	}

	// A server that offers only TLS 1.1 is refused.
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	old.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
	old.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	old.StartTLS()
	defer old.Close()
	c2 := NewClient(Options{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	defer c2.CloseIdleConnections()
	pool := x509.NewCertPool()
	pool.AddCert(old.Certificate())
	c2.Transport.(*guardedTransport).base.TLSClientConfig.RootCAs = pool
	if resp, err := c2.Get(old.URL); err == nil {
		_ = resp.Body.Close()
		t.Error("TLS 1.1 server accepted")
	}
}
