package notification

import (
	"context"
	"net/http"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

// Helpers shared by the endpoints of every area of the API (subscriptions, deliveries).
// Business failures travel in a response's Failed(), infrastructure faults as the endpoint's
// error (kitx.Business / kitx.Infra).

// Paging of every list: limit is 1 to maxPageLimit, defaultPageLimit when not given.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// principal is the caller; the transport authenticates every request before an endpoint runs.
func principal(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}

// scope is the tenant whose resources p may see: its own for a shipper, "" (every tenant) for
// the other roles.
func scope(p auth.Principal) string {
	if p.Role == auth.RoleShipper {
		return p.Tenant
	}
	return ""
}

// etag is the ETag header of a resource at version.
func etag(version int) http.Header { return http.Header{"Etag": {kitx.ETag(version)}} }

// pageArgs parses a page's limit and cursor (the nextCursor of the page before), noting
// problems in v.
func pageArgs(v *apperr.ValidationError, limit, cursor string) (int, *paging.Cursor) {
	n, err := paging.Limit(limit, defaultPageLimit, maxPageLimit)
	if err != nil {
		v.Add("limit", err.Error())
	}
	after, err := pgstore.DecodeCursor(cursor)
	if err != nil {
		v.Add("cursor", err.Error())
	}
	return n, after
}

// idRequest names one resource by the {id} of its path.
type idRequest struct{ ID string }

func decodeID(_ context.Context, r *http.Request) (any, error) {
	return idRequest{ID: r.PathValue("id")}, nil
}

// emptyResponse is an answer without a body: 204 No Content.
type emptyResponse struct {
	Err error `json:"-"`
}

func (r emptyResponse) Failed() error { return r.Err }

func (r emptyResponse) StatusCode() int { return http.StatusNoContent }
