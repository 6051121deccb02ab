package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/paging"
)

// Exception kinds, as stored and as the last word of their subject (schedule.v1.exception.<kind>).
const (
	ExceptionMissedCutoff  = "missed_cutoff"
	ExceptionDepartureLate = "departure_late"
	ExceptionBorderDwell   = "border_dwell"
	ExceptionWaitlisted    = "waitlisted"
)

// Exception is something off plan, raised once per Key.
type Exception struct {
	Key         string // what it is about, e.g. missed_cutoff:<booking id>
	Kind        string
	DepartureID string // "" when none
	BookingID   string // "" when none
	Tenant      string // the booking's tenant; "" for an exception about a departure
	Detail      string
	RaisedAt    time.Time

	// Read only: from the departure and the booking.
	Route              string
	TrainNumber        string
	EquipmentReference string
}

// RaiseException records e in tx unless an exception with its key was raised before; raised
// says whether it was recorded now (and so is to be announced).
func (s *Store) RaiseException(ctx context.Context, tx pgx.Tx, e Exception) (raised bool, err error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO exceptions (key, kind, departure_id, booking_id, tenant_id, detail)
		VALUES ($1, $2, nullif($3, '')::uuid, nullif($4, '')::uuid, $5, $6)
		ON CONFLICT (key) DO NOTHING`, e.Key, e.Kind, e.DepartureID, e.BookingID, e.Tenant, e.Detail)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ExceptionFilter selects exceptions; zero fields select everything.
type ExceptionFilter struct {
	Kind        string
	DepartureID string // a UUID, validated by the caller
	Tenant      string // with TenantOnly: only this tenant's exceptions about its bookings
	TenantOnly  bool
	Since       time.Time // raised at or after
	Limit       int
	After       *paging.Cursor // raised_at and key of the last exception of the page before
}

// Exceptions returns the exceptions f selects, newest first (raised_at, then key, descending).
func (s *Store) Exceptions(ctx context.Context, f ExceptionFilter) ([]Exception, error) {
	var since, after *time.Time
	var afterKey string
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if f.After != nil {
		after, afterKey = &f.After.At, f.After.ID
	}
	rows, err := s.db.Query(ctx, `
		SELECT e.key, e.kind, coalesce(e.departure_id::text, ''), coalesce(e.booking_id::text, ''), e.tenant_id,
			e.detail, e.raised_at, coalesce(d.route_code, ''), coalesce(d.train_number, ''), coalesce(b.equipment_reference, '')
		FROM exceptions e
		LEFT JOIN departures d ON d.id = e.departure_id
		LEFT JOIN bookings b ON b.id = e.booking_id
		WHERE ($1 = '' OR e.kind = $1)
			AND ($2 = '' OR e.departure_id = nullif($2, '')::uuid)
			AND (NOT $3 OR (e.tenant_id = $4 AND e.booking_id IS NOT NULL))
			AND ($5::timestamptz IS NULL OR e.raised_at >= $5)
			AND ($6::timestamptz IS NULL OR (e.raised_at, e.key) < ($6, $7))
		ORDER BY e.raised_at DESC, e.key DESC
		LIMIT $8`, f.Kind, f.DepartureID, f.TenantOnly, f.Tenant, since, after, afterKey, f.Limit)
	if err != nil {
		return nil, passErr("exceptions", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Exception, error) {
		var e Exception
		err := row.Scan(&e.Key, &e.Kind, &e.DepartureID, &e.BookingID, &e.Tenant, &e.Detail, &e.RaisedAt,
			&e.Route, &e.TrainNumber, &e.EquipmentReference)
		return e, err
	})
	return out, passErr("exceptions", err)
}

// DwellingStop is a border stop a train reached and has not left.
type DwellingStop struct {
	Seq            int
	UNLocationCode string
	ArrivedAt      time.Time
}

// Due is the work the sweeper found on one departure: Closed when it was open past its cut-off
// and has just been closed (Before is the departure before that); Missed, its bookings still
// confirmed past the cut-off with no missed_cutoff exception yet; Dwelling, its border stops
// where the train has stayed longer than the threshold with no border_dwell exception yet.
type Due struct {
	Before    Departure
	Departure Departure
	Closed    bool
	Missed    []Booking
	Dwelling  []DwellingStop
}

// SweepNext takes one departure with work due at now (see Due) that is not in skip and that no
// other transaction holds (FOR UPDATE SKIP LOCKED, so replicas share the sweep), closes it when
// it is open past its cut-off (bumping its version), and runs then with what is due in the same
// transaction. found is false when no departure has work due; id names the departure taken,
// also when the transaction failed.
func (s *Store) SweepNext(ctx context.Context, now time.Time, dwell time.Duration, skip []string,
	then func(tx pgx.Tx, due Due) error) (id string, found bool, err error) {
	if skip == nil {
		skip = []string{}
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			SELECT d.id::text FROM departures d
			WHERE d.id::text <> ALL($1) AND (
				(d.status = 'open' AND d.cutoff_at < $2)
				OR (d.status IN ('open', 'closed', 'departed') AND d.cutoff_at < $2 AND EXISTS (
					SELECT 1 FROM bookings b WHERE b.departure_id = d.id AND b.status = 'confirmed'
						AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.key = 'missed_cutoff:' || b.id::text)))
				OR (d.status NOT IN ('cancelled', 'arrived') AND EXISTS (
					SELECT 1 FROM departure_stops s
					JOIN route_stops r ON r.route_code = d.route_code AND r.seq = s.seq AND r.role = 'border'
					WHERE s.departure_id = d.id AND s.actual_arrival_at < $3::timestamptz
						AND s.actual_departure_at IS NULL
						AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.key = 'border_dwell:' || d.id::text || ':' || s.seq)))
			)
			ORDER BY d.cutoff_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED`, skip, now, now.Add(-dwell)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var due Due
		if due.Before, err = departure(ctx, tx, id); err != nil {
			return err
		}
		if due.Before.Status == StatusOpen && due.Before.Cutoff.Before(now) {
			if _, err := tx.Exec(ctx, `
				UPDATE departures SET status = $2, version = version + 1, updated_at = now() WHERE id = $1`,
				id, StatusClosed); err != nil {
				return err
			}
			due.Closed = true
		}
		if due.Departure, err = departure(ctx, tx, id); err != nil {
			return err
		}
		if due.Before.Cutoff.Before(now) {
			rows, err := tx.Query(ctx, `
				SELECT `+bookingColumns+` FROM bookings b
				WHERE b.departure_id = $1 AND b.status = $2
					AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.key = 'missed_cutoff:' || b.id::text)
				ORDER BY b.created_at, b.id FOR UPDATE OF b`, id, BookingConfirmed)
			if err != nil {
				return err
			}
			if due.Missed, err = collectBookings(rows); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `
			SELECT s.seq, s.un_location_code, s.actual_arrival_at FROM departure_stops s
			JOIN departures d ON d.id = s.departure_id
			JOIN route_stops r ON r.route_code = d.route_code AND r.seq = s.seq AND r.role = 'border'
			WHERE s.departure_id = $1 AND d.status NOT IN ('cancelled', 'arrived')
				AND s.actual_arrival_at < $2::timestamptz AND s.actual_departure_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.key = 'border_dwell:' || d.id::text || ':' || s.seq)
			ORDER BY s.seq`, id, now.Add(-dwell))
		if err != nil {
			return err
		}
		due.Dwelling, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (DwellingStop, error) {
			var st DwellingStop
			err := row.Scan(&st.Seq, &st.UNLocationCode, &st.ArrivedAt)
			return st, err
		})
		if err != nil || then == nil {
			return err
		}
		return then(tx, due)
	})
	if err != nil {
		return id, found, passErr("sweep", err)
	}
	return id, found, nil
}

// IsBorderStop says, in tx, whether stop seq of route is a border stop.
func (s *Store) IsBorderStop(ctx context.Context, tx pgx.Tx, route string, seq int) (bool, error) {
	var border bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM route_stops WHERE route_code = $1 AND seq = $2 AND role = 'border')`,
		route, seq).Scan(&border)
	return border, err
}
