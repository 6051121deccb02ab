package pgstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// bookFor books box on the SCO-KZ-ALA departure d for tenant, from stop from to stop to.
func bookFor(t *testing.T, s *pgstore.Store, d pgstore.Departure, tenant string, from, to int) pgstore.Booking {
	t.Helper()
	spec := box(d, 2, 20_000, from, to)
	spec.Tenant = tenant
	b, err := s.Book(t.Context(), spec)
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	return b
}

func timeAt(t time.Time) *time.Time { return &t }

// shipmentSpec is a shipment of a sea leg into Jiaozhou, the rail booking b (from its from-stop
// to its to-stop on d) and a road leg beyond.
func shipmentSpec(d pgstore.Departure, b pgstore.Booking, tdr string) pgstore.ShipmentSpec {
	from, to := d.Stops[b.FromSeq].UNLocationCode, d.Stops[b.ToSeq].UNLocationCode
	dep, arr := *d.Stops[b.FromSeq].PlannedDeparture, *d.Stops[b.ToSeq].PlannedArrival
	return pgstore.ShipmentSpec{Tenant: b.Tenant, TDR: tdr, Origin: "KRINC", Destination: to, Containers: []string{b.Container},
		Legs: []pgstore.ShipmentLeg{
			{Mode: "sea", From: "KRINC", To: from, PlannedDeparture: timeAt(dep.Add(-72 * time.Hour)), PlannedArrival: timeAt(dep.Add(-24 * time.Hour))},
			{Mode: "rail", From: from, To: to, BookingID: b.ID},
			{Mode: "road", From: to, To: to, PlannedDeparture: timeAt(arr.Add(time.Hour)), PlannedArrival: timeAt(arr.Add(5 * time.Hour))},
		}}
}

func recordState(sh pgstore.Shipment) func(pgx.Tx, pgstore.Shipment) (pgstore.ShipmentState, error) {
	return func(pgx.Tx, pgstore.Shipment) (pgstore.ShipmentState, error) {
		return pgstore.ShipmentState{Status: pgstore.ShipmentBooked, ETA: sh.ETA}, nil
	}
}

func TestCreateShipment(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	b := bookFor(t, s, d, "acme", 0, 4)
	spec := shipmentSpec(d, b, "MBL0001")

	var inTx pgstore.Shipment
	sh, err := s.CreateShipmentThen(t.Context(), spec, func(_ pgx.Tx, sh pgstore.Shipment) (pgstore.ShipmentState, error) {
		inTx = sh
		return pgstore.ShipmentState{Status: pgstore.ShipmentBooked, ETA: timeAt(d.Stops[4].PlannedArrival.Add(5 * time.Hour))}, nil
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if inTx.ID != sh.ID || inTx.Status != pgstore.ShipmentCreated || len(inTx.Legs) != 3 {
		t.Fatalf("then saw %+v", inTx)
	}
	if sh.Tenant != "acme" || sh.TDR != "MBL0001" || sh.Status != pgstore.ShipmentBooked || sh.Version != 1 ||
		sh.ETA == nil || !sh.ETA.Equal(d.Stops[4].PlannedArrival.Add(5*time.Hour)) ||
		sh.Origin != "KRINC" || sh.Destination != "KZALA" || len(sh.Containers) != 1 || sh.Containers[0] != b.Container {
		t.Fatalf("shipment %+v", sh)
	}
	rail := sh.Legs[1]
	if rail.Seq != 2 || rail.BookingID != b.ID || rail.Booking == nil || rail.Booking.DepartureID != d.ID ||
		rail.Booking.TrainNumber != "X8024" || rail.Booking.Status != pgstore.BookingConfirmed ||
		!rail.PlannedDeparture.Equal(*d.Stops[0].PlannedDeparture) || !rail.PlannedArrival.Equal(*d.Stops[4].PlannedArrival) ||
		rail.Booking.ETA == nil || !rail.Booking.ETA.Equal(*d.Stops[4].PlannedArrival) {
		t.Fatalf("rail leg %+v (booking %+v)", rail, rail.Booking)
	}
	if sea := sh.Legs[0]; sea.Booking != nil || sea.Seq != 1 || !sea.PlannedArrival.Equal(*spec.Legs[0].PlannedArrival) {
		t.Fatalf("sea leg %+v", sea)
	}

	// A booking leg's times are its departure's as they are now.
	if _, err := pool.Exec(t.Context(), `UPDATE departure_stops SET actual_departure_at = planned_departure_at + interval '1 hour'
		WHERE departure_id = $1 AND seq = 0`, d.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Shipment(t.Context(), sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Legs[1].ActualDeparture; a == nil || !a.Equal(d.Stops[0].PlannedDeparture.Add(time.Hour)) {
		t.Fatalf("rail leg actual departure %v", a)
	}

	t.Run("errors", func(t *testing.T) {
		other := bookFor(t, s, d, "globex", 1, 3)
		cancelled := bookFor(t, s, d, "acme", 1, 2)
		if _, err := pool.Exec(t.Context(), `UPDATE bookings SET status = 'cancelled' WHERE id = $1`, cancelled.ID); err != nil {
			t.Fatal(err)
		}
		fresh := bookFor(t, s, d, "acme", 0, 2)
		taken := shipmentSpec(d, fresh, "MBL0001")
		again := shipmentSpec(d, b, "MBL0002")
		theirs := shipmentSpec(d, other, "MBL0003")
		theirs.Tenant = "acme" // acme names globex's booking
		gone := shipmentSpec(d, cancelled, "MBL0004")
		unknown := shipmentSpec(d, fresh, "MBL0005")
		unknown.Legs[1].BookingID = "00000000-0000-0000-0000-000000000000"
		for _, tc := range []struct {
			name  string
			spec  pgstore.ShipmentSpec
			is    error
			field string
		}{
			{"transport document reference taken", taken, pgstore.ErrTDRTaken, ""},
			{"booking already in a shipment", again, pgstore.ErrBookingInShipment, ""},
			{"another tenant's booking", theirs, nil, "legs[1].bookingId"},
			{"cancelled booking", gone, nil, "legs[1].bookingId"},
			{"no such booking", unknown, nil, "legs[1].bookingId"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateShipmentThen(t.Context(), tc.spec, recordState(pgstore.Shipment{}))
				if tc.is != nil {
					if !errors.Is(err, tc.is) || !errors.Is(err, apperr.ErrConflict) {
						t.Fatalf("err %v, want %v", err, tc.is)
					}
					return
				}
				var ve *apperr.ValidationError
				if !errors.As(err, &ve) || ve.Fields[0].Field != tc.field || ve.Fields[0].Reason != "no such booking" {
					t.Fatalf("err %v, want %s: no such booking", err, tc.field)
				}
			})
		}
		// The hook's error rolls the shipment back.
		boom := errors.New("boom")
		_, err := s.CreateShipmentThen(t.Context(), shipmentSpec(d, fresh, "MBL0006"),
			func(pgx.Tx, pgstore.Shipment) (pgstore.ShipmentState, error) { return pgstore.ShipmentState{}, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err %v, want boom", err)
		}
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM shipments) + (SELECT count(*) FROM shipment_legs)
			+ (SELECT count(*) FROM shipment_containers)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1+3+1 {
			t.Fatalf("%d shipment rows stored, want only the first shipment's 5", n)
		}
	})
}

func TestShipmentsOfBookingsAndState(t *testing.T) {
	s, pool := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	b1, b2, b3 := bookFor(t, s, d, "acme", 0, 4), bookFor(t, s, d, "acme", 0, 4), bookFor(t, s, d, "acme", 0, 4)
	sh1, err := s.CreateShipmentThen(t.Context(), shipmentSpec(d, b1, "MBL1"), recordState(pgstore.Shipment{}))
	if err != nil {
		t.Fatal(err)
	}
	sh2, err := s.CreateShipmentThen(t.Context(), shipmentSpec(d, b2, "MBL2"), recordState(pgstore.Shipment{}))
	if err != nil {
		t.Fatal(err)
	}
	eta := time.Date(2027, 3, 20, 8, 0, 0, 0, time.UTC)
	err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		shs, err := s.ShipmentsOfBookings(t.Context(), tx, []string{b3.ID, b2.ID, b1.ID, "not-a-uuid"})
		if err != nil {
			return err
		}
		if len(shs) != 2 || shs[0].ID > shs[1].ID {
			t.Fatalf("shipments %+v, want both in id order", shs)
		}
		for _, sh := range shs {
			if sh.ID != sh1.ID && sh.ID != sh2.ID {
				t.Fatalf("shipment %s is neither", sh.ID)
			}
		}
		return s.SetShipmentState(t.Context(), tx, sh1.ID, pgstore.ShipmentInTransit, &eta)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Shipment(t.Context(), sh1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != pgstore.ShipmentInTransit || got.Version != 2 || got.ETA == nil || !got.ETA.Equal(eta) {
		t.Fatalf("after SetShipmentState: %+v", got)
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "nope"} {
		if _, err := s.Shipment(t.Context(), id); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("Shipment(%q) = %v, want not found", id, err)
		}
	}
}

func TestRecordLegActuals(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	b := bookFor(t, s, d, "acme", 0, 4)
	sh, err := s.CreateShipmentThen(t.Context(), shipmentSpec(d, b, "MBL1"), recordState(pgstore.Shipment{}))
	if err != nil {
		t.Fatal(err)
	}
	arrived := sh.Legs[0].PlannedArrival.Add(10 * time.Hour)
	keep := func(_ pgx.Tx, before, after pgstore.Shipment) (pgstore.ShipmentState, error) {
		return pgstore.ShipmentState{Status: after.Status, ETA: after.ETA}, nil
	}
	for _, tc := range []struct {
		name    string
		id      string
		version int
		seq     int
		is      error
	}{
		{"stale version", sh.ID, 7, 1, apperr.ErrPreconditionFailed},
		{"booking leg", sh.ID, 1, 2, apperr.ErrConflict},
		{"no such leg", sh.ID, 1, 4, apperr.ErrNotFound},
		{"no such shipment", "00000000-0000-0000-0000-000000000000", 1, 1, apperr.ErrNotFound},
		{"not a uuid", "nope", 1, 1, apperr.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RecordLegActualsThen(t.Context(), tc.id, tc.version, tc.seq, pgstore.LegActuals{Arrival: &arrived}, keep)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
		})
	}

	var before, after pgstore.Shipment
	got, err := s.RecordLegActualsThen(t.Context(), sh.ID, 1, 1, pgstore.LegActuals{Arrival: &arrived},
		func(_ pgx.Tx, b, a pgstore.Shipment) (pgstore.ShipmentState, error) {
			before, after = b, a
			return pgstore.ShipmentState{Status: pgstore.ShipmentInTransit, ETA: &arrived}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if before.Legs[0].ActualArrival != nil || after.Legs[0].ActualArrival == nil || !after.Legs[0].ActualArrival.Equal(arrived) {
		t.Fatalf("before %+v, after %+v", before.Legs[0], after.Legs[0])
	}
	if got.Version != 2 || got.Status != pgstore.ShipmentInTransit || !got.ETA.Equal(arrived) || !got.Legs[0].ActualArrival.Equal(arrived) {
		t.Fatalf("after recording: %+v", got)
	}
	// A later report keeps what it does not say.
	left := sh.Legs[0].PlannedDeparture.Add(time.Hour)
	got, err = s.RecordLegActualsThen(t.Context(), sh.ID, 2, 1, pgstore.LegActuals{Departure: &left}, keep)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || !got.Legs[0].ActualArrival.Equal(arrived) || !got.Legs[0].ActualDeparture.Equal(left) {
		t.Fatalf("after the second report: %+v", got.Legs[0])
	}
	// The hook's error changes nothing.
	boom := errors.New("boom")
	if _, err := s.RecordLegActualsThen(t.Context(), sh.ID, 3, 3, pgstore.LegActuals{Arrival: &arrived},
		func(pgx.Tx, pgstore.Shipment, pgstore.Shipment) (pgstore.ShipmentState, error) {
			return pgstore.ShipmentState{}, boom
		}); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if got, _ := s.Shipment(t.Context(), sh.ID); got.Version != 3 || got.Legs[2].ActualArrival != nil {
		t.Fatalf("after a failed report: version %d, leg 3 %+v", got.Version, got.Legs[2])
	}
}

func TestListShipmentsAndBookings(t *testing.T) {
	s, _ := newStore(t)
	d := openDeparture(t, s, "SCO-KZ-ALA", 0, 0, 0)
	var mine []pgstore.Shipment
	var bookings []pgstore.Booking
	for i, tenant := range []string{"acme", "acme", "globex", "acme"} {
		b := bookFor(t, s, d, tenant, 0, 4)
		bookings = append(bookings, b)
		sh, err := s.CreateShipmentThen(t.Context(), shipmentSpec(d, b, "MBL"+string(rune('A'+i))), recordState(pgstore.Shipment{}))
		if err != nil {
			t.Fatal(err)
		}
		if tenant == "acme" {
			mine = append(mine, sh)
		}
	}

	var ids []string
	var after *paging.Cursor
	for page := 0; ; page++ {
		shs, next, err := s.ListShipments(t.Context(), pgstore.ShipmentFilter{Tenant: "acme"}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range shs {
			ids = append(ids, sh.ID)
			if len(sh.Legs) != 3 || sh.Tenant != "acme" {
				t.Fatalf("listed %+v", sh)
			}
		}
		if next == nil {
			break
		}
		if page > 2 {
			t.Fatal("too many pages")
		}
		// The cursor survives its trip to the client.
		if after, err = paging.Decode(next.Encode(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{mine[2].ID, mine[1].ID, mine[0].ID}; len(ids) != 3 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Fatalf("acme's shipments %v, want newest first %v", ids, want)
	}
	if shs, _, err := s.ListShipments(t.Context(), pgstore.ShipmentFilter{Tenant: "acme", TDR: "MBLC"}, nil, 10); err != nil || len(shs) != 0 {
		t.Fatalf("acme sees globex's shipment by its TDR: %v %v", shs, err)
	}
	if shs, _, err := s.ListShipments(t.Context(), pgstore.ShipmentFilter{TDR: "MBLC"}, nil, 10); err != nil || len(shs) != 1 || shs[0].Tenant != "globex" {
		t.Fatalf("by TDR: %v %v", shs, err)
	}

	bs, next, err := s.ListBookings(t.Context(), pgstore.BookingFilter{Tenant: "acme", DepartureID: d.ID}, nil, 2)
	if err != nil || len(bs) != 2 || next == nil || bs[0].ID != bookings[3].ID || bs[1].ID != bookings[1].ID {
		t.Fatalf("first page %v %v %v", bs, next, err)
	}
	bs, next, err = s.ListBookings(t.Context(), pgstore.BookingFilter{Tenant: "acme", DepartureID: d.ID}, next, 2)
	if err != nil || len(bs) != 1 || next != nil || bs[0].ID != bookings[0].ID {
		t.Fatalf("second page %v %v %v", bs, next, err)
	}
	bs, _, err = s.ListBookings(t.Context(), pgstore.BookingFilter{Container: bookings[2].Container, Status: pgstore.BookingConfirmed}, nil, 10)
	if err != nil || len(bs) != 1 || bs[0].Tenant != "globex" {
		t.Fatalf("by container %v %v", bs, err)
	}
	if _, _, err := s.ListBookings(t.Context(), pgstore.BookingFilter{DepartureID: "nope"}, nil, 10); err == nil {
		t.Fatal("a departure id that is not a UUID is accepted")
	}
}
