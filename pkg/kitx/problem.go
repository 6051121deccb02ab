// Package kitx is the go-kit glue every SCODA service uses: RFC 9457 problem+json errors,
// endpoint middleware (tracing, logging, roles), request ids, authentication, JSON codecs and
// the HTTP plumbing around them.
package kitx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	kithttp "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object with our extension members: the invalid fields,
// and the request and trace ids that lead an operator to the logs and the trace.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	TraceID   string              `json:"trace_id,omitempty"`

	headers http.Header
}

// Problem type URIs. They are identifiers (URNs), documented in docs/problems.md.
const (
	TypeBlank              = "about:blank"
	TypeValidation         = "urn:scoda:problem:validation"
	TypeMalformed          = "urn:scoda:problem:malformed-request"
	TypeUnauthenticated    = "urn:scoda:problem:unauthenticated"
	TypeForbidden          = "urn:scoda:problem:forbidden"
	TypeNotFound           = "urn:scoda:problem:not-found"
	TypeConflict           = "urn:scoda:problem:conflict"
	TypePrecondition       = "urn:scoda:problem:precondition-failed"
	TypePreconditionNeeded = "urn:scoda:problem:precondition-required"
	TypeTooLarge           = "urn:scoda:problem:payload-too-large"
	TypeUnsupportedMedia   = "urn:scoda:problem:unsupported-media-type"
	TypeUnavailable        = "urn:scoda:problem:unavailable"
	TypeInternal           = "urn:scoda:problem:internal"
)

// MalformedError is a request the server could not parse at all (bad JSON, wrong shape).
type MalformedError struct {
	Field  string // the JSON path when known, else "body"
	Reason string
}

func (e *MalformedError) Error() string { return "malformed request: " + e.Field + ": " + e.Reason }

// Sentinel transport errors.
var (
	ErrTooLarge         = errors.New("request body too large")
	ErrUnsupportedMedia = errors.New("unsupported media type")
)

// ProblemFor maps an error to a Problem with errors.Is / errors.As. Unknown errors become a 500
// whose detail says nothing about internals.
func ProblemFor(err error) Problem {
	var (
		verr *apperr.ValidationError
		merr *MalformedError
	)
	switch {
	case errors.As(err, &verr):
		return Problem{Type: TypeValidation, Title: "Your request has invalid fields", Status: http.StatusUnprocessableEntity,
			Detail: "Nothing was changed. Each entry of errors names a field and the reason.", Errors: verr.Fields}
	case errors.As(err, &merr):
		return Problem{Type: TypeMalformed, Title: "The request could not be read", Status: http.StatusBadRequest,
			Detail: merr.Reason, Errors: []apperr.FieldError{{Field: merr.Field, Reason: merr.Reason}}}
	case errors.Is(err, ErrTooLarge):
		return Problem{Type: TypeTooLarge, Title: "Request body too large", Status: http.StatusRequestEntityTooLarge, Detail: err.Error()}
	case errors.Is(err, ErrUnsupportedMedia):
		return Problem{Type: TypeUnsupportedMedia, Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: err.Error()}
	case errors.Is(err, apperr.ErrUnauthenticated), errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken):
		p := Problem{Type: TypeUnauthenticated, Title: "Authentication required", Status: http.StatusUnauthorized, Detail: err.Error()}
		p.headers = http.Header{"Www-Authenticate": {`Bearer realm="scoda"`}}
		if errors.Is(err, auth.ErrInvalidToken) {
			p.headers.Set("Www-Authenticate", `Bearer realm="scoda", error="invalid_token"`)
		}
		return p
	case errors.Is(err, apperr.ErrForbidden):
		return Problem{Type: TypeForbidden, Title: "Not allowed", Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, apperr.ErrNotFound):
		return Problem{Type: TypeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, apperr.ErrConflict):
		return Problem{Type: TypeConflict, Title: "Conflict with the current state", Status: http.StatusConflict, Detail: err.Error()}
	case errors.Is(err, apperr.ErrPreconditionFailed):
		return Problem{Type: TypePrecondition, Title: "The resource has changed", Status: http.StatusPreconditionFailed,
			Detail: "If-Match does not match the current ETag: read it again and retry."}
	case errors.Is(err, apperr.ErrPreconditionRequired):
		return Problem{Type: TypePreconditionNeeded, Title: "If-Match required", Status: http.StatusPreconditionRequired,
			Detail: "Send If-Match with the ETag of your last read."}
	case errors.Is(err, apperr.ErrUnavailable):
		p := Problem{Type: TypeUnavailable, Title: "Temporarily unavailable", Status: http.StatusServiceUnavailable, Detail: "A dependency is unavailable; retry later."}
		p.headers = http.Header{"Retry-After": {"5"}}
		return p
	case errors.Is(err, context.DeadlineExceeded):
		return Problem{Type: TypeUnavailable, Title: "Timed out", Status: http.StatusGatewayTimeout, Detail: "The request took too long; retry later."}
	default:
		return Problem{Type: TypeInternal, Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "Something went wrong on our side. Quote the request_id when you report it."}
	}
}

// StatusProblem is a plain problem for a bare HTTP status (404 for an unknown route, 405, ...).
func StatusProblem(status int) Problem {
	return Problem{Type: TypeBlank, Title: http.StatusText(status), Status: status}
}

// WriteProblem writes p as problem+json, filling request and trace ids from ctx.
func WriteProblem(ctx context.Context, w http.ResponseWriter, p Problem) {
	if p.RequestID == "" {
		p.RequestID = RequestIDFrom(ctx)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && p.TraceID == "" {
		p.TraceID = sc.TraceID().String()
	}
	if p.Instance == "" {
		if path, ok := ctx.Value(kithttp.ContextKeyRequestPath).(string); ok {
			p.Instance = path
		}
	}
	for k, vs := range p.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen with these field types; keep the client informed anyway
		body = []byte(`{"type":"` + TypeInternal + `","title":"Internal error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// EncodeError is the go-kit ErrorEncoder of every service: the error as problem+json.
func EncodeError(ctx context.Context, err error, w http.ResponseWriter) {
	WriteProblem(ctx, w, ProblemFor(err))
}
