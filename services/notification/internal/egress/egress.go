// Package egress guards the HTTP requests the notification service makes to
// customer-supplied webhook URLs against server-side request forgery (SSRF).
//
// Two checks, one rule. [CheckURL] runs when a subscription is created: it
// refuses a URL whose scheme, form or host is unacceptable, resolving a host
// name and refusing it if any address it resolves to is not public. The client
// from [NewClient] runs the same rule again on every connection, on the
// address actually being dialled (in the dialer's Control hook, before
// connect), because a name that was public when the subscription was made may
// resolve to 127.0.0.1 by the time a delivery is sent (DNS rebinding).
//
// An address is public ([Public]) when it is globally routable unicast. Refused
// are: unspecified, this-network 0.0.0.0/8, loopback, private (RFC 1918,
// fc00::/7), shared CGNAT 100.64.0.0/10, link-local (169.254.0.0/16,
// fe80::/10), site-local, multicast, broadcast, class E, documentation,
// benchmarking and IETF-protocol ranges, Teredo, discard-only, IPv4-compatible
// IPv6, anything outside 2000::/3, zoned addresses, known cloud metadata
// endpoints (169.254.169.254, fd00:ec2::254, 168.63.129.16, ...), and IPv6
// forms that carry a refused IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64
// 64:ff9b::/96, 6to4 2002::/16). [Options].AllowedNets exempts prefixes, for
// local development and tests.
//
// Refusals are [*RefusedError] values whose message explains the reason in
// words a subscriber can act on ("host 10.0.0.1 is a private address"); a
// transport can map them to 422 with errors.As.
package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults and bounds.
const (
	// DefaultTimeout bounds a whole delivery (connect, TLS, request, response
	// headers and body) when Options.Timeout is zero.
	DefaultTimeout = 15 * time.Second
	// DefaultBodyLimit is how much of a response body ReadBody keeps when given
	// no limit.
	DefaultBodyLimit = 4 << 10
	// MaxURLLength is the longest webhook URL CheckURL accepts.
	MaxURLLength = 2048

	maxResponseHeaderBytes = 64 << 10
	drainLimit             = 64 << 10
)

// ErrRedirect is returned (wrapped in a *url.Error) when a webhook endpoint
// answers with a redirect; the client never follows one.
var ErrRedirect = errors.New("egress: redirects are not followed")

// Resolver looks up the addresses of host; its signature is that of
// (*net.Resolver).LookupNetIP, which is the default.
type Resolver func(ctx context.Context, network, host string) ([]netip.Addr, error)

// Options configure CheckURL and NewClient. The zero value is the production
// setting: https only, public addresses only, the system resolver and a 15 s
// timeout.
type Options struct {
	// AllowHTTP permits the http scheme as well as https.
	AllowHTTP bool
	// AllowedNets exempts addresses in these prefixes from the public-address
	// rule, e.g. 127.0.0.1/32 for tests or a local receiver.
	AllowedNets []netip.Prefix
	// Resolver resolves host names; nil means net.DefaultResolver.LookupNetIP.
	Resolver Resolver
	// Timeout bounds one request made by the client; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// IdleConnsPerHost is how many idle connections to one host are kept for
	// reuse; zero means 4. A caller sending that many requests at once to one
	// receiver keeps its connections instead of dialing anew for most of them.
	IdleConnsPerHost int
}

// RefusedError reports a URL or an address that webhooks may not be sent to.
// Its message is the reason, suitable for a problem detail.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// CheckURL reports whether raw may be used as a webhook URL. It returns a
// *RefusedError when the URL is not absolute, its scheme is not https (or
// http with AllowHTTP), it has user info, no host or a bad port, its host is a
// non-public address, or its host name resolves to any non-public address. A
// failed name lookup is returned as a plain error wrapping the resolver's.
func CheckURL(ctx context.Context, raw string, opt Options) error {
	if len(raw) > MaxURLLength {
		return refused("URL is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return refused("not a valid URL: %v", err)
	}
	if reason := checkScheme(u.Scheme, opt.AllowHTTP); reason != "" {
		return &RefusedError{Reason: reason}
	}
	switch {
	case u.Opaque != "":
		return refused("URL must have the form %s://host/path", u.Scheme)
	case u.User != nil:
		return refused("URL must not contain user info")
	case u.Hostname() == "":
		return refused("URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return refused("port %s is out of range", p)
		}
	}

	host := u.Hostname()
	addrs, literal, err := resolve(ctx, host, opt)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		reason := opt.refusal(a)
		switch {
		case reason == "":
		case literal:
			return refused("host %s is %s", host, reason)
		default:
			return refused("host %s resolves to %s, %s", host, a.Unmap(), reason)
		}
	}
	return nil
}

func checkScheme(scheme string, allowHTTP bool) string {
	switch scheme {
	case "https":
		return ""
	case "http":
		if allowHTTP {
			return ""
		}
		return "scheme http is not allowed; use https"
	case "":
		return "URL must be absolute, with scheme https"
	default:
		return fmt.Sprintf("scheme %s is not allowed; use https", scheme)
	}
}

// refusal returns why a may not be dialled under opt, or "".
func (opt Options) refusal(a netip.Addr) string {
	for _, p := range opt.AllowedNets {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return ""
		}
	}
	return classify(a)
}

func (opt Options) resolver() Resolver {
	if opt.Resolver != nil {
		return opt.Resolver
	}
	return net.DefaultResolver.LookupNetIP
}

var loopbackAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}

// resolve returns the addresses host stands for and whether host was an IP
// literal. Numeric hosts that are not canonical dotted-quad IPv4 ("2130706433",
// "0x7f.1", "127.1") are refused: resolvers disagree about them.
func resolve(ctx context.Context, host string, opt Options) (addrs []netip.Addr, literal bool, err error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, true, nil
	}
	if endsInNumber(host) {
		a, ok := parseLegacyIPv4(host)
		switch {
		case !ok:
			return nil, true, refused("host %s is not a valid IPv4 address", host)
		case opt.refusal(a) != "":
			return nil, true, refused("host %s (%s) is %s", host, a, opt.refusal(a))
		default:
			return nil, true, refused("host %s is a non-canonical form of IPv4 address %s; write %s", host, a, a)
		}
	}
	if !validName(host) {
		return nil, false, refused("host %q is not a valid host name", host)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: localhost names are loopback, whatever a resolver says.
		return loopbackAddrs, false, nil
	}
	addrs, err = opt.resolver()(ctx, "ip", host)
	if err != nil {
		return nil, false, fmt.Errorf("resolve host %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, false, refused("host %s has no addresses", host)
	}
	return addrs, false, nil
}

// validName reports whether host is an ASCII DNS name of letters, digits,
// hyphens, underscores and dots. Internationalised names must be given in
// their xn-- form, so the name checked is the name dialled.
func validName(host string) bool {
	if len(host) > 253 {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// endsInNumber reports whether the last label of host (ignoring one trailing
// dot) is a decimal or 0x-hex number, which URL parsers in browsers and
// inet_aton treat as an IPv4 address.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// parseLegacyIPv4 parses the inet_aton forms: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last part filling the remaining
// bytes.
func parseLegacyIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseLegacyPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		rest := 8 * (4 - i) // bits the last part may fill
		if n >= 1<<rest {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseLegacyPart(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// NewClient returns an HTTP client for webhook deliveries. It never uses a
// proxy, resolves names with opt.Resolver, refuses in the dialer's Control
// hook (before connecting) any address that is not public or in
// opt.AllowedNets, refuses every redirect with ErrRedirect, refuses http
// requests unless opt.AllowHTTP, speaks HTTP/1.1 only (no h2c), requires TLS
// 1.2 or later, bounds response headers to 64 KiB and times a request out
// after opt.Timeout (default 15 s).
func NewClient(opt Options) *http.Client {
	opt.AllowedNets = slices.Clone(opt.AllowedNets)
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	idle := opt.IdleConnsPerHost
	if idle <= 0 {
		idle = 4
	}
	dialer := &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control:   opt.control,
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	base := &http.Transport{
		Proxy:                  nil, // never the environment's proxy
		DialContext:            opt.dialContext(dialer),
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		DisableCompression:     true,
		MaxIdleConns:           max(100, idle),
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		Protocols:              &protocols,
	}
	return &http.Client{
		Transport:     &guardedTransport{base: base, allowHTTP: opt.AllowHTTP},
		CheckRedirect: refuseRedirect,
		Timeout:       timeout,
	}
}

func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("%w (to %s)", ErrRedirect, req.URL.Redacted())
}

// dialContext resolves the host with opt's resolver and dials its addresses in
// turn; the dialer's Control hook decides whether each may be dialled.
func (opt Options) dialContext(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		addrs, _, err := resolve(ctx, host, opt)
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, a := range addrs {
			a = a.Unmap()
			if (network == "tcp4" && !a.Is4()) || (network == "tcp6" && !a.Is6()) {
				continue
			}
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return conn, nil
			}
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		if firstErr == nil {
			firstErr = refused("host %s has no %s addresses", host, network)
		}
		return nil, firstErr
	}
}

// control runs after the socket is created and before it connects, with the
// address actually being dialled.
func (opt Options) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return refused("network %s is not allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("cannot check dial address %q", address)
	}
	if reason := opt.refusal(ap.Addr()); reason != "" {
		return refused("address %s is %s", ap.Addr(), reason)
	}
	return nil
}

// guardedTransport refuses requests the subscription check would have refused
// before handing them to the base transport.
type guardedTransport struct {
	base      *http.Transport
	allowHTTP bool
}

func (g *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	reason := checkScheme(req.URL.Scheme, g.allowHTTP)
	if reason == "" && req.URL.User != nil {
		reason = "URL must not contain user info"
	}
	if reason != "" {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &RefusedError{Reason: reason}
	}
	return g.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base
// transport.
func (g *guardedTransport) CloseIdleConnections() { g.base.CloseIdleConnections() }

// ReadBody reads at most limit bytes of resp.Body (DefaultBodyLimit when limit
// is not positive), discards up to a further 64 KiB so the connection can be
// reused, and closes the body. A longer body is truncated without error.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return b, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	return b, nil
}
