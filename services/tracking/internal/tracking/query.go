package tracking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
)

// Status is where a container is and what last happened to it.
type Status struct {
	Container string            `json:"equipmentReference"`
	Position  *Position         `json:"position,omitempty"`
	Milestone *Milestone        `json:"lastMilestone,omitempty"`
	Mode      string            `json:"modeOfTransport,omitempty"`
	Vehicle   string            `json:"vehicle,omitempty"`
	Refs      map[string]string `json:"references,omitempty"`
	LastSeen  time.Time         `json:"lastSeen"`
}

// Position is the last fix.
type Position struct {
	Latitude   float64   `json:"latitude"`
	Longitude  float64   `json:"longitude"`
	SpeedKmh   *float64  `json:"speedKmh,omitempty"`
	HeadingDeg *float64  `json:"headingDeg,omitempty"`
	At         time.Time `json:"eventDateTime"`
	EventID    string    `json:"eventID"`
}

// Milestone is the last equipment, transport or shipment event.
type Milestone struct {
	EventType string    `json:"eventType"`
	TypeCode  string    `json:"typeCode"`
	Location  string    `json:"UNLocationCode,omitempty"`
	At        time.Time `json:"eventDateTime"`
}

// container parses a container number from a path and checks the caller may see it: a
// shipper sees only its own tenant's containers; for anything else the answer is 404, the
// same as for a container nobody has heard of.
func (s *Tracker) container(ctx context.Context, p auth.Principal, raw string) (string, error) {
	no, err := iso6346.Parse(raw)
	if err != nil {
		var pe *iso6346.ParseError
		if errors.As(err, &pe) {
			return "", apperr.Invalid("containerNo", pe.Reason)
		}
		return "", apperr.Invalid("containerNo", err.Error())
	}
	if p.Role == auth.RoleShipper {
		ok, err := s.history.Owns(ctx, p.Tenant, string(no))
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("container %s: %w", no, apperr.ErrNotFound)
		}
	}
	return string(no), nil
}

// Container returns the live status of a container.
func (s *Tracker) Container(ctx context.Context, p auth.Principal, raw string) (Status, error) {
	no, err := s.container(ctx, p, raw)
	if err != nil {
		return Status{}, err
	}
	live, ok, err := s.live.Get(ctx, no)
	if err != nil {
		return Status{}, err
	}
	if !ok { // not cached (new, evicted, or the cache was emptied): ask the store of record
		found, err := s.readThrough(ctx, no)
		if err != nil {
			return Status{}, err
		}
		if !found {
			return Status{}, fmt.Errorf("container %s: %w", no, apperr.ErrNotFound)
		}
		if live, ok, err = s.live.Get(ctx, no); err != nil || !ok {
			return Status{}, errors.Join(apperr.ErrUnavailable, err)
		}
	}
	return statusOf(live), nil
}

func statusOf(l redislive.Live) Status {
	st := Status{Container: l.Container, Mode: l.Mode, Vehicle: l.Vehicle, Refs: l.References, LastSeen: l.LastSeen}
	if l.HasPosition {
		st.Position = &Position{Latitude: l.Lat, Longitude: l.Lon, SpeedKmh: l.SpeedKmh, HeadingDeg: l.HeadingDeg,
			At: l.PositionAt, EventID: l.PositionEventID}
	}
	if l.Milestone != "" {
		st.Milestone = &Milestone{EventType: l.MilestoneEventType, TypeCode: l.Milestone, Location: l.MilestoneLocation, At: l.MilestoneAt}
	}
	return st
}

// HistoryQuery asks for a container's events.
type HistoryQuery struct {
	Container string
	Filter    pgstore.Filter
	Cursor    string
	Limit     int
}

// EventPage is a page of events and the cursor of the next page ("" on the last).
type EventPage struct {
	Events []*trackingv1.ContainerEvent
	Next   string
}

// History lists a container's events, newest first.
func (s *Tracker) History(ctx context.Context, p auth.Principal, q HistoryQuery) (EventPage, error) {
	no, err := s.container(ctx, p, q.Container)
	if err != nil {
		return EventPage{}, err
	}
	after, err := pgstore.DecodeCursor(q.Cursor)
	if err != nil {
		return EventPage{}, apperr.Invalid("cursor", "is not a cursor this API returned")
	}
	page, err := s.history.History(ctx, no, q.Filter, after, q.Limit)
	if err != nil {
		return EventPage{}, err
	}
	return pageOf(page), nil
}

// Events lists events in the order they were recorded (the DCSA publisher), a shipper's own
// containers only.
func (s *Tracker) Events(ctx context.Context, p auth.Principal, f pgstore.Filter, cursor string, limit int) (EventPage, error) {
	after, err := pgstore.DecodeCursor(cursor)
	if err != nil {
		return EventPage{}, apperr.Invalid("cursor", "is not a cursor this API returned")
	}
	if p.Role == auth.RoleShipper {
		f.Tenant = p.Tenant
	}
	page, err := s.history.List(ctx, f, after, limit)
	if err != nil {
		return EventPage{}, err
	}
	return pageOf(page), nil
}

func pageOf(p pgstore.Page) EventPage {
	out := EventPage{Events: p.Events}
	if p.Next != nil {
		out.Next = p.Next.Encode()
	}
	return out
}

// Nearby lists the containers within radiusKm of a point, nearest first.
func (s *Tracker) Nearby(ctx context.Context, center geo.Point, radiusKm float64, limit int) ([]redislive.Nearby, error) {
	return s.live.Near(ctx, center.Lat, center.Lon, radiusKm, limit)
}
