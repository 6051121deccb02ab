package scheduling

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// maxBody bounds a JSON request body; departures and bookings are a few hundred bytes.
const maxBody = 64 << 10

// Who may call what: everyone reads the network and departures; dispatchers (and admins) plan
// departures; shippers book for their own tenant, dispatchers for any.
var (
	readers  = []auth.Role{auth.RoleShipper, auth.RoleDispatcher, auth.RoleCarrier}
	planners = []auth.Role{auth.RoleDispatcher}
	bookers  = []auth.Role{auth.RoleShipper, auth.RoleDispatcher}
)

// router registers one route: its pattern, the operation name its spans and logs carry, the
// endpoint, the request decoder and the roles allowed to call it.
type router func(pattern, name string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, roles ...auth.Role)

// MountHTTP registers the scheduling routes on mux.
func MountHTTP(mux *app.Mux, s *Scheduler, log *slog.Logger) {
	opts := kitx.ServerOptions(log)
	var route router = func(pattern, name string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, roles ...auth.Role) {
		e = kitx.Chain(e, kitx.RequireRole(roles...), kitx.TraceEndpoint(name), kitx.LogEndpoint(log, name))
		mux.Handle(pattern, kithttp.NewServer(e, dec, kitx.EncodeJSON, opts...))
	}
	route("GET /v1/routes", "routes", makeRoutesEndpoint(s), decodeNothing, readers...)
	route("GET /v1/routes/{code}", "route", makeRouteEndpoint(s), decodeRoute, readers...)
	route("GET /v1/departures/{id}", "departure", makeDepartureEndpoint(s), decodeDeparture, readers...)
	route("GET /v1/departures/{id}/manifest", "departure.manifest", makeManifestEndpoint(s), decodeDeparture, bookers...)
	route("POST /v1/departures", "departure.create", makeCreateDepartureEndpoint(s), decodeCreateDeparture, planners...)
	route("POST /v1/departures/{id}/delay", "departure.delay", makeDelayEndpoint(s), decodeDelay, planners...)
	route("PUT /v1/departures/{id}/capacity", "departure.capacity", makeCapacityEndpoint(s), decodeCapacity, planners...)
	route("POST /v1/departures/{id}/cancel", "departure.cancel", makeCancelEndpoint(s), decodeCancel, planners...)
	route("POST /v1/bookings/move", "booking.move", makeMoveEndpoint(s), decodeMove, planners...)
	route("POST /v1/bookings", "booking.create", makeBookEndpoint(s), decodeBook, bookers...)
	route("GET /v1/bookings/{id}", "booking", makeBookingEndpoint(s), decodeBooking, bookers...)
	mountTimetables(route, s)
	mountShipments(route, s)
	mountExceptions(route, s)
}

func decodeNothing(context.Context, *http.Request) (any, error) { return nil, nil }

func decodeRoute(_ context.Context, r *http.Request) (any, error) {
	return routeRequest{Code: r.PathValue("code")}, nil
}

func decodeDeparture(_ context.Context, r *http.Request) (any, error) {
	return departureRequest{ID: r.PathValue("id")}, nil
}

func decodeBooking(_ context.Context, r *http.Request) (any, error) {
	return bookingRequest{ID: r.PathValue("id")}, nil
}

// departureBody is the body of POST /v1/departures. Times are RFC 3339 with an explicit offset;
// the capacity fields are optional overrides of the route's defaults.
type departureBody struct {
	Route            string `json:"route"`
	TrainNumber      string `json:"trainNumber"`
	PlannedDeparture string `json:"plannedDeparture"`
	Cutoff           string `json:"cutoff"`
	Status           string `json:"status"`
	TEUChina         int    `json:"teuChina"`
	TEUAbroad        int    `json:"teuAbroad"`
	WeightCapacityKg int64  `json:"weightCapacityKg"`
}

func decodeCreateDeparture(_ context.Context, r *http.Request) (any, error) {
	var b departureBody
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	spec := pgstore.DepartureSpec{Route: b.Route, TrainNumber: b.TrainNumber, Status: b.Status,
		TEUCN: b.TEUChina, TEUAbroad: b.TEUAbroad, WeightKg: b.WeightCapacityKg}
	spec.PlannedDeparture = timeField(v, "plannedDeparture", b.PlannedDeparture)
	spec.Cutoff = timeField(v, "cutoff", b.Cutoff)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return createDepartureRequest{Spec: spec}, nil
}

// timeField parses a required RFC 3339 time with an offset, noting a problem in v.
func timeField(v *apperr.ValidationError, field, s string) (t time.Time) {
	if s == "" {
		v.Add(field, "is required")
		return t
	}
	p, err := rfc3339.Parse(s)
	if err != nil {
		v.Add(field, err.Error())
		return t
	}
	return p.Time()
}

func decodeBook(_ context.Context, r *http.Request) (any, error) {
	var b BookingRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return bookRequest{BookingRequest: b}, nil
}

// The writes to an existing departure carry If-Match; the service checks it after the role, so
// a caller without the role hears 403, not 428.

func decodeDelay(_ context.Context, r *http.Request) (any, error) {
	var b DelayRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return delayRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), DelayRequest: b}, nil
}

func decodeCapacity(_ context.Context, r *http.Request) (any, error) {
	var b CapacityRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return capacityRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), CapacityRequest: b}, nil
}

func decodeCancel(_ context.Context, r *http.Request) (any, error) {
	var b CancelRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return cancelRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), CancelRequest: b}, nil
}

func decodeMove(_ context.Context, r *http.Request) (any, error) {
	var b MoveRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return moveRequest{MoveRequest: b}, nil
}
