// Package otlpspan receives OpenTelemetry trace exports over OTLP/HTTP and flattens them into
// spans: ids in lowercase hex, the resource's service.name beside each span's own attributes.
//
// Handler serves POST /v1/traces as the OTLP/HTTP specification says for the binary protobuf
// encoding (application/x-protobuf, gzip or not), which is what the OpenTelemetry SDKs send with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf. It is shared by the test receiver
// (pkg/testkit/otlptest) and the local trace recorder of `make run` (scripts/cmd/tracesink).
package otlpspan

import (
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// ContentType is the only request encoding Handler accepts (OTLP/HTTP binary protobuf).
const ContentType = "application/x-protobuf"

// Span is one exported span, flattened.
type Span struct {
	TraceID      string
	SpanID       string
	ParentSpanID string // "" for a root span
	Name         string
	Kind         trace.SpanKind
	Service      string         // the resource attribute service.name
	Scope        string         // the instrumentation scope's name
	Attributes   map[string]any // string, int64, float64, bool, []byte, []any or map[string]any
	Resource     map[string]any
	StatusCode   tracev1.Status_StatusCode
	StatusMsg    string
	Start, End   time.Time
}

// Attr returns the attribute key printed as text ("" when absent): ints in decimal, bools as
// true/false.
func (s Span) Attr(key string) string {
	v, ok := s.Attributes[key]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// Duration is End - Start (0 when the exporter sent an end before the start).
func (s Span) Duration() time.Duration {
	return max(s.End.Sub(s.Start), 0)
}

// String names the span for failure messages.
func (s Span) String() string {
	return fmt.Sprintf("%s %q (%s, trace %s, span %s, parent %s)", s.Service, s.Name, s.Kind, s.TraceID, s.SpanID, s.ParentSpanID)
}

// Handler serves POST /v1/traces: it decodes an ExportTraceServiceRequest, hands its spans to
// accept (which must not keep a reference to the request) and answers 200 with an empty
// ExportTraceServiceResponse. A request that is not application/x-protobuf gets 415; a bad gzip
// stream or protobuf 400; a body above maxBody bytes, compressed or not, 413. Error answers
// carry a protobuf google.rpc.Status whose message says what was wrong, as the specification
// asks; none of them is retryable, so an exporter drops that batch rather than sending it again.
func Handler(maxBody int64, accept func([]Span)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, code, err := decode(w, r, maxBody)
		if err != nil {
			writeStatus(w, code, err)
			return
		}
		accept(Flatten(msg))
		out, err := proto.Marshal(&collectortracev1.ExportTraceServiceResponse{})
		if err != nil {
			writeStatus(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		_, _ = w.Write(out)
	})
}

// decode reads and unmarshals the request, or says which status to answer with and why.
func decode(w http.ResponseWriter, r *http.Request, maxBody int64) (*collectortracev1.ExportTraceServiceRequest, int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentType {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: only %s is accepted", r.Header.Get("Content-Type"), ContentType)
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, statusOf(err), fmt.Errorf("bad gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q: only gzip or none is accepted", enc)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, statusOf(err), fmt.Errorf("unreadable body: %w", err)
	}
	if int64(len(raw)) > maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("decompressed body is larger than %d bytes", maxBody)
	}
	var msg collectortracev1.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("not an ExportTraceServiceRequest: %w", err)
	}
	return &msg, http.StatusOK, nil
}

// statusOf tells a body above the limit (413) from any other read error (400).
func statusOf(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func writeStatus(w http.ResponseWriter, code int, err error) {
	out, merr := proto.Marshal(&status.Status{Message: err.Error()})
	if merr != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(code)
	_, _ = w.Write(out)
}

// Flatten turns a request's resource and scope nesting into one Span per span, in the
// request's order.
func Flatten(msg *collectortracev1.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		service, _ := res["service.name"].(string)
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				out = append(out, Span{
					TraceID:      hex.EncodeToString(sp.GetTraceId()),
					SpanID:       hex.EncodeToString(sp.GetSpanId()),
					ParentSpanID: hex.EncodeToString(sp.GetParentSpanId()),
					Name:         sp.GetName(),
					Kind:         kind(sp.GetKind()),
					Service:      service,
					Scope:        ss.GetScope().GetName(),
					Attributes:   attributes(sp.GetAttributes()),
					Resource:     res,
					StatusCode:   sp.GetStatus().GetCode(),
					StatusMsg:    sp.GetStatus().GetMessage(),
					Start:        time.Unix(0, int64(sp.GetStartTimeUnixNano())),
					End:          time.Unix(0, int64(sp.GetEndTimeUnixNano())),
				})
			}
		}
	}
	return out
}

func kind(k tracev1.Span_SpanKind) trace.SpanKind {
	switch k {
	case tracev1.Span_SPAN_KIND_INTERNAL:
		return trace.SpanKindInternal
	case tracev1.Span_SPAN_KIND_SERVER:
		return trace.SpanKindServer
	case tracev1.Span_SPAN_KIND_CLIENT:
		return trace.SpanKindClient
	case tracev1.Span_SPAN_KIND_PRODUCER:
		return trace.SpanKindProducer
	case tracev1.Span_SPAN_KIND_CONSUMER:
		return trace.SpanKindConsumer
	default:
		return trace.SpanKindUnspecified
	}
}

func attributes(kvs []*commonv1.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

func value(v *commonv1.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_IntValue:
		return x.IntValue
	case *commonv1.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonv1.AnyValue_BoolValue:
		return x.BoolValue
	case *commonv1.AnyValue_BytesValue:
		return x.BytesValue
	case *commonv1.AnyValue_ArrayValue:
		var out []any
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, value(e))
		}
		return out
	case *commonv1.AnyValue_KvlistValue:
		return attributes(x.KvlistValue.GetValues())
	default:
		return nil
	}
}
