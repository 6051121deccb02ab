package notification

import (
	"log/slog"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
)

// maxBody bounds a JSON request body.
const maxBody = 64 << 10

// router registers one route: its pattern, the operation name its spans and logs carry, the
// endpoint, the request decoder and the roles allowed to call it.
type router func(pattern, name string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, roles ...auth.Role)

// MountHTTP registers the notification routes on mux.
func MountHTTP(mux *app.Mux, n *Notifier, log *slog.Logger) {
	opts := kitx.ServerOptions(log)
	var route router = func(pattern, name string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, roles ...auth.Role) {
		e = kitx.Chain(e, kitx.RequireRole(roles...), kitx.TraceEndpoint(name), kitx.LogEndpoint(log, name))
		mux.Handle(pattern, kithttp.NewServer(e, dec, kitx.EncodeJSON, opts...))
	}
	mountSubscriptions(route, n)
	mountDeliveries(route, n)
}
