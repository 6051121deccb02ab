package kitx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/auth"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

type requestIDKey struct{}

// RequestIDFrom returns the request id of ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestID accepts a sane X-Request-ID from the client (at most 128 characters of
// [A-Za-z0-9._-]) or makes one, puts it in the context, the response and the current span.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("http.request.id", id))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Recover turns a panic in a handler into a logged 500 problem, so no input can crash the
// service. http.ErrAbortHandler is re-panicked as net/http expects.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
					"method", r.Method, "path", r.URL.Path)
				WriteProblem(r.Context(), w, ProblemFor(errors.New("panic")))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Authenticate requires a valid bearer token on every request it wraps; the principal goes
// into the context. Failures answer 401 problem+json with a WWW-Authenticate challenge.
func Authenticate(v *auth.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := v.Verify(bearerToken(r))
			if err != nil {
				WriteProblem(r.Context(), w, ProblemFor(err))
				return
			}
			trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("enduser.role", string(p.Role)))
			next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
		})
	}
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}

// ProblemMux answers requests that match no route of mux (404, 405 with Allow) with
// problem+json instead of ServeMux's plain text.
func ProblemMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			setRoute(r, pattern)
			mux.ServeHTTP(w, r)
			return
		}
		// Ask the mux what it would say (404 or 405 and its Allow header) without writing it.
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteProblem(r.Context(), w, StatusProblem(probe.status))
	})
}

type routeKey struct{}

// setRoute names the matched route where the outer middleware can see it: the access log (through
// a holder it put in the context), the server span's name and its http.route attribute.
func setRoute(r *http.Request, pattern string) {
	if holder, ok := r.Context().Value(routeKey{}).(*string); ok {
		*holder = pattern
	}
	span := trace.SpanFromContext(r.Context())
	span.SetName(pattern)
	_, path, _ := strings.Cut(pattern, " ")
	span.SetAttributes(attribute.String("http.route", path))
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// statusRecorder remembers the status written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming handlers (SSE) flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog writes one line per request: method, route, status, size, duration, request id and
// (through the context) trace id. Bodies and headers are never logged.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			route := new(string)
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "http request",
				"method", r.Method, "route", *route, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "request_id", w.Header().Get(RequestIDHeader))
		})
	}
}

// DecodeJSON (a go-kit DecodeRequestFunc helper) reads a JSON body of at most maxBytes into v, rejecting unknown fields and trailing
// data. Errors are MalformedError (400), ErrTooLarge (413) or ErrUnsupportedMedia (415), each
// naming the field when it can.
func DecodeJSON(r *http.Request, v any, maxBytes int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fmt.Errorf("%w: %q (send application/json)", ErrUnsupportedMedia, ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, maxBytes)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &MalformedError{Field: "body", Reason: "unexpected data after the JSON value"}
	}
	return nil
}

func jsonError(err error, maxBytes int64) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		tooB *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooB):
		return fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, maxBytes)
	case errors.As(err, &syn):
		return &MalformedError{Field: "body", Reason: fmt.Sprintf("invalid JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &MalformedError{Field: field, Reason: "must be " + jsonKind(typ.Type.Kind().String())}
	case errors.Is(err, io.EOF):
		return &MalformedError{Field: "body", Reason: "the body is empty"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &MalformedError{Field: "body", Reason: "the JSON ends too early"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &MalformedError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Reason: "unknown field"}
	default:
		return &MalformedError{Field: "body", Reason: "cannot be read as JSON"}
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float") {
			return "a number"
		}
		return "of another type"
	}
}

// EncodeJSON is the go-kit response encoder of every service: a response whose Failed() is not
// nil goes out as problem+json; otherwise JSON, with the status and headers the response asks
// for (kithttp.StatusCoder, kithttp.Headerer).
func EncodeJSON(ctx context.Context, w http.ResponseWriter, response any) error {
	if f, ok := response.(endpoint.Failer); ok && f.Failed() != nil {
		EncodeError(ctx, f.Failed(), w)
		return nil
	}
	return kithttp.EncodeJSONResponse(ctx, w, response)
}

// ServerOptions are the go-kit server options every route uses: problem+json errors, request
// metadata in the context, and infrastructure errors logged.
func ServerOptions(log *slog.Logger) []kithttp.ServerOption {
	return []kithttp.ServerOption{
		kithttp.ServerBefore(kithttp.PopulateRequestContext),
		kithttp.ServerErrorEncoder(EncodeError),
		kithttp.ServerErrorHandler(errorHandler{log}),
	}
}

type errorHandler struct{ log *slog.Logger }

func (h errorHandler) Handle(ctx context.Context, err error) {
	if p := ProblemFor(err); p.Status >= 500 {
		h.log.ErrorContext(ctx, "request failed", "err", err)
	}
}

// NewServer returns an http.Server with timeouts suited to an API: slow clients cannot hold
// connections forever, and long responses (streams) set their own deadlines via
// http.ResponseController.
func NewServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
