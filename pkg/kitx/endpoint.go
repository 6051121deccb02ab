package kitx

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-kit/kit/endpoint"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
)

// Chain composes endpoint middleware around e; the first one given is the outermost.
func Chain(e endpoint.Endpoint, mws ...endpoint.Middleware) endpoint.Endpoint {
	for i := len(mws) - 1; i >= 0; i-- {
		e = mws[i](e)
	}
	return e
}

// TraceEndpoint wraps an endpoint in an internal span named after it. Infrastructure errors and
// business failures (endpoint.Failer) are both recorded, but only the former set an error
// status: a 404 is not an outage.
func TraceEndpoint(name string) endpoint.Middleware {
	tracer := otel.Tracer("github.com/scodalabs/scoda/pkg/kitx")
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			ctx, span := tracer.Start(ctx, "endpoint "+name, trace.WithSpanKind(trace.SpanKindInternal))
			defer span.End()
			resp, err := next(ctx, req)
			switch {
			case err != nil:
				span.RecordError(err)
				if ProblemFor(err).Status >= 500 {
					span.SetStatus(codes.Error, err.Error())
				}
			case failed(resp) != nil:
				span.RecordError(failed(resp))
			}
			return resp, err
		}
	}
}

// LogEndpoint logs failures at the edge: infrastructure errors at error level, business
// failures at debug. Successes are left to the access log.
func LogEndpoint(log *slog.Logger, name string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			start := time.Now()
			resp, err := next(ctx, req)
			if err != nil {
				level := slog.LevelDebug
				if ProblemFor(err).Status >= 500 {
					level = slog.LevelError
				}
				log.Log(ctx, level, "endpoint error", "endpoint", name, "err", err, "duration_ms", time.Since(start).Milliseconds())
			} else if f := failed(resp); f != nil {
				log.DebugContext(ctx, "endpoint business failure", "endpoint", name, "err", f)
			}
			return resp, err
		}
	}
}

// RequireRole lets the call through only for principals with one of roles (admin always).
// A missing principal is 401, a wrong role 403.
func RequireRole(roles ...auth.Role) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			p, ok := auth.FromContext(ctx)
			if !ok {
				return nil, apperr.ErrUnauthenticated
			}
			if !p.Allowed(roles...) {
				return nil, fmt.Errorf("%w: role %s may not do this (needs %v)", apperr.ErrForbidden, p.Role, roles)
			}
			return next(ctx, req)
		}
	}
}

func failed(resp any) error {
	if f, ok := resp.(endpoint.Failer); ok {
		return f.Failed()
	}
	return nil
}

// SplitError separates what a service method returned into the business failure its response
// carries (anything the client caused or may know about: bad input, not found, conflict, a
// stale version — whatever maps to a 4xx) and the infrastructure fault the endpoint returns
// as its error (5xx, counted by breakers and error metrics). At most one of the two is set.
func SplitError(err error) (business, infra error) {
	if err == nil {
		return nil, nil
	}
	if ProblemFor(err).Status < 500 {
		return err, nil
	}
	return nil, err
}

// Business is the business half of SplitError: what goes into a response's Failed().
func Business(err error) error { b, _ := SplitError(err); return b }

// Infra is the infrastructure half of SplitError: what an endpoint returns as its error.
func Infra(err error) error { _, i := SplitError(err); return i }
