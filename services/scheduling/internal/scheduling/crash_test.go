package scheduling_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/pkg/testkit/proctest"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
)

// The outbox in a real crash: the service commits bookings while NATS is down (so their events
// stay in the outbox, committed but not published), is killed with SIGKILL, and comes back with
// NATS: every event reaches the stream, each exactly once.
func TestKilledBetweenCommitAndPublishLosesNoEvent(t *testing.T) {
	if testing.Short() && !testkit.InCI() {
		t.Skip("builds and runs the service binary (not with -short outside CI)")
	}
	bin := proctest.Build(t, "github.com/scodalabs/scoda/services/scheduling/cmd/scheduling")
	dsn, schema := pgtest.Schema(t, "schedcrash")
	_, prefix := redistest.New(t)
	ns := natstest.Start(t)
	env := []string{"SCODA_ENV=test", "DATABASE_URL=" + dsn, "DB_SCHEMA=" + schema, "REDIS_URL=" + redistest.URL(),
		"REDIS_KEY_PREFIX=" + prefix, "NATS_URL=" + ns.URL, "AUTH_JWT_SECRET=" + auth.DevSecret, "LOG_LEVEL=warn"}
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	token, err := auth.Mint(key, auth.Principal{Role: auth.RoleDispatcher}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	first := proctest.Start(t, bin, env...)
	dep := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Minute)
	status, raw := first.Post(t, "/v1/departures", token, map[string]any{"route": testRoute, "trainNumber": "X8801",
		"status": "open", "plannedDeparture": dep.Format(time.RFC3339), "cutoff": dep.Add(-12 * time.Hour).Format(time.RFC3339)})
	if status != http.StatusCreated {
		t.Fatalf("create departure = %d: %s", status, raw)
	}
	var d departure
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}

	// NATS goes away; the bookings still commit, and their events wait in the outbox.
	ns.Shutdown()
	const n = 20
	booked := map[string]bool{}
	for i := range n {
		no, err := iso6346.Make("SCD", 'U', 300000+i)
		if err != nil {
			t.Fatal(err)
		}
		status, raw := first.Post(t, "/v1/bookings", token, map[string]any{"departureID": d.ID, "tenant": "acme",
			"equipmentReference": string(no), "isoEquipmentCode": "22G1", "grossWeightKg": 10000, "from": "CNJZH", "to": "KZALA"})
		if status != http.StatusCreated {
			t.Fatalf("booking %d = %d: %s", i, status, raw)
		}
		var b booking
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		booked[b.ID] = true
	}
	pool, err := postgres.Connect(t.Context(), dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var waiting int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE subject = 'schedule.v1.booking.created'`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != n {
		t.Fatalf("%d booking events in the outbox before the kill, want %d (committed, not published)", waiting, n)
	}

	first.Kill(t)
	ns.Restart(t)
	proctest.Start(t, bin, env...)

	_, js := natstest.Connect(t, ns.URL)
	testkit.Eventually(t, 30*time.Second, func() error {
		stream, err := js.Stream(t.Context(), events.StreamSchedule)
		if err != nil {
			return err
		}
		info, err := stream.Info(t.Context(), jetstream.WithSubjectFilter("schedule.v1.booking.created"))
		if err != nil {
			return err
		}
		if got := info.State.Subjects["schedule.v1.booking.created"]; got != n {
			return fmt.Errorf("%d booking.created on the stream, want %d", got, n)
		}
		return nil
	})
	stream, err := js.Stream(t.Context(), events.StreamSchedule)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"schedule.v1.booking.created"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for m := range batch.Messages() {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if !booked[ev.GetBookingId()] || seen[ev.GetBookingId()] {
			t.Errorf("booking.created for %s: unknown or twice", ev.GetBookingId())
		}
		seen[ev.GetBookingId()] = true
	}
	if len(seen) != n {
		t.Fatalf("%d bookings announced, want %d", len(seen), n)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&waiting); err != nil {
			return err
		}
		if waiting != 0 {
			return fmt.Errorf("%d rows still in the outbox", waiting)
		}
		return nil
	})
}
