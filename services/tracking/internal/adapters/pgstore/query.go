package pgstore

import (
	"context"

	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/google/uuid"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Cursor is a position in an ordered list of events: the sort time and the event id after
// which the next page starts. It travels to clients as an opaque string.
type Cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// Encode returns the opaque form of c.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c) // a time and a string always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an opaque cursor; "" is the first page.
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.At.IsZero() {
		return nil, ErrBadCursor
	}
	if _, err := uuid.Parse(c.ID); err != nil { // ids are UUIDs; anything else was not issued here
		return nil, ErrBadCursor
	}
	return &c, nil
}

// Filter narrows a list of events. Empty fields do not filter; list fields match any value.
type Filter struct {
	Containers      []string  // equipment_reference IN
	EventTypes      []string  // EQUIPMENT, TRANSPORT, SHIPMENT, POSITION
	TypeCodes       []string  // LOAD, ARRI, ... (any family)
	DocumentTypes   []string  // CBR, BKG, ... of shipment events
	Locations       []string  // UN/LOCODE
	CarrierBookings []string  // carrier booking reference
	TransportDocs   []string  // transport document reference
	References      []string  // "TYPE:value"
	OccurredFrom    time.Time // occurred_at >= (history)
	OccurredTo      time.Time // occurred_at <  (history)
	Created         []TimeCond
	Tenant          string // when set, only containers this tenant owns
}

// TimeCond is one comparison on a time column: op is one of >=, >, <=, <, =.
type TimeCond struct {
	Op string
	At time.Time
}

// Page is one page of events.
type Page struct {
	Events []*trackingv1.ContainerEvent
	Next   *Cursor // nil on the last page
}

// History lists one container's events, newest first (by occurred_at, then id).
func (s *Store) History(ctx context.Context, container string, f Filter, after *Cursor, limit int) (Page, error) {
	f.Containers = []string{container}
	q := newQuery()
	q.filter(f)
	if after != nil {
		q.where("(occurred_at, event_id) < (%s, %s)", after.At, after.ID)
	}
	sql := "SELECT payload, occurred_at, event_id::text FROM events" + q.clause() +
		" ORDER BY occurred_at DESC, event_id DESC LIMIT " + strconv.Itoa(limit+1)
	return s.page(ctx, sql, q.args, limit)
}

// List lists events in the order they were recorded (recorded_at, then id): the DCSA
// publisher's order, stable under paging because new events only append.
func (s *Store) List(ctx context.Context, f Filter, after *Cursor, limit int) (Page, error) {
	q := newQuery()
	q.filter(f)
	for _, c := range f.Created {
		q.where("created_at "+c.Op+" %s", c.At)
	}
	if after != nil {
		q.where("(recorded_at, event_id) > (%s, %s)", after.At, after.ID)
	}
	sql := "SELECT payload, recorded_at, event_id::text FROM events" + q.clause() +
		" ORDER BY recorded_at, event_id LIMIT " + strconv.Itoa(limit+1)
	return s.page(ctx, sql, q.args, limit)
}

func (s *Store) page(ctx context.Context, sql string, args []any, limit int) (Page, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return Page{}, fmt.Errorf("pgstore: list: %w", err)
	}
	defer rows.Close()
	var p Page
	var last Cursor
	for rows.Next() {
		var payload []byte
		var c Cursor
		if err := rows.Scan(&payload, &c.At, &c.ID); err != nil {
			return Page{}, err
		}
		if len(p.Events) == limit {
			p.Next = &last
			break
		}
		ev := new(trackingv1.ContainerEvent)
		if err := events.Unmarshal(payload, ev); err != nil {
			return Page{}, fmt.Errorf("pgstore: stored event %s: %w", c.ID, err)
		}
		p.Events = append(p.Events, ev)
		last = c
	}
	return p, rows.Err()
}

// Latest returns the newest position fix and the newest milestone (any other event) of a
// container, either nil when it has none. It is the store-of-record answer the live cache is
// rebuilt from.
func (s *Store) Latest(ctx context.Context, container string) (position, milestone *trackingv1.ContainerEvent, err error) {
	get := func(cond string) (*trackingv1.ContainerEvent, error) {
		var payload []byte
		err := s.db.QueryRow(ctx, `SELECT payload FROM events WHERE equipment_reference = $1 AND `+cond+`
			ORDER BY occurred_at DESC, event_id DESC LIMIT 1`, container).Scan(&payload)
		if err == pgx.ErrNoRows {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		ev := new(trackingv1.ContainerEvent)
		return ev, events.Unmarshal(payload, ev)
	}
	if position, err = get(`event_type = 'POSITION'`); err != nil {
		return nil, nil, fmt.Errorf("pgstore: latest position: %w", err)
	}
	if milestone, err = get(`event_type <> 'POSITION'`); err != nil {
		return nil, nil, fmt.Errorf("pgstore: latest milestone: %w", err)
	}
	return position, milestone, nil
}

// LatestSince streams, in batches, the newest position and the newest milestone of every
// container that has an event since `since`: what a rebuild of the live cache replays.
func (s *Store) LatestSince(ctx context.Context, since time.Time, batch int, fn func([]*trackingv1.ContainerEvent) error) error {
	// A container is seen if it has any event since `since`; its newest milestone may be older.
	rows, err := s.db.Query(ctx, `
		WITH seen AS (
			SELECT DISTINCT equipment_reference FROM events
			WHERE occurred_at >= $1 AND equipment_reference IS NOT NULL
		)
		SELECT DISTINCT ON (e.equipment_reference, e.event_type = 'POSITION') e.payload
		FROM events e JOIN seen USING (equipment_reference)
		ORDER BY e.equipment_reference, e.event_type = 'POSITION', e.occurred_at DESC, e.event_id DESC`, since)
	if err != nil {
		return fmt.Errorf("pgstore: latest since: %w", err)
	}
	defer rows.Close()
	buf := make([]*trackingv1.ContainerEvent, 0, batch)
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			return err
		}
		ev := new(trackingv1.ContainerEvent)
		if err := events.Unmarshal(payload, ev); err != nil {
			return err
		}
		if buf = append(buf, ev); len(buf) == batch {
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

// query builds a WHERE clause with numbered parameters.
type query struct {
	conds []string
	args  []any
}

func newQuery() *query { return &query{} }

// where adds a condition; each %s in cond is replaced by the next parameter placeholder.
func (q *query) where(cond string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		q.args = append(q.args, a)
		ph[i] = "$" + strconv.Itoa(len(q.args))
	}
	q.conds = append(q.conds, fmt.Sprintf(cond, ph...))
}

func (q *query) any(col string, vals []string) {
	if len(vals) > 0 {
		q.where(col+" = ANY(%s)", vals)
	}
}

func (q *query) filter(f Filter) {
	q.any("equipment_reference", f.Containers)
	q.any("event_type", f.EventTypes)
	q.any("type_code", f.TypeCodes)
	q.any("document_type_code", f.DocumentTypes)
	q.any("un_location_code", f.Locations)
	q.any("carrier_booking_ref", f.CarrierBookings)
	q.any("transport_document_ref", f.TransportDocs)
	if len(f.References) > 0 {
		q.where("refs <> '{}' AND refs && %s", f.References) // the first term lets the planner use the partial index
	}
	if !f.OccurredFrom.IsZero() {
		q.where("occurred_at >= %s", f.OccurredFrom)
	}
	if !f.OccurredTo.IsZero() {
		q.where("occurred_at < %s", f.OccurredTo)
	}
	if f.Tenant != "" {
		q.where("equipment_reference IN (SELECT equipment_reference FROM ownership WHERE tenant_id = %s)", f.Tenant)
	}
}

func (q *query) clause() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}
