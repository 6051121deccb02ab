package tracking

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/dcsa"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/pkg/unlocode"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
)

// Limits of the HTTP API.
const (
	maxIngestBody   = 4 << 20 // 1,000 DCSA events of about 1-2 KB each, with room
	defaultPageSize = 50
	maxPageSize     = 500
	maxNear         = 1000
)

// readers may look at containers; carriers read what they ingest, shippers only their own.
var readers = []auth.Role{auth.RoleShipper, auth.RoleDispatcher, auth.RoleCarrier}

// MountHTTP registers the tracking routes on mux.
func MountHTTP(mux *app.Mux, s *Tracker, log *slog.Logger) {
	opts := kitx.ServerOptions(log)
	route := func(pattern, name string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, roles ...auth.Role) {
		e = kitx.Chain(e, kitx.RequireRole(roles...), kitx.TraceEndpoint(name), kitx.LogEndpoint(log, name))
		mux.Handle(pattern, kithttp.NewServer(e, dec, kitx.EncodeJSON, opts...))
	}
	route("POST /v1/events", "ingest", makeIngestEndpoint(s), decodeIngest, auth.RoleCarrier)
	route("GET /v1/containers/{containerNo}", "container", makeContainerEndpoint(s), decodeContainer, readers...)
	route("GET /v1/containers/{containerNo}/events", "history", makeHistoryEndpoint(s), decodeHistory, readers...)
	route("GET /v1/containers", "near", makeNearEndpoint(s), decodeNear, auth.RoleDispatcher)
	route("GET /v2/events", "dcsa.events", makeV2EventsEndpoint(s), decodeV2Events, readers...)
}

func decodeIngest(_ context.Context, r *http.Request) (any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, kitx.ErrUnsupportedMedia
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxIngestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, kitx.ErrTooLarge
		}
		return nil, &kitx.MalformedError{Field: "body", Reason: "could not be read"}
	}
	return ingestRequest{Body: body}, nil
}

func decodeContainer(_ context.Context, r *http.Request) (any, error) {
	return containerRequest{Container: r.PathValue("containerNo")}, nil
}

func decodeHistory(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	v := &apperr.ValidationError{}
	f := pgstore.Filter{
		EventTypes: codes(v, q, "eventType", func(s string) error { _, err := dcsa.ParseEventType(s); return err }),
		TypeCodes:  codes(v, q, "typeCode", validTypeCode),
		Locations:  locations(v, q, "UNLocationCode"),
		References: q["reference"],
	}
	f.OccurredFrom = timeParam(v, q, "from")
	f.OccurredTo = timeParam(v, q, "to")
	limit := limitParam(v, q)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return historyRequest{Query: HistoryQuery{Container: r.PathValue("containerNo"), Filter: f, Cursor: q.Get("cursor"), Limit: limit}}, nil
}

func decodeNear(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	v := &apperr.ValidationError{}
	req := nearRequest{Limit: 100}
	lat, lon, ok := strings.Cut(q.Get("near"), ",")
	if !ok {
		v.Add("near", "must be lat,lon in decimal degrees, e.g. 45.18,82.43")
	} else if p, err := parsePoint(lat, lon); err != nil {
		v.Add("near", err.Error())
	} else {
		req.Center = p
	}
	rk, err := strconv.ParseFloat(q.Get("radiusKm"), 64)
	switch {
	case err != nil:
		v.Add("radiusKm", "must be a number of kilometres")
	case rk <= 0 || rk > 5000:
		v.Add("radiusKm", "must be more than 0 and at most 5000")
	default:
		req.RadiusKm = rk
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxNear {
			v.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(maxNear))
		}
		req.Limit = n
	}
	return req, v.Err()
}

func parsePoint(lat, lon string) (geo.Point, error) {
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	if err1 != nil || err2 != nil {
		return geo.Point{}, errors.New("must be lat,lon in decimal degrees")
	}
	return geo.NewPoint(la, lo)
}

// decodeV2Events reads the DCSA Track & Trace 2.2 filters. Comma lists mean OR; a bad enum
// value is a 400, as DCSA specifies.
func decodeV2Events(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	v := &apperr.ValidationError{}
	f := pgstore.Filter{
		EventTypes:      codes(v, q, "eventType", func(s string) error { _, err := dcsa.ParseEventType(s); return err }),
		DocumentTypes:   codes(v, q, "documentTypeCode", func(s string) error { _, err := dcsa.ParseDocumentTypeCode(s); return err }),
		CarrierBookings: list(q, "carrierBookingReference"),
		TransportDocs:   list(q, "transportDocumentReference"),
		Locations:       locations(v, q, "UNLocationCode"),
	}
	f.TypeCodes = append(f.TypeCodes, codes(v, q, "equipmentEventTypeCode", func(s string) error { _, err := dcsa.ParseEquipmentEventTypeCode(s); return err })...)
	f.TypeCodes = append(f.TypeCodes, codes(v, q, "transportEventTypeCode", func(s string) error { _, err := dcsa.ParseTransportEventTypeCode(s); return err })...)
	f.TypeCodes = append(f.TypeCodes, codes(v, q, "shipmentEventTypeCode", func(s string) error { _, err := dcsa.ParseShipmentEventTypeCode(s); return err })...)
	for _, c := range list(q, "equipmentReference") {
		no, err := iso6346.Parse(c)
		if err != nil {
			v.Add("equipmentReference", err.Error())
			continue
		}
		f.Containers = append(f.Containers, string(no))
	}
	for key := range q {
		name, op, ok := strings.Cut(key, ":")
		if name != "eventCreatedDateTime" {
			continue
		}
		sql, known := map[string]string{"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "="}[op]
		if !ok {
			sql, known = "=", true
		}
		if !known {
			v.Add(key, "operator must be one of :gte, :gt, :lte, :lt, :eq")
			continue
		}
		t, err := rfc3339.Parse(q.Get(key))
		if err != nil {
			v.Add(key, err.Error())
			continue
		}
		f.Created = append(f.Created, pgstore.TimeCond{Op: sql, At: t.UTC()})
	}
	limit := limitParam(v, q)
	if err := v.Err(); err != nil {
		return nil, &kitx.MalformedError{Field: v.Fields[0].Field, Reason: v.Fields[0].Reason}
	}
	query := url.Values{}
	for k, vs := range q {
		if k != "cursor" && k != "limit" {
			query[k] = vs
		}
	}
	return v2Request{Filter: f, Cursor: q.Get("cursor"), Limit: limit, Query: query}, nil
}

// list splits comma lists and repeated parameters into one list.
func list(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// codes reads a list of code values, checking each with valid.
func codes(v *apperr.ValidationError, q url.Values, key string, valid func(string) error) []string {
	vals := list(q, key)
	for i, c := range vals {
		c = strings.ToUpper(c)
		if err := valid(c); err != nil {
			v.Add(key, err.Error())
		}
		vals[i] = c
	}
	return vals
}

func validTypeCode(s string) error {
	if _, err := dcsa.ParseEquipmentEventTypeCode(s); err == nil {
		return nil
	}
	if _, err := dcsa.ParseTransportEventTypeCode(s); err == nil {
		return nil
	}
	if _, err := dcsa.ParseShipmentEventTypeCode(s); err == nil {
		return nil
	}
	return errors.New("unknown type code " + strconv.Quote(s))
}

func locations(v *apperr.ValidationError, q url.Values, key string) []string {
	var out []string
	for _, s := range list(q, key) {
		c, err := unlocode.Parse(s)
		if err != nil {
			v.Add(key, err.Error())
			continue
		}
		out = append(out, string(c))
	}
	return out
}

func timeParam(v *apperr.ValidationError, q url.Values, key string) time.Time {
	s := q.Get(key)
	if s == "" {
		return time.Time{}
	}
	t, err := rfc3339.Parse(s)
	if err != nil {
		v.Add(key, err.Error())
		return time.Time{}
	}
	return t.UTC()
}

func limitParam(v *apperr.ValidationError, q url.Values) int {
	s := q.Get("limit")
	if s == "" {
		return defaultPageSize
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageSize {
		v.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(maxPageSize))
		return defaultPageSize
	}
	return n
}
