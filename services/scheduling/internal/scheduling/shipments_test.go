package scheduling_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
)

type shipmentLeg struct {
	Seq                int        `json:"seq"`
	Mode               string     `json:"mode"`
	From               string     `json:"from"`
	To                 string     `json:"to"`
	TransportReference string     `json:"transportReference"`
	BookingID          string     `json:"bookingId"`
	DepartureID        string     `json:"departureId"`
	Status             string     `json:"status"`
	PlannedDeparture   *time.Time `json:"plannedDeparture"`
	PlannedArrival     *time.Time `json:"plannedArrival"`
	ActualDeparture    *time.Time `json:"actualDeparture"`
	ActualArrival      *time.Time `json:"actualArrival"`
	EstimatedArrival   *time.Time `json:"estimatedArrival"`
}

type shipment struct {
	ID          string        `json:"id"`
	Tenant      string        `json:"tenant"`
	TDR         string        `json:"transportDocumentReference"`
	Status      string        `json:"status"`
	Origin      string        `json:"origin"`
	Destination string        `json:"destination"`
	ETA         *time.Time    `json:"eta"`
	Containers  []string      `json:"equipmentReferences"`
	Legs        []shipmentLeg `json:"legs"`
	Version     int           `json:"version"`
}

type shipmentPage struct {
	Shipments  []shipment `json:"shipments"`
	NextCursor string     `json:"nextCursor"`
}

func shRFC(t time.Time) string { return t.Format(time.RFC3339) }

func shSameTime(a *time.Time, b time.Time) bool { return a != nil && a.Equal(b) }

// shipmentEvents returns the events on subject about shipment id (its shipment events, or the
// ETA events of the shipment itself) once there are want of them.
func shipmentEvents(t *testing.T, e *env, subject, id string, want int) []events.Event {
	t.Helper()
	_, js := natstest.Connect(t, e.NATS.URL)
	stream, err := js.Stream(t.Context(), events.StreamSchedule)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	testkit.Eventually(t, 20*time.Second, func() error {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			var ev events.Event
			var about string
			if subject == "schedule.v1.eta.changed" {
				var e schedulev1.EtaEvent
				if err := events.Unmarshal(m.Data(), &e); err != nil {
					return err
				}
				if e.GetBookingId() == "" { // a booking's ETA names its shipment too
					ev, about = &e, e.GetShipmentId()
				}
			} else {
				var e schedulev1.ShipmentEvent
				if err := events.Unmarshal(m.Data(), &e); err != nil {
					return err
				}
				ev, about = &e, e.GetShipmentId()
			}
			if about == id {
				out = append(out, ev)
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if len(out) != want {
			return fmt.Errorf("%d messages on %s about shipment %s, want %d", len(out), subject, id, want)
		}
		return nil
	})
	return out
}

// The multimodal run the tests ship: Incheon by sea to Qingdao (sent as CNTAO, an alias of
// CNQIN), by road to the Jiaozhou hub, by rail on a booking to Almaty, and by road to the
// consignee in Almaty. The road legs have little slack: a late ship makes the container miss
// its train's planned departure, and the consignee's truck wait.
func (e *env) multimodal(t *testing.T, d timed, bookingID, tdr string) map[string]any {
	t.Helper()
	railDep, railArr := *d.Stops[0].PlannedDeparture, *d.Stops[4].PlannedArrival
	body := map[string]any{"legs": []map[string]any{
		{"mode": "sea", "from": "KRINC", "to": "CNTAO", "carrierCode": "HDMU", "transportReference": "HMM-042E",
			"plannedDeparture": shRFC(railDep.Add(-5 * 24 * time.Hour)), "plannedArrival": shRFC(railDep.Add(-14 * time.Hour))},
		{"mode": "road", "from": "CNQIN", "to": "CNJZH", "plannedDeparture": shRFC(railDep.Add(-12 * time.Hour)),
			"plannedArrival": shRFC(railDep.Add(-2 * time.Hour))},
		{"bookingId": bookingID},
		{"mode": "road", "from": "KZALA", "to": "KZALA", "carrierCode": "KZTRUCK",
			"plannedDeparture": shRFC(railArr.Add(time.Hour)), "plannedArrival": shRFC(railArr.Add(5 * time.Hour))},
	}}
	if tdr != "" {
		body["transportDocumentReference"] = tdr
	}
	return body
}

func TestShipmentsAPI(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8601", nil)
	var mine, theirs booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &mine)
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher, e.bookBody(t, d.ID, 2, "45G1", "CNJZH", "KZALA", 20000, "globex"), http.StatusCreated, &theirs)
	dep, _ := e.timed(t, d.ID)
	railDep, railArr := *dep.Stops[0].PlannedDeparture, *dep.Stops[4].PlannedArrival

	var sh shipment
	resp := e.call(t, http.MethodPost, "/v1/shipments", e.acme, e.multimodal(t, dep, mine.ID, "MBL-ACME-1"), http.StatusCreated, &sh)
	if resp.Header.Get("ETag") != `"1"` || sh.Version != 1 {
		t.Fatalf("ETag %q, version %d", resp.Header.Get("ETag"), sh.Version)
	}
	if sh.Tenant != "acme" || sh.TDR != "MBL-ACME-1" || sh.Status != "booked" || sh.Origin != "KRINC" || sh.Destination != "KZALA" ||
		!slices.Equal(sh.Containers, []string{mine.Container}) || len(sh.Legs) != 4 || !shSameTime(sh.ETA, railArr.Add(5*time.Hour)) {
		t.Fatalf("shipment %+v", sh)
	}
	rail := sh.Legs[2]
	if sh.Legs[0].To != "CNQIN" || sh.Legs[0].Mode != "sea" || sh.Legs[0].Status != "planned" ||
		rail.Seq != 3 || rail.Mode != "rail" || rail.From != "CNJZH" || rail.To != "KZALA" || rail.BookingID != mine.ID ||
		rail.DepartureID != d.ID || rail.TransportReference != "X8601" || rail.Status != "booked" ||
		!shSameTime(rail.PlannedDeparture, railDep) || !shSameTime(rail.PlannedArrival, railArr) || !shSameTime(rail.EstimatedArrival, railArr) {
		t.Fatalf("legs %+v", sh.Legs)
	}

	t.Run("read", func(t *testing.T) {
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"owner", e.acme, http.StatusOK},
			{"dispatcher", e.dispatcher, http.StatusOK},
			{"admin", e.admin, http.StatusOK},
			{"carrier, for the ETag", e.carrier, http.StatusOK},
			{"another tenant", e.globex, http.StatusNotFound},
			{"no token", "", http.StatusUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got shipment
				resp := e.call(t, http.MethodGet, "/v1/shipments/"+sh.ID, tc.token, nil, tc.want, nil)
				if tc.want != http.StatusOK {
					return
				}
				e.call(t, http.MethodGet, "/v1/shipments/"+sh.ID, tc.token, nil, tc.want, &got)
				if resp.Header.Get("ETag") != `"1"` || got.ID != sh.ID || got.Status != "booked" || len(got.Legs) != 4 {
					t.Fatalf("ETag %q, %+v", resp.Header.Get("ETag"), got)
				}
			})
		}
		e.call(t, http.MethodGet, "/v1/shipments/00000000-0000-0000-0000-000000000000", e.dispatcher, nil, http.StatusNotFound, nil)
		e.call(t, http.MethodGet, "/v1/shipments/nope", e.dispatcher, nil, http.StatusNotFound, nil)
		for _, tc := range []struct {
			name, token string
			n           int
		}{{"owner", e.acme, 1}, {"dispatcher", e.dispatcher, 1}, {"another tenant", e.globex, 0}} {
			t.Run("by TDR/"+tc.name, func(t *testing.T) {
				var page shipmentPage
				e.call(t, http.MethodGet, "/v1/shipments?transportDocumentReference=MBL-ACME-1", tc.token, nil, http.StatusOK, &page)
				if len(page.Shipments) != tc.n || (tc.n == 1 && page.Shipments[0].ID != sh.ID) {
					t.Fatalf("listed %+v", page)
				}
			})
		}
		e.call(t, http.MethodGet, "/v1/shipments", e.carrier, nil, http.StatusForbidden, nil)
		e.call(t, http.MethodGet, "/v1/shipments?limit=0", e.acme, nil, http.StatusUnprocessableEntity, nil)
		e.call(t, http.MethodGet, "/v1/shipments?cursor=nope", e.acme, nil, http.StatusUnprocessableEntity, nil)
		e.call(t, http.MethodGet, "/v1/shipments?tenant=globex", e.acme, nil, http.StatusBadRequest, nil)
	})

	t.Run("created event", func(t *testing.T) {
		evs := shipmentEvents(t, e, "schedule.v1.shipment.created", sh.ID, 1)
		ev := evs[0].(*schedulev1.ShipmentEvent)
		c := ev.GetCreated()
		if ev.GetEnvelope().GetTenantId() != "acme" || ev.GetTransportDocumentReference() != "MBL-ACME-1" ||
			!slices.Equal(c.GetEquipmentReferences(), []string{mine.Container}) ||
			c.GetOrigin().GetUnLocationCode() != "KRINC" || c.GetDestination().GetUnLocationCode() != "KZALA" || len(c.GetLegs()) != 4 {
			t.Fatalf("created %v", ev)
		}
		l := c.GetLegs()[2]
		if l.GetSequence() != 3 || l.GetBookingId() != mine.ID || l.GetDepartureId() != d.ID ||
			!l.GetPlannedDepartureAt().AsTime().Equal(railDep) || !l.GetPlannedArrivalAt().AsTime().Equal(railArr) {
			t.Fatalf("rail leg %v", l)
		}
		if sea := c.GetLegs()[0]; sea.GetModeOfTransport().String() != "MODE_OF_TRANSPORT_VESSEL" || sea.GetCarrierCode() != "HDMU" {
			t.Fatalf("sea leg %v", sea)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		chainBreak := e.multimodal(t, dep, "", "MBL-X1")
		legs := chainBreak["legs"].([]map[string]any)
		chainBreak["legs"] = []map[string]any{legs[0], {"mode": "road", "from": "CNJZH", "to": "KZALA",
			"plannedDeparture": legs[1]["plannedDeparture"], "plannedArrival": legs[1]["plannedArrival"]}}
		backwards := e.multimodal(t, dep, "", "MBL-X2")
		legs = backwards["legs"].([]map[string]any)
		backwards["legs"] = []map[string]any{legs[0], {"mode": "road", "from": "CNQIN", "to": "CNJZH",
			"plannedDeparture": shRFC(railDep.Add(-15 * time.Hour)), "plannedArrival": shRFC(railDep.Add(-2 * time.Hour))}}
		noTimes := map[string]any{"legs": []map[string]any{{"mode": "sea", "from": "KRINC", "to": "CNQIN"}}}
		badMode := map[string]any{"legs": []map[string]any{{"mode": "spaceship", "from": "KRINC", "to": "CNQIN",
			"plannedDeparture": shRFC(railDep), "plannedArrival": shRFC(railDep.Add(time.Hour))}}}
		reversed := map[string]any{"legs": []map[string]any{{"mode": "sea", "from": "KRINC", "to": "CNQIN",
			"plannedDeparture": shRFC(railDep), "plannedArrival": shRFC(railDep.Add(-time.Hour))}}}
		badBox := map[string]any{"equipmentReferences": []string{"SCDU1234567"}, "legs": noTimes["legs"]}
		boxWithBooking := e.multimodal(t, dep, theirs.ID, "MBL-X3")
		boxWithBooking["equipmentReferences"] = []string{container(t, 9)}
		for _, tc := range []struct {
			name, token string
			body        map[string]any
			want        int
			field       string
		}{
			{"another tenant's booking", e.globex, e.multimodal(t, dep, mine.ID, "MBL-GLOBEX-1"), http.StatusUnprocessableEntity, "legs[2].bookingId"},
			{"dispatcher for globex names acme's booking", e.dispatcher, shWith(e.multimodal(t, dep, mine.ID, "MBL-GLOBEX-2"), "tenant", "globex"), http.StatusUnprocessableEntity, "legs[2].bookingId"},
			{"unknown booking", e.acme, e.multimodal(t, dep, "00000000-0000-0000-0000-000000000000", "MBL-X4"), http.StatusUnprocessableEntity, "legs[2].bookingId"},
			{"dispatcher names no tenant", e.dispatcher, e.multimodal(t, dep, mine.ID, "MBL-X5"), http.StatusUnprocessableEntity, "tenant"},
			{"shipper names another tenant", e.acme, shWith(e.multimodal(t, dep, mine.ID, "MBL-X6"), "tenant", "globex"), http.StatusUnprocessableEntity, "tenant"},
			{"legs do not chain", e.acme, chainBreak, http.StatusUnprocessableEntity, "legs[1].from"},
			{"time goes backwards", e.acme, backwards, http.StatusUnprocessableEntity, "legs[1].plannedDeparture"},
			{"external leg without times", e.acme, noTimes, http.StatusUnprocessableEntity, "legs[0].plannedDeparture"},
			{"unknown mode", e.acme, badMode, http.StatusUnprocessableEntity, "legs[0].mode"},
			{"arrives before it leaves", e.acme, reversed, http.StatusUnprocessableEntity, "legs[0].plannedArrival"},
			{"no legs", e.acme, map[string]any{"legs": []any{}}, http.StatusUnprocessableEntity, "legs"},
			{"bad container", e.dispatcher, shWith(badBox, "tenant", "acme"), http.StatusUnprocessableEntity, "equipmentReferences[0]"},
			{"shipper names containers", e.acme, map[string]any{"equipmentReferences": []string{container(t, 8)}, "legs": noTimes["legs"]}, http.StatusUnprocessableEntity, "equipmentReferences"},
			{"containers of a booked shipment", e.dispatcher, shWith(boxWithBooking, "tenant", "globex"), http.StatusUnprocessableEntity, "equipmentReferences"},
			{"TDR too long", e.acme, e.multimodal(t, dep, "", "MBL-0123456789-0123456789"), http.StatusUnprocessableEntity, "transportDocumentReference"},
			{"TDR taken", e.globex, e.multimodal(t, dep, theirs.ID, "MBL-ACME-1"), http.StatusConflict, ""},
			{"booking already in a shipment", e.acme, e.multimodal(t, dep, mine.ID, "MBL-ACME-2"), http.StatusConflict, ""},
			{"carrier may not", e.carrier, e.multimodal(t, dep, mine.ID, "MBL-X7"), http.StatusForbidden, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, raw := e.write(t, http.MethodPost, "/v1/shipments", tc.token, "", tc.body, tc.want)
				if tc.field != "" {
					p := shProblem(t, raw)
					if !slices.ContainsFunc(p.Errors, func(f struct{ Field, Reason string }) bool { return f.Field == tc.field }) {
						t.Fatalf("problem names %+v, want field %s", p.Errors, tc.field)
					}
				}
			})
		}
		// Nothing was stored: globex has no shipment, and acme only the first.
		for _, tc := range []struct {
			token string
			n     int
		}{{e.globex, 0}, {e.acme, 1}} {
			var page shipmentPage
			e.call(t, http.MethodGet, "/v1/shipments", tc.token, nil, http.StatusOK, &page)
			if len(page.Shipments) != tc.n {
				t.Fatalf("%d shipments listed, want %d", len(page.Shipments), tc.n)
			}
		}
		// The 422 on another tenant's booking says no more than on a booking that does not exist.
		_, a := e.write(t, http.MethodPost, "/v1/shipments", e.globex, "", e.multimodal(t, dep, mine.ID, "MBL-G3"), http.StatusUnprocessableEntity)
		_, b := e.write(t, http.MethodPost, "/v1/shipments", e.globex, "", e.multimodal(t, dep, "00000000-0000-0000-0000-000000000000", "MBL-G3"), http.StatusUnprocessableEntity)
		if pa, pb := shProblem(t, a), shProblem(t, b); fmt.Sprint(pa.Errors) != fmt.Sprint(pb.Errors) {
			t.Fatalf("another tenant's booking: %+v; no booking: %+v", pa.Errors, pb.Errors)
		}
	})

	t.Run("generated TDR and external containers", func(t *testing.T) {
		body := e.multimodal(t, dep, "", "")
		body["legs"] = body["legs"].([]map[string]any)[:2]
		body["equipmentReferences"] = []string{container(t, 5), container(t, 5)}
		body["tenant"] = "acme"
		var ext shipment
		e.call(t, http.MethodPost, "/v1/shipments", e.dispatcher, body, http.StatusCreated, &ext)
		if !regexp.MustCompile(`^SCODA[0-9A-Z]{10}$`).MatchString(ext.TDR) || !slices.Equal(ext.Containers, []string{container(t, 5)}) ||
			ext.Destination != "CNJZH" || ext.Status != "booked" {
			t.Fatalf("shipment %+v", ext)
		}
	})

	t.Run("actuals", func(t *testing.T) {
		path := "/v1/shipments/" + sh.ID + "/legs/1/actuals"
		left, arrived := railDep.Add(-5*24*time.Hour), railDep.Add(-4*time.Hour) // 10 h late
		report := map[string]any{"actualDeparture": shRFC(left), "actualArrival": shRFC(arrived)}
		for _, tc := range []struct {
			name, path, token, ifMatch string
			body                       any
			want                       int
		}{
			{"no If-Match", path, e.carrier, "", report, http.StatusPreconditionRequired},
			{"stale", path, e.carrier, `"7"`, report, http.StatusPreconditionFailed},
			{"shipper may not", path, e.acme, `"1"`, report, http.StatusForbidden},
			{"booking leg", "/v1/shipments/" + sh.ID + "/legs/3/actuals", e.carrier, `"1"`, report, http.StatusConflict},
			{"no such leg", "/v1/shipments/" + sh.ID + "/legs/5/actuals", e.carrier, `"1"`, report, http.StatusNotFound},
			{"no such shipment", "/v1/shipments/00000000-0000-0000-0000-000000000000/legs/1/actuals", e.carrier, `"1"`, report, http.StatusNotFound},
			{"nothing reported", path, e.carrier, `"1"`, map[string]any{}, http.StatusUnprocessableEntity},
			{"no offset", path, e.carrier, `"1"`, map[string]any{"actualArrival": "2027-01-01T10:00:00"}, http.StatusUnprocessableEntity},
			{"arrives before it left", path, e.carrier, `"1"`, map[string]any{"actualDeparture": shRFC(arrived), "actualArrival": shRFC(left)}, http.StatusUnprocessableEntity},
			{"delivered by a leg that is not the last", path, e.carrier, `"1"`, map[string]any{"actualArrival": shRFC(arrived), "delivered": true}, http.StatusUnprocessableEntity},
			{"delivered before it arrived", "/v1/shipments/" + sh.ID + "/legs/4/actuals", e.dispatcher, `"1"`, map[string]any{"delivered": true}, http.StatusUnprocessableEntity},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.write(t, http.MethodPost, tc.path, tc.token, tc.ifMatch, tc.body, tc.want)
			})
		}

		var got shipment
		resp, raw := e.write(t, http.MethodPost, path, e.carrier, `"1"`, report, http.StatusOK)
		shDecode(t, raw, &got)
		if resp.Header.Get("ETag") != `"2"` || got.Version != 2 {
			t.Fatalf("ETag %q, version %d after the report", resp.Header.Get("ETag"), got.Version)
		}
		// The container reaches Jiaozhou 8 h after the truck was to leave Qingdao, misses its
		// train's plan by 6 h, and the consignee's truck leaves 5 h later than planned.
		wantETA := []time.Time{arrived, railDep.Add(6 * time.Hour), railArr.Add(6 * time.Hour), railArr.Add(10 * time.Hour)}
		for i, l := range got.Legs {
			if !shSameTime(l.EstimatedArrival, wantETA[i]) {
				t.Errorf("leg %d estimated arrival %v, want %v", l.Seq, l.EstimatedArrival, wantETA[i])
			}
		}
		if got.Status != "in_transit" || got.Legs[0].Status != "arrived" || !shSameTime(got.Legs[0].ActualDeparture, left) ||
			!shSameTime(got.ETA, railArr.Add(10*time.Hour)) {
			t.Fatalf("after the report: %+v", got)
		}
		e.write(t, http.MethodPost, path, e.carrier, `"1"`, report, http.StatusPreconditionFailed)

		upd := shipmentEvents(t, e, "schedule.v1.shipment.leg_updated", sh.ID, 1)[0].(*schedulev1.ShipmentEvent)
		if l := upd.GetLegUpdated().GetLeg(); l.GetSequence() != 1 || !l.GetActualArrivalAt().AsTime().Equal(arrived) ||
			upd.GetEnvelope().GetTenantId() != "acme" {
			t.Fatalf("leg_updated %v", upd)
		}
		eta := shipmentEvents(t, e, "schedule.v1.eta.changed", sh.ID, 1)[0].(*schedulev1.EtaEvent)
		c := eta.GetChanged()
		if eta.GetBookingId() != "" || eta.GetTransportDocumentReference() != "MBL-ACME-1" || eta.GetEnvelope().GetTenantId() != "acme" ||
			!c.GetPreviousEta().AsTime().Equal(railArr.Add(5*time.Hour)) || !c.GetEta().AsTime().Equal(railArr.Add(10*time.Hour)) ||
			c.GetLocation().GetUnLocationCode() != "KZALA" {
			t.Fatalf("eta.changed %v", eta)
		}
		st := shipmentEvents(t, e, "schedule.v1.shipment.status_changed", sh.ID, 1)[0].(*schedulev1.ShipmentEvent)
		if sc := st.GetStatusChanged(); sc.GetPreviousStatus() != schedulev1.ShipmentStatus_SHIPMENT_STATUS_BOOKED ||
			sc.GetStatus() != schedulev1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT {
			t.Fatalf("status_changed %v", st)
		}

		// A report that moves nothing beyond the threshold announces the leg only.
		resp, _ = e.write(t, http.MethodPost, path, e.dispatcher, `"2"`, map[string]any{"actualArrival": shRFC(arrived.Add(10 * time.Minute))}, http.StatusOK)
		if resp.Header.Get("ETag") != `"3"` {
			t.Fatalf("ETag %q", resp.Header.Get("ETag"))
		}
		shipmentEvents(t, e, "schedule.v1.shipment.leg_updated", sh.ID, 2)
		shipmentEvents(t, e, "schedule.v1.eta.changed", sh.ID, 1)
	})
}

// shWith returns m with key set to v.
func shWith(m map[string]any, key string, v any) map[string]any {
	m[key] = v
	return m
}

type shProblemBody struct {
	Errors []struct{ Field, Reason string } `json:"errors"`
}

func shProblem(t *testing.T, raw []byte) shProblemBody {
	t.Helper()
	var p shProblemBody
	shDecode(t, raw, &p)
	return p
}

func shDecode(t *testing.T, raw []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

func TestBookingList(t *testing.T) {
	e := startEnv(t)
	d1, d2 := e.newDeparture(t, "X8701", nil), e.newDeparture(t, "X8702", nil)
	var bs [4]booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d1.ID, 1, "22G1", "CNJZH", "KZALA", 10000, ""), http.StatusCreated, &bs[0])
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d1.ID, 2, "22G1", "CNJZH", "KZHOR", 10000, ""), http.StatusCreated, &bs[1])
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher, e.bookBody(t, d1.ID, 3, "22G1", "CNJZH", "KZALA", 10000, "globex"), http.StatusCreated, &bs[2])
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d2.ID, 4, "22G1", "CNJZH", "KZALA", 10000, ""), http.StatusCreated, &bs[3])

	type page struct {
		Bookings   []booking `json:"bookings"`
		NextCursor string    `json:"nextCursor"`
	}
	// acme, one at a time: its three bookings, newest first, never globex's.
	var ids []string
	cursor := ""
	for i := 0; i < 5; i++ {
		var p page
		e.call(t, http.MethodGet, "/v1/bookings?limit=1&cursor="+url.QueryEscape(cursor), e.acme, nil, http.StatusOK, &p)
		if len(p.Bookings) != 1 {
			t.Fatalf("page %d: %+v", i, p)
		}
		ids = append(ids, p.Bookings[0].ID)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if want := []string{bs[3].ID, bs[1].ID, bs[0].ID}; !slices.Equal(ids, want) {
		t.Fatalf("acme's bookings %v, want %v", ids, want)
	}

	for _, tc := range []struct {
		name, query, token string
		want               []string
	}{
		{"acme on a departure", "departureId=" + d1.ID, e.acme, []string{bs[1].ID, bs[0].ID}},
		{"dispatcher on a departure", "departureId=" + d1.ID, e.dispatcher, []string{bs[2].ID, bs[1].ID, bs[0].ID}},
		{"admin, everything", "", e.admin, []string{bs[3].ID, bs[2].ID, bs[1].ID, bs[0].ID}},
		{"acme asks for globex's container", "container=" + bs[2].Container, e.acme, nil},
		{"globex asks for its container", "container=" + bs[2].Container, e.globex, []string{bs[2].ID}},
		{"by status", "status=confirmed", e.globex, []string{bs[2].ID}},
		{"no such status yet", "status=loaded", e.dispatcher, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p page
			e.call(t, http.MethodGet, "/v1/bookings?"+tc.query, tc.token, nil, http.StatusOK, &p)
			var got []string
			for _, b := range p.Bookings {
				got = append(got, b.ID)
			}
			if !slices.Equal(got, tc.want) || p.NextCursor != "" {
				t.Fatalf("listed %v (next %q), want %v", got, p.NextCursor, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, query, token string
		want               int
	}{
		{"carrier may not", "", e.carrier, http.StatusForbidden},
		{"no token", "", "", http.StatusUnauthorized},
		{"limit too big", "limit=1000", e.acme, http.StatusUnprocessableEntity},
		{"limit not a number", "limit=ten", e.acme, http.StatusUnprocessableEntity},
		{"bad cursor", "cursor=abc", e.acme, http.StatusUnprocessableEntity},
		{"unknown status", "status=lost", e.acme, http.StatusUnprocessableEntity},
		{"bad departure id", "departureId=nope", e.acme, http.StatusUnprocessableEntity},
		{"bad container", "container=ABCD1", e.acme, http.StatusUnprocessableEntity},
		{"unknown parameter", "tenant=globex", e.acme, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.call(t, http.MethodGet, "/v1/bookings?"+tc.query, tc.token, nil, tc.want, nil)
		})
	}
}

// --- the status and ETA function -------------------------------------------------------------

func TestShipmentProgress(t *testing.T) {
	t0 := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) *time.Time { x := t0.Add(time.Duration(n) * time.Hour); return &x }
	ext := func(dep, arr int) pgstore.ShipmentLeg {
		return pgstore.ShipmentLeg{Mode: "road", PlannedDeparture: h(dep), PlannedArrival: h(arr)}
	}
	withActual := func(l pgstore.ShipmentLeg, dep, arr *time.Time) pgstore.ShipmentLeg {
		l.ActualDeparture, l.ActualArrival = dep, arr
		return l
	}
	rail := func(dep, arr int, status string, eta *time.Time) pgstore.ShipmentLeg {
		return pgstore.ShipmentLeg{Mode: "rail", BookingID: "b", PlannedDeparture: h(dep), PlannedArrival: h(arr),
			Booking: &pgstore.LegBooking{ID: "b", Status: status, ETA: eta}}
	}
	for _, tc := range []struct {
		name     string
		legs     []pgstore.ShipmentLeg
		recorded string
		status   string
		legs2    []string // each leg's status
		etas     []*time.Time
	}{
		{"all planned", []pgstore.ShipmentLeg{ext(0, 10), rail(12, 100, pgstore.BookingConfirmed, h(100)), ext(101, 105)},
			pgstore.ShipmentCreated, pgstore.ShipmentBooked, []string{"planned", "booked", "planned"}, []*time.Time{h(10), h(100), h(105)}},
		{"booking ETA falls back to the planned arrival", []pgstore.ShipmentLeg{rail(0, 100, pgstore.BookingConfirmed, nil)},
			pgstore.ShipmentCreated, pgstore.ShipmentBooked, []string{"booked"}, []*time.Time{h(100)}},
		{"booking ETA announced later moves the legs after it", []pgstore.ShipmentLeg{rail(0, 100, pgstore.BookingConfirmed, h(130)), ext(101, 105)},
			pgstore.ShipmentBooked, pgstore.ShipmentBooked, []string{"booked", "planned"}, []*time.Time{h(130), h(134)}},
		{"late feeder shifts the legs after it", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(0), h(20)), ext(12, 14),
			rail(16, 100, pgstore.BookingConfirmed, h(100)), ext(101, 105)},
			pgstore.ShipmentBooked, pgstore.ShipmentInTransit, []string{"arrived", "planned", "booked", "planned"},
			[]*time.Time{h(20), h(22), h(106), h(110)}},
		{"early arrival never makes the next leg earlier", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(0), h(5)), ext(12, 14)},
			pgstore.ShipmentBooked, pgstore.ShipmentInTransit, []string{"arrived", "planned"}, []*time.Time{h(5), h(14)}},
		{"a late departure moves its own arrival", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(3), nil), ext(12, 14)},
			pgstore.ShipmentBooked, pgstore.ShipmentInTransit, []string{"in_transit", "planned"}, []*time.Time{h(13), h(15)}},
		{"a departed leg ignores the one before", []pgstore.ShipmentLeg{ext(0, 10), withActual(ext(12, 14), h(12), nil)},
			pgstore.ShipmentBooked, pgstore.ShipmentInTransit, []string{"planned", "in_transit"}, []*time.Time{h(10), h(14)}},
		{"loaded booking is in transit", []pgstore.ShipmentLeg{rail(0, 100, pgstore.BookingLoaded, h(100)), ext(101, 105)},
			pgstore.ShipmentBooked, pgstore.ShipmentInTransit, []string{"in_transit", "planned"}, []*time.Time{h(100), h(105)}},
		{"rail arrival is the actual one", []pgstore.ShipmentLeg{withActual(rail(0, 100, pgstore.BookingArrived, h(100)), h(0), h(98))},
			pgstore.ShipmentInTransit, pgstore.ShipmentArrived, []string{"arrived"}, []*time.Time{h(98)}},
		{"last booking delivered", []pgstore.ShipmentLeg{ext(0, 10), withActual(rail(12, 100, pgstore.BookingDelivered, h(100)), h(12), h(101))},
			pgstore.ShipmentArrived, pgstore.ShipmentDelivered, []string{"planned", "delivered"}, []*time.Time{h(10), h(101)}},
		{"last external arrived", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(0), h(9))},
			pgstore.ShipmentInTransit, pgstore.ShipmentArrived, []string{"arrived"}, []*time.Time{h(9)}},
		{"last external delivered", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(0), h(9))},
			pgstore.ShipmentDelivered, pgstore.ShipmentDelivered, []string{"delivered"}, []*time.Time{h(9)}},
		{"cancelled booking leg", []pgstore.ShipmentLeg{ext(0, 10), rail(12, 100, pgstore.BookingCancelled, h(100)), ext(101, 105)},
			pgstore.ShipmentBooked, pgstore.ShipmentCreated, []string{"planned", "cancelled", "planned"}, []*time.Time{h(10), nil, h(105)}},
		{"waitlisted booking leg", []pgstore.ShipmentLeg{rail(12, 100, pgstore.BookingWaitlisted, h(100))},
			pgstore.ShipmentBooked, pgstore.ShipmentCreated, []string{"waitlisted"}, []*time.Time{nil}},
		{"cancelled stays cancelled", []pgstore.ShipmentLeg{withActual(ext(0, 10), h(0), nil)},
			pgstore.ShipmentCancelled, pgstore.ShipmentCancelled, []string{"in_transit"}, []*time.Time{h(10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scheduling.ShipmentProgress(tc.legs, tc.recorded)
			if got.Status != tc.status {
				t.Errorf("status %s, want %s", got.Status, tc.status)
			}
			for i, want := range tc.etas {
				if l := got.Legs[i]; (want == nil) != (l.ETA == nil) || (want != nil && !l.ETA.Equal(*want)) || l.Status != tc.legs2[i] {
					t.Errorf("leg %d: %s, ETA %v; want %s, %v", i+1, l.Status, l.ETA, tc.legs2[i], want)
				}
			}
			if n := len(tc.etas); got.ETA != got.Legs[n-1].ETA {
				t.Errorf("shipment ETA %v is not the last leg's %v", got.ETA, got.Legs[n-1].ETA)
			}
		})
	}
}

// A shipment follows its booking legs: a milestone that moves the booking (loaded, then arrived
// 10 h late) moves the shipment's status and ETA, each announced once.
func TestShipmentFollowsItsBooking(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8801", nil)
	var b booking
	e.call(t, http.MethodPost, "/v1/bookings", e.acme, e.bookBody(t, d.ID, 1, "45G1", "CNJZH", "KZALA", 20000, ""), http.StatusCreated, &b)
	dep, _ := e.timed(t, d.ID)
	railArr := *dep.Stops[4].PlannedArrival
	body := e.multimodal(t, dep, b.ID, "MBL-FOLLOW")
	body["legs"] = body["legs"].([]map[string]any)[2:]
	var sh shipment
	e.call(t, http.MethodPost, "/v1/shipments", e.acme, body, http.StatusCreated, &sh)
	if sh.Status != "booked" || sh.Origin != "CNJZH" || !shSameTime(sh.ETA, railArr.Add(5*time.Hour)) {
		t.Fatalf("shipment %+v", sh)
	}

	shipmentNow := func(want func(shipment) error) shipment {
		t.Helper()
		var got shipment
		testkit.Eventually(t, 15*time.Second, func() error {
			got = shipment{}
			e.call(t, http.MethodGet, "/v1/shipments/"+sh.ID, e.acme, nil, http.StatusOK, &got)
			return want(got)
		})
		return got
	}
	e.Publish(t, equipmentEvent(b.Container, time.Now(), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, "CNJZH"))
	// The status shown is worked out from the legs at read time; the version moves when the
	// consumer records it: wait for both.
	shipmentNow(func(s shipment) error {
		if s.Status != "in_transit" || s.Legs[0].Status != "in_transit" || s.Version != 2 {
			return fmt.Errorf("status %s, rail leg %s, version %d; want in_transit, in_transit, 2", s.Status, s.Legs[0].Status, s.Version)
		}
		return nil
	})
	st := shipmentEvents(t, e, "schedule.v1.shipment.status_changed", sh.ID, 1)[0].(*schedulev1.ShipmentEvent)
	if c := st.GetStatusChanged(); c.GetPreviousStatus() != schedulev1.ShipmentStatus_SHIPMENT_STATUS_BOOKED ||
		c.GetStatus() != schedulev1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT || st.GetEnvelope().GetTenantId() != "acme" {
		t.Fatalf("status_changed %v", st)
	}

	late := railArr.Add(10 * time.Hour)
	e.Publish(t, transportEvent(b.Container, late, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, "KZALA", "X8801"))
	got := shipmentNow(func(s shipment) error {
		if !shSameTime(s.Legs[0].ActualArrival, late) || s.Legs[0].Status != "arrived" {
			return fmt.Errorf("rail leg %+v", s.Legs[0])
		}
		return nil
	})
	// The consignee's truck leaves 9 h after its plan: the shipment arrives 9 h late.
	if got.Status != "in_transit" || !shSameTime(got.ETA, railArr.Add(14*time.Hour)) || !shSameTime(got.Legs[1].EstimatedArrival, railArr.Add(14*time.Hour)) {
		t.Fatalf("after the late arrival: %+v", got)
	}
	var mine *schedulev1.EtaEvent
	for _, ev := range shipmentEvents(t, e, "schedule.v1.eta.changed", sh.ID, 1) {
		mine = ev.(*schedulev1.EtaEvent)
	}
	if c := mine.GetChanged(); mine.GetBookingId() != "" || c.GetReason() != schedulev1.EtaChangeReason_ETA_CHANGE_REASON_MILESTONE ||
		!c.GetPreviousEta().AsTime().Equal(railArr.Add(5*time.Hour)) || !c.GetEta().AsTime().Equal(railArr.Add(14*time.Hour)) {
		t.Fatalf("eta.changed %v", mine)
	}
}
