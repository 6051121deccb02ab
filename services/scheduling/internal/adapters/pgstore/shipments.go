package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// Shipment statuses.
const (
	ShipmentCreated   = "created"
	ShipmentBooked    = "booked"
	ShipmentInTransit = "in_transit"
	ShipmentArrived   = "arrived"
	ShipmentDelivered = "delivered"
	ShipmentCancelled = "cancelled"
)

// Shipment is the end-to-end movement of containers under one transport document (the
// multimodal bill of lading), leg by leg.
type Shipment struct {
	ID          string
	Tenant      string
	TDR         string // transport document reference, unique
	Status      string // as last recorded (and announced)
	Origin      string // UN/LOCODE: the first leg's from
	Destination string // UN/LOCODE: the last leg's to
	ETA         *time.Time
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Containers  []string // ISO 6346, sorted
	Legs        []ShipmentLeg
}

// ShipmentLeg is one stretch of a shipment. A booking leg (Booking set) rides a departure
// here: its times are that departure's at the booking's stops as they are now (read live, so a
// delay, a move or a milestone shows at once); an external leg has the planned times it was
// created with and the actual times its carrier reported.
type ShipmentLeg struct {
	Seq                int // from 1
	Mode               string
	From, To           string // UN/LOCODE
	CarrierCode        string
	TransportReference string
	BookingID          string // "" for an external leg
	PlannedDeparture   *time.Time
	PlannedArrival     *time.Time
	ActualDeparture    *time.Time
	ActualArrival      *time.Time
	Booking            *LegBooking // nil for an external leg
}

// LegBooking is a booking as a shipment leg sees it: its status, its announced ETA and its
// departure's times at the booking's from and to stops.
type LegBooking struct {
	ID               string
	DepartureID      string
	Tenant           string
	Container        string
	Status           string
	ETA              *time.Time // bookings.eta; nil before the first announcement
	TrainNumber      string
	From, To         string // UN/LOCODE of the from and to stops
	PlannedDeparture *time.Time
	PlannedArrival   *time.Time
	ActualDeparture  *time.Time
	ActualArrival    *time.Time
}

// legBookingColumns read a LegBooking for a query naming the bookings table b, its departure
// d and its from and to stops fs and ts (all possibly outer-joined, hence nullable).
const legBookingColumns = `b.id::text, b.departure_id::text, b.tenant_id, b.equipment_reference, b.status, b.eta,
	d.train_number, fs.un_location_code, ts.un_location_code,
	fs.planned_departure_at, ts.planned_arrival_at, fs.actual_departure_at, ts.actual_arrival_at`

const legBookingJoins = `
	JOIN departures d ON d.id = b.departure_id
	JOIN departure_stops fs ON fs.departure_id = b.departure_id AND fs.seq = b.from_seq
	JOIN departure_stops ts ON ts.departure_id = b.departure_id AND ts.seq = b.to_seq`

// nullLegBooking scans legBookingColumns from an outer join.
type nullLegBooking struct {
	id, departure, tenant, container, status, train, from, to *string
	eta, plannedDep, plannedArr, actualDep, actualArr         *time.Time
}

func (n *nullLegBooking) dest() []any {
	return []any{&n.id, &n.departure, &n.tenant, &n.container, &n.status, &n.eta, &n.train, &n.from, &n.to,
		&n.plannedDep, &n.plannedArr, &n.actualDep, &n.actualArr}
}

func (n *nullLegBooking) booking() *LegBooking {
	if n.id == nil {
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return &LegBooking{ID: *n.id, DepartureID: str(n.departure), Tenant: str(n.tenant), Container: str(n.container),
		Status: str(n.status), ETA: n.eta, TrainNumber: str(n.train), From: str(n.from), To: str(n.to),
		PlannedDeparture: n.plannedDep, PlannedArrival: n.plannedArr, ActualDeparture: n.actualDep, ActualArrival: n.actualArr}
}

// LegBookings returns the bookings ids as shipment legs see them, by id; ids that name no
// booking (or are not UUIDs) are absent.
func (s *Store) LegBookings(ctx context.Context, ids []string) (map[string]LegBooking, error) {
	out, err := legBookings(ctx, s.db, ids, false)
	if err != nil {
		return nil, fmt.Errorf("pgstore: leg bookings: %w", err)
	}
	return out, nil
}

func legBookings(ctx context.Context, db postgres.DB, ids []string, lock bool) (map[string]LegBooking, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	out := make(map[string]LegBooking, len(valid))
	if len(valid) == 0 {
		return out, nil
	}
	sql := `SELECT ` + legBookingColumns + ` FROM bookings b` + legBookingJoins + `
		WHERE b.id = ANY($1::uuid[]) ORDER BY b.id`
	if lock {
		sql += ` FOR SHARE OF b` // not cancelled or moved while it becomes a leg
	}
	rows, err := db.Query(ctx, sql, valid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n nullLegBooking
		if err := rows.Scan(n.dest()...); err != nil {
			return nil, err
		}
		b := n.booking()
		out[b.ID] = *b
	}
	return out, rows.Err()
}

// ShipmentSpec is a shipment to create. Legs are in order (Seq is set by the store); a leg with
// a BookingID takes its stops and times from the booking, which must be Tenant's and not
// cancelled.
type ShipmentSpec struct {
	Tenant      string
	TDR         string
	Origin      string
	Destination string
	Containers  []string
	Legs        []ShipmentLeg
}

// Reasons a shipment cannot be created that the caller may be told.
var (
	// ErrTDRTaken: the transport document reference is another shipment's. It wraps
	// apperr.ErrConflict.
	ErrTDRTaken = fmt.Errorf("the transport document reference is already used: %w", apperr.ErrConflict)
	// ErrBookingInShipment: a booking is already a leg of a shipment. It wraps apperr.ErrConflict.
	ErrBookingInShipment = fmt.Errorf("a booking is already a leg of a shipment: %w", apperr.ErrConflict)
)

// CreateShipmentThen creates a shipment with its containers and legs in one transaction. The
// bookings of its booking legs are locked (FOR SHARE) and checked again: one that is gone, another
// tenant's or cancelled is a *apperr.ValidationError on legs[i].bookingId ("no such booking",
// whichever it is, so another tenant's booking is never revealed). then runs in the same
// transaction with the new shipment, so the events it writes commit with it.
//
// Errors: *apperr.ValidationError, ErrTDRTaken, ErrBookingInShipment.
func (s *Store) CreateShipmentThen(ctx context.Context, spec ShipmentSpec,
	then func(tx pgx.Tx, sh Shipment) (ShipmentState, error)) (Shipment, error) {
	if spec.Tenant == "" || spec.TDR == "" || len(spec.Legs) == 0 {
		return Shipment{}, apperr.Invalid("shipment", "needs a tenant, a transport document reference and at least one leg")
	}
	var out Shipment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var ids []string
		for _, l := range spec.Legs {
			if l.BookingID != "" {
				ids = append(ids, l.BookingID)
			}
		}
		bookings, err := legBookings(ctx, tx, ids, true)
		if err != nil {
			return err
		}
		v := &apperr.ValidationError{}
		for i, l := range spec.Legs {
			if l.BookingID == "" {
				continue
			}
			if b, ok := bookings[l.BookingID]; !ok || b.Tenant != spec.Tenant || b.Status == BookingCancelled {
				v.Add("legs["+strconv.Itoa(i)+"].bookingId", "no such booking")
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		var id string
		err = tx.QueryRow(ctx, `
			INSERT INTO shipments (tenant_id, transport_document_reference, origin, destination)
			VALUES ($1, $2, $3, $4) RETURNING id::text`, spec.Tenant, spec.TDR, spec.Origin, spec.Destination).Scan(&id)
		if _, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation); dup {
			return ErrTDRTaken
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, c := range spec.Containers {
			b.Queue(`INSERT INTO shipment_containers (shipment_id, equipment_reference) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, id, c)
		}
		for i, l := range spec.Legs {
			var booking *string
			if l.BookingID != "" {
				booking = &l.BookingID
			}
			b.Queue(`INSERT INTO shipment_legs (shipment_id, seq, mode, from_location, to_location, carrier_code,
				transport_reference, booking_id, planned_departure_at, planned_arrival_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::uuid, $9, $10)`,
				id, i+1, l.Mode, l.From, l.To, l.CarrierCode, l.TransportReference, booking, l.PlannedDeparture, l.PlannedArrival)
		}
		err = tx.SendBatch(ctx, b).Close()
		if pe, dup := postgres.ErrorCode(err, postgres.CodeUniqueViolation); dup && pe.ConstraintName == "shipment_legs_booking_key" {
			return ErrBookingInShipment
		}
		if err != nil {
			return err
		}
		shs, err := loadShipments(ctx, tx, []string{id})
		if err != nil || then == nil {
			out = firstOf(shs)
			return err
		}
		state, err := then(tx, shs[0])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET status = $2, eta = $3 WHERE id = $1`, id, state.Status, state.ETA); err != nil {
			return err
		}
		shs, err = loadShipments(ctx, tx, []string{id})
		out = firstOf(shs)
		return err
	})
	if err != nil {
		return Shipment{}, passErr("create shipment", err)
	}
	return out, nil
}

// Shipment returns a shipment with its containers and legs; apperr.ErrNotFound when there is
// none.
func (s *Store) Shipment(ctx context.Context, id string) (Shipment, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Shipment{}, fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
	}
	shs, err := loadShipments(ctx, s.db, []string{id})
	if err != nil {
		return Shipment{}, fmt.Errorf("pgstore: shipment %s: %w", id, err)
	}
	if len(shs) == 0 {
		return Shipment{}, fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
	}
	return shs[0], nil
}

// ShipmentFilter narrows a list of shipments; empty fields do not filter.
type ShipmentFilter struct {
	Tenant string
	TDR    string
}

// ListShipments returns up to limit shipments matching f, newest first, after the position
// `after` (nil: from the start), and the position of the next page (nil on the last).
func (s *Store) ListShipments(ctx context.Context, f ShipmentFilter, after *paging.Cursor, limit int) ([]Shipment, *paging.Cursor, error) {
	args := []any{f.Tenant, f.TDR, limit + 1}
	sql := `SELECT id::text FROM shipments
		WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR transport_document_reference = $2)`
	if after != nil {
		sql += ` AND (created_at, id) < ($4, $5::text::uuid)`
		args = append(args, after.At, after.ID)
	}
	sql += ` ORDER BY created_at DESC, id DESC LIMIT $3`
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: list shipments: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: list shipments: %w", err)
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	shs, err := loadShipments(ctx, s.db, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: list shipments: %w", err)
	}
	var next *paging.Cursor
	if more && len(shs) > 0 {
		last := shs[len(shs)-1]
		next = &paging.Cursor{At: last.CreatedAt, ID: last.ID}
	}
	return shs, next, nil
}

// ShipmentsOfBookings returns, in tx, the shipments with a leg on one of the bookings, their
// rows locked FOR UPDATE in id order (so concurrent refreshes queue instead of deadlocking).
func (s *Store) ShipmentsOfBookings(ctx context.Context, tx pgx.Tx, bookingIDs []string) ([]Shipment, error) {
	var valid []string
	for _, id := range bookingIDs {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT id::text FROM shipments
		WHERE id IN (SELECT shipment_id FROM shipment_legs WHERE booking_id = ANY($1::uuid[]))
		ORDER BY id FOR UPDATE`, valid)
	if err != nil {
		return nil, fmt.Errorf("pgstore: shipments of bookings: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: shipments of bookings: %w", err)
	}
	shs, err := loadShipments(ctx, tx, ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore: shipments of bookings: %w", err)
	}
	return shs, nil
}

// SetShipmentState records, in tx, a shipment's status and announced ETA and bumps its version.
func (s *Store) SetShipmentState(ctx context.Context, tx pgx.Tx, id, status string, eta *time.Time) error {
	tag, err := tx.Exec(ctx, `
		UPDATE shipments SET status = $2, eta = $3, version = version + 1, updated_at = now()
		WHERE id = $1::text::uuid`, id, status, eta)
	if err != nil {
		return fmt.Errorf("pgstore: set shipment %s state: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
	}
	return nil
}

// LegActuals are what a carrier reports of an external leg; nil fields keep what is known.
type LegActuals struct {
	Departure *time.Time
	Arrival   *time.Time
}

// ShipmentState is a shipment's status and announced ETA.
type ShipmentState struct {
	Status string
	ETA    *time.Time
}

// RecordLegActualsThen records the actual times of external leg seq of a shipment at version,
// in one transaction: the shipment row is locked, the leg updated, and then runs with the
// shipment before and after the update; the state it returns is stored with the version bumped
// once. It returns the shipment as it is then.
//
// Errors: apperr.ErrNotFound (the shipment or the leg), apperr.ErrPreconditionFailed (another
// version), apperr.ErrConflict (a booking leg, whose actual times come from the field), and
// what then returns.
func (s *Store) RecordLegActualsThen(ctx context.Context, id string, version, seq int, a LegActuals,
	then func(tx pgx.Tx, before, after Shipment) (ShipmentState, error)) (Shipment, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Shipment{}, fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
	}
	var out Shipment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var current int
		err := tx.QueryRow(ctx, `SELECT version FROM shipments WHERE id = $1 FOR UPDATE`, id).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if current != version {
			return fmt.Errorf("shipment %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
		}
		shs, err := loadShipments(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		before := shs[0]
		if seq < 1 || seq > len(before.Legs) {
			return fmt.Errorf("shipment %s has no leg %d: %w", id, seq, apperr.ErrNotFound)
		}
		if before.Legs[seq-1].BookingID != "" {
			return fmt.Errorf("leg %d rides booking %s: its actual times come from the field: %w",
				seq, before.Legs[seq-1].BookingID, apperr.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE shipment_legs SET actual_departure_at = COALESCE($3, actual_departure_at),
				actual_arrival_at = COALESCE($4, actual_arrival_at)
			WHERE shipment_id = $1 AND seq = $2`, id, seq, a.Departure, a.Arrival); err != nil {
			return err
		}
		if shs, err = loadShipments(ctx, tx, []string{id}); err != nil {
			return err
		}
		after := shs[0]
		state := ShipmentState{Status: after.Status, ETA: after.ETA}
		if then != nil {
			if state, err = then(tx, before, after); err != nil {
				return err
			}
		}
		if err := s.SetShipmentState(ctx, tx, id, state.Status, state.ETA); err != nil {
			return err
		}
		if shs, err = loadShipments(ctx, tx, []string{id}); err != nil {
			return err
		}
		out = shs[0]
		return nil
	})
	if err != nil {
		return Shipment{}, passErr("record actuals of shipment "+id, err)
	}
	return out, nil
}

func firstOf(shs []Shipment) Shipment {
	if len(shs) == 0 {
		return Shipment{}
	}
	return shs[0]
}

// loadShipments reads the shipments ids with their containers and legs, in the order of ids
// (absent ones are skipped).
func loadShipments(ctx context.Context, db postgres.DB, ids []string) ([]Shipment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.Query(ctx, `
		SELECT id::text, tenant_id, transport_document_reference, status, origin, destination, eta, version,
			created_at, updated_at
		FROM shipments WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Shipment, error) {
		var sh Shipment
		err := row.Scan(&sh.ID, &sh.Tenant, &sh.TDR, &sh.Status, &sh.Origin, &sh.Destination, &sh.ETA, &sh.Version,
			&sh.CreatedAt, &sh.UpdatedAt)
		return sh, err
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Shipment, len(all))
	for i := range all {
		all[i].Containers = []string{}
		byID[all[i].ID] = &all[i]
	}
	rows, err = db.Query(ctx, `
		SELECT shipment_id::text, equipment_reference FROM shipment_containers
		WHERE shipment_id = ANY($1::uuid[]) ORDER BY shipment_id, equipment_reference`, ids)
	if err != nil {
		return nil, err
	}
	var sid, container string
	if _, err := pgx.ForEachRow(rows, []any{&sid, &container}, func() error {
		if sh := byID[sid]; sh != nil {
			sh.Containers = append(sh.Containers, container)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(ctx, `
		SELECT l.shipment_id::text, l.seq, l.mode, l.from_location, l.to_location, l.carrier_code, l.transport_reference,
			COALESCE(l.booking_id::text, ''), l.planned_departure_at, l.planned_arrival_at,
			l.actual_departure_at, l.actual_arrival_at, `+legBookingColumns+`
		FROM shipment_legs l
		LEFT JOIN bookings b ON b.id = l.booking_id
		LEFT JOIN departures d ON d.id = b.departure_id
		LEFT JOIN departure_stops fs ON fs.departure_id = b.departure_id AND fs.seq = b.from_seq
		LEFT JOIN departure_stops ts ON ts.departure_id = b.departure_id AND ts.seq = b.to_seq
		WHERE l.shipment_id = ANY($1::uuid[]) ORDER BY l.shipment_id, l.seq`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l ShipmentLeg
		var n nullLegBooking
		dest := append([]any{&sid, &l.Seq, &l.Mode, &l.From, &l.To, &l.CarrierCode, &l.TransportReference, &l.BookingID,
			&l.PlannedDeparture, &l.PlannedArrival, &l.ActualDeparture, &l.ActualArrival}, n.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if l.Booking = n.booking(); l.Booking != nil {
			// A booking leg's times are its departure's, as they are now.
			l.PlannedDeparture, l.PlannedArrival = l.Booking.PlannedDeparture, l.Booking.PlannedArrival
			l.ActualDeparture, l.ActualArrival = l.Booking.ActualDeparture, l.Booking.ActualArrival
		}
		if sh := byID[sid]; sh != nil {
			sh.Legs = append(sh.Legs, l)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Shipment, 0, len(all))
	for _, id := range ids {
		if sh := byID[id]; sh != nil {
			out = append(out, *sh)
		}
	}
	return out, nil
}

// BookingFilter narrows a list of bookings; empty fields do not filter.
type BookingFilter struct {
	Tenant      string
	Status      string
	DepartureID string // a UUID
	Container   string
}

// ListBookings returns up to limit bookings matching f, newest first, after the position
// `after` (nil: from the start), and the position of the next page (nil on the last).
func (s *Store) ListBookings(ctx context.Context, f BookingFilter, after *paging.Cursor, limit int) ([]Booking, *paging.Cursor, error) {
	var departure *string
	if f.DepartureID != "" {
		if _, err := uuid.Parse(f.DepartureID); err != nil {
			return nil, nil, apperr.Invalid("departureId", "is not a departure id")
		}
		departure = &f.DepartureID
	}
	args := []any{f.Tenant, f.Status, departure, f.Container, limit + 1}
	sql := `SELECT ` + bookingColumns + ` FROM bookings b
		WHERE ($1 = '' OR b.tenant_id = $1) AND ($2 = '' OR b.status = $2)
			AND ($3::text IS NULL OR b.departure_id = $3::text::uuid) AND ($4 = '' OR b.equipment_reference = $4)`
	if after != nil {
		sql += ` AND (b.created_at, b.id) < ($6, $7::text::uuid)`
		args = append(args, after.At, after.ID)
	}
	sql += ` ORDER BY b.created_at DESC, b.id DESC LIMIT $5`
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: list bookings: %w", err)
	}
	bs, err := collectBookings(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: list bookings: %w", err)
	}
	var next *paging.Cursor
	if len(bs) > limit {
		bs = bs[:limit]
		last := bs[len(bs)-1]
		next = &paging.Cursor{At: last.CreatedAt, ID: last.ID}
	}
	return bs, next, nil
}
