package scheduling_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
)

// Moving bookings is all or nothing: 5 FEU do not fit where 4 have room, and nothing changes;
// 3 do, and each is announced exactly once. An unknown booking answers 404.
func TestMoveBookings(t *testing.T) {
	e := startEnv(t)
	from := e.newDeparture(t, "X8601", map[string]any{"teuChina": 20, "teuAbroad": 20})
	later := time.Now().Add(8 * 24 * time.Hour).In(time.FixedZone("CST", 8*3600)).Truncate(time.Minute)
	to := e.newDeparture(t, "X8603", map[string]any{"teuChina": 8, "teuAbroad": 8,
		"plannedDeparture": later.Format(time.RFC3339), "cutoff": later.Add(-12 * time.Hour).Format(time.RFC3339)})
	ids := make([]string, 5)
	for i := range ids {
		var b booking
		e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
			e.bookBody(t, from.ID, 3000+i, "45G1", "CNJZH", "KZALA", 20000, "acme"), http.StatusCreated, &b)
		ids[i] = b.ID
	}
	booked := func(id string) []int {
		d, _ := e.timed(t, id)
		out := make([]int, len(d.Segments))
		for i, g := range d.Segments {
			out[i] = g.TEUBooked
		}
		return out
	}
	onDeparture := func(id string) string {
		var b struct {
			DepartureID string `json:"departureID"`
			Version     int    `json:"version"`
		}
		e.call(t, http.MethodGet, "/v1/bookings/"+id, e.dispatcher, nil, http.StatusOK, &b)
		return b.DepartureID
	}
	fromBefore, toBefore := booked(from.ID), booked(to.ID)
	unchanged := func(t *testing.T) {
		t.Helper()
		if got := booked(from.ID); !slices.Equal(got, fromBefore) {
			t.Errorf("old departure booked %v, want %v", got, fromBefore)
		}
		if got := booked(to.ID); !slices.Equal(got, toBefore) {
			t.Errorf("target booked %v, want %v", got, toBefore)
		}
		for _, id := range ids {
			if d := onDeparture(id); d != from.ID {
				t.Errorf("booking %s on %s, want %s", id, d, from.ID)
			}
		}
	}
	body := func(ids ...string) map[string]any {
		return map[string]any{"bookingIDs": ids, "toDepartureID": to.ID, "reason": "rebalancing"}
	}

	for _, c := range []struct {
		name, token string
		body        map[string]any
		want        int
		detail      string
	}{
		{"five FEU where four fit", e.dispatcher, body(ids...), http.StatusConflict, "TEU"},
		{"unknown booking", e.dispatcher, body(ids[0], "00000000-0000-4000-8000-000000000000"), http.StatusNotFound,
			"00000000-0000-4000-8000-000000000000"},
		{"shipper", e.acme, body(ids[0]), http.StatusForbidden, ""},
		{"no bookings", e.dispatcher, body(), http.StatusUnprocessableEntity, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.write(t, http.MethodPost, "/v1/bookings/move", c.token, "", c.body, c.want)
			if p := problem(t, resp, raw); !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q, want it to name %q", p.Detail, c.detail)
			}
			unchanged(t)
		})
	}

	_, raw := e.write(t, http.MethodPost, "/v1/bookings/move", e.dispatcher, "", body(ids[:3]...), http.StatusOK)
	if !strings.Contains(string(raw), to.ID) {
		t.Errorf("answer %s does not name the target", raw)
	}
	for i, id := range ids {
		want := from.ID
		if i < 3 {
			want = to.ID
		}
		if d := onDeparture(id); d != want {
			t.Errorf("booking %d on %s, want %s", i, d, want)
		}
	}
	for i, n := range booked(from.ID) {
		if n != fromBefore[i]-6 {
			t.Errorf("old departure segment %d: %d TEU booked, want %d", i, n, fromBefore[i]-6)
		}
	}
	for i, n := range booked(to.ID) {
		if n != toBefore[i]+6 {
			t.Errorf("target segment %d: %d TEU booked, want %d", i, n, toBefore[i]+6)
		}
	}

	// Exactly 3: the refused moves announced nothing.
	seen := map[string]int{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.booking.moved", 3) {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		mv := ev.GetMoved()
		if mv.GetFromDepartureId() != from.ID || mv.GetToDepartureId() != to.ID || mv.GetFromTrainNumber() != "X8601" ||
			ev.GetTrainNumber() != "X8603" || mv.GetReason() != "rebalancing" || ev.GetEnvelope().GetTenantId() != "acme" {
			t.Errorf("moved event %v", &ev)
		}
		seen[ev.GetBookingId()]++
	}
	for _, id := range ids[:3] {
		if seen[id] != 1 {
			t.Errorf("booking %s: %d moved events, want 1", id, seen[id])
		}
	}
}
