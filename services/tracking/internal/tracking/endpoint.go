package tracking

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-kit/kit/endpoint"

	"github.com/scodalabs/scoda/pkg/auth"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/tracking/internal/domain"
)

// Requests and responses of the endpoints. Business failures travel in the response
// (Failed), infrastructure faults as the endpoint's error.

type ingestRequest struct{ Body []byte }

type ingestResponse struct {
	IngestResult
	Err error `json:"-"`
}

func (r ingestResponse) Failed() error   { return r.Err }
func (r ingestResponse) StatusCode() int { return http.StatusAccepted }

type containerRequest struct{ Container string }

type containerResponse struct {
	Status
	Err error `json:"-"`
}

func (r containerResponse) Failed() error { return r.Err }

type historyRequest struct{ Query HistoryQuery }

type eventsResponse struct {
	Events []domain.DCSAEvent `json:"events"`
	Next   string             `json:"nextCursor,omitempty"`
	Err    error              `json:"-"`
}

func (r eventsResponse) Failed() error { return r.Err }

type nearRequest struct {
	Center   geo.Point
	RadiusKm float64
	Limit    int
}

type nearResponse struct {
	Containers []nearby `json:"containers"`
	Err        error    `json:"-"`
}

type nearby struct {
	Container  string  `json:"equipmentReference"`
	DistanceKm float64 `json:"distanceKm"`
	Latitude   float64 `json:"latitude"`
	Longitude  float64 `json:"longitude"`
}

func (r nearResponse) Failed() error { return r.Err }

type v2Request struct {
	Filter pgstore.Filter
	Cursor string
	Limit  int
	Query  url.Values // the caller's query, for the Next-Page link
}

// v2Response is a DCSA 2.2 page: a bare array, paging in headers.
type v2Response struct {
	Events []domain.DCSAEvent
	header http.Header
	Err    error
}

func (r v2Response) Failed() error        { return r.Err }
func (r v2Response) Headers() http.Header { return r.header }

// MarshalJSON writes the bare array DCSA expects.
func (r v2Response) MarshalJSON() ([]byte, error) { return json.Marshal(r.Events) }

func principal(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx) // the transport authenticates every request first
	return p
}

func makeIngestEndpoint(s *Tracker) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(ingestRequest)
		res, err := s.Ingest(ctx, principal(ctx).Subject, commonv1.SourceType_SOURCE_TYPE_CARRIER, r.Body)
		return ingestResponse{IngestResult: res, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeContainerEndpoint(s *Tracker) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		st, err := s.Container(ctx, principal(ctx), req.(containerRequest).Container)
		return containerResponse{Status: st, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeHistoryEndpoint(s *Tracker) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		page, err := s.History(ctx, principal(ctx), req.(historyRequest).Query)
		return eventsResponse{Events: toDCSA(page), Next: page.Next, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeNearEndpoint(s *Tracker) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(nearRequest)
		found, err := s.Nearby(ctx, r.Center, r.RadiusKm, r.Limit)
		out := nearResponse{Containers: make([]nearby, 0, len(found)), Err: kitx.Business(err)}
		for _, n := range found {
			out.Containers = append(out.Containers, nearby{Container: n.Container, DistanceKm: n.DistanceKm, Latitude: n.Lat, Longitude: n.Lon})
		}
		return out, kitx.Infra(err)
	}
}

func makeV2EventsEndpoint(s *Tracker) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(v2Request)
		page, err := s.Events(ctx, principal(ctx), r.Filter, r.Cursor, r.Limit)
		h := http.Header{"Api-Version": {domain.DCSAVersion}}
		if page.Next != "" {
			q := url.Values{}
			for k, v := range r.Query {
				q[k] = v
			}
			q.Set("cursor", page.Next)
			q.Set("limit", strconv.Itoa(r.Limit))
			h.Set("Next-Page-Cursor", page.Next)
			h.Set("Next-Page", "/v2/events?"+q.Encode())
		}
		return v2Response{Events: toDCSA(page), header: h, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func toDCSA(p EventPage) []domain.DCSAEvent {
	out := make([]domain.DCSAEvent, len(p.Events))
	for i, ev := range p.Events {
		out[i] = domain.ToDCSA(ev)
	}
	return out
}
