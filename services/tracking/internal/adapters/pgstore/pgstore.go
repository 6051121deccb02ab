// Package pgstore is the tracking service's store of record in PostgreSQL: the history of
// container events (partitioned by month), the dedupe of event ids, and the ownership of
// containers by tenants.
package pgstore

import (
	"context"

	"errors"
	"fmt"
	"github.com/google/uuid"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/services/tracking/internal/domain"
)

// Store reads and writes the tracking schema.
type Store struct {
	db postgres.DB
}

// New returns a Store on db (whose search_path is the tracking schema).
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// WithTx returns a Store whose statements run in tx (for work inside a consumer's inbox
// transaction).
func (s *Store) WithTx(tx pgx.Tx) *Store { return &Store{db: tx} }

// EnsurePartitions creates the monthly partitions of events from `back` months before now to
// `ahead` months after it. Existing ones are left alone. Run at start and daily.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time, back, ahead int) error {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := -back; i <= ahead; i++ {
		from := first.AddDate(0, i, 0)
		to := from.AddDate(0, 1, 0)
		name := fmt.Sprintf("events_%04d_%02d", from.Year(), int(from.Month()))
		var exists bool
		if err := s.db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return fmt.Errorf("pgstore: partition %s: %w", name, err)
		}
		if exists {
			continue
		}
		sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
			pgx.Identifier{name}.Sanitize(), from.Format(time.RFC3339), to.Format(time.RFC3339))
		if _, err := s.db.Exec(ctx, sql); err != nil {
			// Rows for that month already sit in the default partition (a month far in the past
			// first seen now): leave them there rather than fail the service.
			if strings.Contains(err.Error(), "would be violated by some row") {
				continue
			}
			return fmt.Errorf("pgstore: create partition %s: %w", name, err)
		}
	}
	return nil
}

// Record stores the events whose ids were never stored before, in one transaction, and
// reports which were new (same order as evs). Re-recording an event is a no-op, so a
// redelivered batch is safe. payloads, when not nil, are the events' wire bytes as they came
// off the bus (stored as they are, saving a marshal); otherwise the events are marshalled.
func (s *Store) Record(ctx context.Context, evs []*trackingv1.ContainerEvent, payloads [][]byte) ([]bool, error) {
	isNew := make([]bool, len(evs))
	if len(evs) == 0 {
		return isNew, nil
	}
	ids := make([]pgtype.UUID, len(evs))
	at := make([]time.Time, len(evs))
	for i, ev := range evs {
		id, err := uuid.Parse(events.EventID(ev))
		if err != nil {
			return nil, fmt.Errorf("pgstore: event id %q is not a UUID: %w", events.EventID(ev), err)
		}
		ids[i] = pgtype.UUID{Bytes: id, Valid: true}
		at[i] = ev.GetEnvelope().GetOccurredAt().AsTime()
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO event_ids (event_id, occurred_at)
			SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
			ON CONFLICT (event_id) DO NOTHING
			RETURNING event_id`, ids, at)
		if err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		fresh := make(map[[16]byte]bool, len(ids))
		for rows.Next() {
			var id pgtype.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			fresh[id.Bytes] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		var copyRows [][]any
		for i, ev := range evs {
			if !fresh[ids[i].Bytes] {
				continue
			}
			delete(fresh, ids[i].Bytes) // the same id twice in one batch is stored once
			isNew[i] = true
			var payload []byte
			if payloads != nil {
				payload = payloads[i]
			}
			r, err := row(ev, ids[i], payload)
			if err != nil {
				return err
			}
			copyRows = append(copyRows, r)
		}
		if len(copyRows) == 0 {
			return nil
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, columns, pgx.CopyFromRows(copyRows))
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: record %d events: %w", len(evs), err)
	}
	return isNew, nil
}

var columns = []string{
	"event_id", "occurred_at", "occurred_offset_s", "created_at", "recorded_at", "event_type", "type_code",
	"classifier", "equipment_reference", "un_location_code", "mode_of_transport", "vehicle",
	"carrier_booking_ref", "transport_document_ref", "document_type_code", "refs", "derived", "payload",
}

// row maps an event to the columns of events.
func row(ev *trackingv1.ContainerEvent, id pgtype.UUID, payload []byte) ([]any, error) {
	if payload == nil {
		var err error
		if payload, err = events.Marshal(ev); err != nil {
			return nil, err
		}
	}
	env := ev.GetEnvelope()
	f := domain.FactsOf(ev)
	return []any{
		id, env.GetOccurredAt().AsTime(), env.GetOccurredOffsetSeconds(), env.GetCreatedAt().AsTime(),
		env.GetRecordedAt().AsTime(), f.EventType, nullable(f.TypeCode), f.Classifier, nullable(ev.GetEquipmentReference()),
		nullable(f.Location), nullable(f.Mode), nullable(f.Vehicle), nullable(f.References[refCarrierBooking]),
		nullable(f.References[refTransportDocument]), nullable(docType(ev)), refList(f.References), ev.GetDerivation() != nil, payload,
	}, nil
}

const (
	refCarrierBooking    = "BKG" // DCSA documentReferenceType BKG: the carrier booking reference
	refTransportDocument = "TRD"
)

func docType(ev *trackingv1.ContainerEvent) string {
	if s := ev.GetShipment(); s != nil && s.GetDocumentType() != trackingv1.DocumentType_DOCUMENT_TYPE_UNSPECIFIED {
		return strings.TrimPrefix(s.GetDocumentType().String(), "DOCUMENT_TYPE_")
	}
	return ""
}

// refList flattens every reference to "TYPE:value" for the GIN index.
func refList(refs map[string]string) []string {
	out := make([]string, 0, len(refs))
	for k, v := range refs {
		out = append(out, k+":"+v)
	}
	return out
}

// nullable maps "" to NULL, as a typed text value so COPY encodes it without trying plans.
func nullable(s string) pgtype.Text {
	return pgtype.Text{String: s, Valid: s != ""}
}

// ErrBadCursor is returned for a cursor this store did not issue.
var ErrBadCursor = errors.New("pgstore: invalid cursor")
