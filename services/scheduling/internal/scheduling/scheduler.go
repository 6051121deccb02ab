package scheduling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/unlocode"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Scheduler is the scheduling service's business logic: reading the network and departures,
// creating departures and booking containers on them. Every state change is written with the
// event announcing it in one transaction (the outbox), which a relay publishes.
type Scheduler struct {
	store    *pgstore.Store
	bookings *groupCommit
	cfg      Config
	now      func() time.Time
}

// NewScheduler returns a Scheduler on store.
func NewScheduler(store *pgstore.Store, cfg Config) *Scheduler {
	return &Scheduler{store: store, bookings: newGroupCommit(store), cfg: cfg, now: time.Now}
}

// Routes returns every route of the network with its stops.
func (s *Scheduler) Routes(ctx context.Context) ([]pgstore.Route, error) {
	return s.store.Routes(ctx)
}

// Route returns one route; apperr.ErrNotFound when there is none.
func (s *Scheduler) Route(ctx context.Context, code string) (pgstore.Route, error) {
	return s.store.Route(ctx, code)
}

// Departure returns one departure; apperr.ErrNotFound when there is none.
func (s *Scheduler) Departure(ctx context.Context, id string) (pgstore.Departure, error) {
	return s.store.Departure(ctx, id)
}

// CreateDeparture puts a departure on the timetable and announces it: planned, and opened too
// when it is created open for booking.
func (s *Scheduler) CreateDeparture(ctx context.Context, spec pgstore.DepartureSpec) (pgstore.Departure, error) {
	return s.store.CreateDepartureThen(ctx, spec, s.departureCreated(ctx, s.now()))
}

// departureCreated is the hook every new departure (made by a dispatcher or generated from a
// timetable) runs in its transaction: it announces the departure and offers its room to the
// route's waitlist.
func (s *Scheduler) departureCreated(ctx context.Context, now time.Time) func(tx pgx.Tx, d pgstore.Departure, r pgstore.Route) error {
	return func(tx pgx.Tx, d pgstore.Departure, r pgstore.Route) error {
		if err := enqueue(ctx, tx, departureEvents(d, r, now)...); err != nil {
			return err
		}
		return s.promoteWaitlist(ctx, tx, d.Route)
	}
}

// BookingRequest asks for one container on a departure between two of its stops.
type BookingRequest struct {
	DepartureID        string `json:"departureID"`
	Tenant             string `json:"tenant,omitempty"` // dispatchers and admins only; a shipper's comes from its token
	EquipmentReference string `json:"equipmentReference"`
	ISOEquipmentCode   string `json:"isoEquipmentCode"`
	GrossWeightKg      int64  `json:"grossWeightKg"`
	From               string `json:"from"`
	To                 string `json:"to"`
}

// Book puts a container on a departure for the caller's tenant (a shipper) or the tenant it
// names (a dispatcher or admin). A booking that does not fit is a *pgstore.CapacityError.
func (s *Scheduler) Book(ctx context.Context, p auth.Principal, req BookingRequest) (pgstore.Booking, error) {
	v := &apperr.ValidationError{}
	tenant := req.Tenant
	if p.Role == auth.RoleShipper {
		if tenant != "" && tenant != p.Tenant {
			v.Add("tenant", "a shipper books for its own tenant only")
		}
		tenant = p.Tenant
	} else if tenant == "" {
		v.Add("tenant", "is required for a dispatcher or admin")
	}
	if req.DepartureID == "" {
		v.Add("departureID", "is required")
	}
	no, err := iso6346.Parse(req.EquipmentReference)
	if err != nil {
		v.Add("equipmentReference", err.Error())
	}
	teu, err := TEU(req.ISOEquipmentCode)
	if err != nil {
		v.Add("isoEquipmentCode", err.Error())
	}
	if req.GrossWeightKg <= 0 {
		v.Add("grossWeightKg", "must be positive")
	}
	from, errFrom := unlocode.Parse(req.From)
	if errFrom != nil {
		v.Add("from", errFrom.Error())
	}
	to, errTo := unlocode.Parse(req.To)
	if errTo != nil {
		v.Add("to", errTo.Error())
	}
	if err := v.Err(); err != nil {
		return pgstore.Booking{}, err
	}
	// The stops only: whether it is open, and its capacity, are the batch's to check under its locks.
	d, err := s.store.DepartureRoute(ctx, req.DepartureID)
	if errors.Is(err, apperr.ErrNotFound) {
		return pgstore.Booking{}, apperr.Invalid("departureID", "no such departure")
	}
	if err != nil {
		return pgstore.Booking{}, err
	}
	fromSeq, toSeq := stopSeq(d, string(from)), stopSeq(d, string(to))
	if fromSeq < 0 {
		v.Add("from", "is not a stop of route "+d.Route)
	}
	if toSeq < 0 {
		v.Add("to", "is not a stop of route "+d.Route)
	}
	if fromSeq >= 0 && toSeq >= 0 && toSeq <= fromSeq {
		v.Add("to", "must come after from on route "+d.Route)
	}
	if err := v.Err(); err != nil {
		return pgstore.Booking{}, err
	}
	spec := pgstore.BookingSpec{DepartureID: d.ID, Tenant: tenant, Container: string(no), ISOCode: req.ISOEquipmentCode,
		TEU: teu, GrossWeightKg: req.GrossWeightKg, FromSeq: fromSeq, ToSeq: toSeq}
	// Through the departure's group commit; the event keeps this request's trace but not its
	// cancellation (the batch's transaction is shared with other requests).
	return s.bookings.Book(ctx, pgstore.BookingAttempt{Spec: spec, Then: func(tx pgx.Tx, b pgstore.Booking) error {
		return enqueue(context.WithoutCancel(ctx), tx, bookingCreated(d, b, string(from), string(to), s.now()))
	}})
}

// Booking returns one booking. A shipper sees only its own tenant's: any other is
// apperr.ErrNotFound, as if it did not exist.
func (s *Scheduler) Booking(ctx context.Context, p auth.Principal, id string) (pgstore.Booking, error) {
	b, err := s.store.Booking(ctx, id)
	if err != nil {
		return pgstore.Booking{}, err
	}
	if p.Role == auth.RoleShipper && b.Tenant != p.Tenant {
		return pgstore.Booking{}, fmt.Errorf("booking %s: %w", id, apperr.ErrNotFound)
	}
	return b, nil
}

// TEU is the slots an ISO 6346 size/type code takes: a 20' box (size code 2) one TEU, a 40'
// or 45' box (4, L) two.
func TEU(isoCode string) (int, error) {
	if len(isoCode) != 4 {
		return 0, errors.New("must be a 4-character ISO 6346 size/type code, e.g. 22G1 or 45G1")
	}
	switch isoCode[0] {
	case '2':
		return 1, nil
	case '4', 'L':
		return 2, nil
	default:
		return 0, fmt.Errorf("size %q is not bookable: 20' (2), 40' (4) or 45' (L)", isoCode[:1])
	}
}

func stopSeq(d pgstore.Departure, code string) int {
	for _, st := range d.Stops {
		if st.UNLocationCode == code {
			return st.Seq
		}
	}
	return -1
}

func envelope(tenant string, now time.Time) *commonv1.Envelope {
	ts := timestamppb.New(now)
	return &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: ts, CreatedAt: ts, RecordedAt: ts, TenantId: tenant}
}

// departureEvents announce a new departure: planned, with its stops, times and through
// capacity (the smallest of its segments'), then opened when it is created open for booking.
func departureEvents(d pgstore.Departure, r pgstore.Route, now time.Time) []events.Event {
	planned := &schedulev1.DeparturePlanned{PlannedDepartureAt: timestamppb.New(d.PlannedDeparture),
		ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL, Capacity: throughCapacity(d)}
	for i, st := range d.Stops {
		stop := &schedulev1.Stop{Sequence: int32(st.Seq + 1), Location: &commonv1.Location{UnLocationCode: st.UNLocationCode}}
		if st.PlannedArrival != nil {
			stop.PlannedArrivalAt = timestamppb.New(*st.PlannedArrival)
		}
		if st.PlannedDeparture != nil {
			stop.PlannedDepartureAt = timestamppb.New(*st.PlannedDeparture)
		}
		if i < len(r.Stops) {
			stop.BorderCrossing = r.Stops[i].Role == "border"
		}
		planned.Stops = append(planned.Stops, stop)
	}
	if n := len(d.Stops); n > 0 {
		planned.Origin = planned.Stops[0].Location
		planned.Destination = planned.Stops[n-1].Location
		planned.PlannedArrivalAt = planned.Stops[n-1].PlannedArrivalAt
	}
	out := []events.Event{&schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: d.ID, RouteCode: d.Route,
		TrainNumber: d.TrainNumber, Change: &schedulev1.DepartureEvent_Planned{Planned: planned}}}
	if d.Status == pgstore.StatusOpen {
		out = append(out, &schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: d.ID, RouteCode: d.Route,
			TrainNumber: d.TrainNumber, Change: &schedulev1.DepartureEvent_Opened{
				Opened: &schedulev1.DepartureOpened{BookingCutoffAt: timestamppb.New(d.Cutoff)}}})
	}
	return out
}

func bookingCreated(d pgstore.Departure, b pgstore.Booking, from, to string, now time.Time) *schedulev1.BookingEvent {
	return &schedulev1.BookingEvent{
		Envelope: envelope(b.Tenant, now), BookingId: b.ID, DepartureId: d.ID, RouteCode: d.Route,
		TrainNumber: d.TrainNumber, EquipmentReference: b.Container,
		Change: &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{
			Origin:           &commonv1.Location{UnLocationCode: from},
			Destination:      &commonv1.Location{UnLocationCode: to},
			IsoEquipmentCode: b.ISOCode,
			Required:         &schedulev1.Capacity{Teu: uint32(b.TEU), GrossWeightKg: uint64(b.GrossWeightKg)},
			Status:           schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED,
		}},
	}
}

// enqueue writes evs to the outbox in tx, each to be published on its subject with its event id
// as the message id.
func enqueue(ctx context.Context, tx pgx.Tx, evs ...events.Event) error {
	msgs := make([]postgres.OutboxMessage, len(evs))
	for i, ev := range evs {
		subject, err := events.Subject(ev)
		if err != nil {
			return err
		}
		data, err := events.Marshal(ev)
		if err != nil {
			return err
		}
		msgs[i] = postgres.OutboxMessage{Subject: subject, MsgID: events.EventID(ev),
			Header: nats.Header{events.HeaderContentType: {events.ContentType(ev)}}, Data: data}
	}
	return postgres.Enqueue(ctx, tx, msgs...)
}
