package otlptest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/otlptest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// Spans exported by the SDK's OTLP/HTTP exporter, gzip or not, arrive with their trace,
// parent, kind, attributes and service.name.
func TestReceivesExportedSpans(t *testing.T) {
	for _, compression := range []otlptracehttp.Compression{otlptracehttp.NoCompression, otlptracehttp.GzipCompression} {
		t.Run(fmt.Sprint("compression ", compression), func(t *testing.T) {
			rc := otlptest.Start(t)
			exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(rc.URL+"/v1/traces"), otlptracehttp.WithCompression(compression))
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(10*time.Millisecond)),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "otlptest"))))
			defer func() { _ = tp.Shutdown(context.Background()) }()

			tr := tp.Tracer("otlptest-test")
			ctx, consumer := tr.Start(t.Context(), "process events", trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.Int("scoda.attempt", 2)))
			_, client := tr.Start(ctx, "webhook POST", trace.WithSpanKind(trace.SpanKindClient))
			client.End()
			consumer.End()
			_, other := tr.Start(t.Context(), "unrelated")
			other.End()

			traceID := consumer.SpanContext().TraceID().String()
			spans := rc.WaitTrace(t, 10*time.Second, traceID, func(s []otlptest.Span) error {
				if len(s) != 2 {
					return fmt.Errorf("%d spans of the trace, want 2", len(s))
				}
				return nil
			})
			c := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Kind == trace.SpanKindConsumer })
			w := otlptest.Find(spans, func(s otlptest.Span) bool { return s.Kind == trace.SpanKindClient })
			if len(c) != 1 || len(w) != 1 {
				t.Fatalf("spans %v", spans)
			}
			if c[0].Service != "otlptest" || c[0].Attr("messaging.system") != "nats" || c[0].Attr("scoda.attempt") != "2" ||
				c[0].SpanID != consumer.SpanContext().SpanID().String() || c[0].ParentSpanID != "" || c[0].Scope != "otlptest-test" {
				t.Fatalf("consumer span %+v", c[0])
			}
			if w[0].Name != "webhook POST" || !otlptest.DescendsFrom(spans, w[0], c[0].SpanID) || w[0].End.Before(w[0].Start) {
				t.Fatalf("client span %+v", w[0])
			}
			if len(rc.Trace(other.SpanContext().TraceID().String())) != 1 || rc.Requests() == 0 {
				t.Fatalf("the unrelated trace: %v", rc.Spans())
			}
		})
	}
}

// Anything but a protobuf export is refused, and nothing is stored.
func TestRefusesOtherBodies(t *testing.T) {
	rc := otlptest.Start(t)
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"json", "application/json", "{}", http.StatusUnsupportedMediaType},
		{"garbage", "application/x-protobuf", "\xff\xff\xff", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(rc.URL+"/v1/traces", tc.contentType, bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if rc.Requests() != 0 || len(rc.Spans()) != 0 {
		t.Fatalf("stored %d requests", rc.Requests())
	}
}

func TestParseTraceparent(t *testing.T) {
	for _, tc := range []struct {
		in, trace, span string
		ok              bool
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true},
		{"00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01", "", "", false},
		{"00-4bf92f35-00f067aa0ba902b7-01", "", "", false},
		{"", "", "", false},
	} {
		tr, sp, err := otlptest.ParseTraceparent(tc.in)
		if (err == nil) != tc.ok || tr != tc.trace || sp != tc.span {
			t.Errorf("ParseTraceparent(%q) = %q, %q, %v", tc.in, tr, sp, err)
		}
	}
}

func TestEnviron(t *testing.T) {
	rc := otlptest.Start(t)
	env := strings.Join(rc.Environ(), "\n")
	for _, want := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + rc.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"} {
		if !strings.Contains(env, want) {
			t.Errorf("Environ lacks %s:\n%s", want, env)
		}
	}
}
