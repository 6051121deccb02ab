package scheduling_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
)

// Cancelling a departure with 60 FEU booked when the next one of the route has 41 FEU free:
// the first 41 bookings move, the other 19 are waitlisted, each announced exactly once.
func TestCancelDeparture(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8501", map[string]any{"teuChina": 120, "teuAbroad": 120})
	later := time.Now().Add(8 * 24 * time.Hour).In(time.FixedZone("CST", 8*3600)).Truncate(time.Minute)
	next := e.newDeparture(t, "X8503", map[string]any{"teuChina": 82, "teuAbroad": 82,
		"plannedDeparture": later.Format(time.RFC3339), "cutoff": later.Add(-12 * time.Hour).Format(time.RFC3339)})
	ids := make([]string, 60)
	for i := range ids {
		var b booking
		e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
			e.bookBody(t, d.ID, 1000+i, "45G1", "CNJZH", "KZALA", 20000, "acme"), http.StatusCreated, &b)
		ids[i] = b.ID
	}
	_, etag := e.timed(t, d.ID)
	path := "/v1/departures/" + d.ID + "/cancel"
	body := map[string]any{"reason": "locomotive failure"}

	e.write(t, http.MethodPost, path, e.dispatcher, "", body, http.StatusPreconditionRequired)
	e.write(t, http.MethodPost, path, e.acme, etag, body, http.StatusForbidden)
	e.write(t, http.MethodPost, path, e.dispatcher, `"99"`, body, http.StatusPreconditionFailed)

	resp, raw := e.write(t, http.MethodPost, path, e.dispatcher, etag, body, http.StatusOK)
	var got struct {
		Moved []struct {
			BookingID     string `json:"bookingID"`
			ToDepartureID string `json:"toDepartureID"`
		} `json:"moved"`
		Waitlisted []string `json:"waitlisted"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("ETag") != `"2"` {
		t.Errorf("ETag %q after the cancellation, want \"2\"", resp.Header.Get("ETag"))
	}
	if len(got.Moved) != 41 || len(got.Waitlisted) != 19 {
		t.Fatalf("%d moved, %d waitlisted; want 41 and 19", len(got.Moved), len(got.Waitlisted))
	}
	for i, m := range got.Moved {
		if m.BookingID != ids[i] || m.ToDepartureID != next.ID {
			t.Errorf("moved[%d] = %+v, want booking %s to %s", i, m, ids[i], next.ID)
		}
	}
	if !slices.Equal(got.Waitlisted, ids[41:]) {
		t.Errorf("waitlisted %v, want the last 19 in booking order %v", got.Waitlisted, ids[41:])
	}

	// A second dispatcher who read before the cancellation, and a cancel of a cancelled departure.
	e.write(t, http.MethodPost, path, e.dispatcher, etag, body, http.StatusPreconditionFailed)
	e.write(t, http.MethodPost, path, e.dispatcher, `"2"`, body, http.StatusConflict)

	after, _ := e.timed(t, next.ID)
	for i, g := range after.Segments {
		if g.TEUBooked != 82 {
			t.Errorf("next departure segment %d: %d TEU booked, want 82", i, g.TEUBooked)
		}
	}
	var cancelled departure
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &cancelled)
	if cancelled.Status != "cancelled" {
		t.Errorf("status %q, want cancelled", cancelled.Status)
	}
	var b0, b59 struct {
		DepartureID string `json:"departureID"`
		Status      string `json:"status"`
	}
	e.call(t, http.MethodGet, "/v1/bookings/"+ids[0], e.acme, nil, http.StatusOK, &b0)
	e.call(t, http.MethodGet, "/v1/bookings/"+ids[59], e.acme, nil, http.StatusOK, &b59)
	if b0.DepartureID != next.ID || b59.Status != "waitlisted" {
		t.Errorf("first booking %+v, last %+v", b0, b59)
	}

	seen := map[string]int{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.booking.moved", 41) {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		mv := ev.GetMoved()
		if mv.GetFromDepartureId() != d.ID || mv.GetToDepartureId() != next.ID || ev.GetDepartureId() != next.ID ||
			mv.GetFromTrainNumber() != "X8501" || ev.GetTrainNumber() != "X8503" || ev.GetEnvelope().GetTenantId() != "acme" {
			t.Errorf("moved event %v", &ev)
		}
		seen[ev.GetBookingId()]++
	}
	positions := map[int32]bool{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.booking.waitlisted", 19) {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		p := ev.GetWaitlisted().GetPosition()
		if i := slices.Index(ids, ev.GetBookingId()); i < 41 || int(p) != i-40 {
			t.Errorf("waitlisted event for booking #%d at position %d", i, p)
		}
		positions[p] = true
		seen[ev.GetBookingId()]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("booking %s: %d events, want 1", id, seen[id])
		}
	}
	if len(positions) != 19 {
		t.Errorf("waitlist positions %v, want 1..19", positions)
	}
	// Each waitlisting raises one waitlisted exception, for the booking's tenant, at its position.
	excepted := map[string]int32{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.exception.waitlisted", 19) {
		var ev schedulev1.ExceptionEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetDepartureId() != d.ID || ev.GetEnvelope().GetTenantId() != "acme" || ev.GetWaitlisted() == nil {
			t.Errorf("waitlisted exception %v", &ev)
		}
		excepted[ev.GetBookingId()] = ev.GetWaitlisted().GetPosition()
	}
	for i, id := range ids[41:] {
		if excepted[id] != int32(i+1) {
			t.Errorf("booking %s: waitlisted exception at position %d, want %d", id, excepted[id], i+1)
		}
	}
	msgs := scheduleMsgs(t, e, "schedule.v1.departure.cancelled", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetDepartureId() != d.ID || ev.GetCancelled().GetReason() != "locomotive failure" {
		t.Fatalf("cancelled event %v", &ev)
	}
}

type waitlist struct {
	Route    string `json:"route"`
	Waitlist []struct {
		Position    int    `json:"position"`
		BookingID   string `json:"bookingId"`
		DepartureID string `json:"departureId"`
		From        string `json:"from"`
		To          string `json:"to"`
	} `json:"waitlist"`
}

func (w waitlist) ids() []string {
	out := make([]string, len(w.Waitlist))
	for i, x := range w.Waitlist {
		out[i] = x.BookingID
	}
	return out
}

// The waitlist is the route's: a second cancellation's bookings queue after the first's, and
// when room appears (capacity raised) they are placed in that order, each announced as moved.
func TestWaitlistIsRouteWideAndPromotedInOrder(t *testing.T) {
	e := startEnv(t)
	cst := time.FixedZone("CST", 8*3600)
	at := func(after time.Duration) map[string]any {
		dep := time.Now().Add(after).In(cst).Truncate(time.Minute)
		return map[string]any{"plannedDeparture": dep.Format(time.RFC3339), "cutoff": dep.Add(-12 * time.Hour).Format(time.RFC3339)}
	}
	with := func(m map[string]any, teu int) map[string]any {
		m["teuChina"], m["teuAbroad"] = teu, teu
		return m
	}
	first := e.newDeparture(t, "X8901", with(at(7*24*time.Hour), 120))
	second := e.newDeparture(t, "X8903", with(at(7*24*time.Hour+6*time.Hour), 6)) // full with its own 3 FEU
	last := e.newDeparture(t, "X8905", with(at(8*24*time.Hour), 2))               // room for one FEU
	book := func(dep string, from int) []string {
		ids := make([]string, 3)
		for i := range ids {
			var b booking
			e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
				e.bookBody(t, dep, from+i, "45G1", "CNJZH", "KZALA", 20000, "acme"), http.StatusCreated, &b)
			ids[i] = b.ID
		}
		return ids
	}
	a, c := book(first.ID, 5000), book(second.ID, 5100)
	cancel := func(id string) {
		_, etag := e.timed(t, id)
		e.write(t, http.MethodPost, "/v1/departures/"+id+"/cancel", e.dispatcher, etag, map[string]any{"reason": "test"}, http.StatusOK)
	}
	cancel(first.ID)  // a[0] moves to the last departure; a[1], a[2] wait at 1 and 2
	cancel(second.ID) // no room anywhere: c[0..2] wait at 3, 4, 5

	var w waitlist
	path := "/v1/routes/" + testRoute + "/waitlist"
	e.call(t, http.MethodGet, path, e.dispatcher, nil, http.StatusOK, &w)
	if want := []string{a[1], a[2], c[0], c[1], c[2]}; !slices.Equal(w.ids(), want) {
		t.Fatalf("waitlist %v, want %v", w.ids(), want)
	}
	for i, x := range w.Waitlist {
		if x.Position != i+1 || x.From != "CNJZH" || x.To != "KZALA" {
			t.Errorf("waitlist[%d] = %+v", i, x)
		}
	}
	e.call(t, http.MethodGet, path, e.acme, nil, http.StatusForbidden, nil)
	e.call(t, http.MethodGet, "/v1/routes/NO-SUCH/waitlist", e.dispatcher, nil, http.StatusNotFound, nil)

	positions := map[string]int32{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.booking.waitlisted", 5) {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		positions[ev.GetBookingId()] = ev.GetWaitlisted().GetPosition()
	}
	for i, id := range []string{a[1], a[2], c[0], c[1], c[2]} {
		if positions[id] != int32(i+1) {
			t.Errorf("booking %s announced at position %d, want %d", id, positions[id], i+1)
		}
	}

	// Room for two more FEU on the last departure: the first two in line get it.
	_, etag := e.timed(t, last.ID)
	e.write(t, http.MethodPut, "/v1/departures/"+last.ID+"/capacity", e.dispatcher, etag,
		map[string]any{"teuChina": 6, "teuAbroad": 6, "weightCapacityKg": 1_000_000}, http.StatusOK)
	e.call(t, http.MethodGet, path, e.dispatcher, nil, http.StatusOK, &w)
	if want := []string{c[0], c[1], c[2]}; !slices.Equal(w.ids(), want) || w.Waitlist[0].Position != 1 {
		t.Fatalf("waitlist after the promotion %+v, want %v from position 1", w.Waitlist, want)
	}
	confirmedOn := func(dep string, ids ...string) {
		t.Helper()
		for _, id := range ids {
			var got struct {
				DepartureID string `json:"departureID"`
				Status      string `json:"status"`
			}
			e.call(t, http.MethodGet, "/v1/bookings/"+id, e.acme, nil, http.StatusOK, &got)
			if got.DepartureID != dep || got.Status != "confirmed" {
				t.Errorf("booking %s: %+v, want confirmed on %s", id, got, dep)
			}
		}
	}
	confirmedOn(last.ID, a...)
	got, _ := e.timed(t, last.ID)
	if got.Segments[0].TEUBooked != 6 {
		t.Errorf("last departure: %d TEU booked, want 6", got.Segments[0].TEUBooked)
	}
	var promoted []string
	for _, m := range scheduleMsgs(t, e, "schedule.v1.booking.moved", 3) {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if mv := ev.GetMoved(); mv.GetReason() == scheduling.ReasonFromWaitlist {
			if mv.GetFromDepartureId() != first.ID || mv.GetToDepartureId() != last.ID || ev.GetTrainNumber() != "X8905" {
				t.Errorf("promotion %v", &ev)
			}
			promoted = append(promoted, ev.GetBookingId())
		}
	}
	if !slices.Equal(promoted, a[1:]) {
		t.Errorf("promoted %v, want %v in waitlist order", promoted, a[1:])
	}
	// Their ETAs moved a day: announced as moved bookings.
	etas := map[string]bool{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.eta.changed", 3) {
		var ev schedulev1.EtaEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetChanged().GetReason() != schedulev1.EtaChangeReason_ETA_CHANGE_REASON_BOOKING_MOVED || ev.GetDepartureId() != last.ID {
			t.Errorf("ETA event %v", &ev)
		}
		etas[ev.GetBookingId()] = true
	}
	if !etas[a[0]] || !etas[a[1]] || !etas[a[2]] {
		t.Errorf("ETA events for %v, want %v", etas, a)
	}

	// A new departure on the route has room for two FEU: the next two in line take it when it is
	// put on the timetable, in the same transaction.
	extra := e.newDeparture(t, "X8907", with(at(9*24*time.Hour), 4))
	e.call(t, http.MethodGet, path, e.dispatcher, nil, http.StatusOK, &w)
	if want := []string{c[2]}; !slices.Equal(w.ids(), want) || w.Waitlist[0].Position != 1 {
		t.Fatalf("waitlist after a new departure %+v, want %v at position 1", w.Waitlist, want)
	}
	confirmedOn(extra.ID, c[:2]...)
	scheduleMsgs(t, e, "schedule.v1.booking.moved", 5)
}
