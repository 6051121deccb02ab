package pgstore_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/tracking/migrations"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// base is an event time with a nanosecond part: the payload keeps it, the indexed columns
// hold microseconds.
var base = time.Date(2026, 3, 14, 8, 0, 0, 123456789, time.UTC)

// newStore migrates a fresh schema and returns a store on it and the pool under it.
func newStore(t testing.TB) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	url, schema := pgtest.Schema(t, "pgstore")
	if err := postgres.Migrate(t.Context(), url, schema, migrations.FS); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	pool, err := postgres.Connect(t.Context(), url, schema)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pgstore.New(pool), pool
}

// --- events ---------------------------------------------------------------------------------

func container(t testing.TB, serial int) string {
	t.Helper()
	n, err := iso6346.Make("SCD", 'U', serial)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

func trd(v string) *commonv1.DocumentReference {
	return &commonv1.DocumentReference{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_TRANSPORT_DOCUMENT, Value: v}
}

func bkg(v string) *commonv1.DocumentReference {
	return &commonv1.DocumentReference{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CARRIER_BOOKING, Value: v}
}

func envelope(at time.Time, docs ...*commonv1.DocumentReference) *commonv1.Envelope {
	return &commonv1.Envelope{
		EventId:               uuid.NewString(),
		OccurredAt:            timestamppb.New(at),
		OccurredOffsetSeconds: proto.Int32(28800),
		CreatedAt:             timestamppb.New(at.Add(time.Minute)),
		RecordedAt:            timestamppb.New(at.Add(2 * time.Minute)),
		Source:                &commonv1.Source{Type: commonv1.SourceType_SOURCE_TYPE_RAIL_OPERATOR, Id: "KTZ"},
		References: []*commonv1.Reference{
			{Type: commonv1.ReferenceType_REFERENCE_TYPE_SHIPPER, Value: "SI-42"},
		},
		DocumentReferences: docs,
	}
}

func railCall(loc string) *trackingv1.TransportCall {
	return &trackingv1.TransportCall{
		TransportCallReference: "X8024-" + loc,
		ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
		Location: &commonv1.Location{
			UnLocationCode:           loc,
			FacilityCode:             "MLC",
			FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
			FacilityType:             commonv1.FacilityType_FACILITY_TYPE_INTE,
		},
		SequenceNumber: proto.Int32(1),
		Rail:           &trackingv1.RailDetails{TrainNumber: "X8024", WagonNumber: "315512345678"},
	}
}

func equipment(c string, code trackingv1.EquipmentEventType, at time.Time, loc string, docs ...*commonv1.DocumentReference) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope:           envelope(at, docs...),
		EquipmentReference: c,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
			EventType:        code,
			IsoEquipmentCode: "45G1",
			EmptyIndicator:   trackingv1.EmptyIndicator_EMPTY_INDICATOR_LADEN,
			EventLocation:    &commonv1.Location{UnLocationCode: loc},
			TransportCall:    railCall(loc),
			Seals:            []*trackingv1.Seal{{SealNumber: "S123", Source: trackingv1.SealSource_SEAL_SOURCE_CAR, Type: trackingv1.SealType_SEAL_TYPE_BLT}},
		}},
	}
}

func transport(c string, code trackingv1.TransportEventType, at time.Time, loc string, docs ...*commonv1.DocumentReference) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope:           envelope(at, docs...),
		EquipmentReference: c,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
			EventType:     code,
			TransportCall: railCall(loc),
		}},
	}
}

func shipment(c string, at time.Time, doc string) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope:           envelope(at, trd(doc)),
		EquipmentReference: c,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Shipment{Shipment: &trackingv1.ShipmentEvent{
			EventType:    trackingv1.ShipmentEventType_SHIPMENT_EVENT_TYPE_ISSU,
			DocumentType: trackingv1.DocumentType_DOCUMENT_TYPE_TRD,
			DocumentId:   doc,
		}},
	}
}

func position(c string, at time.Time, lat, lon float64) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope:           envelope(at),
		EquipmentReference: c,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{
			Latitude:        lat,
			Longitude:       lon,
			SpeedKmh:        proto.Float64(62.5),
			Source:          trackingv1.PositionSource_POSITION_SOURCE_GNSS,
			DeviceId:        "imei-356938035643809",
			TrainNumber:     "X8024",
			ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
		}},
	}
}

func withRecorded(ev *trackingv1.ContainerEvent, at time.Time) *trackingv1.ContainerEvent {
	ev.Envelope.RecordedAt = timestamppb.New(at)
	return ev
}

func withCreated(ev *trackingv1.ContainerEvent, at time.Time) *trackingv1.ContainerEvent {
	ev.Envelope.CreatedAt = timestamppb.New(at)
	return ev
}

func withID(ev *trackingv1.ContainerEvent, id string) *trackingv1.ContainerEvent {
	ev.Envelope.EventId = id
	return ev
}

func id(ev *trackingv1.ContainerEvent) string { return events.EventID(ev) }

func ids(evs []*trackingv1.ContainerEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = id(ev)
	}
	return out
}

// micro is a time as the indexed columns hold it.
func micro(ts *timestamppb.Timestamp) time.Time { return ts.AsTime().Truncate(time.Microsecond) }

// newestFirst is History's order: occurred_at descending, then event id descending (a uuid
// sorts as its lowercase text).
func newestFirst(evs ...*trackingv1.ContainerEvent) []string {
	s := slices.Clone(evs)
	slices.SortFunc(s, func(a, b *trackingv1.ContainerEvent) int {
		if c := micro(b.GetEnvelope().GetOccurredAt()).Compare(micro(a.GetEnvelope().GetOccurredAt())); c != 0 {
			return c
		}
		return strings.Compare(id(b), id(a))
	})
	return ids(s)
}

// recordedOrder is List's order: recorded_at, then event id.
func recordedOrder(evs ...*trackingv1.ContainerEvent) []string {
	s := slices.Clone(evs)
	slices.SortFunc(s, func(a, b *trackingv1.ContainerEvent) int {
		if c := micro(a.GetEnvelope().GetRecordedAt()).Compare(micro(b.GetEnvelope().GetRecordedAt())); c != 0 {
			return c
		}
		return strings.Compare(id(a), id(b))
	})
	return ids(s)
}

func record(t *testing.T, s *pgstore.Store, evs ...*trackingv1.ContainerEvent) []bool {
	t.Helper()
	got, err := s.Record(t.Context(), evs, nil)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	if len(got) != len(evs) {
		t.Fatalf("record: %d results for %d events", len(got), len(evs))
	}
	return got
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// partitions lists the partitions of events, sorted.
func partitions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// partitionOf names the partition holding event id.
func partitionOf(t *testing.T, pool *pgxpool.Pool, eventID string) string {
	t.Helper()
	var n string
	if err := pool.QueryRow(t.Context(), `SELECT tableoid::regclass::text FROM events WHERE event_id = $1`, eventID).Scan(&n); err != nil {
		t.Fatalf("partition of %s: %v", eventID, err)
	}
	return n
}

// storedEvent decodes the stored payload of event id.
func storedEvent(t *testing.T, pool *pgxpool.Pool, eventID string) (*trackingv1.ContainerEvent, []byte) {
	t.Helper()
	var payload []byte
	if err := pool.QueryRow(t.Context(), `SELECT payload FROM events WHERE event_id = $1`, eventID).Scan(&payload); err != nil {
		t.Fatalf("payload of %s: %v", eventID, err)
	}
	ev := new(trackingv1.ContainerEvent)
	if err := events.Unmarshal(payload, ev); err != nil {
		t.Fatalf("decode payload of %s: %v", eventID, err)
	}
	return ev, payload
}

// --- EnsurePartitions -----------------------------------------------------------------------

func TestEnsurePartitionsCreatesMonthsAround(t *testing.T) {
	tests := []struct {
		name        string
		now         time.Time
		back, ahead int
		want        []string // besides events_default
	}{
		{"mid month", base, 2, 1, []string{"events_2026_01", "events_2026_02", "events_2026_03", "events_2026_04"}},
		{"across new year", time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC), 1, 1, []string{"events_2025_12", "events_2026_01", "events_2026_02"}},
		{"december ahead", time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), 0, 2, []string{"events_2025_11", "events_2025_12", "events_2026_01"}},
		{"current month only", base, 0, 0, []string{"events_2026_03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, pool := newStore(t)
			want := append([]string{"events_default"}, tt.want...)
			slices.Sort(want)
			for round := 1; round <= 2; round++ { // the second run finds them all and changes nothing
				if err := s.EnsurePartitions(t.Context(), tt.now, tt.back, tt.ahead); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if got := partitions(t, pool); !slices.Equal(got, want) {
					t.Fatalf("round %d: partitions = %v, want %v", round, got, want)
				}
				for _, name := range tt.want {
					var exists bool
					if err := pool.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || !exists {
						t.Fatalf("round %d: to_regclass(%s) exists=%v err=%v", round, name, exists, err)
					}
				}
			}
		})
	}
}

func TestEnsurePartitionsRoutesEventsByMonth(t *testing.T) {
	s, pool := newStore(t)
	if err := s.EnsurePartitions(t.Context(), base, 1, 1); err != nil { // Feb, Mar, Apr 2026
		t.Fatal(err)
	}
	c := container(t, 1)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"first instant of month", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "events_2026_03"},
		{"last microsecond of previous month", time.Date(2026, 2, 28, 23, 59, 59, 999999000, time.UTC), "events_2026_02"},
		{"mid month", base, "events_2026_03"},
		{"offset time that is next month in UTC", time.Date(2026, 3, 31, 22, 30, 0, 0, time.FixedZone("", -3*3600)), "events_2026_04"},
		{"last partition", time.Date(2026, 4, 30, 23, 0, 0, 0, time.UTC), "events_2026_04"},
		{"after the last partition", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "events_default"},
		{"far in the past", time.Date(1999, 7, 1, 12, 0, 0, 0, time.UTC), "events_default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := position(c, tt.at, 43.2, 76.9)
			record(t, s, ev)
			if got := partitionOf(t, pool, id(ev)); got != tt.want {
				t.Fatalf("event at %s in %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestEnsurePartitionsLeavesMonthAlreadyInDefault(t *testing.T) {
	s, pool := newStore(t)
	old := time.Date(2019, 6, 10, 9, 0, 0, 0, time.UTC)
	ev := equipment(container(t, 2), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, old, "CNTAO")
	record(t, s, ev)
	// A month far in the past first seen now: its rows sit in the default partition, so that
	// month's partition cannot be attached; the service must not fail on it.
	if err := s.EnsurePartitions(t.Context(), old, 1, 1); err != nil {
		t.Fatalf("ensure with rows in default: %v", err)
	}
	want := []string{"events_2019_05", "events_2019_07", "events_default"}
	if got := partitions(t, pool); !slices.Equal(got, want) {
		t.Fatalf("partitions = %v, want %v", got, want)
	}
	if got := partitionOf(t, pool, id(ev)); got != "events_default" {
		t.Fatalf("old event moved to %s", got)
	}
}

// --- Record ---------------------------------------------------------------------------------

func TestRecordDedupes(t *testing.T) {
	s, pool := newStore(t)
	c := container(t, 10)
	a := equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, base, "CNTAO", trd("TRD1"))
	b := transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, base.Add(time.Hour), "CNTAO")
	p := position(c, base.Add(2*time.Hour), 36.1, 120.3)
	d := shipment(c, base.Add(3*time.Hour), "TRD1")
	stored := func() (events, eventIDs int) {
		return count(t, pool, `SELECT count(*) FROM events`), count(t, pool, `SELECT count(*) FROM event_ids`)
	}

	steps := []struct {
		name       string
		evs        []*trackingv1.ContainerEvent
		want       []bool
		wantStored int
	}{
		{"new events", []*trackingv1.ContainerEvent{a, b, p}, []bool{true, true, true}, 3},
		{"same events again", []*trackingv1.ContainerEvent{a, b, p}, []bool{false, false, false}, 3},
		{"one old one new", []*trackingv1.ContainerEvent{p, d}, []bool{false, true}, 4},
		{"empty batch", nil, []bool{}, 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := record(t, s, st.evs...)
			if !slices.Equal(got, st.want) {
				t.Fatalf("new = %v, want %v", got, st.want)
			}
			if ne, ni := stored(); ne != st.wantStored || ni != st.wantStored {
				t.Fatalf("stored %d events, %d ids; want %d", ne, ni, st.wantStored)
			}
		})
	}

	t.Run("same id twice in one call", func(t *testing.T) {
		first := position(c, base.Add(5*time.Hour), 40.0, 80.0)
		again := withID(position(c, base.Add(5*time.Hour), 41.0, 81.0), id(first))
		got := record(t, s, first, again)
		if !slices.Equal(got, []bool{true, false}) {
			t.Fatalf("new = %v, want [true false]", got)
		}
		if n := count(t, pool, `SELECT count(*) FROM events WHERE event_id = $1`, id(first)); n != 1 {
			t.Fatalf("%d rows for the id, want 1", n)
		}
		if ev, _ := storedEvent(t, pool, id(first)); !proto.Equal(ev, first) {
			t.Fatalf("stored %v, want the first copy %v", ev, first)
		}
	})

	t.Run("id that is not a UUID", func(t *testing.T) {
		bad := withID(position(c, base, 1, 1), "not-a-uuid")
		before, _ := stored()
		if _, err := s.Record(t.Context(), []*trackingv1.ContainerEvent{position(c, base.Add(9*time.Hour), 1, 1), bad}, nil); err == nil {
			t.Fatal("no error")
		}
		if after, _ := stored(); after != before {
			t.Fatalf("stored %d events, had %d: a failed batch must store nothing", after, before)
		}
	})
}

func TestRecordStoresPayload(t *testing.T) {
	c := container(t, 11)
	mk := func() []*trackingv1.ContainerEvent {
		return []*trackingv1.ContainerEvent{
			equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, base, "CNTAO", trd("TRD1"), bkg("BKG1")),
			transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, base.Add(time.Hour), "KZALA"),
			shipment(c, base.Add(2*time.Hour), "TRD1"),
			position(c, base.Add(3*time.Hour), 43.25, 76.95),
		}
	}
	tests := []struct {
		name string
		wire bool // give the wire bytes, as a consumer does
	}{
		{"payloads nil", false},
		{"wire bytes given", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, pool := newStore(t)
			evs := mk()
			var payloads [][]byte
			if tt.wire {
				for _, ev := range evs {
					b, err := events.Marshal(ev)
					if err != nil {
						t.Fatal(err)
					}
					payloads = append(payloads, b)
				}
			}
			got, err := s.Record(t.Context(), evs, payloads)
			if err != nil || !slices.Equal(got, []bool{true, true, true, true}) {
				t.Fatalf("record = %v, %v", got, err)
			}
			for i, ev := range evs {
				stored, raw := storedEvent(t, pool, id(ev))
				if !proto.Equal(stored, ev) {
					t.Errorf("event %d: stored %v, want %v", i, stored, ev)
				}
				if tt.wire && !bytes.Equal(raw, payloads[i]) {
					t.Errorf("event %d: stored bytes differ from the wire bytes given", i)
				}
			}
		})
	}
}

func TestRecordIndexedColumns(t *testing.T) {
	s, pool := newStore(t)
	c := container(t, 12)
	load := equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, base, "CNTAO", trd("TRD1"))
	fix := position(c, base.Add(time.Hour), 43.25, 76.95)
	ship := shipment(c, base.Add(2*time.Hour), "TRD9")
	record(t, s, load, fix, ship)

	type cols struct {
		occurred, created, recorded                  time.Time
		offset                                       int32
		eventType, classifier                        string
		typeCode, equipment, location, mode, vehicle *string
		trd, docType                                 *string
		refs                                         []string
		derived                                      bool
	}
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		ev   *trackingv1.ContainerEvent
		want cols
	}{
		{"equipment", load, cols{
			eventType: "EQUIPMENT", classifier: "ACT", typeCode: str("LOAD"), equipment: str(c), location: str("CNTAO"),
			mode: str("RAIL"), vehicle: str("X8024"), trd: str("TRD1"), refs: []string{"SI:SI-42", "TRD:TRD1"},
		}},
		{"position", fix, cols{
			eventType: "POSITION", classifier: "ACT", equipment: str(c), mode: str("RAIL"), vehicle: str("X8024"),
			refs: []string{"SI:SI-42"},
		}},
		{"shipment", ship, cols{
			eventType: "SHIPMENT", classifier: "ACT", typeCode: str("ISSU"), equipment: str(c), trd: str("TRD9"),
			docType: str("TRD"), refs: []string{"SI:SI-42", "TRD:TRD9"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got cols
			err := pool.QueryRow(t.Context(), `
				SELECT occurred_at, created_at, recorded_at, occurred_offset_s, event_type, classifier, type_code,
				       equipment_reference, un_location_code, mode_of_transport, vehicle, transport_document_ref,
				       document_type_code, refs, derived
				FROM events WHERE event_id = $1`, id(tt.ev)).Scan(
				&got.occurred, &got.created, &got.recorded, &got.offset, &got.eventType, &got.classifier, &got.typeCode,
				&got.equipment, &got.location, &got.mode, &got.vehicle, &got.trd, &got.docType, &got.refs, &got.derived)
			if err != nil {
				t.Fatal(err)
			}
			env := tt.ev.GetEnvelope()
			want := tt.want
			want.occurred, want.created, want.recorded = micro(env.GetOccurredAt()), micro(env.GetCreatedAt()), micro(env.GetRecordedAt())
			want.offset = 28800
			slices.Sort(got.refs)
			if !got.occurred.Equal(want.occurred) || !got.created.Equal(want.created) || !got.recorded.Equal(want.recorded) {
				t.Errorf("times = %s %s %s, want %s %s %s", got.occurred, got.created, got.recorded, want.occurred, want.created, want.recorded)
			}
			show := func(p *string) string {
				if p == nil {
					return "NULL"
				}
				return *p
			}
			gs := fmt.Sprint(got.offset, got.eventType, got.classifier, show(got.typeCode), show(got.equipment), show(got.location),
				show(got.mode), show(got.vehicle), show(got.trd), show(got.docType), got.refs, got.derived)
			ws := fmt.Sprint(want.offset, want.eventType, want.classifier, show(want.typeCode), show(want.equipment), show(want.location),
				show(want.mode), show(want.vehicle), show(want.trd), show(want.docType), want.refs, want.derived)
			if gs != ws {
				t.Errorf("columns\n got %s\nwant %s", gs, ws)
			}
		})
	}
}

// --- History --------------------------------------------------------------------------------

func TestHistory(t *testing.T) {
	s, _ := newStore(t)
	c, other := container(t, 20), container(t, 21)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	gtin := equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, at(0), "CNTAO", trd("TRD1"), bkg("BKG1"))
	load := equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, at(1), "CNTAO", trd("TRD1"))
	depa := transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, at(1), "CNTAO") // same instant as load
	fix1 := position(c, at(2), 42.9, 74.6)
	arri := transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, at(3), "KZALA", trd("TRD2"))
	fix2 := position(c, at(4), 43.25, 76.95)
	issu := shipment(c, at(5), "TRD1")
	otherLoad := equipment(other, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, at(1), "CNTAO", trd("TRD1"), bkg("BKG1"))
	all := []*trackingv1.ContainerEvent{gtin, load, depa, fix1, arri, fix2, issu}
	record(t, s, append(slices.Clone(all), otherLoad)...)

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			f    pgstore.Filter
			want []string
		}{
			{"none", pgstore.Filter{}, newestFirst(all...)},
			{"event type", pgstore.Filter{EventTypes: []string{"POSITION"}}, newestFirst(fix1, fix2)},
			{"event types", pgstore.Filter{EventTypes: []string{"EQUIPMENT", "TRANSPORT"}}, newestFirst(gtin, load, depa, arri)},
			{"type codes of two families", pgstore.Filter{TypeCodes: []string{"LOAD", "ARRI"}}, newestFirst(load, arri)},
			{"location", pgstore.Filter{Locations: []string{"CNTAO"}}, newestFirst(gtin, load, depa)},
			{"unknown location", pgstore.Filter{Locations: []string{"DEHAM"}}, nil},
			{"reference", pgstore.Filter{References: []string{"TRD:TRD2"}}, newestFirst(arri)},
			{"references any of", pgstore.Filter{References: []string{"TRD:TRD1", "TRD:TRD2"}}, newestFirst(gtin, load, arri, issu)},
			{"transport document", pgstore.Filter{TransportDocs: []string{"TRD1"}}, newestFirst(gtin, load, issu)},
			{"document type", pgstore.Filter{DocumentTypes: []string{"TRD"}}, newestFirst(issu)},
			{"carrier booking", pgstore.Filter{CarrierBookings: []string{"BKG1"}}, newestFirst(gtin)},
			{"occurred from (inclusive)", pgstore.Filter{OccurredFrom: at(3)}, newestFirst(arri, fix2, issu)},
			{"occurred to (exclusive)", pgstore.Filter{OccurredTo: at(1)}, newestFirst(gtin)},
			{"occurred window", pgstore.Filter{OccurredFrom: at(1), OccurredTo: at(3)}, newestFirst(load, depa, fix1)},
			{"filters combine", pgstore.Filter{EventTypes: []string{"EQUIPMENT"}, Locations: []string{"CNTAO"}, OccurredFrom: at(1)}, newestFirst(load)},
			{"container cannot be widened", pgstore.Filter{Containers: []string{other}, TypeCodes: []string{"LOAD"}}, newestFirst(load)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.History(t.Context(), c, tt.f, nil, 100)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(p.Events); !slices.Equal(got, tt.want) {
					t.Fatalf("ids = %v\nwant %v", got, tt.want)
				}
				if p.Next != nil {
					t.Fatalf("next = %+v on the only page", p.Next)
				}
			})
		}
	})

	t.Run("paging", func(t *testing.T) {
		want := newestFirst(all...)
		for _, limit := range []int{1, 2, 3, 7, 8} {
			t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
				var got []string
				cursor := ""
				for pages := 1; ; pages++ {
					if pages > len(all)+1 {
						t.Fatalf("more than %d pages: %v", len(all)+1, got)
					}
					after, err := pgstore.DecodeCursor(cursor)
					if err != nil {
						t.Fatalf("page %d: decode cursor %q: %v", pages, cursor, err)
					}
					p, err := s.History(t.Context(), c, pgstore.Filter{}, after, limit)
					if err != nil {
						t.Fatalf("page %d: %v", pages, err)
					}
					if len(p.Events) > limit || (p.Next != nil && len(p.Events) != limit) {
						t.Fatalf("page %d: %d events, next %v, limit %d", pages, len(p.Events), p.Next, limit)
					}
					got = append(got, ids(p.Events)...)
					if p.Next == nil {
						break
					}
					cursor = p.Next.Encode()
				}
				if !slices.Equal(got, want) {
					t.Fatalf("visited %v\nwant    %v", got, want)
				}
			})
		}
	})

	t.Run("unknown container", func(t *testing.T) {
		p, err := s.History(t.Context(), container(t, 29), pgstore.Filter{}, nil, 10)
		if err != nil || len(p.Events) != 0 || p.Next != nil {
			t.Fatalf("page = %+v, %v; want empty", p, err)
		}
	})
}

func TestDecodeCursor(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	issued := pgstore.Cursor{At: base.Truncate(time.Microsecond), ID: uuid.NewString()}
	tests := []struct {
		name    string
		in      string
		want    *pgstore.Cursor
		wantErr error
	}{
		{"first page", "", nil, nil},
		{"issued", issued.Encode(), &issued, nil},
		{"not base64", "x", nil, pgstore.ErrBadCursor},
		{"not base64 either", "!!!", nil, pgstore.ErrBadCursor},
		{"empty object", b64("{}"), nil, pgstore.ErrBadCursor},
		{"not json", b64("cursor"), nil, pgstore.ErrBadCursor},
		{"json null", b64("null"), nil, pgstore.ErrBadCursor},
		{"no id", b64(`{"t":"2026-03-14T08:00:00Z"}`), nil, pgstore.ErrBadCursor},
		{"no time", b64(`{"i":"` + issued.ID + `"}`), nil, pgstore.ErrBadCursor},
		{"bad time", b64(`{"t":"yesterday","i":"` + issued.ID + `"}`), nil, pgstore.ErrBadCursor},
		{"id not a uuid", b64(`{"t":"2026-03-14T08:00:00Z","i":"x"}`), nil, pgstore.ErrBadCursor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pgstore.DecodeCursor(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			switch {
			case tt.want == nil && got != nil:
				t.Fatalf("cursor = %+v, want nil", got)
			case tt.want != nil && (got == nil || !got.At.Equal(tt.want.At) || got.ID != tt.want.ID):
				t.Fatalf("cursor = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// --- List -----------------------------------------------------------------------------------

func TestList(t *testing.T) {
	s, _ := newStore(t)
	a, b, c := container(t, 30), container(t, 31), container(t, 32)
	rec := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	cre := func(i int) time.Time { return base.Add(time.Duration(i) * time.Hour) }
	// Recorded in an order unrelated to when they happened; e3 and e4 share a recorded_at.
	e := []*trackingv1.ContainerEvent{
		withCreated(withRecorded(equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, base.Add(-48*time.Hour), "CNTAO"), rec(5)), cre(0)),
		withCreated(withRecorded(position(b, base.Add(-47*time.Hour), 36.1, 120.3), rec(0)), cre(1)),
		withCreated(withRecorded(equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, base.Add(-46*time.Hour), "CNTAO"), rec(6)), cre(2)),
		withCreated(withRecorded(transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, base.Add(-45*time.Hour), "CNTAO"), rec(2)), cre(3)),
		withCreated(withRecorded(position(a, base.Add(-44*time.Hour), 40.1, 80.2), rec(2)), cre(4)),
		withCreated(withRecorded(shipment(b, base.Add(-43*time.Hour), "TRD5"), rec(1)), cre(5)),
		withCreated(withRecorded(transport(c, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, base.Add(-42*time.Hour), "KZALA"), rec(4)), cre(6)),
	}
	record(t, s, e...)

	walk := func(t *testing.T, f pgstore.Filter, limit int) []string {
		t.Helper()
		var got []string
		var after *pgstore.Cursor
		for pages := 1; ; pages++ {
			if pages > 20 {
				t.Fatalf("too many pages: %v", got)
			}
			p, err := s.List(t.Context(), f, after, limit)
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			if len(p.Events) > limit || (p.Next != nil && len(p.Events) != limit) {
				t.Fatalf("page %d: %d events, next %v, limit %d", pages, len(p.Events), p.Next, limit)
			}
			got = append(got, ids(p.Events)...)
			if p.Next == nil {
				return got
			}
			if after, err = pgstore.DecodeCursor(p.Next.Encode()); err != nil {
				t.Fatalf("page %d: cursor: %v", pages, err)
			}
		}
	}

	t.Run("paging in recorded order", func(t *testing.T) {
		for _, limit := range []int{2, 1, 7, 50} {
			t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
				if got, want := walk(t, pgstore.Filter{}, limit), recordedOrder(e...); !slices.Equal(got, want) {
					t.Fatalf("visited %v\nwant    %v", got, want)
				}
			})
		}
	})

	t.Run("created", func(t *testing.T) {
		tests := []struct {
			name  string
			conds []pgstore.TimeCond
			want  []string
		}{
			{">=", []pgstore.TimeCond{{">=", cre(4)}}, recordedOrder(e[4], e[5], e[6])},
			{"<", []pgstore.TimeCond{{"<", cre(2)}}, recordedOrder(e[0], e[1])},
			{">= and <", []pgstore.TimeCond{{">=", cre(2)}, {"<", cre(5)}}, recordedOrder(e[2], e[3], e[4])},
			{">", []pgstore.TimeCond{{">", cre(5)}}, recordedOrder(e[6])},
			{"<=", []pgstore.TimeCond{{"<=", cre(0)}}, recordedOrder(e[0])},
			{"=", []pgstore.TimeCond{{"=", cre(3)}}, recordedOrder(e[3])},
			{"none match", []pgstore.TimeCond{{">", cre(6)}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := walk(t, pgstore.Filter{Created: tt.conds}, 2); !slices.Equal(got, tt.want) {
					t.Fatalf("ids = %v\nwant %v", got, tt.want)
				}
			})
		}
	})

	t.Run("tenant", func(t *testing.T) {
		grants := []struct{ tenant, container, by string }{
			{"shipper-1", a, "booking:1"},
			{"shipper-1", c, "shipment:7"},
			{"shipper-2", b, "booking:2"},
		}
		for _, g := range grants {
			if err := s.Grant(t.Context(), g.tenant, g.container, g.by); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			tenant string
			f      pgstore.Filter
			want   []string
		}{
			{"shipper-1", pgstore.Filter{}, recordedOrder(e[0], e[2], e[3], e[4], e[6])},
			{"shipper-2", pgstore.Filter{}, recordedOrder(e[1], e[5])},
			{"shipper-1", pgstore.Filter{EventTypes: []string{"TRANSPORT"}}, recordedOrder(e[3], e[6])},
			{"shipper-2", pgstore.Filter{Containers: []string{a}}, nil},
			{"nobody", pgstore.Filter{}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.tenant, func(t *testing.T) {
				tt.f.Tenant = tt.tenant
				if got := walk(t, tt.f, 2); !slices.Equal(got, tt.want) {
					t.Fatalf("ids = %v\nwant %v", got, tt.want)
				}
			})
		}
	})

	t.Run("events recorded while paging come at the end", func(t *testing.T) {
		p, err := s.List(t.Context(), pgstore.Filter{}, nil, 2)
		if err != nil || p.Next == nil {
			t.Fatalf("first page: %+v, %v", p, err)
		}
		seen := ids(p.Events)
		late := withRecorded(position(b, base, 1, 2), rec(60))
		record(t, s, late)
		after := p.Next
		for after != nil {
			if p, err = s.List(t.Context(), pgstore.Filter{}, after, 2); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, ids(p.Events)...)
			after = p.Next
		}
		if want := recordedOrder(append(slices.Clone(e), late)...); !slices.Equal(seen, want) {
			t.Fatalf("visited %v\nwant    %v", seen, want)
		}
	})
}

// --- Latest and LatestSince -----------------------------------------------------------------

func TestLatest(t *testing.T) {
	s, _ := newStore(t)
	a, posOnly, msOnly := container(t, 40), container(t, 41), container(t, 42)
	h := func(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }
	tieA := equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_DISC, h(4), "KZALA")
	tieB := transport(a, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, h(4), "KZALA")
	newestFix := position(a, h(3), 43.25, 76.95)
	onlyFix := position(posOnly, h(1), 1, 2)
	onlyMs := shipment(msOnly, h(1), "TRD3")
	record(t, s,
		equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, h(0), "CNTAO"),
		position(a, h(1), 42.9, 74.6),
		// recorded after, happened before: Latest goes by occurred_at.
		withRecorded(position(a, h(2), 43.0, 75.0), h(9)),
		newestFix, tieA, tieB,
		onlyFix, onlyMs,
	)
	newestMs := tieA
	if id(tieB) > id(tieA) {
		newestMs = tieB
	}

	tests := []struct {
		name          string
		container     string
		wantPosition  *trackingv1.ContainerEvent
		wantMilestone *trackingv1.ContainerEvent
	}{
		{"both, milestone tie broken by id", a, newestFix, newestMs},
		{"positions only", posOnly, onlyFix, nil},
		{"milestones only", msOnly, nil, onlyMs},
		{"unknown container", container(t, 49), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, m, err := s.Latest(t.Context(), tt.container)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(p, tt.wantPosition) {
				t.Errorf("position = %v\nwant %v", p, tt.wantPosition)
			}
			if !proto.Equal(m, tt.wantMilestone) {
				t.Errorf("milestone = %v\nwant %v", m, tt.wantMilestone)
			}
		})
	}
}

func TestLatestSince(t *testing.T) {
	s, _ := newStore(t)
	since := base
	h := func(n int) time.Time { return since.Add(time.Duration(n) * time.Hour) }
	a, b, c, gone := container(t, 50), container(t, 51), container(t, 52), container(t, 53)

	aMs := equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, h(2), "CNTAO")
	aPos := position(a, h(3), 43.25, 76.95)
	bPos := position(b, since, 36.1, 120.3) // exactly at since: included
	bTie1 := transport(b, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, h(5), "CNTAO")
	bTie2 := equipment(b, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, h(5), "CNTAO")
	cMs := shipment(c, h(1), "TRD4")
	bMs := bTie1
	if id(bTie2) > id(bTie1) {
		bMs = bTie2
	}
	record(t, s,
		equipment(a, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, h(-1), "CNTAO"),
		aMs,
		transport(a, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, h(1), "CNTAO"),
		position(a, h(2), 42.9, 74.6),
		aPos,
		bPos, bTie1, bTie2,
		position(b, h(-3), 30, 120),
		cMs,
		// nothing since `since`: not replayed
		position(gone, h(-2), 1, 1),
		equipment(gone, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTOT, h(-1), "DEDUI"),
		// a train's own fix, no container: not replayed
		position("", h(4), 45, 80),
	)
	want := ids([]*trackingv1.ContainerEvent{aMs, aPos, bMs, bPos, cMs})
	slices.Sort(want)

	for _, batch := range []int{1, 2, 3, 5, 100} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			var got []string
			var sizes []int
			err := s.LatestSince(t.Context(), since, batch, func(evs []*trackingv1.ContainerEvent) error {
				sizes = append(sizes, len(evs))
				got = append(got, ids(evs)...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range sizes {
				if n == 0 || n > batch || (i < len(sizes)-1 && n != batch) {
					t.Fatalf("batch sizes %v for batch %d", sizes, batch)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("replayed %v\nwant     %v", got, want)
			}
		})
	}

	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.LatestSince(t.Context(), since, 2, func([]*trackingv1.ContainerEvent) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("err = %v after %d calls, want stop after 1", err, calls)
		}
	})

	t.Run("milestone older than since of a container seen since", func(t *testing.T) {
		d := container(t, 54)
		dMs := equipment(d, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_DISC, h(-30), "DEDUI")
		dPos := position(d, h(1), 51.4, 6.7)
		record(t, s, dMs, dPos)
		var got []string
		if err := s.LatestSince(t.Context(), since, 10, func(evs []*trackingv1.ContainerEvent) error {
			for _, ev := range evs {
				if ev.GetEquipmentReference() == d {
					got = append(got, id(ev))
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{id(dMs), id(dPos)}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("replayed %v for %s, want its newest milestone and position %v", got, d, want)
		}
	})

	t.Run("later since", func(t *testing.T) {
		var got []string
		if err := s.LatestSince(t.Context(), h(3), 10, func(evs []*trackingv1.ContainerEvent) error {
			got = append(got, ids(evs)...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// a and b have events at or after h(3): each comes back whole, its newest position and
		// its newest milestone, even when one of them is older than since.
		want := []string{id(aPos), id(aMs), id(bPos), id(bMs)}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("replayed %v, want %v", got, want)
		}
	})
}

// --- ownership ------------------------------------------------------------------------------

func TestOwnership(t *testing.T) {
	s, _ := newStore(t)
	a, b, c := container(t, 60), container(t, 61), container(t, 62)
	type check struct {
		tenant, container string
		want              bool
	}
	steps := []struct {
		name   string
		do     func() error
		checks []check
	}{
		{"nothing granted", nil, []check{{"shipper-1", a, false}}},
		{"grant by booking", func() error { return s.Grant(t.Context(), "shipper-1", a, "booking:1") },
			[]check{{"shipper-1", a, true}, {"shipper-2", a, false}, {"shipper-1", b, false}}},
		{"grant twice is a no-op", func() error { return s.Grant(t.Context(), "shipper-1", a, "booking:1") },
			[]check{{"shipper-1", a, true}}},
		{"same container same tenant by shipment", func() error { return s.Grant(t.Context(), "shipper-1", a, "shipment:9") },
			[]check{{"shipper-1", a, true}}},
		{"another tenant's booking of the same container", func() error { return s.Grant(t.Context(), "shipper-2", a, "booking:3") },
			[]check{{"shipper-1", a, true}, {"shipper-2", a, true}}},
		{"revoke the booking keeps the shipment's grant", func() error { return s.Revoke(t.Context(), "booking:1") },
			[]check{{"shipper-1", a, true}, {"shipper-2", a, true}}},
		{"revoke the shipment", func() error { return s.Revoke(t.Context(), "shipment:9") },
			[]check{{"shipper-1", a, false}, {"shipper-2", a, true}}},
		{"one booking of two containers", func() error {
			return errors.Join(s.Grant(t.Context(), "shipper-1", b, "booking:4"), s.Grant(t.Context(), "shipper-1", c, "booking:4"))
		}, []check{{"shipper-1", b, true}, {"shipper-1", c, true}}},
		{"revoking it removes both", func() error { return s.Revoke(t.Context(), "booking:4") },
			[]check{{"shipper-1", b, false}, {"shipper-1", c, false}, {"shipper-2", a, true}}},
		{"revoke of an unknown grant", func() error { return s.Revoke(t.Context(), "booking:404") },
			[]check{{"shipper-2", a, true}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.do != nil {
				if err := st.do(); err != nil {
					t.Fatal(err)
				}
			}
			for _, ch := range st.checks {
				got, err := s.Owns(t.Context(), ch.tenant, ch.container)
				if err != nil {
					t.Fatal(err)
				}
				if got != ch.want {
					t.Errorf("Owns(%s, %s) = %v, want %v", ch.tenant, ch.container, got, ch.want)
				}
			}
		})
	}
}
