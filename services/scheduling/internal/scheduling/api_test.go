package scheduling_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
)

// The route the tests book on: CNJZH - CNURM - CNHRS | KZHOR - KZALA. Segments 0-2 run on the
// Chinese section (the one crossing the border too), segment 3 abroad.
const testRoute = "SCO-KZ-ALA"

type env struct {
	*servicetest.Harness
	admin, dispatcher, carrier, acme, globex string
}

func startEnv(t testing.TB) *env {
	t.Helper()
	h := servicetest.Start(t, scheduling.Service("test"))
	return &env{Harness: h, admin: h.Token(t, auth.RoleAdmin, ""), dispatcher: h.Token(t, auth.RoleDispatcher, ""),
		carrier: h.Token(t, auth.RoleCarrier, ""), acme: h.Token(t, auth.RoleShipper, "acme"),
		globex: h.Token(t, auth.RoleShipper, "globex")}
}

// call sends a request, checks the status and decodes a JSON answer into out (when not nil).
func (e *env) call(t testing.TB, method, path, token string, body any, want int, out any) *http.Response {
	t.Helper()
	var s string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	resp, raw := e.Do(t, method, path, token, s)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp
}

type departure struct {
	ID       string                            `json:"id"`
	Route    string                            `json:"route"`
	Status   string                            `json:"status"`
	Version  int                               `json:"version"`
	Stops    []struct{ UNLocationCode string } `json:"stops"`
	Segments []struct {
		Seq         int `json:"seq"`
		TEUCapacity int `json:"teuCapacity"`
		TEUBooked   int `json:"teuBooked"`
	} `json:"segments"`
}

type booking struct {
	ID          string `json:"id"`
	DepartureID string `json:"departureID"`
	Tenant      string `json:"tenant"`
	Container   string `json:"equipmentReference"`
	TEU         int    `json:"teu"`
	FromSeq     int    `json:"fromSeq"`
	ToSeq       int    `json:"toSeq"`
}

// newDeparture creates an open departure on testRoute, leaving in a week.
func (e *env) newDeparture(t testing.TB, train string, extra map[string]any) departure {
	t.Helper()
	dep := time.Now().Add(7 * 24 * time.Hour).In(time.FixedZone("CST", 8*3600)).Truncate(time.Minute)
	body := map[string]any{"route": testRoute, "trainNumber": train, "status": "open",
		"plannedDeparture": dep.Format(time.RFC3339), "cutoff": dep.Add(-12 * time.Hour).Format(time.RFC3339)}
	for k, v := range extra {
		body[k] = v
	}
	var d departure
	resp := e.call(t, http.MethodPost, "/v1/departures", e.dispatcher, body, http.StatusCreated, &d)
	if etag := resp.Header.Get("ETag"); etag != fmt.Sprintf("%q", fmt.Sprint(d.Version)) || d.Version != 1 {
		t.Fatalf("ETag %q for version %d", etag, d.Version)
	}
	return d
}

func container(t testing.TB, i int) string {
	t.Helper()
	n, err := iso6346.Make("SCD", 'U', 200000+i)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

// bookBody is a booking of container i on departure dep; tenant is set only when not empty.
func (e *env) bookBody(t testing.TB, dep string, i int, iso, from, to string, kg int64, tenant string) map[string]any {
	t.Helper()
	b := map[string]any{"departureID": dep, "equipmentReference": container(t, i), "isoEquipmentCode": iso,
		"grossWeightKg": kg, "from": from, "to": to}
	if tenant != "" {
		b["tenant"] = tenant
	}
	return b
}

// problem decodes a problem+json answer.
func problem(t *testing.T, resp *http.Response, raw []byte) kitx.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != kitx.ProblemContentType {
		t.Fatalf("content type %q, want problem+json: %s", ct, raw)
	}
	var p kitx.Problem
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoutesAPI(t *testing.T) {
	e := startEnv(t)
	var all struct {
		Routes []struct {
			Code  string            `json:"code"`
			Stops []json.RawMessage `json:"stops"`
		} `json:"routes"`
	}
	e.call(t, http.MethodGet, "/v1/routes", e.carrier, nil, http.StatusOK, &all)
	if len(all.Routes) != 15 {
		t.Fatalf("%d routes, want 15", len(all.Routes))
	}
	var one struct {
		Code  string `json:"code"`
		Stops []struct {
			UNLocationCode string `json:"UNLocationCode"`
			BreakOfGauge   bool   `json:"breakOfGauge"`
		} `json:"stops"`
	}
	e.call(t, http.MethodGet, "/v1/routes/"+testRoute, e.acme, nil, http.StatusOK, &one)
	if one.Code != testRoute || len(one.Stops) != 5 || one.Stops[0].UNLocationCode != "CNJZH" || !one.Stops[3].BreakOfGauge {
		t.Fatalf("route %+v", one)
	}
	e.call(t, http.MethodGet, "/v1/routes/NO-SUCH", e.dispatcher, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/routes", "", nil, http.StatusUnauthorized, nil)
}

func TestDeparturesAPI(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8001", nil)
	if d.Route != testRoute || d.Status != "open" || len(d.Stops) != 5 || len(d.Segments) != 4 || d.Segments[0].TEUCapacity != 100 {
		t.Fatalf("departure %+v", d)
	}
	var got departure
	resp := e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.carrier, nil, http.StatusOK, &got)
	if resp.Header.Get("ETag") != `"1"` || got.ID != d.ID {
		t.Fatalf("GET departure: ETag %q, %+v", resp.Header.Get("ETag"), got)
	}
	e.call(t, http.MethodGet, "/v1/departures/00000000-0000-0000-0000-000000000000", e.acme, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/departures/not-a-uuid", e.acme, nil, http.StatusNotFound, nil)
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, "", nil, http.StatusUnauthorized, nil)

	good := map[string]any{"route": testRoute, "trainNumber": "X8002", "plannedDeparture": "2027-01-10T10:00:00+08:00", "cutoff": "2027-01-09T18:00:00+08:00"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name, token string
		body        any
		want        int
		field       string
	}{
		{"shipper may not plan", e.acme, good, http.StatusForbidden, ""},
		{"carrier may not plan", e.carrier, good, http.StatusForbidden, ""},
		{"no token", "", good, http.StatusUnauthorized, ""},
		{"no offset", e.dispatcher, with("plannedDeparture", "2027-01-10T10:00:00"), http.StatusUnprocessableEntity, "plannedDeparture"},
		{"cutoff missing", e.dispatcher, with("cutoff", nil), http.StatusUnprocessableEntity, "cutoff"},
		{"cutoff after departure", e.dispatcher, with("cutoff", "2027-01-11T10:00:00+08:00"), http.StatusUnprocessableEntity, "cutoff"},
		{"unknown route", e.dispatcher, with("route", "NO-SUCH"), http.StatusUnprocessableEntity, "route"},
		{"closed is not a new status", e.dispatcher, with("status", "closed"), http.StatusUnprocessableEntity, "status"},
		{"no train number", e.dispatcher, with("trainNumber", nil), http.StatusUnprocessableEntity, "trainNumber"},
		{"unknown field", e.dispatcher, with("colour", "red"), http.StatusBadRequest, "colour"},
		{"planned by admin", e.admin, good, http.StatusCreated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(tc.body)
			resp, raw := e.Do(t, http.MethodPost, "/v1/departures", tc.token, string(b))
			if resp.StatusCode != tc.want {
				t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
			}
			if tc.field == "" {
				return
			}
			p := problem(t, resp, raw)
			if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Fatalf("problem names %+v, want field %s", p.Errors, tc.field)
			}
		})
	}
}

func TestBookingsAPI(t *testing.T) {
	e := startEnv(t)
	// 4 TEU on the Chinese section, 2 abroad: one 40' box fills the segment beyond the border.
	d := e.newDeparture(t, "X8101", map[string]any{"teuChina": 4, "teuAbroad": 2})

	var mine booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZALA", 24000, ""), http.StatusCreated, &mine)
	if mine.Tenant != "acme" || mine.TEU != 2 || mine.FromSeq != 0 || mine.ToSeq != 4 || mine.DepartureID != d.ID {
		t.Fatalf("booking %+v", mine)
	}
	var theirs booking
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher, e.bookBody(t, d.ID, 2, "22G1", "CNURM", "CNHRS", 12000, "globex"), http.StatusCreated, &theirs)
	if theirs.Tenant != "globex" || theirs.TEU != 1 || theirs.FromSeq != 1 || theirs.ToSeq != 2 {
		t.Fatalf("booking %+v", theirs)
	}
	var got departure
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &got)
	if booked := []int{got.Segments[0].TEUBooked, got.Segments[1].TEUBooked, got.Segments[2].TEUBooked, got.Segments[3].TEUBooked}; fmt.Sprint(booked) != "[2 3 2 2]" {
		t.Fatalf("TEU booked per segment %v, want [2 3 2 2]", booked)
	}

	t.Run("full", func(t *testing.T) {
		heavy := e.newDeparture(t, "X8102", map[string]any{"weightCapacityKg": 30000})
		e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, heavy.ID, 3, "42G1", "CNJZH", "CNURM", 25000, ""), http.StatusCreated, nil)
		for _, tc := range []struct {
			name string
			body map[string]any
			want string
		}{
			{"by TEU beyond the border", e.bookBody(t, d.ID, 4, "22G1", "CNHRS", "KZALA", 10000, ""), "segment 3 KZHOR-KZALA by TEU"},
			{"by TEU in China", e.bookBody(t, d.ID, 5, "L5G1", "CNJZH", "CNHRS", 10000, ""), "segment 1 CNURM-CNHRS by TEU"},
			{"by weight", e.bookBody(t, heavy.ID, 6, "22G1", "CNJZH", "CNURM", 10000, ""), "segment 0 CNJZH-CNURM by weight"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, _ := json.Marshal(tc.body)
				resp, raw := e.Do(t, http.MethodPost, "/v1/bookings", e.acme, string(b))
				if resp.StatusCode != http.StatusConflict {
					t.Fatalf("= %d, want 409: %s", resp.StatusCode, raw)
				}
				if p := problem(t, resp, raw); !strings.Contains(p.Detail, tc.want) {
					t.Fatalf("detail %q does not say %q", p.Detail, tc.want)
				}
			})
		}
	})

	t.Run("invalid", func(t *testing.T) {
		badNo := e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 1000, "")
		no := container(t, 7)
		badNo["equipmentReference"] = no[:10] + string('0'+(no[10]-'0'+1)%10) // wrong check digit
		for _, tc := range []struct {
			name, token string
			body        map[string]any
			want        int
			field       string
		}{
			{"carrier may not book", e.carrier, e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 1000, ""), http.StatusForbidden, ""},
			{"no token", "", e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 1000, ""), http.StatusUnauthorized, ""},
			{"shipper names another tenant", e.acme, e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 1000, "globex"), http.StatusUnprocessableEntity, "tenant"},
			{"dispatcher names no tenant", e.dispatcher, e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 1000, ""), http.StatusUnprocessableEntity, "tenant"},
			{"bad check digit", e.acme, badNo, http.StatusUnprocessableEntity, "equipmentReference"},
			{"unknown size", e.acme, e.bookBody(t, d.ID, 7, "92G1", "CNJZH", "CNURM", 1000, ""), http.StatusUnprocessableEntity, "isoEquipmentCode"},
			{"no weight", e.acme, e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "CNURM", 0, ""), http.StatusUnprocessableEntity, "grossWeightKg"},
			{"bad locode", e.acme, e.bookBody(t, d.ID, 7, "22G1", "XX", "CNURM", 1000, ""), http.StatusUnprocessableEntity, "from"},
			{"stop not on the route", e.acme, e.bookBody(t, d.ID, 7, "22G1", "CNJZH", "RUVRS", 1000, ""), http.StatusUnprocessableEntity, "to"},
			{"backwards", e.acme, e.bookBody(t, d.ID, 7, "22G1", "CNURM", "CNJZH", 1000, ""), http.StatusUnprocessableEntity, "to"},
			{"unknown departure", e.acme, e.bookBody(t, "00000000-0000-0000-0000-000000000000", 7, "22G1", "CNJZH", "CNURM", 1000, ""), http.StatusUnprocessableEntity, "departureID"},
			{"already booked", e.acme, e.bookBody(t, d.ID, 1, "22G1", "CNJZH", "CNURM", 1000, ""), http.StatusConflict, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, _ := json.Marshal(tc.body)
				resp, raw := e.Do(t, http.MethodPost, "/v1/bookings", tc.token, string(b))
				if resp.StatusCode != tc.want {
					t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
				}
				if tc.field == "" {
					return
				}
				p := problem(t, resp, raw)
				if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
					t.Fatalf("problem names %+v, want field %s", p.Errors, tc.field)
				}
			})
		}
	})

	t.Run("read", func(t *testing.T) {
		for _, tc := range []struct {
			name, id, token string
			want            int
		}{
			{"own booking", mine.ID, e.acme, http.StatusOK},
			{"another tenant's is not found", theirs.ID, e.acme, http.StatusNotFound},
			{"globex reads its own", theirs.ID, e.globex, http.StatusOK},
			{"dispatcher reads all", mine.ID, e.dispatcher, http.StatusOK},
			{"admin reads all", theirs.ID, e.admin, http.StatusOK},
			{"carrier may not", mine.ID, e.carrier, http.StatusForbidden},
			{"no token", mine.ID, "", http.StatusUnauthorized},
			{"unknown", "00000000-0000-0000-0000-000000000000", e.dispatcher, http.StatusNotFound},
			{"not a uuid", "nope", e.dispatcher, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var b booking
				e.call(t, http.MethodGet, "/v1/bookings/"+tc.id, tc.token, nil, tc.want, nil)
				if tc.want == http.StatusOK {
					e.call(t, http.MethodGet, "/v1/bookings/"+tc.id, tc.token, nil, tc.want, &b)
					if b.ID != tc.id {
						t.Fatalf("booking %+v", b)
					}
				}
			})
		}
	})
}

// A booking and a departure reach the SCHEDULE stream through the outbox, with their ids.
func TestEventsThroughOutbox(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8201", nil)
	var b booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZHOR", 20000, ""), http.StatusCreated, &b)

	_, js := natstest.Connect(t, e.NATS.URL)
	stream, err := js.Stream(t.Context(), events.StreamSchedule)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		msg, err := stream.GetLastMsgForSubject(t.Context(), "schedule.v1.booking.created")
		if err != nil {
			return err
		}
		if ct := msg.Header.Get(events.HeaderContentType); ct != events.ContentTypeBookingEvent {
			return fmt.Errorf("content type %q", ct)
		}
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(msg.Data, &ev); err != nil {
			return err
		}
		if ev.GetBookingId() != b.ID || ev.GetDepartureId() != d.ID || ev.GetRouteCode() != testRoute ||
			ev.GetTrainNumber() != "X8201" || ev.GetEquipmentReference() != b.Container ||
			ev.GetEnvelope().GetTenantId() != "acme" || ev.GetEnvelope().GetEventId() == "" ||
			msg.Header.Get("Nats-Msg-Id") != ev.GetEnvelope().GetEventId() {
			return fmt.Errorf("event %v (msg id %q)", &ev, msg.Header.Get("Nats-Msg-Id"))
		}
		c := ev.GetCreated()
		if c.GetOrigin().GetUnLocationCode() != "CNJZH" || c.GetDestination().GetUnLocationCode() != "KZHOR" ||
			c.GetRequired().GetTeu() != 2 || c.GetIsoEquipmentCode() != "45G1" {
			return fmt.Errorf("created %v", c)
		}
		return nil
	})
	testkit.Eventually(t, 20*time.Second, func() error {
		msg, err := stream.GetLastMsgForSubject(t.Context(), "schedule.v1.departure.planned")
		if err != nil {
			return err
		}
		var ev schedulev1.DepartureEvent
		if err := events.Unmarshal(msg.Data, &ev); err != nil {
			return err
		}
		p := ev.GetPlanned()
		if ev.GetDepartureId() != d.ID || len(p.GetStops()) != 5 || p.GetOrigin().GetUnLocationCode() != "CNJZH" ||
			p.GetDestination().GetUnLocationCode() != "KZALA" || p.GetCapacity().GetTeu() != 100 {
			return errors.New("planned event " + ev.String())
		}
		msg, err = stream.GetLastMsgForSubject(t.Context(), "schedule.v1.departure.opened")
		if err != nil {
			return err
		}
		if err := events.Unmarshal(msg.Data, &ev); err != nil {
			return err
		}
		if ev.GetDepartureId() != d.ID || ev.GetOpened().GetBookingCutoffAt() == nil {
			return errors.New("opened event " + ev.String())
		}
		return nil
	})
}
