package otlpspan_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/otlpspan"
)

func str(k, v string) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: v}}}
}

// request is one span of service tracking under a resource and a scope, as an SDK sends it.
func request() *collectortracev1.ExportTraceServiceRequest {
	return &collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
		Resource: &resourcev1.Resource{Attributes: []*commonv1.KeyValue{str("service.name", "tracking")}},
		ScopeSpans: []*tracev1.ScopeSpans{{
			Scope: &commonv1.InstrumentationScope{Name: "otelhttp"},
			Spans: []*tracev1.Span{{
				TraceId: bytes.Repeat([]byte{0xab}, 16), SpanId: bytes.Repeat([]byte{0x01}, 8), ParentSpanId: bytes.Repeat([]byte{0x02}, 8),
				Name: "POST", Kind: tracev1.Span_SPAN_KIND_SERVER, StartTimeUnixNano: 1e9, EndTimeUnixNano: 1e9 + 5e6,
				Attributes: []*commonv1.KeyValue{str("http.route", "/v1/events"),
					{Key: "n", Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_IntValue{IntValue: 7}}}},
				Status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_ERROR, Message: "boom"},
			}},
		}},
	}}}
}

func TestFlatten(t *testing.T) {
	got := otlpspan.Flatten(request())
	if len(got) != 1 {
		t.Fatalf("%d spans", len(got))
	}
	s := got[0]
	if s.TraceID != "abababababababababababababababab" || s.SpanID != "0101010101010101" || s.ParentSpanID != "0202020202020202" ||
		s.Service != "tracking" || s.Scope != "otelhttp" || s.Kind != trace.SpanKindServer || s.Attr("http.route") != "/v1/events" ||
		s.Attr("n") != "7" || s.StatusCode != tracev1.Status_STATUS_CODE_ERROR || s.StatusMsg != "boom" || s.Duration() != 5*time.Millisecond {
		t.Fatalf("span %+v", s)
	}
}

// The handler never panics and answers 200, 400, 413 or 415 whatever the body; seeded with a
// valid request, plain and gzipped.
func FuzzHandler(f *testing.F) {
	raw, err := proto.Marshal(request())
	if err != nil {
		f.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	f.Add(raw, false)
	f.Add(zipped.Bytes(), true)
	f.Add([]byte("\xff\xff"), false)
	h := otlpspan.Handler(1<<16, func(spans []otlpspan.Span) {
		for _, s := range spans {
			_ = s.String()
		}
	})
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", otlpspan.ContentType)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}
