// Package otlptest is an in-process OTLP/HTTP trace receiver for tests: point a process's
// exporter at it (OTEL_EXPORTER_OTLP_ENDPOINT, protocol http/protobuf) and assert on the spans
// it exported — their trace, parent, kind, attributes and the service.name of their resource.
//
// It accepts POST /v1/traces with an application/x-protobuf ExportTraceServiceRequest (gzip
// or not), as the OpenTelemetry SDKs send it. A process under test may be this one (a service
// started with servicetest) or a child process (Environ gives the variables to pass it).
package otlptest

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/otlpspan"
	"github.com/scodalabs/scoda/pkg/testkit"
)

// maxRequest bounds one export request's body (decompressed).
const maxRequest = 64 << 20

// Span is one exported span, flattened: ids in lowercase hex as logs and traceparent print
// them, the resource's service.name beside the span's own attributes (see otlpspan.Span).
type Span = otlpspan.Span

// Receiver is a running OTLP/HTTP trace receiver.
type Receiver struct {
	// URL is the base URL (http://127.0.0.1:<port>): the value of OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	spans    []Span
	requests int
}

// Start runs a receiver until the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/traces", otlpspan.Handler(maxRequest, r.add))
	r.srv = httptest.NewServer(mux)
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// Environ is the environment that makes an OpenTelemetry SDK (ours: pkg/observability) export
// every sampled span to r over http/protobuf within about 100 ms: the endpoint, the protocol,
// the exporter, the default sampler spelled out (parentbased_always_on: every root is sampled,
// a child follows its parent's sampled flag), overriding whatever the developer's shell says,
// and a short batch delay (the SDK's default is 5 s).
func (r *Receiver) Environ() []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + r.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_TRACES_SAMPLER=parentbased_always_on",
		"OTEL_BSP_SCHEDULE_DELAY=100",
	}
}

// Setenv sets Environ in this process for the duration of t (so a service started in-process
// afterwards exports to r). Like t.Setenv, it cannot be used in parallel tests.
func (r *Receiver) Setenv(t *testing.T) {
	t.Helper()
	for _, kv := range r.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Requests counts the export requests received and decoded.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Spans returns every span received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Trace returns the spans received so far of trace traceID (hex).
func (r *Receiver) Trace(traceID string) []Span {
	traceID = strings.ToLower(traceID)
	var out []Span
	for _, s := range r.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// WaitTrace waits (up to within) until check accepts the spans received of trace traceID,
// and returns them; it fails the test with check's last complaint otherwise.
func (r *Receiver) WaitTrace(t testing.TB, within time.Duration, traceID string, check func([]Span) error) []Span {
	t.Helper()
	var spans []Span
	testkit.Eventually(t, within, func() error {
		spans = r.Trace(traceID)
		if len(spans) == 0 {
			return fmt.Errorf("no span of trace %s yet (%d spans of other traces)", traceID, len(r.Spans()))
		}
		return check(spans)
	})
	return spans
}

// Find returns the spans among spans that match.
func Find(spans []Span, match func(Span) bool) []Span {
	var out []Span
	for _, s := range spans {
		if match(s) {
			out = append(out, s)
		}
	}
	return out
}

// Ancestors returns s's parent, its parent's parent and so on, as far as spans hold them,
// nearest first.
func Ancestors(spans []Span, s Span) []Span {
	byID := make(map[string]Span, len(spans))
	for _, sp := range spans {
		byID[sp.SpanID] = sp
	}
	var out []Span
	for p, ok := byID[s.ParentSpanID]; ok && len(out) <= len(spans); p, ok = byID[p.ParentSpanID] {
		out = append(out, p)
	}
	return out
}

// DescendsFrom tells whether the parent chain of s, within spans, reaches the span ancestorID.
func DescendsFrom(spans []Span, s Span, ancestorID string) bool {
	if s.ParentSpanID == ancestorID {
		return true
	}
	for _, a := range Ancestors(spans, s) {
		if a.SpanID == ancestorID || a.ParentSpanID == ancestorID {
			return true
		}
	}
	return false
}

// add keeps the spans of one decoded export request.
func (r *Receiver) add(spans []Span) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, spans...)
	r.requests++
}

// ParseTraceparent returns the trace id and parent span id of a W3C traceparent header value
// (version 00), lowercase hex.
func ParseTraceparent(v string) (traceID, spanID string, err error) {
	parts := strings.Split(strings.TrimSpace(v), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		return "", "", fmt.Errorf("traceparent %q is not version-traceid-spanid-flags", v)
	}
	for _, p := range parts[:4] {
		if _, err := hex.DecodeString(p); err != nil {
			return "", "", fmt.Errorf("traceparent %q: %q is not hex", v, p)
		}
	}
	return strings.ToLower(parts[1]), strings.ToLower(parts[2]), nil
}
