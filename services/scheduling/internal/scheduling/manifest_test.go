package scheduling_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
)

func TestPairTwenties(t *testing.T) {
	box := func(id string, kg int64) pgstore.Booking {
		return pgstore.Booking{ID: id, Container: id, GrossWeightKg: kg}
	}
	type unp struct{ id, reason string }
	tests := []struct {
		name     string
		boxes    []pgstore.Booking
		pairs    [][2]string
		unpaired []unp
	}{
		{"none", nil, nil, nil},
		{"24,000 kg exactly pairs", []pgstore.Booking{box("a", 24_000), box("b", 20_000)}, [][2]string{{"b", "a"}}, nil},
		{"24,001 kg does not", []pgstore.Booking{box("a", 24_001), box("b", 20_000)}, nil,
			[]unp{{"b", scheduling.UnpairedNoPartner}, {"a", scheduling.UnpairedOverweight}}},
		{"difference 4,999 pairs", []pgstore.Booking{box("a", 10_000), box("b", 14_999)}, [][2]string{{"a", "b"}}, nil},
		{"difference 5,000 does not", []pgstore.Booking{box("a", 10_000), box("b", 15_000)}, nil,
			[]unp{{"a", scheduling.UnpairedNoPartner}, {"b", scheduling.UnpairedNoPartner}}},
		{"odd count leaves one", []pgstore.Booking{box("a", 10_000), box("b", 11_000), box("c", 12_000)},
			[][2]string{{"a", "b"}}, []unp{{"c", scheduling.UnpairedNoPartner}}},
		{"greedy by sorted weight", []pgstore.Booking{box("d", 23_000), box("a", 5_000), box("c", 21_000), box("b", 6_000)},
			[][2]string{{"a", "b"}, {"c", "d"}}, nil},
		{"gap skips to next neighbour", []pgstore.Booking{box("a", 1_000), box("b", 9_000), box("c", 10_000)},
			[][2]string{{"b", "c"}}, []unp{{"a", scheduling.UnpairedNoPartner}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, unpaired := scheduling.PairTwenties(tt.boxes)
			var gotP [][2]string
			for _, p := range pairs {
				gotP = append(gotP, [2]string{p.A.ID, p.B.ID})
			}
			var gotU []unp
			for _, u := range unpaired {
				gotU = append(gotU, unp{u.Booking.ID, u.Reason})
			}
			if !reflect.DeepEqual(gotP, tt.pairs) || !reflect.DeepEqual(gotU, tt.unpaired) {
				t.Errorf("pairs %v unpaired %v, want %v %v", gotP, gotU, tt.pairs, tt.unpaired)
			}
		})
	}
}

type manifest struct {
	ID       string `json:"id"`
	Route    string `json:"route"`
	Segments []struct {
		From, To                         string
		TEUCapacity, TEUBooked, TEUFree  int
		WeightCapacityKg, WeightBookedKg int64
		WeightFree                       int64 `json:"weightFreeKg"`
	} `json:"segments"`
	Bookings []struct {
		Tenant             string `json:"tenant"`
		EquipmentReference string `json:"equipmentReference"`
		From               string `json:"from"`
		To                 string `json:"to"`
	} `json:"bookings"`
	Pairs    [][2]string `json:"pairs"`
	Unpaired []struct {
		EquipmentReference string `json:"equipmentReference"`
		Reason             string `json:"reason"`
	} `json:"unpaired"`
	Waitlist []any `json:"waitlist"`
}

func (m manifest) containers() []string {
	var out []string
	for _, b := range m.Bookings {
		out = append(out, b.EquipmentReference)
	}
	return out
}

func (m manifest) unpaired() []string {
	var out []string
	for _, u := range m.Unpaired {
		out = append(out, u.EquipmentReference+" "+u.Reason)
	}
	return out
}

func TestManifestAPI(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X-MANIFEST", nil)
	books := []struct {
		i             int
		iso, from, to string
		kg            int64
		tenant        string
	}{
		{1, "45G1", "CNJZH", "KZALA", 20_000, "acme"},
		{2, "22G1", "CNJZH", "CNHRS", 10_000, "acme"},
		{3, "22G1", "CNJZH", "KZALA", 12_000, "globex"},
		{4, "22G1", "CNURM", "KZALA", 25_000, "globex"},
		{5, "22G1", "CNJZH", "CNURM", 20_000, "acme"},
	}
	for _, b := range books {
		e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
			e.bookBody(t, d.ID, b.i, b.iso, b.from, b.to, b.kg, b.tenant), http.StatusCreated, nil)
	}
	c := func(i int) string { return container(t, i) }
	path := "/v1/departures/" + d.ID + "/manifest"

	t.Run("dispatcher sees everything", func(t *testing.T) {
		var m manifest
		e.call(t, http.MethodGet, path, e.dispatcher, nil, http.StatusOK, &m)
		if m.ID != d.ID || m.Route != testRoute {
			t.Errorf("departure %s %s", m.ID, m.Route)
		}
		if want := []string{c(1), c(2), c(3), c(4), c(5)}; !reflect.DeepEqual(m.containers(), want) {
			t.Errorf("bookings %v, want %v", m.containers(), want)
		}
		if len(m.Segments) != 4 {
			t.Fatalf("segments %+v", m.Segments)
		}
		wantTEU := []int{5, 5, 4, 4}
		wantKg := []int64{62_000, 67_000, 57_000, 57_000}
		for i, g := range m.Segments {
			if g.TEUBooked != wantTEU[i] || g.TEUFree != g.TEUCapacity-wantTEU[i] ||
				g.WeightBookedKg != wantKg[i] || g.WeightFree != g.WeightCapacityKg-wantKg[i] {
				t.Errorf("segment %d %s-%s: %+v, want %d TEU %d kg booked", i, g.From, g.To, g, wantTEU[i], wantKg[i])
			}
		}
		if m.Segments[0].From != "CNJZH" || m.Segments[3].To != "KZALA" {
			t.Errorf("segment ends %+v", m.Segments)
		}
		if want := [][2]string{{c(2), c(3)}}; !reflect.DeepEqual(m.Pairs, want) {
			t.Errorf("pairs %v, want %v", m.Pairs, want)
		}
		want := []string{c(5) + " " + scheduling.UnpairedNoPartner, c(4) + " " + scheduling.UnpairedOverweight}
		if !reflect.DeepEqual(m.unpaired(), want) {
			t.Errorf("unpaired %v, want %v", m.unpaired(), want)
		}
	})
	t.Run("admin too", func(t *testing.T) {
		var m manifest
		e.call(t, http.MethodGet, path, e.admin, nil, http.StatusOK, &m)
		if len(m.Bookings) != 5 || len(m.Segments) != 4 {
			t.Errorf("admin manifest %+v", m)
		}
	})
	t.Run("shipper sees only its own", func(t *testing.T) {
		var m manifest
		e.call(t, http.MethodGet, path, e.acme, nil, http.StatusOK, &m)
		if want := []string{c(1), c(2), c(5)}; !reflect.DeepEqual(m.containers(), want) {
			t.Errorf("bookings %v, want %v", m.containers(), want)
		}
		for _, b := range m.Bookings {
			if b.Tenant != "acme" {
				t.Errorf("foreign booking %+v", b)
			}
		}
		if m.Bookings[1].From != "CNJZH" || m.Bookings[1].To != "CNHRS" {
			t.Errorf("from/to %+v", m.Bookings[1])
		}
		if len(m.Segments) != 0 || len(m.Pairs) != 0 {
			t.Errorf("segments %v pairs %v, want none", m.Segments, m.Pairs)
		}
		if want := []string{c(5) + " " + scheduling.UnpairedNoPartner}; !reflect.DeepEqual(m.unpaired(), want) {
			t.Errorf("unpaired %v, want %v", m.unpaired(), want)
		}
	})
	t.Run("shipper without booking", func(t *testing.T) {
		other := e.Token(t, auth.RoleShipper, "initech")
		e.call(t, http.MethodGet, path, other, nil, http.StatusNotFound, nil)
	})
	t.Run("carrier", func(t *testing.T) {
		e.call(t, http.MethodGet, path, e.carrier, nil, http.StatusForbidden, nil)
	})
	t.Run("unknown departure", func(t *testing.T) {
		e.call(t, http.MethodGet, fmt.Sprintf("/v1/departures/%s/manifest", "00000000-0000-0000-0000-000000000000"),
			e.dispatcher, nil, http.StatusNotFound, nil)
	})
}
