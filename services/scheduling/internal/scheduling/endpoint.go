package scheduling

import (
	"context"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Requests and responses of the endpoints. Business failures travel in the response
// (Failed), infrastructure faults as the endpoint's error.

type routesResponse struct {
	Routes []routeJSON `json:"routes"`
	Err    error       `json:"-"`
}

func (r routesResponse) Failed() error { return r.Err }

type routeRequest struct{ Code string }

type routeResponse struct {
	routeJSON
	Err error `json:"-"`
}

func (r routeResponse) Failed() error { return r.Err }

type departureRequest struct{ ID string }

// departureResponse carries the departure's version as its ETag; created answers 201.
type departureResponse struct {
	departureJSON
	created bool
	Err     error `json:"-"`
}

func (r departureResponse) Failed() error { return r.Err }

func (r departureResponse) Headers() http.Header {
	if r.Err != nil {
		return nil
	}
	return http.Header{"Etag": {kitx.ETag(r.Version)}}
}

func (r departureResponse) StatusCode() int {
	if r.created {
		return http.StatusCreated
	}
	return http.StatusOK
}

type createDepartureRequest struct{ Spec pgstore.DepartureSpec }

type bookRequest struct{ BookingRequest }

type bookingRequest struct{ ID string }

type bookingResponse struct {
	bookingJSON
	created bool
	Err     error `json:"-"`
}

func (r bookingResponse) Failed() error { return r.Err }

func (r bookingResponse) StatusCode() int {
	if r.created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// Wire formats.

type routeJSON struct {
	Code        string     `json:"code"`
	Name        string     `json:"name"`
	TransitDays int        `json:"transitDays"`
	FEUCN       int        `json:"feuChina"`
	FEUAbroad   int        `json:"feuAbroad"`
	Stops       []stopJSON `json:"stops"`
}

type stopJSON struct {
	Seq            int     `json:"seq"`
	UNLocationCode string  `json:"UNLocationCode"`
	Name           string  `json:"name"`
	Country        string  `json:"country"`
	Role           string  `json:"role"`
	GaugeMM        int     `json:"gaugeMm"`
	KmFromPrev     int     `json:"kmFromPrevious"`
	DwellHours     float64 `json:"dwellHours"`
	BreakOfGauge   bool    `json:"breakOfGauge"`
}

func toRouteJSON(r pgstore.Route) routeJSON {
	out := routeJSON{Code: r.Code, Name: r.Name, TransitDays: r.TransitDays, FEUCN: r.FEUCN, FEUAbroad: r.FEUAbroad,
		Stops: make([]stopJSON, len(r.Stops))}
	for i, st := range r.Stops {
		out.Stops[i] = stopJSON{Seq: st.Seq, UNLocationCode: st.UNLocationCode, Name: st.Name, Country: st.Country,
			Role: st.Role, GaugeMM: st.GaugeMM, KmFromPrev: st.KmFromPrev, DwellHours: st.Dwell.Hours(), BreakOfGauge: st.BreakOfGauge}
	}
	return out
}

type departureJSON struct {
	ID               string              `json:"id"`
	Route            string              `json:"route"`
	TrainNumber      string              `json:"trainNumber"`
	Status           string              `json:"status"`
	Cutoff           time.Time           `json:"cutoff"`
	PlannedDeparture time.Time           `json:"plannedDeparture"`
	Version          int                 `json:"version"`
	Stops            []departureStopJSON `json:"stops"`
	Segments         []segmentJSON       `json:"segments"`
}

type departureStopJSON struct {
	Seq              int        `json:"seq"`
	UNLocationCode   string     `json:"UNLocationCode"`
	PlannedArrival   *time.Time `json:"plannedArrival,omitempty"`
	PlannedDeparture *time.Time `json:"plannedDeparture,omitempty"`
	ActualArrival    *time.Time `json:"actualArrival,omitempty"`
	ActualDeparture  *time.Time `json:"actualDeparture,omitempty"`
}

type segmentJSON struct {
	Seq              int    `json:"seq"`
	From             string `json:"from"`
	To               string `json:"to"`
	TEUCapacity      int    `json:"teuCapacity"`
	TEUBooked        int    `json:"teuBooked"`
	WeightCapacityKg int64  `json:"weightCapacityKg"`
	WeightBookedKg   int64  `json:"weightBookedKg"`
}

func toDepartureJSON(d pgstore.Departure) departureJSON {
	out := departureJSON{ID: d.ID, Route: d.Route, TrainNumber: d.TrainNumber, Status: d.Status, Cutoff: d.Cutoff,
		PlannedDeparture: d.PlannedDeparture, Version: d.Version,
		Stops: make([]departureStopJSON, len(d.Stops)), Segments: make([]segmentJSON, len(d.Segments))}
	for i, st := range d.Stops {
		out.Stops[i] = departureStopJSON{Seq: st.Seq, UNLocationCode: st.UNLocationCode, PlannedArrival: st.PlannedArrival,
			PlannedDeparture: st.PlannedDeparture, ActualArrival: st.ActualArrival, ActualDeparture: st.ActualDeparture}
	}
	for i, g := range d.Segments {
		out.Segments[i] = segmentJSON{Seq: g.Seq, From: g.From, To: g.To, TEUCapacity: g.TEUCapacity, TEUBooked: g.TEUBooked,
			WeightCapacityKg: g.WeightCapacityKg, WeightBookedKg: g.WeightBookedKg}
	}
	return out
}

type bookingJSON struct {
	ID                 string     `json:"id"`
	DepartureID        string     `json:"departureID"`
	Tenant             string     `json:"tenant"`
	EquipmentReference string     `json:"equipmentReference"`
	ISOEquipmentCode   string     `json:"isoEquipmentCode"`
	TEU                int        `json:"teu"`
	GrossWeightKg      int64      `json:"grossWeightKg"`
	FromSeq            int        `json:"fromSeq"`
	ToSeq              int        `json:"toSeq"`
	Status             string     `json:"status"`
	ETA                *time.Time `json:"eta,omitempty"`
	WaitlistedAt       *time.Time `json:"waitlistedAt,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	Version            int        `json:"version"`
}

func toBookingJSON(b pgstore.Booking) bookingJSON {
	return bookingJSON{ID: b.ID, DepartureID: b.DepartureID, Tenant: b.Tenant, EquipmentReference: b.Container,
		ISOEquipmentCode: b.ISOCode, TEU: b.TEU, GrossWeightKg: b.GrossWeightKg, FromSeq: b.FromSeq, ToSeq: b.ToSeq,
		Status: b.Status, ETA: b.ETA, WaitlistedAt: b.WaitlistedAt, CreatedAt: b.CreatedAt, Version: b.Version}
}

func principal(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx) // the transport authenticates every request first
	return p
}

func makeRoutesEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, _ any) (any, error) {
		rs, err := s.Routes(ctx)
		out := routesResponse{Routes: make([]routeJSON, len(rs)), Err: kitx.Business(err)}
		for i, r := range rs {
			out.Routes[i] = toRouteJSON(r)
		}
		return out, kitx.Infra(err)
	}
}

func makeRouteEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r, err := s.Route(ctx, req.(routeRequest).Code)
		return routeResponse{routeJSON: toRouteJSON(r), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeDepartureEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		d, err := s.Departure(ctx, req.(departureRequest).ID)
		return departureResponse{departureJSON: toDepartureJSON(d), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeCreateDepartureEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		d, err := s.CreateDeparture(ctx, req.(createDepartureRequest).Spec)
		return departureResponse{departureJSON: toDepartureJSON(d), created: true, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeBookEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		b, err := s.Book(ctx, principal(ctx), req.(bookRequest).BookingRequest)
		return bookingResponse{bookingJSON: toBookingJSON(b), created: true, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeBookingEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		b, err := s.Booking(ctx, principal(ctx), req.(bookingRequest).ID)
		return bookingResponse{bookingJSON: toBookingJSON(b), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

type delayRequest struct {
	ID, IfMatch string
	DelayRequest
}

type capacityRequest struct {
	ID, IfMatch string
	CapacityRequest
}

func makeDelayEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(delayRequest)
		d, err := s.Delay(ctx, r.ID, r.IfMatch, r.DelayRequest)
		return departureResponse{departureJSON: toDepartureJSON(d), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeCapacityEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(capacityRequest)
		d, err := s.SetCapacity(ctx, r.ID, r.IfMatch, r.CapacityRequest)
		return departureResponse{departureJSON: toDepartureJSON(d), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

type cancelRequest struct {
	ID, IfMatch string
	CancelRequest
}

type movedJSON struct {
	BookingID     string `json:"bookingID"`
	ToDepartureID string `json:"toDepartureID"`
}

// cancelResponse summarises a cancellation; the departure's new version is its ETag.
type cancelResponse struct {
	Moved      []movedJSON `json:"moved"`
	Waitlisted []string    `json:"waitlisted"`
	version    int
	Err        error `json:"-"`
}

func (r cancelResponse) Failed() error { return r.Err }

func (r cancelResponse) Headers() http.Header {
	if r.Err != nil {
		return nil
	}
	return http.Header{"Etag": {kitx.ETag(r.version)}}
}

func makeCancelEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(cancelRequest)
		c, err := s.Cancel(ctx, r.ID, r.IfMatch, r.CancelRequest)
		out := cancelResponse{Moved: make([]movedJSON, len(c.Moved)), Waitlisted: make([]string, len(c.Waitlisted)),
			version: c.Departure.Version, Err: kitx.Business(err)}
		for i, m := range c.Moved {
			out.Moved[i] = movedJSON{BookingID: m.Booking.ID, ToDepartureID: m.ToDepartureID}
		}
		for i, b := range c.Waitlisted {
			out.Waitlisted[i] = b.ID
		}
		return out, kitx.Infra(err)
	}
}

type moveRequest struct{ MoveRequest }

// moveResponse lists the moved bookings as they are now.
type moveResponse struct {
	Bookings []bookingJSON `json:"bookings"`
	Err      error         `json:"-"`
}

func (r moveResponse) Failed() error { return r.Err }

func makeMoveEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		moves, err := s.Move(ctx, req.(moveRequest).MoveRequest)
		out := moveResponse{Bookings: make([]bookingJSON, len(moves)), Err: kitx.Business(err)}
		for i, m := range moves {
			out.Bookings[i] = toBookingJSON(m.Booking)
		}
		return out, kitx.Infra(err)
	}
}

// manifestResponse is a departure's manifest; Segments is absent for a shipper.
type manifestResponse struct {
	ID          string                `json:"id"`
	Route       string                `json:"route"`
	TrainNumber string                `json:"trainNumber"`
	Status      string                `json:"status"`
	Segments    []manifestSegmentJSON `json:"segments,omitempty"`
	Bookings    []manifestBookingJSON `json:"bookings"`
	Pairs       [][2]string           `json:"pairs"`
	Unpaired    []unpairedJSON        `json:"unpaired"`
	Waitlist    []manifestBookingJSON `json:"waitlist"`
	Err         error                 `json:"-"`
}

func (r manifestResponse) Failed() error { return r.Err }

type manifestSegmentJSON struct {
	From             string `json:"from"`
	To               string `json:"to"`
	TEUCapacity      int    `json:"teuCapacity"`
	TEUBooked        int    `json:"teuBooked"`
	TEUFree          int    `json:"teuFree"`
	WeightCapacityKg int64  `json:"weightCapacityKg"`
	WeightBookedKg   int64  `json:"weightBookedKg"`
	WeightFreeKg     int64  `json:"weightFreeKg"`
}

type manifestBookingJSON struct {
	ID                 string `json:"id"`
	Tenant             string `json:"tenant"`
	EquipmentReference string `json:"equipmentReference"`
	ISOEquipmentCode   string `json:"isoEquipmentCode"`
	TEU                int    `json:"teu"`
	GrossWeightKg      int64  `json:"grossWeightKg"`
	From               string `json:"from"`
	To                 string `json:"to"`
	Status             string `json:"status"`
}

type unpairedJSON struct {
	EquipmentReference string `json:"equipmentReference"`
	GrossWeightKg      int64  `json:"grossWeightKg"`
	Reason             string `json:"reason"`
}

func toManifestResponse(m Manifest) manifestResponse {
	d := m.Departure
	out := manifestResponse{ID: d.ID, Route: d.Route, TrainNumber: d.TrainNumber, Status: d.Status,
		Bookings: []manifestBookingJSON{}, Pairs: [][2]string{}, Unpaired: []unpairedJSON{}, Waitlist: []manifestBookingJSON{}}
	if m.Totals {
		for _, g := range d.Segments {
			out.Segments = append(out.Segments, manifestSegmentJSON{From: g.From, To: g.To,
				TEUCapacity: g.TEUCapacity, TEUBooked: g.TEUBooked, TEUFree: g.TEUCapacity - g.TEUBooked,
				WeightCapacityKg: g.WeightCapacityKg, WeightBookedKg: g.WeightBookedKg, WeightFreeKg: g.WeightCapacityKg - g.WeightBookedKg})
		}
	}
	stop := func(seq int) string {
		if seq >= 0 && seq < len(d.Stops) {
			return d.Stops[seq].UNLocationCode
		}
		return ""
	}
	toJSON := func(b pgstore.Booking) manifestBookingJSON {
		return manifestBookingJSON{ID: b.ID, Tenant: b.Tenant, EquipmentReference: b.Container, ISOEquipmentCode: b.ISOCode,
			TEU: b.TEU, GrossWeightKg: b.GrossWeightKg, From: stop(b.FromSeq), To: stop(b.ToSeq), Status: b.Status}
	}
	for _, b := range m.Bookings {
		out.Bookings = append(out.Bookings, toJSON(b))
	}
	for _, b := range m.Waitlist {
		out.Waitlist = append(out.Waitlist, toJSON(b))
	}
	for _, p := range m.Pairs {
		out.Pairs = append(out.Pairs, [2]string{p.A.Container, p.B.Container})
	}
	for _, u := range m.Unpaired {
		out.Unpaired = append(out.Unpaired, unpairedJSON{EquipmentReference: u.Booking.Container,
			GrossWeightKg: u.Booking.GrossWeightKg, Reason: u.Reason})
	}
	return out
}

func makeManifestEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		m, err := s.Manifest(ctx, principal(ctx), req.(departureRequest).ID)
		out := toManifestResponse(m)
		out.Err = kitx.Business(err)
		return out, kitx.Infra(err)
	}
}
