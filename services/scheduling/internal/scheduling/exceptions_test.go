package scheduling_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
)

// startSweeping starts the service with a sweeper every 100 ms and a border dwell threshold of
// an hour, and returns a pool on its schema to move times into the past.
func startSweeping(t *testing.T) (*env, *pgxpool.Pool) {
	t.Helper()
	t.Setenv("SCHEDULING_SWEEP_INTERVAL", "100ms")
	t.Setenv("SCHEDULING_BORDER_DWELL_THRESHOLD", "1h")
	e := startEnv(t)
	pool, err := postgres.Connect(t.Context(), e.Config.DatabaseURL, e.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return e, pool
}

type exceptionPage struct {
	Exceptions []struct {
		Key                string    `json:"key"`
		Kind               string    `json:"kind"`
		DepartureID        string    `json:"departureId"`
		BookingID          string    `json:"bookingId"`
		EquipmentReference string    `json:"equipmentReference"`
		Tenant             string    `json:"tenant"`
		Detail             string    `json:"detail"`
		RaisedAt           time.Time `json:"raisedAt"`
	} `json:"exceptions"`
	NextCursor string `json:"nextCursor"`
}

func (p exceptionPage) keys() []string {
	out := make([]string, len(p.Exceptions))
	for i, x := range p.Exceptions {
		out[i] = x.Key
	}
	return out
}

// waitStatus waits until departure id has status want.
func (e *env) waitStatus(t *testing.T, id, want string) departure {
	t.Helper()
	var d departure
	testkit.Eventually(t, 15*time.Second, func() error {
		e.call(t, http.MethodGet, "/v1/departures/"+id, e.dispatcher, nil, http.StatusOK, &d)
		if d.Status != want {
			return fmt.Errorf("departure %s is %s, want %s", id, d.Status, want)
		}
		return nil
	})
	return d
}

// outboxEmpty waits until the relay has published everything written so far.
func outboxEmpty(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	testkit.Eventually(t, 15*time.Second, func() error {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%d messages in the outbox", n)
		}
		return nil
	})
}

// The sweeper closes a departure whose cut-off has passed and raises missed_cutoff once for each
// booking still only confirmed (not for one gated in); later sweeps raise nothing again.
func TestSweeperClosesAtCutoffAndRaisesMissedCutoff(t *testing.T) {
	e, pool := startSweeping(t)
	d := e.newDeparture(t, "X8801", nil)
	var a, b, gated booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 21, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &a)
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher, e.bookBody(t, d.ID, 22, "22G1", "CNURM", "KZHOR", 10000, "globex"), http.StatusCreated, &b)
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 23, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &gated)
	e.Publish(t, equipmentEvent(container(t, 23), time.Now(), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, "CNJZH"))
	testkit.Eventually(t, 15*time.Second, func() error {
		var got struct {
			Status string `json:"status"`
		}
		e.call(t, http.MethodGet, "/v1/bookings/"+gated.ID, e.acme, nil, http.StatusOK, &got)
		if got.Status != "received" {
			return fmt.Errorf("gated-in booking is %s", got.Status)
		}
		return nil
	})

	// The cut-off passes.
	if _, err := pool.Exec(t.Context(), `UPDATE departures SET cutoff_at = now() - interval '1 hour' WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	closed := e.waitStatus(t, d.ID, "closed")
	if closed.Version != 2 {
		t.Errorf("version %d after closing, want 2", closed.Version)
	}
	// Another departure closing later proves the sweeper went round again.
	other := e.newDeparture(t, "X8803", nil)
	if _, err := pool.Exec(t.Context(), `UPDATE departures SET cutoff_at = now() - interval '1 minute' WHERE id = $1`, other.ID); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, other.ID, "closed")
	outboxEmpty(t, pool)

	if n := streamCount(t, e, "schedule.v1.exception.missed_cutoff"); n != 2 {
		t.Fatalf("%d missed_cutoff exceptions, want 2", n)
	}
	seen := map[string]string{}
	for _, m := range scheduleMsgs(t, e, "schedule.v1.exception.missed_cutoff", 2) {
		var ev schedulev1.ExceptionEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		mc := ev.GetMissedCutoff()
		if ev.GetDepartureId() != d.ID || mc.GetCutoffAt() == nil || ev.GetTrainNumber() != "X8801" {
			t.Errorf("missed_cutoff %v", &ev)
		}
		seen[ev.GetBookingId()] = ev.GetEnvelope().GetTenantId() + "@" + mc.GetLocation().GetUnLocationCode()
	}
	if seen[a.ID] != "acme@CNJZH" || seen[b.ID] != "globex@CNURM" || len(seen) != 2 {
		t.Errorf("missed_cutoff for %v; want %s (acme at CNJZH) and %s (globex at CNURM)", seen, a.ID, b.ID)
	}
	var reasons []string
	for _, m := range scheduleMsgs(t, e, "schedule.v1.departure.closed", 2) {
		var ev schedulev1.DepartureEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, ev.GetDepartureId()+" "+ev.GetClosed().GetReason())
	}
	slices.Sort(reasons)
	want := []string{d.ID + " cut-off reached", other.ID + " cut-off reached"}
	slices.Sort(want)
	if !slices.Equal(reasons, want) {
		t.Errorf("closed events %v, want %v", reasons, want)
	}

	t.Run("list", func(t *testing.T) {
		var all exceptionPage
		e.call(t, http.MethodGet, "/v1/exceptions?kind=missed_cutoff&departureId="+d.ID, e.dispatcher, nil, http.StatusOK, &all)
		if len(all.Exceptions) != 2 || all.NextCursor != "" {
			t.Fatalf("dispatcher sees %v (next %q)", all.keys(), all.NextCursor)
		}
		var mine exceptionPage
		e.call(t, http.MethodGet, "/v1/exceptions", e.acme, nil, http.StatusOK, &mine)
		if len(mine.Exceptions) != 1 || mine.Exceptions[0].BookingID != a.ID || mine.Exceptions[0].Tenant != "acme" ||
			mine.Exceptions[0].EquipmentReference != container(t, 21) {
			t.Fatalf("acme sees %+v", mine.Exceptions)
		}
		// Pages of one, newest first, cover everything once.
		var paged []string
		cursor := ""
		for range 5 {
			var p exceptionPage
			path := "/v1/exceptions?limit=1&departureId=" + d.ID
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			e.call(t, http.MethodGet, path, e.admin, nil, http.StatusOK, &p)
			paged = append(paged, p.keys()...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(paged, all.keys()) {
			t.Errorf("paged %v, want %v", paged, all.keys())
		}
		var later exceptionPage
		e.call(t, http.MethodGet, "/v1/exceptions?since="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)),
			e.dispatcher, nil, http.StatusOK, &later)
		if len(later.Exceptions) != 0 {
			t.Errorf("since an hour ahead: %v", later.keys())
		}
		for _, tc := range []struct {
			name, query, token string
			want               int
			field              string
		}{
			{"carrier may not", "", e.carrier, http.StatusForbidden, ""},
			{"no token", "", "", http.StatusUnauthorized, ""},
			{"unknown kind", "?kind=flood", e.dispatcher, http.StatusUnprocessableEntity, "kind"},
			{"departure not a uuid", "?departureId=x", e.dispatcher, http.StatusUnprocessableEntity, "departureId"},
			{"since without offset", "?since=2026-01-01T00:00:00", e.dispatcher, http.StatusUnprocessableEntity, "since"},
			{"limit zero", "?limit=0", e.dispatcher, http.StatusUnprocessableEntity, "limit"},
			{"limit too big", "?limit=501", e.dispatcher, http.StatusUnprocessableEntity, "limit"},
			{"forged cursor", "?cursor=bm9wZQ", e.dispatcher, http.StatusUnprocessableEntity, "cursor"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, raw := e.Do(t, http.MethodGet, "/v1/exceptions"+tc.query, tc.token, "")
				if resp.StatusCode != tc.want {
					t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
				}
				if tc.field == "" {
					return
				}
				if p := problem(t, resp, raw); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
					t.Fatalf("problem names %+v, want field %s", p.Errors, tc.field)
				}
			})
		}
	})
}

// A train at a border stop longer than the threshold raises border_dwell once: by the sweeper
// while it stays, or when it leaves, if the sweeper has not seen it.
func TestBorderDwell(t *testing.T) {
	e, pool := startSweeping(t)
	d := e.newDeparture(t, "X8802", nil)
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 31, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, nil)
	box := container(t, 31)
	now := time.Now().Truncate(time.Second)

	// Arrived at Horgos (a border stop) two hours ago and still there: the sweeper raises it.
	e.Publish(t, transportEvent(box, now.Add(-3*time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "CNJZH", "X8802"))
	e.Publish(t, transportEvent(box, now.Add(-2*time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, "CNHRS", "X8802"))
	msgs := scheduleMsgs(t, e, "schedule.v1.exception.border_dwell", 1)
	var ev schedulev1.ExceptionEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	bd := ev.GetBorderDwell()
	if ev.GetDepartureId() != d.ID || bd.GetLocation().GetUnLocationCode() != "CNHRS" || bd.GetStopSequence() != 3 ||
		!bd.GetArrivedAt().AsTime().Equal(now.Add(-2*time.Hour)) || bd.GetDwell().AsDuration() < 2*time.Hour ||
		bd.GetThreshold().AsDuration() != time.Hour {
		t.Fatalf("border_dwell %v", &ev)
	}

	// Khorgos: arrived, left two hours later, before any sweep could see it (times ahead of now).
	e.Publish(t, transportEvent(box, now.Add(-90*time.Minute), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "CNHRS", "X8802"))
	e.Publish(t, transportEvent(box, now.Add(time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, "KZHOR", "X8802"))
	settled(t, e, 4)
	e.Publish(t, transportEvent(box, now.Add(3*time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "KZHOR", "X8802"))
	settled(t, e, 5)
	outboxEmpty(t, pool)
	msgs = scheduleMsgs(t, e, "schedule.v1.exception.border_dwell", 2)
	if err := events.Unmarshal(msgs[1].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if bd := ev.GetBorderDwell(); bd.GetLocation().GetUnLocationCode() != "KZHOR" || bd.GetDwell().AsDuration() != 2*time.Hour {
		t.Fatalf("border_dwell on leaving %v", &ev)
	}
	var page exceptionPage
	e.call(t, http.MethodGet, "/v1/exceptions?kind=border_dwell", e.dispatcher, nil, http.StatusOK, &page)
	want := []string{"border_dwell:" + d.ID + ":3", "border_dwell:" + d.ID + ":2"} // newest first
	if !slices.Equal(page.keys(), want) {
		t.Fatalf("border_dwell exceptions %v, want %v", page.keys(), want)
	}
	if n := streamCount(t, e, "schedule.v1.exception.border_dwell"); n != 2 {
		t.Fatalf("%d border_dwell events, want 2", n)
	}
}
