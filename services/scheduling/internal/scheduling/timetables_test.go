package scheduling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/observability"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
)

type timetable struct {
	ID            string  `json:"id"`
	Route         string  `json:"route"`
	Weekday       string  `json:"weekday"`
	DepartureTime string  `json:"departureTime"`
	TimeZone      string  `json:"timeZone"`
	TrainNumber   string  `json:"trainNumber"`
	CutoffBefore  string  `json:"cutoffBefore"`
	OpenBefore    string  `json:"openBefore"`
	TEUChina      *int    `json:"teuChina"`
	ValidFrom     string  `json:"validFrom"`
	ValidUntil    *string `json:"validUntil"`
	Version       int     `json:"version"`
}

type departureList struct {
	Departures []struct {
		ID               string    `json:"id"`
		Route            string    `json:"route"`
		Status           string    `json:"status"`
		TrainNumber      string    `json:"trainNumber"`
		PlannedDeparture time.Time `json:"plannedDeparture"`
		Cutoff           time.Time `json:"cutoff"`
		Stops            []any     `json:"stops"`
	} `json:"departures"`
	NextCursor string `json:"nextCursor"`
}

func (l departureList) ids() []string {
	out := make([]string, len(l.Departures))
	for i, d := range l.Departures {
		out[i] = d.ID
	}
	return out
}

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// localDate is the date in Shanghai days from now, as YYYY-MM-DD, and its weekday.
func localDate(days int) (string, string) {
	d := time.Now().In(shanghai).AddDate(0, 0, days)
	return d.Format(time.DateOnly), strings.ToLower(d.Weekday().String())
}

func withFields(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// fields are the fields a problem names, in order.
func fields(t *testing.T, resp *http.Response, raw []byte) []string {
	t.Helper()
	var out []string
	for _, f := range problem(t, resp, raw).Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestTimetablesAPI(t *testing.T) {
	e := startEnv(t)
	good := map[string]any{"route": testRoute, "weekday": "monday", "departureTime": "10:30", "trainNumber": "X9001",
		"validFrom": "2030-01-07", "teuChina": 40}
	var tt timetable
	resp := e.call(t, http.MethodPost, "/v1/timetables", e.dispatcher, good, http.StatusCreated, &tt)
	if resp.Header.Get("ETag") != `"1"` || tt.Version != 1 || tt.TimeZone != "Asia/Shanghai" || tt.CutoffBefore != "24h" ||
		tt.OpenBefore != "336h" || tt.Weekday != "monday" || tt.DepartureTime != "10:30" || tt.TEUChina == nil || *tt.TEUChina != 40 ||
		tt.ValidUntil != nil {
		t.Fatalf("created %+v (ETag %q)", tt, resp.Header.Get("ETag"))
	}

	t.Run("create", func(t *testing.T) {
		for _, tc := range []struct {
			name, token string
			body        any
			want        int
			fields      []string
		}{
			{"same slot", e.dispatcher, withFields(good, "trainNumber", "X9002"), http.StatusConflict, nil},
			{"shipper may not", e.acme, withFields(good, "weekday", "friday"), http.StatusForbidden, nil},
			{"carrier may not", e.carrier, withFields(good, "weekday", "friday"), http.StatusForbidden, nil},
			{"no token", "", withFields(good, "weekday", "friday"), http.StatusUnauthorized, nil},
			{"unknown route", e.dispatcher, withFields(good, "route", "NO-SUCH"), http.StatusUnprocessableEntity, []string{"route"}},
			{"bad weekday", e.dispatcher, withFields(good, "weekday", "mon"), http.StatusUnprocessableEntity, []string{"weekday"}},
			{"bad time", e.dispatcher, withFields(good, "departureTime", "25:00"), http.StatusUnprocessableEntity, []string{"departureTime"}},
			{"time without a leading zero", e.dispatcher, withFields(good, "departureTime", "9:30"), http.StatusUnprocessableEntity, []string{"departureTime"}},
			{"bad zone", e.dispatcher, withFields(good, "timeZone", "Asia/Atlantis"), http.StatusUnprocessableEntity, []string{"timeZone"}},
			{"negative cut-off", e.dispatcher, withFields(good, "cutoffBefore", "-1h"), http.StatusUnprocessableEntity, []string{"cutoffBefore"}},
			{"no cut-off", e.dispatcher, withFields(good, "cutoffBefore", "0s"), http.StatusUnprocessableEntity, []string{"cutoffBefore"}},
			{"negative opening", e.dispatcher, withFields(good, "openBefore", "-2d"), http.StatusUnprocessableEntity, []string{"openBefore"}},
			{"opens after the cut-off", e.dispatcher, withFields(good, "cutoffBefore", "2d", "openBefore", "36h"), http.StatusUnprocessableEntity, []string{"openBefore"}},
			{"not a duration", e.dispatcher, withFields(good, "cutoffBefore", "soon"), http.StatusUnprocessableEntity, []string{"cutoffBefore"}},
			{"until before from", e.dispatcher, withFields(good, "validUntil", "2029-12-31"), http.StatusUnprocessableEntity, []string{"validUntil"}},
			{"no validFrom", e.dispatcher, withFields(good, "validFrom", nil), http.StatusUnprocessableEntity, []string{"validFrom"}},
			{"zero capacity", e.dispatcher, withFields(good, "teuChina", 0), http.StatusUnprocessableEntity, []string{"teuChina"}},
			{"every bad field named", e.dispatcher, withFields(good, "route", "", "weekday", "someday", "departureTime", "noon",
				"timeZone", "Nowhere", "trainNumber", "", "cutoffBefore", "-1h", "validFrom", "07.01.2030"), http.StatusUnprocessableEntity,
				[]string{"route", "weekday", "departureTime", "cutoffBefore", "validFrom", "timeZone", "trainNumber"}},
			{"unknown field", e.dispatcher, withFields(good, "colour", "red"), http.StatusBadRequest, []string{"colour"}},
			{"wrong type", e.dispatcher, withFields(good, "teuChina", "forty"), http.StatusBadRequest, []string{"teuChina"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, _ := json.Marshal(tc.body)
				resp, raw := e.Do(t, http.MethodPost, "/v1/timetables", tc.token, string(b))
				if resp.StatusCode != tc.want {
					t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
				}
				if tc.fields != nil && !slices.Equal(fields(t, resp, raw), tc.fields) {
					t.Fatalf("problem names %v, want %v", fields(t, resp, raw), tc.fields)
				}
			})
		}
		var other timetable
		e.call(t, http.MethodPost, "/v1/timetables", e.admin, withFields(good, "route", "SCO-DE-DUI", "timeZone", "Europe/Berlin",
			"openBefore", "3d", "validUntil", "2030-06-30"), http.StatusCreated, &other)
		if other.Route != "SCO-DE-DUI" || other.OpenBefore != "72h" || other.ValidUntil == nil || *other.ValidUntil != "2030-06-30" {
			t.Fatalf("admin's timetable %+v", other)
		}
	})

	t.Run("read", func(t *testing.T) {
		var list struct{ Timetables []timetable }
		e.call(t, http.MethodGet, "/v1/timetables?route="+testRoute, e.carrier, nil, http.StatusOK, &list)
		if len(list.Timetables) != 1 || list.Timetables[0].ID != tt.ID {
			t.Fatalf("route's timetables %+v", list)
		}
		e.call(t, http.MethodGet, "/v1/timetables", e.acme, nil, http.StatusOK, &list)
		if len(list.Timetables) != 2 {
			t.Fatalf("all timetables %+v", list)
		}
		e.call(t, http.MethodGet, "/v1/timetables?rout=x", e.acme, nil, http.StatusBadRequest, nil)
		var got timetable
		resp := e.call(t, http.MethodGet, "/v1/timetables/"+tt.ID, e.carrier, nil, http.StatusOK, &got)
		if resp.Header.Get("ETag") != `"1"` || !reflect.DeepEqual(got, tt) {
			t.Fatalf("GET: %q %+v", resp.Header.Get("ETag"), got)
		}
		e.call(t, http.MethodGet, "/v1/timetables/00000000-0000-0000-0000-000000000000", e.carrier, nil, http.StatusNotFound, nil)
		e.call(t, http.MethodGet, "/v1/timetables/nope", e.carrier, nil, http.StatusNotFound, nil)
		e.call(t, http.MethodGet, "/v1/timetables/"+tt.ID, "", nil, http.StatusUnauthorized, nil)
	})

	path := "/v1/timetables/" + tt.ID
	t.Run("update", func(t *testing.T) {
		change := map[string]any{"trainNumber": "X9009", "teuChina": nil, "validUntil": "2030-12-31", "openBefore": "10d"}
		e.write(t, http.MethodPatch, path, e.dispatcher, "", change, http.StatusPreconditionRequired)
		e.write(t, http.MethodPatch, path, e.dispatcher, `"9"`, change, http.StatusPreconditionFailed)
		e.write(t, http.MethodPatch, path, e.acme, `"1"`, change, http.StatusForbidden)
		e.write(t, http.MethodPatch, "/v1/timetables/00000000-0000-0000-0000-000000000000", e.dispatcher, `"1"`, change, http.StatusNotFound)
		e.write(t, http.MethodPatch, path, e.dispatcher, `"1"`, map[string]any{"weekday": "friday"}, http.StatusBadRequest)
		resp, raw := e.write(t, http.MethodPatch, path, e.dispatcher, `"1"`, map[string]any{"cutoffBefore": "-1h", "validUntil": "soon"},
			http.StatusUnprocessableEntity)
		if f := fields(t, resp, raw); !slices.Equal(f, []string{"cutoffBefore", "validUntil"}) {
			t.Fatalf("problem names %v", f)
		}
		resp, raw = e.write(t, http.MethodPatch, path, e.dispatcher, `"1"`, map[string]any{"openBefore": "12h"}, http.StatusUnprocessableEntity)
		if f := fields(t, resp, raw); !slices.Equal(f, []string{"openBefore"}) {
			t.Fatalf("problem names %v", f)
		}
		resp, raw = e.write(t, http.MethodPatch, path, e.dispatcher, `"1"`, change, http.StatusOK)
		var got timetable
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("ETag") != `"2"` || got.TrainNumber != "X9009" || got.TEUChina != nil || got.ValidUntil == nil ||
			*got.ValidUntil != "2030-12-31" || got.OpenBefore != "240h" || got.Weekday != "monday" || got.CutoffBefore != "24h" {
			t.Fatalf("updated: %q %+v", resp.Header.Get("ETag"), got)
		}
		_, raw = e.write(t, http.MethodPatch, path, e.dispatcher, `"2"`, map[string]any{"validUntil": nil}, http.StatusOK)
		var ended timetable
		if err := json.Unmarshal(raw, &ended); err != nil || ended.ValidUntil != nil || ended.Version != 3 || ended.TrainNumber != "X9009" {
			t.Fatalf("open-ended again: %s", raw)
		}
	})

	t.Run("delete", func(t *testing.T) {
		e.write(t, http.MethodDelete, path, e.dispatcher, "", nil, http.StatusPreconditionRequired)
		e.write(t, http.MethodDelete, path, e.dispatcher, `"1"`, nil, http.StatusPreconditionFailed)
		e.write(t, http.MethodDelete, path, e.carrier, `"3"`, nil, http.StatusForbidden)
		e.write(t, http.MethodDelete, path, e.dispatcher, `"3"`, nil, http.StatusNoContent)
		e.call(t, http.MethodGet, path, e.dispatcher, nil, http.StatusNotFound, nil)
		e.write(t, http.MethodDelete, path, e.dispatcher, `"3"`, nil, http.StatusNotFound)
	})
}

// Generating four weeks of two timetables creates each run once, announces each once (planned,
// and opened for the runs already in their booking window), and lists them in order.
func TestGenerateAndListDepartures(t *testing.T) {
	e := startEnv(t)
	// Five weeks ahead and later: beyond the worker's horizon, so only these calls generate.
	from, weekday := localDate(35)
	to, _ := localDate(35 + 27)
	var a, b timetable
	e.call(t, http.MethodPost, "/v1/timetables", e.dispatcher, map[string]any{"route": testRoute, "weekday": weekday,
		"departureTime": "10:30", "trainNumber": "X9101", "validFrom": from}, http.StatusCreated, &a)
	e.call(t, http.MethodPost, "/v1/timetables", e.dispatcher, map[string]any{"route": "SCO-DE-DUI", "weekday": weekday,
		"departureTime": "23:45", "timeZone": "Asia/Shanghai", "trainNumber": "X9102", "validFrom": from, "openBefore": "90d"},
		http.StatusCreated, &b)

	type generated struct {
		Created    int      `json:"created"`
		Departures []string `json:"departures"`
	}
	var onlyB, rest, again generated
	e.call(t, http.MethodPost, "/v1/timetables/generate", e.dispatcher, map[string]any{"from": from, "to": to, "route": "SCO-DE-DUI"},
		http.StatusOK, &onlyB)
	e.call(t, http.MethodPost, "/v1/timetables/generate", e.admin, map[string]any{"from": from, "to": to}, http.StatusOK, &rest)
	e.call(t, http.MethodPost, "/v1/timetables/generate", e.dispatcher, map[string]any{"from": from, "to": to}, http.StatusOK, &again)
	if onlyB.Created != 4 || len(onlyB.Departures) != 4 || rest.Created != 4 || again.Created != 0 || again.Departures == nil {
		t.Fatalf("generated %+v, then %+v, then %+v", onlyB, rest, again)
	}

	t.Run("generated departures", func(t *testing.T) {
		var l departureList
		e.call(t, http.MethodGet, "/v1/departures?route="+testRoute, e.carrier, nil, http.StatusOK, &l)
		if !slices.Equal(l.ids(), rest.Departures) || l.NextCursor != "" {
			t.Fatalf("listed %v, generated %v", l.ids(), rest.Departures)
		}
		first, _ := time.ParseInLocation(time.DateOnly+" 15:04", from+" 10:30", shanghai)
		for i, d := range l.Departures {
			want := first.AddDate(0, 0, 7*i)
			if !d.PlannedDeparture.Equal(want) || !d.Cutoff.Equal(want.Add(-24*time.Hour)) || d.Status != "planned" ||
				d.TrainNumber != "X9101" || len(d.Stops) != 5 {
				t.Fatalf("run %d: %+v, want leaving %v", i, d, want)
			}
		}
		e.call(t, http.MethodGet, "/v1/departures?status=open", e.acme, nil, http.StatusOK, &l)
		if !slices.Equal(l.ids(), onlyB.Departures) {
			t.Fatalf("open ones %v, want %v", l.ids(), onlyB.Departures)
		}
	})

	t.Run("announced once each", func(t *testing.T) {
		planned := scheduleMsgs(t, e, "schedule.v1.departure.planned", 8)
		opened := scheduleMsgs(t, e, "schedule.v1.departure.opened", 4)
		var got []string
		for _, m := range planned {
			var ev schedulev1.DepartureEvent
			if err := events.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.GetDepartureId())
		}
		// Sorted: the relay need not keep the order across the two generations.
		want := append(slices.Clone(onlyB.Departures), rest.Departures...)
		slices.Sort(want)
		if slices.Sort(got); !slices.Equal(got, want) {
			t.Fatalf("planned events for %v, want %v", got, want)
		}
		got = nil
		for _, m := range opened {
			var ev schedulev1.DepartureEvent
			if err := events.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.GetOpened().GetBookingCutoffAt() == nil || ev.GetTrainNumber() != "X9102" {
				t.Fatalf("opened event %v", &ev)
			}
			got = append(got, ev.GetDepartureId())
		}
		if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(onlyB.Departures))) {
			t.Fatalf("opened events for %v, want %v", got, onlyB.Departures)
		}
	})

	t.Run("pages", func(t *testing.T) {
		var all departureList
		e.call(t, http.MethodGet, "/v1/departures", e.dispatcher, nil, http.StatusOK, &all)
		if len(all.Departures) != 8 {
			t.Fatalf("%d departures", len(all.Departures))
		}
		var paged []string
		next := ""
		for range 4 {
			var l departureList
			e.call(t, http.MethodGet, "/v1/departures?limit=3&cursor="+url.QueryEscape(next), e.dispatcher, nil, http.StatusOK, &l)
			paged = append(paged, l.ids()...)
			if next = l.NextCursor; next == "" {
				break
			}
		}
		if !slices.Equal(paged, all.ids()) {
			t.Fatalf("paged %v, want %v", paged, all.ids())
		}
		// The second week only: [from+7d, from+14d).
		lo := all.Departures[0].PlannedDeparture.Add(7 * 24 * time.Hour).Add(-time.Hour)
		var week departureList
		e.call(t, http.MethodGet, "/v1/departures?from="+url.QueryEscape(lo.Format(time.RFC3339))+"&to="+
			url.QueryEscape(lo.Add(7*24*time.Hour).Format(time.RFC3339)), e.dispatcher, nil, http.StatusOK, &week)
		if len(week.Departures) != 2 || !slices.Contains(week.ids(), rest.Departures[1]) || !slices.Contains(week.ids(), onlyB.Departures[1]) {
			t.Fatalf("second week %v", week.ids())
		}
		for _, tc := range []struct {
			query string
			want  int
			field string
		}{
			{"limit=0", http.StatusUnprocessableEntity, "limit"},
			{"limit=201", http.StatusUnprocessableEntity, "limit"},
			{"limit=ten", http.StatusUnprocessableEntity, "limit"},
			{"status=lost", http.StatusUnprocessableEntity, "status"},
			{"from=yesterday", http.StatusUnprocessableEntity, "from"},
			{"from=2030-01-01T10:00:00", http.StatusUnprocessableEntity, "from"},
			{"from=2030-01-02T10:00:00Z&to=2030-01-01T10:00:00Z", http.StatusUnprocessableEntity, "to"},
			{"cursor=bm9wZQ", http.StatusUnprocessableEntity, "cursor"},
			{"cursor=%%%", http.StatusBadRequest, "query"},
			{"sort=desc", http.StatusBadRequest, "sort"},
			{"limit=1&limit=2", http.StatusBadRequest, "limit"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				resp, raw := e.Do(t, http.MethodGet, "/v1/departures?"+tc.query, e.dispatcher, "")
				if resp.StatusCode != tc.want {
					t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
				}
				if f := fields(t, resp, raw); len(f) == 0 || f[0] != tc.field {
					t.Fatalf("problem names %v, want %s", f, tc.field)
				}
			})
		}
		e.call(t, http.MethodGet, "/v1/departures", "", nil, http.StatusUnauthorized, nil)
	})

	t.Run("invalid", func(t *testing.T) {
		far, _ := localDate(35 + 85)
		for _, tc := range []struct {
			name, token string
			body        map[string]any
			want        int
			field       string
		}{
			{"shipper may not", e.acme, map[string]any{"from": from, "to": to}, http.StatusForbidden, ""},
			{"no from", e.dispatcher, map[string]any{"to": to}, http.StatusUnprocessableEntity, "from"},
			{"bad date", e.dispatcher, map[string]any{"from": "next monday", "to": to}, http.StatusUnprocessableEntity, "from"},
			{"to before from", e.dispatcher, map[string]any{"from": to, "to": from}, http.StatusUnprocessableEntity, "to"},
			{"more than 12 weeks", e.dispatcher, map[string]any{"from": from, "to": far}, http.StatusUnprocessableEntity, "to"},
			{"unknown route", e.dispatcher, map[string]any{"from": from, "to": to, "route": "NO-SUCH"}, http.StatusUnprocessableEntity, "route"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, _ := json.Marshal(tc.body)
				resp, raw := e.Do(t, http.MethodPost, "/v1/timetables/generate", tc.token, string(b))
				if resp.StatusCode != tc.want {
					t.Fatalf("= %d, want %d: %s", resp.StatusCode, tc.want, raw)
				}
				if tc.field != "" {
					if f := fields(t, resp, raw); len(f) != 1 || f[0] != tc.field {
						t.Fatalf("problem names %v, want %s", f, tc.field)
					}
				}
			})
		}
	})
}

func TestOpenCloseDeparture(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X9201", nil) // open, version 1
	closePath, openPath := "/v1/departures/"+d.ID+"/close", "/v1/departures/"+d.ID+"/open"
	why := map[string]any{"reason": "train full by weight"}

	e.write(t, http.MethodPost, closePath, e.dispatcher, "", why, http.StatusPreconditionRequired)
	e.write(t, http.MethodPost, closePath, e.dispatcher, `"5"`, why, http.StatusPreconditionFailed)
	e.write(t, http.MethodPost, closePath, e.acme, `"1"`, why, http.StatusForbidden)
	e.write(t, http.MethodPost, "/v1/departures/00000000-0000-0000-0000-000000000000/close", e.dispatcher, `"1"`, why, http.StatusNotFound)
	e.write(t, http.MethodPost, openPath, e.dispatcher, `"1"`, map[string]any{}, http.StatusConflict) // open already
	resp, raw := e.write(t, http.MethodPost, closePath, e.dispatcher, `"1"`, why, http.StatusOK)
	var got departure
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("ETag") != `"2"` || got.Status != "closed" || got.Version != 2 || got.ID != d.ID {
		t.Fatalf("closed: %q %+v", resp.Header.Get("ETag"), got)
	}
	e.write(t, http.MethodPost, closePath, e.dispatcher, `"2"`, why, http.StatusConflict)

	var full struct {
		PlannedDeparture time.Time `json:"plannedDeparture"`
	}
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &full)
	planned := full.PlannedDeparture
	for _, tc := range []struct {
		name   string
		cutoff string
	}{
		{"in the past", time.Now().Add(-time.Hour).Format(time.RFC3339)},
		{"after the departure", planned.Add(time.Hour).Format(time.RFC3339)},
		{"no offset", "2030-01-01T10:00:00"},
	} {
		t.Run("cutoff "+tc.name, func(t *testing.T) {
			resp, raw := e.write(t, http.MethodPost, openPath, e.dispatcher, `"2"`, map[string]any{"cutoff": tc.cutoff}, http.StatusUnprocessableEntity)
			if f := fields(t, resp, raw); !slices.Equal(f, []string{"cutoff"}) {
				t.Fatalf("problem names %v", f)
			}
		})
	}
	cutoff := planned.Add(-2 * time.Hour).Truncate(time.Second)
	resp, raw = e.write(t, http.MethodPost, openPath, e.dispatcher, `"2"`, map[string]any{"cutoff": cutoff.Format(time.RFC3339)}, http.StatusOK)
	var reopened struct {
		departure
		Cutoff time.Time `json:"cutoff"`
	}
	if err := json.Unmarshal(raw, &reopened); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("ETag") != `"3"` || reopened.Status != "open" || !reopened.Cutoff.Equal(cutoff) {
		t.Fatalf("reopened: %q %s", resp.Header.Get("ETag"), raw)
	}

	// A planned departure opens with an empty body; once cancelled it neither closes nor opens.
	p := e.newDeparture(t, "X9202", map[string]any{"status": "planned"})
	pOpen, pClose := "/v1/departures/"+p.ID+"/open", "/v1/departures/"+p.ID+"/close"
	req, _ := http.NewRequest(http.MethodPost, e.URL+pOpen, nil)
	req.Header.Set("Authorization", "Bearer "+e.dispatcher)
	req.Header.Set("If-Match", `"1"`)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("opening a planned departure without a body: %d %q", r.StatusCode, r.Header.Get("ETag"))
	}
	e.write(t, http.MethodPost, "/v1/departures/"+p.ID+"/cancel", e.dispatcher, `"2"`, map[string]any{"reason": "no locomotive"}, http.StatusOK)
	for _, path := range []string{pClose, pOpen} {
		_, raw := e.write(t, http.MethodPost, path, e.dispatcher, `"3"`, map[string]any{}, http.StatusConflict)
		if !strings.Contains(string(raw), "cancelled") {
			t.Fatalf("%s: the problem does not say why: %s", path, raw)
		}
	}

	// Exactly: opened at creation, reopened, the planned one opened; closed once, with its reason.
	var opened []string
	for _, m := range scheduleMsgs(t, e, "schedule.v1.departure.opened", 3) {
		var ev schedulev1.DepartureEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		opened = append(opened, ev.GetDepartureId())
		if len(opened) == 2 && !ev.GetOpened().GetBookingCutoffAt().AsTime().Equal(cutoff) {
			t.Fatalf("reopened with cut-off %v, want %v", ev.GetOpened().GetBookingCutoffAt().AsTime(), cutoff)
		}
	}
	if !slices.Equal(opened, []string{d.ID, d.ID, p.ID}) {
		t.Fatalf("opened events for %v", opened)
	}
	closed := scheduleMsgs(t, e, "schedule.v1.departure.closed", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(closed[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetDepartureId() != d.ID || ev.GetClosed().GetReason() != "train full by weight" || ev.GetTrainNumber() != "X9201" {
		t.Fatalf("closed event %v", &ev)
	}
}

// The timetable worker generates the runs within SCHEDULING_TIMETABLE_HORIZON, open or planned
// by their booking window, once each even with two replicas running it.
func TestTimetableWorker(t *testing.T) {
	t.Setenv("SCHEDULING_TIMETABLE_HORIZON", "336h")
	e := startEnv(t)
	from, _ := localDate(2)
	until, _ := localDate(8)
	soon, soonDay := localDate(4)
	later, laterDay := localDate(6)
	beyond, _ := localDate(20)
	for _, body := range []map[string]any{
		{"route": testRoute, "weekday": soonDay, "departureTime": "10:30", "trainNumber": "X9301", "validFrom": from, "validUntil": until,
			"openBefore": "7d"},
		{"route": testRoute, "weekday": laterDay, "departureTime": "10:30", "trainNumber": "X9302", "validFrom": from, "validUntil": until,
			"cutoffBefore": "1d", "openBefore": "2d"},
		{"route": testRoute, "weekday": soonDay, "departureTime": "11:30", "trainNumber": "X9303", "validFrom": beyond},
	} {
		e.call(t, http.MethodPost, "/v1/timetables", e.dispatcher, body, http.StatusCreated, nil)
	}

	// A second replica runs its worker at start, now that the timetables exist.
	cfg := e.Config
	r, err := app.Start(context.Background(), scheduling.Service("test"), cfg, observability.NewLogger(t.Output(), slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop the second replica: %v", err)
		}
	})

	var l departureList
	testkit.Eventually(t, 20*time.Second, func() error {
		e.call(t, http.MethodGet, "/v1/departures", e.dispatcher, nil, http.StatusOK, &l)
		if len(l.Departures) != 2 {
			return fmt.Errorf("%d departures", len(l.Departures))
		}
		return nil
	})
	wantSoon, _ := time.ParseInLocation(time.DateOnly+" 15:04", soon+" 10:30", shanghai)
	wantLater, _ := time.ParseInLocation(time.DateOnly+" 15:04", later+" 10:30", shanghai)
	if d := l.Departures[0]; d.TrainNumber != "X9301" || d.Status != "open" || !d.PlannedDeparture.Equal(wantSoon) {
		t.Fatalf("first run %+v", d)
	}
	if d := l.Departures[1]; d.TrainNumber != "X9302" || d.Status != "planned" || !d.PlannedDeparture.Equal(wantLater) ||
		!d.Cutoff.Equal(wantLater.Add(-24*time.Hour)) {
		t.Fatalf("second run %+v", d)
	}
	scheduleMsgs(t, e, "schedule.v1.departure.planned", 2)
	opened := scheduleMsgs(t, e, "schedule.v1.departure.opened", 1)
	var ev schedulev1.DepartureEvent
	if err := events.Unmarshal(opened[0].Data(), &ev); err != nil || ev.GetDepartureId() != l.Departures[0].ID {
		t.Fatalf("opened event %v (%v)", &ev, err)
	}
}
