package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/apperr"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// MaxDelay is the longest a dispatcher may delay a departure in one step.
const MaxDelay = 7 * 24 * time.Hour

// DelayRequest delays a departure: By is a Go duration ("6h", "90m"), positive and at most
// MaxDelay.
type DelayRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// Delay moves the planned times of every stop the departure has not yet left by req.By, when
// the departure is at the version ifMatch names. In the same transaction it announces
// schedule.v1.departure.delayed; for every booking riding it whose ETA (see estimateArrivals:
// the new plan with the delay the train has run up so far) moved by more than cfg.ETAThreshold,
// schedule.v1.eta.changed with the old and new ETA; and schedule.v1.exception.departure_late
// when the departure now runs later than its first plan by more than cfg.LateThreshold.
func (s *Scheduler) Delay(ctx context.Context, id, ifMatch string, req DelayRequest) (pgstore.Departure, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Departure{}, err
	}
	by, err := time.ParseDuration(req.By)
	switch {
	case req.By == "":
		return pgstore.Departure{}, apperr.Invalid("by", "is required, e.g. 6h")
	case err != nil:
		return pgstore.Departure{}, apperr.Invalid("by", "is a duration such as 6h or 90m")
	case by <= 0:
		return pgstore.Departure{}, apperr.Invalid("by", "must be positive")
	case by > MaxDelay:
		return pgstore.Departure{}, apperr.Invalid("by", "must be at most 168h (7 days)")
	}
	return s.store.DelayThen(ctx, id, version, by, func(tx pgx.Tx, before, after pgstore.Departure, _ []pgstore.Booking) error {
		if err := enqueue(ctx, tx, departureDelayed(before, after, by, req.Reason, s.now())); err != nil {
			return err
		}
		if err := s.recomputeETAs(ctx, tx, after.ID, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_DEPARTURE_DELAYED, req.Reason); err != nil {
			return err
		}
		return s.checkLate(ctx, tx, after)
	})
}

// CapacityRequest is the capacity of every segment of a departure.
type CapacityRequest struct {
	TEUChina         *int   `json:"teuChina"`
	TEUAbroad        *int   `json:"teuAbroad"`
	WeightCapacityKg *int64 `json:"weightCapacityKg"`
}

// SetCapacity replaces a departure's capacity when it is at the version ifMatch names and
// announces schedule.v1.departure.capacity_changed; the route's waitlist is then tried on the
// room there may now be (see promoteWaitlist). A capacity below what is booked on any
// segment changes nothing: a *pgstore.LowerCapacityError names the segment and the bookings.
func (s *Scheduler) SetCapacity(ctx context.Context, id, ifMatch string, req CapacityRequest) (pgstore.Departure, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Departure{}, err
	}
	v := &apperr.ValidationError{}
	if req.TEUChina == nil {
		v.Add("teuChina", "is required")
	} else if *req.TEUChina < 0 {
		v.Add("teuChina", "must not be negative")
	}
	if req.TEUAbroad == nil {
		v.Add("teuAbroad", "is required")
	} else if *req.TEUAbroad < 0 {
		v.Add("teuAbroad", "must not be negative")
	}
	if req.WeightCapacityKg == nil {
		v.Add("weightCapacityKg", "is required")
	} else if *req.WeightCapacityKg < 0 {
		v.Add("weightCapacityKg", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return pgstore.Departure{}, err
	}
	spec := pgstore.CapacitySpec{TEUCN: *req.TEUChina, TEUAbroad: *req.TEUAbroad, WeightKg: *req.WeightCapacityKg}
	return s.store.SetCapacityThen(ctx, id, version, spec, func(tx pgx.Tx, before, after pgstore.Departure) error {
		if err := enqueue(ctx, tx, &schedulev1.DepartureEvent{Envelope: envelope("", s.now()), DepartureId: after.ID,
			RouteCode: after.Route, TrainNumber: after.TrainNumber, Change: &schedulev1.DepartureEvent_CapacityChanged{
				CapacityChanged: &schedulev1.DepartureCapacityChanged{Previous: throughCapacity(before), Current: throughCapacity(after)}}}); err != nil {
			return err
		}
		return s.promoteWaitlist(ctx, tx, after.Route)
	})
}

// throughCapacity is the capacity of a departure end to end: the smallest of its segments'.
func throughCapacity(d pgstore.Departure) *schedulev1.Capacity {
	c := &schedulev1.Capacity{}
	for i, g := range d.Segments {
		if i == 0 || uint32(g.TEUCapacity) < c.Teu {
			c.Teu = uint32(g.TEUCapacity)
		}
		if i == 0 || uint64(g.WeightCapacityKg) < c.GrossWeightKg {
			c.GrossWeightKg = uint64(g.WeightCapacityKg)
		}
	}
	return c
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func departureDelayed(before, after pgstore.Departure, by time.Duration, reason string, now time.Time) *schedulev1.DepartureEvent {
	delayed := &schedulev1.DepartureDelayed{Delay: durationpb.New(by), Reason: reason}
	if n := len(before.Stops); n > 0 && n == len(after.Stops) {
		delayed.PreviousDepartureAt, delayed.NewDepartureAt = ts(before.Stops[0].PlannedDeparture), ts(after.Stops[0].PlannedDeparture)
		delayed.PreviousArrivalAt, delayed.NewArrivalAt = ts(before.Stops[n-1].PlannedArrival), ts(after.Stops[n-1].PlannedArrival)
	}
	return &schedulev1.DepartureEvent{Envelope: envelope("", now), DepartureId: after.ID, RouteCode: after.Route,
		TrainNumber: after.TrainNumber, Change: &schedulev1.DepartureEvent_Delayed{Delayed: delayed}}
}
