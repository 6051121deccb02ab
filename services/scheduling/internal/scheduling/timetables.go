package scheduling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Timetables, generation and the booking window.
const (
	DefaultTimeZone     = "Asia/Shanghai"
	DefaultCutoffBefore = 24 * time.Hour
	DefaultOpenBefore   = 14 * 24 * time.Hour
	MaxGenerateSpan     = 12 * 7 * 24 * time.Hour // the longest from..to of one generation request
	timetableInterval   = time.Hour               // how often the worker generates and opens runs

	defaultListLimit = 50
	maxListLimit     = 200
)

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// mountTimetables registers the timetable, open/close and departure list routes.
func mountTimetables(route router, s *Scheduler) {
	route("POST /v1/timetables", "timetable.create", makeCreateTimetableEndpoint(s), decodeCreateTimetable, planners...)
	route("GET /v1/timetables", "timetables", makeTimetablesEndpoint(s), decodeTimetables, readers...)
	route("GET /v1/timetables/{id}", "timetable", makeTimetableEndpoint(s), decodeTimetable, readers...)
	route("PATCH /v1/timetables/{id}", "timetable.update", makeUpdateTimetableEndpoint(s), decodeUpdateTimetable, planners...)
	route("DELETE /v1/timetables/{id}", "timetable.delete", makeDeleteTimetableEndpoint(s), decodeTimetable, planners...)
	route("POST /v1/timetables/generate", "timetable.generate", makeGenerateEndpoint(s), decodeGenerate, planners...)
	route("POST /v1/departures/{id}/open", "departure.open", makeOpenEndpoint(s), decodeOpen, planners...)
	route("POST /v1/departures/{id}/close", "departure.close", makeCloseEndpoint(s), decodeClose, planners...)
	route("GET /v1/departures", "departures", makeDeparturesEndpoint(s), decodeDepartures, readers...)
}

// --- service ---------------------------------------------------------------------------------

// TimetableRequest is a new timetable as the API takes it. Durations are Go durations ("24h",
// "90m") or whole days ("14d"); dates are YYYY-MM-DD.
type TimetableRequest struct {
	Route            string `json:"route"`
	Weekday          string `json:"weekday"`
	DepartureTime    string `json:"departureTime"`
	TimeZone         string `json:"timeZone"`
	TrainNumber      string `json:"trainNumber"`
	CutoffBefore     string `json:"cutoffBefore"`
	OpenBefore       string `json:"openBefore"`
	TEUChina         *int   `json:"teuChina"`
	TEUAbroad        *int   `json:"teuAbroad"`
	WeightCapacityKg *int64 `json:"weightCapacityKg"`
	ValidFrom        string `json:"validFrom"`
	ValidUntil       string `json:"validUntil"`
}

// CreateTimetable stores a weekly timetable. Every bad field is named; a slot the route has
// already (weekday and time) is apperr.ErrConflict. Timetables have no events of their own:
// the departures generated from them are announced.
func (s *Scheduler) CreateTimetable(ctx context.Context, req TimetableRequest) (pgstore.Timetable, error) {
	v := &apperr.ValidationError{}
	t := pgstore.Timetable{Route: req.Route, TrainNumber: req.TrainNumber, TimeZone: req.TimeZone,
		TEUCN: req.TEUChina, TEUAbroad: req.TEUAbroad, WeightKg: req.WeightCapacityKg}
	if req.Route == "" {
		v.Add("route", "is required")
	}
	if wd, ok := weekdays[req.Weekday]; ok {
		t.Weekday = wd
	} else if req.Weekday == "" {
		v.Add("weekday", "is required")
	} else {
		v.Add("weekday", "must be monday, tuesday, wednesday, thursday, friday, saturday or sunday")
	}
	if at, err := time.Parse("15:04", req.DepartureTime); req.DepartureTime == "" {
		v.Add("departureTime", "is required")
	} else if err != nil || len(req.DepartureTime) != 5 {
		v.Add("departureTime", "must be a local time of day HH:MM, e.g. 10:30")
	} else {
		t.DepartureTime = time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute
	}
	if t.TimeZone == "" {
		t.TimeZone = DefaultTimeZone
	}
	t.CutoffBefore = durationField(v, "cutoffBefore", req.CutoffBefore, DefaultCutoffBefore)
	t.OpenBefore = durationField(v, "openBefore", req.OpenBefore, DefaultOpenBefore)
	if req.ValidFrom == "" {
		v.Add("validFrom", "is required")
	} else {
		t.ValidFrom = dateField(v, "validFrom", req.ValidFrom)
	}
	if req.ValidUntil != "" {
		if d := dateField(v, "validUntil", req.ValidUntil); !d.IsZero() {
			t.ValidUntil = &d
		}
	}
	if err := validationErrors(v, t.Validate()); err != nil {
		return pgstore.Timetable{}, err
	}
	return s.store.CreateTimetable(ctx, t)
}

// validationErrors joins the problems noted in v with those of a later check, each field once.
func validationErrors(v *apperr.ValidationError, err error) error {
	var more *apperr.ValidationError
	if errors.As(err, &more) {
		for _, f := range more.Fields {
			if !slices.ContainsFunc(v.Fields, func(g apperr.FieldError) bool { return g.Field == f.Field }) {
				v.Add(f.Field, f.Reason)
			}
		}
	} else if err != nil {
		return err
	}
	return v.Err()
}

// durationField parses a duration ("24h", "90m" or "14d"), def when s is empty.
func durationField(v *apperr.ValidationError, field, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := parseDuration(s)
	if err != nil {
		v.Add(field, "must be a duration such as 24h, 90m or 14d")
		return 0
	}
	if d < 0 {
		v.Add(field, "must not be negative")
	}
	return d
}

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 3660 || n < -3660 {
			return 0, errors.New("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// formatDuration writes d as parseDuration reads it, without zero units ("24h", "1h30m").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// dateField parses a date YYYY-MM-DD (at UTC midnight).
func dateField(v *apperr.ValidationError, field, s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.Add(field, "must be a date YYYY-MM-DD")
		return time.Time{}
	}
	return d
}

// Timetables lists the timetables of a route (all when route is "").
func (s *Scheduler) Timetables(ctx context.Context, route string) ([]pgstore.Timetable, error) {
	return s.store.Timetables(ctx, route)
}

// Timetable returns one timetable; apperr.ErrNotFound when there is none.
func (s *Scheduler) Timetable(ctx context.Context, id string) (pgstore.Timetable, error) {
	return s.store.Timetable(ctx, id)
}

// Optional is a field of a partial update: Set when the body has it, Value nil when it is null.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// TimetablePatch changes a timetable; absent fields stay, null capacity goes back to the
// route's default and null validUntil makes it open-ended. The slot (route, weekday, time and
// zone) and validFrom cannot change: delete the timetable and create another.
type TimetablePatch struct {
	TrainNumber      Optional[string] `json:"trainNumber"`
	CutoffBefore     Optional[string] `json:"cutoffBefore"`
	OpenBefore       Optional[string] `json:"openBefore"`
	TEUChina         Optional[int]    `json:"teuChina"`
	TEUAbroad        Optional[int]    `json:"teuAbroad"`
	WeightCapacityKg Optional[int64]  `json:"weightCapacityKg"`
	ValidUntil       Optional[string] `json:"validUntil"`
}

// UpdateTimetable applies patch to a timetable at the version ifMatch names. Runs generated
// already keep their train number, cut-off and capacity; later runs take the new ones.
func (s *Scheduler) UpdateTimetable(ctx context.Context, id, ifMatch string, patch TimetablePatch) (pgstore.Timetable, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Timetable{}, err
	}
	v := &apperr.ValidationError{}
	required := func(field string, set bool, value *string) {
		if set && value == nil {
			v.Add(field, "must not be null")
		}
	}
	required("trainNumber", patch.TrainNumber.Set, patch.TrainNumber.Value)
	required("cutoffBefore", patch.CutoffBefore.Set, patch.CutoffBefore.Value)
	required("openBefore", patch.OpenBefore.Set, patch.OpenBefore.Value)
	var cutoff, open time.Duration
	if patch.CutoffBefore.Value != nil {
		if cutoff = durationField(v, "cutoffBefore", *patch.CutoffBefore.Value, -1); *patch.CutoffBefore.Value == "" {
			v.Add("cutoffBefore", "must be a duration such as 24h, 90m or 14d")
		}
	}
	if patch.OpenBefore.Value != nil {
		if open = durationField(v, "openBefore", *patch.OpenBefore.Value, -1); *patch.OpenBefore.Value == "" {
			v.Add("openBefore", "must be a duration such as 24h, 90m or 14d")
		}
	}
	var until time.Time
	if patch.ValidUntil.Value != nil {
		until = dateField(v, "validUntil", *patch.ValidUntil.Value)
	}
	if err := v.Err(); err != nil {
		return pgstore.Timetable{}, err
	}
	return s.store.UpdateTimetable(ctx, id, version, func(t *pgstore.Timetable) error {
		if patch.TrainNumber.Set {
			t.TrainNumber = *patch.TrainNumber.Value
		}
		if patch.CutoffBefore.Set {
			t.CutoffBefore = cutoff
		}
		if patch.OpenBefore.Set {
			t.OpenBefore = open
		}
		if patch.TEUChina.Set {
			t.TEUCN = patch.TEUChina.Value
		}
		if patch.TEUAbroad.Set {
			t.TEUAbroad = patch.TEUAbroad.Value
		}
		if patch.WeightCapacityKg.Set {
			t.WeightKg = patch.WeightCapacityKg.Value
		}
		if patch.ValidUntil.Set {
			t.ValidUntil = nil
			if patch.ValidUntil.Value != nil {
				t.ValidUntil = &until
			}
		}
		return nil
	})
}

// DeleteTimetable removes a timetable at the version ifMatch names; the departures generated
// from it stay.
func (s *Scheduler) DeleteTimetable(ctx context.Context, id, ifMatch string) error {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return err
	}
	return s.store.DeleteTimetable(ctx, id, version)
}

// GenerateRequest asks for the runs of the timetables (of Route, when set) on the service
// dates From..To (YYYY-MM-DD, inclusive, at most MaxGenerateSpan apart).
type GenerateRequest struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Route string `json:"route"`
}

// Generate creates the departures of the timetables' runs in a range of service dates that do
// not exist yet, each announced (schedule.v1.departure.planned, and .opened when it is open
// already) in the same transaction. Runs that have left are skipped; generating again creates
// nothing.
func (s *Scheduler) Generate(ctx context.Context, req GenerateRequest) ([]pgstore.Departure, error) {
	v := &apperr.ValidationError{}
	var from, to time.Time
	if req.From == "" {
		v.Add("from", "is required")
	} else {
		from = dateField(v, "from", req.From)
	}
	if req.To == "" {
		v.Add("to", "is required")
	} else {
		to = dateField(v, "to", req.To)
	}
	if !from.IsZero() && !to.IsZero() {
		if to.Before(from) {
			v.Add("to", "is before from")
		} else if to.Sub(from) > MaxGenerateSpan {
			v.Add("to", "is more than 12 weeks after from")
		}
	}
	if req.Route != "" {
		if _, err := s.store.Route(ctx, req.Route); errors.Is(err, apperr.ErrNotFound) {
			v.Add("route", "no route "+req.Route)
		} else if err != nil {
			return nil, err
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	return s.store.GenerateThen(ctx, pgstore.GenerateSpec{From: from, To: to, Route: req.Route, Now: now},
		s.departureCreated(ctx, now))
}

// OpenRequest opens a departure for booking, with a new cut-off when Cutoff is set (RFC 3339).
type OpenRequest struct {
	Cutoff string `json:"cutoff"`
}

// OpenDeparture opens a planned or closed departure at the version ifMatch names and announces
// schedule.v1.departure.opened with its cut-off, which must be in the future and not after the
// planned departure.
func (s *Scheduler) OpenDeparture(ctx context.Context, id, ifMatch string, req OpenRequest) (pgstore.Departure, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Departure{}, err
	}
	var cutoff *time.Time
	if req.Cutoff != "" {
		v := &apperr.ValidationError{}
		c := timeField(v, "cutoff", req.Cutoff)
		if err := v.Err(); err != nil {
			return pgstore.Departure{}, err
		}
		cutoff = &c
	}
	now := s.now()
	return s.store.OpenThen(ctx, id, version, cutoff, now, func(tx pgx.Tx, _, after pgstore.Departure) error {
		return enqueue(ctx, tx, departureOpened(after, now))
	})
}

// CloseRequest closes a departure for booking; Reason is carried in the event.
type CloseRequest struct {
	Reason string `json:"reason"`
}

// CloseDeparture closes an open departure at the version ifMatch names and announces
// schedule.v1.departure.closed.
func (s *Scheduler) CloseDeparture(ctx context.Context, id, ifMatch string, req CloseRequest) (pgstore.Departure, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Departure{}, err
	}
	return s.store.CloseThen(ctx, id, version, func(tx pgx.Tx, _, after pgstore.Departure) error {
		return enqueue(ctx, tx, &schedulev1.DepartureEvent{Envelope: envelope("", s.now()), DepartureId: after.ID,
			RouteCode: after.Route, TrainNumber: after.TrainNumber,
			Change: &schedulev1.DepartureEvent_Closed{Closed: &schedulev1.DepartureClosed{Reason: req.Reason}}})
	})
}

func departureOpened(d pgstore.Departure, now time.Time) *schedulev1.DepartureEvent {
	return &schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: d.ID, RouteCode: d.Route,
		TrainNumber: d.TrainNumber, Change: &schedulev1.DepartureEvent_Opened{
			Opened: &schedulev1.DepartureOpened{BookingCutoffAt: timestamppb.New(d.Cutoff)}}}
}

// DepartureList is one page of departures and the cursor of the next ("" on the last page).
type DepartureList struct {
	Departures []pgstore.Departure
	Next       string
}

// Departures lists departures by q, a page at a time (q.Limit of them).
func (s *Scheduler) Departures(ctx context.Context, q pgstore.DepartureQuery) (DepartureList, error) {
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	ds, err := s.store.Departures(ctx, q)
	if err != nil {
		return DepartureList{}, err
	}
	out := DepartureList{Departures: ds}
	if len(ds) > limit {
		out.Departures = ds[:limit]
		last := ds[limit-1]
		out.Next = paging.Cursor{At: last.PlannedDeparture, ID: last.ID}.Encode()
	}
	return out, nil
}

// TimetableWorker keeps departures generated cfg.TimetableHorizon ahead of every timetable.
// Once at start and every hour it generates the runs from yesterday (for zones behind UTC) to
// today plus the horizon, and opens the planned runs whose opening time has come, each
// announced in its transaction. One replica does it at a time (an advisory lock; the others
// skip the round).
func (s *Scheduler) TimetableWorker(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error {
		tick := time.NewTicker(timetableInterval)
		defer tick.Stop()
		for {
			if err := s.timetableRound(ctx, log); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "timetable round failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	})
}

func (s *Scheduler) timetableRound(ctx context.Context, log *slog.Logger) error {
	now := s.now()
	today := pgstore.Date(now.UTC())
	spec := pgstore.GenerateSpec{From: today.AddDate(0, 0, -1), To: pgstore.Date(now.UTC().Add(s.cfg.TimetableHorizon)), Now: now}
	round, locked, err := s.store.TimetableRoundThen(ctx, spec, s.departureCreated(ctx, now),
		func(tx pgx.Tx, d pgstore.Departure, _ pgstore.Route) error {
			return enqueue(ctx, tx, departureOpened(d, now))
		})
	if err != nil {
		return err
	}
	if locked && (len(round.Created) > 0 || len(round.Opened) > 0) {
		log.InfoContext(ctx, "timetables", "created", len(round.Created), "opened", len(round.Opened))
	}
	return nil
}

// --- transport -------------------------------------------------------------------------------

type timetableJSON struct {
	ID               string  `json:"id"`
	Route            string  `json:"route"`
	Weekday          string  `json:"weekday"`
	DepartureTime    string  `json:"departureTime"`
	TimeZone         string  `json:"timeZone"`
	TrainNumber      string  `json:"trainNumber"`
	CutoffBefore     string  `json:"cutoffBefore"`
	OpenBefore       string  `json:"openBefore"`
	TEUChina         *int    `json:"teuChina,omitempty"`
	TEUAbroad        *int    `json:"teuAbroad,omitempty"`
	WeightCapacityKg *int64  `json:"weightCapacityKg,omitempty"`
	ValidFrom        string  `json:"validFrom"`
	ValidUntil       *string `json:"validUntil,omitempty"`
	Version          int     `json:"version"`
}

func toTimetableJSON(t pgstore.Timetable) timetableJSON {
	out := timetableJSON{ID: t.ID, Route: t.Route, Weekday: strings.ToLower(t.Weekday.String()),
		DepartureTime: fmt.Sprintf("%02d:%02d", int(t.DepartureTime/time.Hour), int(t.DepartureTime%time.Hour/time.Minute)),
		TimeZone:      t.TimeZone, TrainNumber: t.TrainNumber, CutoffBefore: formatDuration(t.CutoffBefore),
		OpenBefore: formatDuration(t.OpenBefore), TEUChina: t.TEUCN, TEUAbroad: t.TEUAbroad, WeightCapacityKg: t.WeightKg,
		ValidFrom: t.ValidFrom.Format(time.DateOnly), Version: t.Version}
	if t.ValidUntil != nil {
		u := t.ValidUntil.Format(time.DateOnly)
		out.ValidUntil = &u
	}
	return out
}

// timetableResponse carries the timetable's version as its ETag; created answers 201, deleted
// 204 without a body.
type timetableResponse struct {
	timetableJSON
	created, deleted bool
	Err              error `json:"-"`
}

func (r timetableResponse) Failed() error { return r.Err }

func (r timetableResponse) Headers() http.Header {
	if r.Err != nil || r.deleted {
		return nil
	}
	return http.Header{"Etag": {kitx.ETag(r.Version)}}
}

func (r timetableResponse) StatusCode() int {
	switch {
	case r.created:
		return http.StatusCreated
	case r.deleted:
		return http.StatusNoContent
	}
	return http.StatusOK
}

type timetablesResponse struct {
	Timetables []timetableJSON `json:"timetables"`
	Err        error           `json:"-"`
}

func (r timetablesResponse) Failed() error { return r.Err }

type timetableRequest struct{ ID, IfMatch string }

type timetablesRequest struct{ Route string }

type createTimetableRequest struct{ TimetableRequest }

type updateTimetableRequest struct {
	ID, IfMatch string
	TimetablePatch
}

type generateRequest struct{ GenerateRequest }

type generateResponse struct {
	Created    int      `json:"created"`
	Departures []string `json:"departures"`
	Err        error    `json:"-"`
}

func (r generateResponse) Failed() error { return r.Err }

type openRequest struct {
	ID, IfMatch string
	OpenRequest
}

type closeRequest struct {
	ID, IfMatch string
	CloseRequest
}

type departuresRequest struct{ Query pgstore.DepartureQuery }

type departuresResponse struct {
	Departures []departureJSON `json:"departures"`
	NextCursor *string         `json:"nextCursor,omitempty"`
	Err        error           `json:"-"`
}

func (r departuresResponse) Failed() error { return r.Err }

func decodeCreateTimetable(_ context.Context, r *http.Request) (any, error) {
	var b TimetableRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return createTimetableRequest{TimetableRequest: b}, nil
}

func decodeTimetable(_ context.Context, r *http.Request) (any, error) {
	return timetableRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match")}, nil
}

func decodeTimetables(_ context.Context, r *http.Request) (any, error) {
	q, err := query(r, "route")
	if err != nil {
		return nil, err
	}
	return timetablesRequest{Route: q.Get("route")}, nil
}

func decodeUpdateTimetable(_ context.Context, r *http.Request) (any, error) {
	var b TimetablePatch
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return updateTimetableRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), TimetablePatch: b}, nil
}

func decodeGenerate(_ context.Context, r *http.Request) (any, error) {
	var b GenerateRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return generateRequest{GenerateRequest: b}, nil
}

// decodeOpen and decodeClose take an empty body as {}: every field is optional.
func decodeOpen(_ context.Context, r *http.Request) (any, error) {
	var b OpenRequest
	if err := decodeOptionalJSON(r, &b); err != nil {
		return nil, err
	}
	return openRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), OpenRequest: b}, nil
}

func decodeClose(_ context.Context, r *http.Request) (any, error) {
	var b CloseRequest
	if err := decodeOptionalJSON(r, &b); err != nil {
		return nil, err
	}
	return closeRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), CloseRequest: b}, nil
}

func decodeOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return kitx.DecodeJSON(r, v, maxBody)
}

// query returns the query parameters of r; one not in known is a malformed request (a typo
// would otherwise widen a list silently), and so is a parameter given twice.
func query(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &kitx.MalformedError{Field: "query", Reason: "cannot be parsed"}
	}
	for k, vs := range q {
		if !slices.Contains(known, k) {
			return nil, &kitx.MalformedError{Field: k, Reason: "unknown query parameter"}
		}
		if len(vs) > 1 {
			return nil, &kitx.MalformedError{Field: k, Reason: "given more than once"}
		}
	}
	return q, nil
}

var departureStatuses = []string{pgstore.StatusPlanned, pgstore.StatusOpen, pgstore.StatusClosed, pgstore.StatusDeparted,
	pgstore.StatusArrived, pgstore.StatusCancelled}

func decodeDepartures(_ context.Context, r *http.Request) (any, error) {
	q, err := query(r, "route", "status", "from", "to", "limit", "cursor")
	if err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	out := pgstore.DepartureQuery{Route: q.Get("route"), Status: q.Get("status"), Limit: defaultListLimit}
	if out.Status != "" && !slices.Contains(departureStatuses, out.Status) {
		v.Add("status", "must be one of "+strings.Join(departureStatuses, ", "))
	}
	if s := q.Get("from"); s != "" {
		out.From = timeField(v, "from", s)
	}
	if s := q.Get("to"); s != "" {
		out.To = timeField(v, "to", s)
	}
	if !out.From.IsZero() && !out.To.IsZero() && !out.To.After(out.From) {
		v.Add("to", "must be after from")
	}
	if n, err := paging.Limit(q.Get("limit"), defaultListLimit, maxListLimit); err != nil {
		v.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(maxListLimit))
	} else {
		out.Limit = n
	}
	if c, err := paging.Decode(q.Get("cursor"), isUUID); err != nil {
		v.Add("cursor", "is not a cursor this service gave out")
	} else {
		out.After = c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return departuresRequest{Query: out}, nil
}

func makeCreateTimetableEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		t, err := s.CreateTimetable(ctx, req.(createTimetableRequest).TimetableRequest)
		return timetableResponse{timetableJSON: toTimetableJSON(t), created: true, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeTimetablesEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		ts, err := s.Timetables(ctx, req.(timetablesRequest).Route)
		out := timetablesResponse{Timetables: make([]timetableJSON, len(ts)), Err: kitx.Business(err)}
		for i, t := range ts {
			out.Timetables[i] = toTimetableJSON(t)
		}
		return out, kitx.Infra(err)
	}
}

func makeTimetableEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		t, err := s.Timetable(ctx, req.(timetableRequest).ID)
		return timetableResponse{timetableJSON: toTimetableJSON(t), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeUpdateTimetableEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(updateTimetableRequest)
		t, err := s.UpdateTimetable(ctx, r.ID, r.IfMatch, r.TimetablePatch)
		return timetableResponse{timetableJSON: toTimetableJSON(t), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeDeleteTimetableEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(timetableRequest)
		err := s.DeleteTimetable(ctx, r.ID, r.IfMatch)
		return timetableResponse{deleted: true, Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeGenerateEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		ds, err := s.Generate(ctx, req.(generateRequest).GenerateRequest)
		out := generateResponse{Created: len(ds), Departures: make([]string, len(ds)), Err: kitx.Business(err)}
		for i, d := range ds {
			out.Departures[i] = d.ID
		}
		return out, kitx.Infra(err)
	}
}

func makeOpenEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(openRequest)
		d, err := s.OpenDeparture(ctx, r.ID, r.IfMatch, r.OpenRequest)
		return departureResponse{departureJSON: toDepartureJSON(d), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeCloseEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(closeRequest)
		d, err := s.CloseDeparture(ctx, r.ID, r.IfMatch, r.CloseRequest)
		return departureResponse{departureJSON: toDepartureJSON(d), Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeDeparturesEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		l, err := s.Departures(ctx, req.(departuresRequest).Query)
		out := departuresResponse{Departures: make([]departureJSON, len(l.Departures)), Err: kitx.Business(err)}
		for i, d := range l.Departures {
			out.Departures[i] = toDepartureJSON(d)
		}
		if l.Next != "" {
			out.NextCursor = &l.Next
		}
		return out, kitx.Infra(err)
	}
}
