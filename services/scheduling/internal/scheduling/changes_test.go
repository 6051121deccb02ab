package scheduling_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

// write sends a write with an If-Match header (none when ifMatch is empty) and checks the
// status; it returns the response and its body.
func (e *env) write(t *testing.T, method, path, token, ifMatch string, body any, want int) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, raw := testkit.Send(t, req)
	if resp.StatusCode != want {
		t.Fatalf("%s %s (If-Match %q) = %d, want %d: %s", method, path, ifMatch, resp.StatusCode, want, raw)
	}
	if want >= 400 {
		problem(t, resp, raw)
	}
	return resp, raw
}

// timed is a departure with its planned stop times and segment capacity.
type timed struct {
	Version int `json:"version"`
	Stops   []struct {
		UNLocationCode   string     `json:"UNLocationCode"`
		PlannedArrival   *time.Time `json:"plannedArrival"`
		PlannedDeparture *time.Time `json:"plannedDeparture"`
	} `json:"stops"`
	Segments []struct {
		TEUCapacity      int   `json:"teuCapacity"`
		TEUBooked        int   `json:"teuBooked"`
		WeightCapacityKg int64 `json:"weightCapacityKg"`
	} `json:"segments"`
}

func (e *env) timed(t *testing.T, id string) (timed, string) {
	t.Helper()
	var d timed
	resp := e.call(t, http.MethodGet, "/v1/departures/"+id, e.dispatcher, nil, http.StatusOK, &d)
	return d, resp.Header.Get("ETag")
}

func shifted(a, b *time.Time, by time.Duration) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return b.Sub(*a) == by
}

// scheduleMsgs returns every message on subject of the SCHEDULE stream once there are want of
// them.
func scheduleMsgs(t *testing.T, e *env, subject string, want int) []jetstream.Msg {
	t.Helper()
	_, js := natstest.Connect(t, e.NATS.URL)
	return natstest.Messages(t, js, events.StreamSchedule, subject, want)
}

// A delay of 6 h moves every stop and every booking's ETA by 6 h and announces it once per
// booking; the dispatcher who read before the delay hears 412.
func TestDelayDeparture(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8301", nil)
	var bs [3]booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &bs[0])
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 2, "22G1", "CNJZH", "CNHRS", 12000, ""), http.StatusCreated, &bs[1])
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher, e.bookBody(t, d.ID, 3, "45G1", "CNURM", "KZHOR", 20000, "globex"), http.StatusCreated, &bs[2])
	before, etag := e.timed(t, d.ID)
	path := "/v1/departures/" + d.ID + "/delay"
	six := map[string]any{"by": "6h", "reason": "congestion at Khorgos"}

	for _, tc := range []struct {
		name, token, ifMatch string
		body                 any
		want                 int
	}{
		{"no If-Match", e.dispatcher, "", six, http.StatusPreconditionRequired},
		{"shipper may not", e.acme, etag, six, http.StatusForbidden},
		{"not a version", e.dispatcher, `"x"`, six, http.StatusPreconditionFailed},
		{"zero", e.dispatcher, etag, map[string]any{"by": "0h"}, http.StatusUnprocessableEntity},
		{"negative", e.dispatcher, etag, map[string]any{"by": "-1h"}, http.StatusUnprocessableEntity},
		{"over a week", e.dispatcher, etag, map[string]any{"by": "169h"}, http.StatusUnprocessableEntity},
		{"not a duration", e.dispatcher, etag, map[string]any{"by": "PT6H"}, http.StatusUnprocessableEntity},
		{"unknown departure", e.dispatcher, etag, six, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.name == "unknown departure" {
				p = "/v1/departures/00000000-0000-0000-0000-000000000000/delay"
			}
			e.write(t, http.MethodPost, p, tc.token, tc.ifMatch, tc.body, tc.want)
		})
	}

	resp, _ := e.write(t, http.MethodPost, path, e.dispatcher, etag, six, http.StatusOK)
	after, newTag := e.timed(t, d.ID)
	if resp.Header.Get("ETag") != `"2"` || newTag != `"2"` || after.Version != 2 {
		t.Fatalf("ETag %q after the delay, %q on read, version %d; want \"2\"", resp.Header.Get("ETag"), newTag, after.Version)
	}
	for i := range before.Stops {
		if !shifted(before.Stops[i].PlannedArrival, after.Stops[i].PlannedArrival, 6*time.Hour) ||
			!shifted(before.Stops[i].PlannedDeparture, after.Stops[i].PlannedDeparture, 6*time.Hour) {
			t.Errorf("stop %d %s not moved by 6h: %+v -> %+v", i, before.Stops[i].UNLocationCode, before.Stops[i], after.Stops[i])
		}
	}

	// The second dispatcher read before the delay.
	e.write(t, http.MethodPost, path, e.dispatcher, etag, six, http.StatusPreconditionFailed)

	toStop := map[string]int{bs[0].ID: 4, bs[1].ID: 2, bs[2].ID: 3}
	var seen []string
	for _, m := range scheduleMsgs(t, e, "schedule.v1.eta.changed", 3) {
		var ev schedulev1.EtaEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		c := ev.GetChanged()
		to, ok := toStop[ev.GetBookingId()]
		if !ok || ev.GetDepartureId() != d.ID || c.GetReason() != schedulev1.EtaChangeReason_ETA_CHANGE_REASON_DEPARTURE_DELAYED {
			t.Fatalf("ETA event %v", &ev)
		}
		if got := c.GetEta().AsTime().Sub(c.GetPreviousEta().AsTime()); got != 6*time.Hour {
			t.Errorf("booking %s: ETA moved by %v, want 6h", ev.GetBookingId(), got)
		}
		if !c.GetEta().AsTime().Equal(*after.Stops[to].PlannedArrival) || c.GetLocation().GetUnLocationCode() != after.Stops[to].UNLocationCode {
			t.Errorf("booking %s: ETA %v at %s, want the planned arrival at its to-stop %v", ev.GetBookingId(), c.GetEta().AsTime(),
				c.GetLocation().GetUnLocationCode(), after.Stops[to].PlannedArrival)
		}
		seen = append(seen, ev.GetBookingId())
	}
	slices.Sort(seen)
	if seen = slices.Compact(seen); len(seen) != 3 {
		t.Fatalf("ETA events for %v, want one per booking", seen)
	}
	msgs := scheduleMsgs(t, e, "schedule.v1.departure.delayed", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	dl := ev.GetDelayed()
	if ev.GetDepartureId() != d.ID || dl.GetDelay().AsDuration() != 6*time.Hour || dl.GetReason() != "congestion at Khorgos" ||
		dl.GetNewArrivalAt().AsTime().Sub(dl.GetPreviousArrivalAt().AsTime()) != 6*time.Hour {
		t.Fatalf("delayed event %v", &ev)
	}
}

// Capacity never goes below what is booked: 409 names the bookings that would have to move and
// changes nothing; a valid change bumps the version and is announced.
func TestSetDepartureCapacity(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8401", map[string]any{"teuChina": 4, "teuAbroad": 4})
	var first, second booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &first)
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 2, "45G1", "CNHRS", "KZALA", 20000, ""), http.StatusCreated, &second)
	path := "/v1/departures/" + d.ID + "/capacity"
	_, etag := e.timed(t, d.ID)

	t.Run("below booked", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body map[string]any
			want []string
			not  string
		}{
			{"by TEU abroad", map[string]any{"teuChina": 4, "teuAbroad": 2, "weightCapacityKg": 1_000_000},
				[]string{"segment 3 KZHOR-KZALA", "TEU", second.ID}, first.ID},
			{"by weight", map[string]any{"teuChina": 4, "teuAbroad": 4, "weightCapacityKg": 30000},
				[]string{"segment 2 CNHRS-KZHOR", "kg", second.ID}, first.ID},
			{"by TEU everywhere", map[string]any{"teuChina": 0, "teuAbroad": 0, "weightCapacityKg": 1_000_000},
				[]string{"segment 0 CNJZH-CNURM", first.ID}, second.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, raw := e.write(t, http.MethodPut, path, e.dispatcher, etag, tc.body, http.StatusConflict)
				p := problem(t, resp, raw)
				for _, w := range tc.want {
					if !strings.Contains(p.Detail, w) {
						t.Errorf("detail %q does not say %q", p.Detail, w)
					}
				}
				if strings.Contains(p.Detail, tc.not) {
					t.Errorf("detail %q names booking %s, which need not move", p.Detail, tc.not)
				}
			})
		}
		got, tag := e.timed(t, d.ID)
		if tag != etag || got.Segments[3].TEUCapacity != 4 || got.Segments[0].WeightCapacityKg != 1_300_000 {
			t.Fatalf("a refused change changed the departure: ETag %q, %+v", tag, got.Segments)
		}
	})

	valid := map[string]any{"teuChina": 6, "teuAbroad": 6, "weightCapacityKg": 1_000_000}
	e.write(t, http.MethodPut, path, e.dispatcher, "", valid, http.StatusPreconditionRequired)
	e.write(t, http.MethodPut, path, e.carrier, etag, valid, http.StatusForbidden)
	e.write(t, http.MethodPut, path, e.dispatcher, etag, map[string]any{"teuChina": 6, "teuAbroad": 6}, http.StatusUnprocessableEntity)
	resp, _ := e.write(t, http.MethodPut, path, e.admin, etag, valid, http.StatusOK)
	got, tag := e.timed(t, d.ID)
	if resp.Header.Get("ETag") != `"2"` || tag != `"2"` {
		t.Fatalf("ETag %q after the change, %q on read; want \"2\"", resp.Header.Get("ETag"), tag)
	}
	for i, g := range got.Segments {
		if g.TEUCapacity != 6 || g.WeightCapacityKg != 1_000_000 {
			t.Errorf("segment %d: %+v", i, g)
		}
	}
	e.write(t, http.MethodPut, path, e.dispatcher, etag, valid, http.StatusPreconditionFailed)

	msgs := scheduleMsgs(t, e, "schedule.v1.departure.capacity_changed", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.GetCapacityChanged()
	if ev.GetDepartureId() != d.ID || c.GetPrevious().GetTeu() != 4 || c.GetCurrent().GetTeu() != 6 ||
		c.GetPrevious().GetGrossWeightKg() != 1_300_000 || c.GetCurrent().GetGrossWeightKg() != 1_000_000 {
		t.Fatalf("capacity_changed event %v", &ev)
	}
}
