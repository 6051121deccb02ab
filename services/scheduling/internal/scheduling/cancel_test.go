package scheduling_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
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
	msgs := scheduleMsgs(t, e, "schedule.v1.departure.cancelled", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetDepartureId() != d.ID || ev.GetCancelled().GetReason() != "locomotive failure" {
		t.Fatalf("cancelled event %v", &ev)
	}
}
