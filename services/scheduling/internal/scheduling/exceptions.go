package scheduling

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// mountExceptions registers the exception routes and the route waitlist.
func mountExceptions(route router, s *Scheduler) {
	route("GET /v1/exceptions", "exceptions", makeExceptionsEndpoint(s), decodeExceptions, bookers...)
	route("GET /v1/routes/{code}/waitlist", "route.waitlist", makeWaitlistEndpoint(s), decodeRoute, planners...)
}

// exception is an exception to raise: its row (whose key makes it once only) and the event
// announcing it.
type exception struct {
	row   pgstore.Exception
	event *schedulev1.ExceptionEvent
}

// raise records e in tx and enqueues its event, unless an exception with its key was raised
// before (then nothing happens).
func (s *Scheduler) raise(ctx context.Context, tx pgx.Tx, e exception) error {
	raised, err := s.store.RaiseException(ctx, tx, e.row)
	if err != nil || !raised {
		return err
	}
	return enqueue(ctx, tx, e.event)
}

// lateness is how much later than its first plan (the baseline) a departure runs at its
// latest stop: at each stop, the actual departure (else the planned one) against the baseline
// departure, and the actual arrival (else the planned one) against the baseline arrival. It
// returns the stop with the largest lateness (the first of equals).
func lateness(d pgstore.Departure) (seq int, baseline, at time.Time, late time.Duration) {
	seq = -1
	consider := func(i int, base, actual, planned *time.Time) {
		if base == nil {
			return
		}
		t := actual
		if t == nil {
			t = planned
		}
		if t == nil {
			return
		}
		if l := t.Sub(*base); seq < 0 || l > late {
			seq, baseline, at, late = i, *base, *t, l
		}
	}
	for i, st := range d.Stops {
		consider(i, st.BaselineArrival, st.ActualArrival, st.PlannedArrival)
		consider(i, st.BaselineDeparture, st.ActualDeparture, st.PlannedDeparture)
	}
	return seq, baseline, at, late
}

// checkLate raises schedule.v1.exception.departure_late, once per departure, when d runs later
// than its baseline by more than cfg.LateThreshold at some stop (see lateness).
func (s *Scheduler) checkLate(ctx context.Context, tx pgx.Tx, d pgstore.Departure) error {
	seq, baseline, at, late := lateness(d)
	if seq < 0 || late <= s.cfg.LateThreshold {
		return nil
	}
	loc := d.Stops[seq].UNLocationCode
	return s.raise(ctx, tx, exception{
		row: pgstore.Exception{Key: pgstore.ExceptionDepartureLate + ":" + d.ID, Kind: pgstore.ExceptionDepartureLate,
			DepartureID: d.ID, Detail: fmt.Sprintf("train %s runs %s late at %s (stop %d)", d.TrainNumber, late, loc, seq+1)},
		event: &schedulev1.ExceptionEvent{Envelope: envelope("", s.now()), DepartureId: d.ID, RouteCode: d.Route,
			TrainNumber: d.TrainNumber, Change: &schedulev1.ExceptionEvent_DepartureLate{DepartureLate: &schedulev1.DepartureLate{
				Delay: durationpb.New(late), Threshold: durationpb.New(s.cfg.LateThreshold), Location: location(loc),
				StopSequence: int32(seq + 1), PlannedAt: timestamppb.New(baseline), ActualAt: timestamppb.New(at)}}},
	})
}

// borderDwell is the exception of a train that stayed at border stop seq of d for dwell.
func (s *Scheduler) borderDwell(d pgstore.Departure, seq int, arrived time.Time, dwell time.Duration) exception {
	loc := d.Stops[seq].UNLocationCode
	return exception{
		row: pgstore.Exception{Key: fmt.Sprintf("%s:%s:%d", pgstore.ExceptionBorderDwell, d.ID, seq),
			Kind: pgstore.ExceptionBorderDwell, DepartureID: d.ID,
			Detail: fmt.Sprintf("train %s stayed %s at border stop %s (stop %d)", d.TrainNumber, dwell.Round(time.Second), loc, seq+1)},
		event: &schedulev1.ExceptionEvent{Envelope: envelope("", s.now()), DepartureId: d.ID, RouteCode: d.Route,
			TrainNumber: d.TrainNumber, Change: &schedulev1.ExceptionEvent_BorderDwell{BorderDwell: &schedulev1.BorderDwell{
				Location: location(loc), StopSequence: int32(seq + 1), ArrivedAt: timestamppb.New(arrived),
				Dwell: durationpb.New(dwell), Threshold: durationpb.New(s.cfg.BorderDwellThreshold)}}},
	}
}

// checkBorderDepartureDwell raises border_dwell for stop seq of d when the train has just left
// it, it is a border stop, and it stayed there longer than cfg.BorderDwellThreshold (the sweeper
// may have raised it already while it stayed: then nothing happens).
func (s *Scheduler) checkBorderDepartureDwell(ctx context.Context, tx pgx.Tx, d pgstore.Departure, seq int) error {
	if seq <= 0 || seq >= len(d.Stops) {
		return nil
	}
	st := d.Stops[seq]
	if st.ActualArrival == nil || st.ActualDeparture == nil {
		return nil
	}
	dwell := st.ActualDeparture.Sub(*st.ActualArrival)
	if dwell <= s.cfg.BorderDwellThreshold {
		return nil
	}
	border, err := s.store.IsBorderStop(ctx, tx, d.Route, seq)
	if err != nil || !border {
		return err
	}
	return s.raise(ctx, tx, s.borderDwell(d, seq, *st.ActualArrival, dwell))
}

// Sweeper closes departures at their cut-off and raises the exceptions time alone reveals
// (missed cut-offs, border dwells), every cfg.SweepInterval (and once at start). Each departure
// is handled in its own transaction, taken with FOR UPDATE SKIP LOCKED so that replicas share
// the work; an error is logged and the sweep goes on with the next departure.
func (s *Scheduler) Sweeper(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error {
		every := s.cfg.SweepInterval
		if every <= 0 {
			every = DefaultConfig().SweepInterval
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			s.sweep(ctx, log)
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	})
}

// sweep handles every departure with work due, one transaction each, until none is left.
func (s *Scheduler) sweep(ctx context.Context, log *slog.Logger) {
	var done []string
	for ctx.Err() == nil {
		now := s.now()
		id, found, err := s.store.SweepNext(ctx, now, s.cfg.BorderDwellThreshold, done,
			func(tx pgx.Tx, due pgstore.Due) error { return s.sweepDue(ctx, tx, due, now) })
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "sweep: departure", slog.String("departure", id), slog.Any("err", err))
		}
		if !found {
			return
		}
		done = append(done, id) // once per sweep, whether it went well or not
	}
}

// sweepDue announces what the sweeper did to one departure and raises what it found.
func (s *Scheduler) sweepDue(ctx context.Context, tx pgx.Tx, due pgstore.Due, now time.Time) error {
	d := due.Departure
	if due.Closed {
		if err := enqueue(ctx, tx, &schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: d.ID,
			RouteCode: d.Route, TrainNumber: d.TrainNumber, Change: &schedulev1.DepartureEvent_Closed{
				Closed: &schedulev1.DepartureClosed{Reason: "cut-off reached"}}}); err != nil {
			return err
		}
	}
	ids := make([]string, len(due.Missed))
	for i, b := range due.Missed {
		ids[i] = b.ID
	}
	ships, err := s.store.ShipmentsOf(ctx, tx, ids)
	if err != nil {
		return err
	}
	for _, b := range due.Missed {
		var from string
		if b.FromSeq >= 0 && b.FromSeq < len(d.Stops) {
			from = d.Stops[b.FromSeq].UNLocationCode
		}
		ship := ships[b.ID]
		if err := s.raise(ctx, tx, exception{
			row: pgstore.Exception{Key: pgstore.ExceptionMissedCutoff + ":" + b.ID, Kind: pgstore.ExceptionMissedCutoff,
				DepartureID: d.ID, BookingID: b.ID, Tenant: b.Tenant,
				Detail: fmt.Sprintf("container %s was not gated in at %s by the cut-off %s of train %s",
					b.Container, from, d.Cutoff.UTC().Format(time.RFC3339), d.TrainNumber)},
			event: &schedulev1.ExceptionEvent{Envelope: envelope(b.Tenant, now), DepartureId: d.ID, RouteCode: d.Route,
				TrainNumber: d.TrainNumber, BookingId: b.ID, EquipmentReference: b.Container, ShipmentId: ship.ID,
				TransportDocumentReference: ship.TransportDocumentReference,
				Change: &schedulev1.ExceptionEvent_MissedCutoff{MissedCutoff: &schedulev1.MissedCutoff{
					CutoffAt: timestamppb.New(d.Cutoff), Location: location(from)}}},
		}); err != nil {
			return err
		}
	}
	for _, st := range due.Dwelling {
		if st.Seq < 0 || st.Seq >= len(d.Stops) {
			continue
		}
		if err := s.raise(ctx, tx, s.borderDwell(d, st.Seq, st.ArrivedAt, now.Sub(st.ArrivedAt))); err != nil {
			return err
		}
	}
	return nil
}

// --- GET /v1/exceptions ----------------------------------------------------------------------

// ExceptionQuery selects exceptions: every field is optional.
type ExceptionQuery struct {
	Kind        string
	DepartureID string
	Since       string // RFC 3339 with an offset
	Limit       string // 1 to MaxExceptionPage; DefaultExceptionPage when empty
	Cursor      string // nextCursor of the page before
}

// The page sizes of GET /v1/exceptions.
const (
	DefaultExceptionPage = 50
	MaxExceptionPage     = 500
)

// ExceptionPage is a page of exceptions, newest first; Next is the cursor of the next page, ""
// on the last.
type ExceptionPage struct {
	Exceptions []pgstore.Exception
	Next       string
}

// Exceptions lists the exceptions raised, newest first. Dispatchers and admins see all; a
// shipper only its own tenant's exceptions about its bookings.
func (s *Scheduler) Exceptions(ctx context.Context, p auth.Principal, q ExceptionQuery) (ExceptionPage, error) {
	v := &apperr.ValidationError{}
	f := pgstore.ExceptionFilter{Kind: q.Kind, Limit: DefaultExceptionPage}
	switch q.Kind {
	case "", pgstore.ExceptionMissedCutoff, pgstore.ExceptionDepartureLate, pgstore.ExceptionBorderDwell, pgstore.ExceptionWaitlisted:
	default:
		v.Add("kind", "is one of missed_cutoff, departure_late, border_dwell, waitlisted")
	}
	if q.DepartureID != "" {
		if id, err := uuid.Parse(q.DepartureID); err != nil {
			v.Add("departureId", "is a UUID")
		} else {
			f.DepartureID = id.String()
		}
	}
	if q.Since != "" {
		if t, err := rfc3339.Parse(q.Since); err != nil {
			v.Add("since", err.Error())
		} else {
			f.Since = t.Time()
		}
	}
	if n, err := paging.Limit(q.Limit, DefaultExceptionPage, MaxExceptionPage); err != nil {
		v.Add("limit", err.Error())
	} else {
		f.Limit = n
	}
	if c, err := paging.Decode(q.Cursor, nil); err != nil {
		v.Add("cursor", "is not a cursor this API sent")
	} else {
		f.After = c
	}
	if err := v.Err(); err != nil {
		return ExceptionPage{}, err
	}
	if p.Role == auth.RoleShipper {
		f.Tenant, f.TenantOnly = p.Tenant, true
	}
	list, err := s.store.Exceptions(ctx, f)
	if err != nil {
		return ExceptionPage{}, err
	}
	out := ExceptionPage{Exceptions: list}
	if len(list) == f.Limit {
		last := list[len(list)-1]
		out.Next = paging.Cursor{At: last.RaisedAt, ID: last.Key}.Encode()
	}
	return out, nil
}

type exceptionsRequest struct{ ExceptionQuery }

func decodeExceptions(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	return exceptionsRequest{ExceptionQuery{Kind: q.Get("kind"), DepartureID: q.Get("departureId"), Since: q.Get("since"),
		Limit: q.Get("limit"), Cursor: q.Get("cursor")}}, nil
}

type exceptionJSON struct {
	Key                string    `json:"key"`
	Kind               string    `json:"kind"`
	DepartureID        string    `json:"departureId,omitempty"`
	Route              string    `json:"route,omitempty"`
	TrainNumber        string    `json:"trainNumber,omitempty"`
	BookingID          string    `json:"bookingId,omitempty"`
	EquipmentReference string    `json:"equipmentReference,omitempty"`
	Tenant             string    `json:"tenant,omitempty"`
	Detail             string    `json:"detail"`
	RaisedAt           time.Time `json:"raisedAt"`
}

type exceptionsResponse struct {
	Exceptions []exceptionJSON `json:"exceptions"`
	NextCursor string          `json:"nextCursor,omitempty"`
	Err        error           `json:"-"`
}

func (r exceptionsResponse) Failed() error { return r.Err }

func makeExceptionsEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		page, err := s.Exceptions(ctx, principal(ctx), req.(exceptionsRequest).ExceptionQuery)
		out := exceptionsResponse{Exceptions: make([]exceptionJSON, len(page.Exceptions)), NextCursor: page.Next,
			Err: kitx.Business(err)}
		for i, e := range page.Exceptions {
			out.Exceptions[i] = exceptionJSON{Key: e.Key, Kind: e.Kind, DepartureID: e.DepartureID, Route: e.Route,
				TrainNumber: e.TrainNumber, BookingID: e.BookingID, EquipmentReference: e.EquipmentReference,
				Tenant: e.Tenant, Detail: e.Detail, RaisedAt: e.RaisedAt}
		}
		return out, kitx.Infra(err)
	}
}

// --- GET /v1/routes/{code}/waitlist ------------------------------------------------------------

// Waitlist returns a route's waitlist in order; apperr.ErrNotFound when there is no such route.
func (s *Scheduler) Waitlist(ctx context.Context, route string) ([]pgstore.WaitlistEntry, error) {
	return s.store.Waitlist(ctx, route)
}

type waitlistEntryJSON struct {
	Position           int        `json:"position"`
	BookingID          string     `json:"bookingId"`
	Tenant             string     `json:"tenant"`
	EquipmentReference string     `json:"equipmentReference"`
	ISOEquipmentCode   string     `json:"isoEquipmentCode"`
	TEU                int        `json:"teu"`
	GrossWeightKg      int64      `json:"grossWeightKg"`
	From               string     `json:"from"`
	To                 string     `json:"to"`
	DepartureID        string     `json:"departureId"`
	TrainNumber        string     `json:"trainNumber"`
	WaitlistedAt       *time.Time `json:"waitlistedAt,omitempty"`
}

type waitlistResponse struct {
	Route    string              `json:"route"`
	Waitlist []waitlistEntryJSON `json:"waitlist"`
	Err      error               `json:"-"`
}

func (r waitlistResponse) Failed() error { return r.Err }

func makeWaitlistEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		code := req.(routeRequest).Code
		list, err := s.Waitlist(ctx, code)
		out := waitlistResponse{Route: code, Waitlist: make([]waitlistEntryJSON, len(list)), Err: kitx.Business(err)}
		for i, w := range list {
			b := w.Booking
			out.Waitlist[i] = waitlistEntryJSON{Position: w.Position, BookingID: b.ID, Tenant: b.Tenant,
				EquipmentReference: b.Container, ISOEquipmentCode: b.ISOCode, TEU: b.TEU, GrossWeightKg: b.GrossWeightKg,
				From: w.From, To: w.To, DepartureID: b.DepartureID, TrainNumber: w.TrainNumber, WaitlistedAt: b.WaitlistedAt}
		}
		return out, kitx.Infra(err)
	}
}
