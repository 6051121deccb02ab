package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/scodalabs/scoda/pkg/observability"
)

func TestLoggerCarriesTraceIDs(t *testing.T) {
	tel := setup(t)
	var buf bytes.Buffer
	log := observability.NewLogger(&buf, slog.LevelInfo, slog.String("service", "test"))

	ctx, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside a span")
	span.End()
	log.InfoContext(context.Background(), "outside")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d: %s", len(lines), buf.String())
	}
	var in, out map[string]any
	mustJSON(t, lines[0], &in)
	mustJSON(t, lines[1], &out)
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("trace ids missing or wrong: %v", in)
	}
	if in["service"] != "test" {
		t.Errorf("static attribute lost: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("a line without a span must not carry a trace id: %v", out)
	}
}

func TestSpansWithoutEndpointAndPrometheusMetrics(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	tel := setup(t)
	if tel.Exporting {
		t.Fatal("no endpoint configured, yet Exporting is true")
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	if !span.SpanContext().IsValid() || !span.IsRecording() {
		t.Fatal("spans must be created even when nothing exports them")
	}
	span.End()

	c, err := otel.Meter("test").Int64Counter("scoda.test.things")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 3)

	rec := httptest.NewRecorder()
	tel.MetricsHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"scoda_test_things_total", "go_goroutines", `service_name="observability-test"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestExportsSpansToOTLPEndpoint(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			_, _ = io.Copy(io.Discard, r.Body)
			posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")

	tel, err := observability.Setup(context.Background(), observability.Config{ServiceName: "observability-test"})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Exporting {
		t.Fatal("endpoint configured, yet Exporting is false")
	}
	_, span := otel.Tracer("test").Start(context.Background(), "exported")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatal("shutdown flushed no spans to the OTLP endpoint")
	}
}

func TestUnsupportedProtocolIsAnError(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := observability.Setup(context.Background(), observability.Config{ServiceName: "x"}); err == nil {
		t.Fatal("want an error for an unsupported protocol")
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		ok   bool
	}{{"debug", slog.LevelDebug, true}, {"INFO", slog.LevelInfo, true}, {"warn", slog.LevelWarn, true}, {"loud", 0, false}} {
		got, err := observability.ParseLevel(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func setup(t *testing.T) *observability.Telemetry {
	t.Helper()
	tel, err := observability.Setup(context.Background(), observability.Config{ServiceName: "observability-test", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
}
