package scheduling_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

func containerEvent(container string, at time.Time) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope: &commonv1.Envelope{EventId: uuid.NewString(), OccurredAt: timestamppb.New(at),
			RecordedAt: timestamppb.Now(), TenantId: "acme"},
		EquipmentReference: container,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
	}
}

func equipmentEvent(container string, at time.Time, typ trackingv1.EquipmentEventType, loc string) *trackingv1.ContainerEvent {
	ev := containerEvent(container, at)
	ev.Payload = &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
		EventType: typ, EventLocation: &commonv1.Location{UnLocationCode: loc}}}
	return ev
}

func transportEvent(container string, at time.Time, typ trackingv1.TransportEventType, loc, train string) *trackingv1.ContainerEvent {
	ev := containerEvent(container, at)
	ev.Payload = &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{EventType: typ,
		TransportCall: &trackingv1.TransportCall{Location: &commonv1.Location{UnLocationCode: loc},
			Rail: &trackingv1.RailDetails{TrainNumber: train}}}}
	return ev
}

// Container milestones from tracking move the booking forward (never back) and the departure
// to departed, each change announced once on the SCHEDULE stream.
func TestMilestones(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8601", nil)
	origin, dest := d.Stops[0].UNLocationCode, d.Stops[len(d.Stops)-1].UNLocationCode
	var b booking
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
		e.bookBody(t, d.ID, 7, "45G1", origin, dest, 20000, "acme"), http.StatusCreated, &b)
	box := container(t, 7)
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)

	bookingStatus := func(want string) {
		t.Helper()
		testkit.Eventually(t, 15*time.Second, func() error {
			var got struct {
				Status string `json:"status"`
			}
			e.call(t, http.MethodGet, "/v1/bookings/"+b.ID, e.acme, nil, http.StatusOK, &got)
			if got.Status != want {
				return fmt.Errorf("booking status %q, want %q", got.Status, want)
			}
			return nil
		})
	}
	var actual struct {
		Status string `json:"status"`
		Stops  []struct {
			ActualArrival   *time.Time `json:"actualArrival"`
			ActualDeparture *time.Time `json:"actualDeparture"`
		} `json:"stops"`
	}

	// Unknown containers and a gate-in elsewhere than the origin change nothing.
	e.Publish(t, equipmentEvent(container(t, 8), t0, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, origin))
	e.Publish(t, equipmentEvent(box, t0, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, dest))
	e.Publish(t, equipmentEvent(box, t0, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, origin))
	bookingStatus("received")
	e.Publish(t, equipmentEvent(box, t0.Add(time.Hour), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, origin))
	bookingStatus("loaded")

	depa := transportEvent(box, t0.Add(3*time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, origin, "X8601")
	e.Publish(t, depa)
	e.Publish(t, depa) // redelivered under its id
	bookingStatus("in_transit")
	// The same departure reported again under another id (by the train number, no location).
	e.Publish(t, transportEvent(box, t0.Add(4*time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "", "X8601"))
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &actual)
	if actual.Status != "departed" || actual.Stops[0].ActualDeparture == nil || !actual.Stops[0].ActualDeparture.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("departure after DEPA: %+v", actual)
	}

	arri := t0.Add(5 * 24 * time.Hour)
	e.Publish(t, transportEvent(box, arri, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, dest, "X8601"))
	bookingStatus("arrived")
	e.call(t, http.MethodGet, "/v1/departures/"+d.ID, e.dispatcher, nil, http.StatusOK, &actual)
	if last := actual.Stops[len(actual.Stops)-1]; actual.Status != "arrived" || last.ActualArrival == nil || !last.ActualArrival.Equal(arri) {
		t.Fatalf("departure after ARRI at the destination: %+v", actual)
	}
	// Reported again (another container of the train, a redelivery): arrived once.
	e.Publish(t, transportEvent(box, arri.Add(time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, dest, "X8601"))
	e.Publish(t, equipmentEvent(box, arri.Add(time.Hour), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_DISC, dest))
	bookingStatus("delivered")

	// A late gate-in changes nothing: its status change would be the sixth event.
	e.Publish(t, equipmentEvent(box, arri.Add(2*time.Hour), trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN, origin))
	want := []schedulev1.BookingStatus{schedulev1.BookingStatus_BOOKING_STATUS_RECEIVED,
		schedulev1.BookingStatus_BOOKING_STATUS_LOADED, schedulev1.BookingStatus_BOOKING_STATUS_IN_TRANSIT,
		schedulev1.BookingStatus_BOOKING_STATUS_ARRIVED, schedulev1.BookingStatus_BOOKING_STATUS_DELIVERED}
	// Wait until the consumer has taken every event (the duplicate DEPA counts once) before counting.
	pool, err := postgres.Connect(t.Context(), e.Config.DatabaseURL, e.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	testkit.Eventually(t, 15*time.Second, func() error {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE consumer = 'scheduling-tracking'`).Scan(&n); err != nil {
			return err
		}
		if n != 10 {
			return fmt.Errorf("%d events in the inbox, want 10", n)
		}
		return nil
	})
	bookingStatus("delivered")
	msgs := scheduleMsgs(t, e, "schedule.v1.booking.status_changed", len(want))
	prev := schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED
	for i, m := range msgs {
		var ev schedulev1.BookingEvent
		if err := events.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		sc := ev.GetStatusChanged()
		if ev.GetBookingId() != b.ID || sc.GetPreviousStatus() != prev || sc.GetStatus() != want[i] {
			t.Errorf("status_changed #%d: %v", i, &ev)
		}
		prev = want[i]
	}
	deps := scheduleMsgs(t, e, "schedule.v1.departure.departed", 1)
	var dev schedulev1.DepartureEvent
	if err := events.Unmarshal(deps[0].Data(), &dev); err != nil {
		t.Fatal(err)
	}
	if dev.GetDepartureId() != d.ID || !dev.GetDeparted().GetActualDepartureAt().AsTime().Equal(t0.Add(3*time.Hour)) {
		t.Errorf("departed event %v", &dev)
	}
	arrs := scheduleMsgs(t, e, "schedule.v1.departure.arrived", 1)
	var aev schedulev1.DepartureEvent
	if err := events.Unmarshal(arrs[0].Data(), &aev); err != nil {
		t.Fatal(err)
	}
	if a := aev.GetArrived(); aev.GetDepartureId() != d.ID || !a.GetActualArrivalAt().AsTime().Equal(arri) || !a.GetFinal() ||
		a.GetLocation().GetUnLocationCode() != dest || int(a.GetStopSequence()) != len(d.Stops) {
		t.Errorf("arrived event %v", &aev)
	}
}

// settled waits until the milestone consumer has taken n events and the outbox relay has
// published everything they wrote, so what is on the stream is all there will be.
func settled(t *testing.T, e *env, n int) {
	t.Helper()
	pool, err := postgres.Connect(t.Context(), e.Config.DatabaseURL, e.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	testkit.Eventually(t, 20*time.Second, func() error {
		var inbox, outbox int
		if err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM inbox WHERE consumer = 'scheduling-tracking'),
			(SELECT count(*) FROM outbox)`).Scan(&inbox, &outbox); err != nil {
			return err
		}
		if inbox != n || outbox != 0 {
			return fmt.Errorf("%d events in the inbox (want %d), %d in the outbox", inbox, n, outbox)
		}
		return nil
	})
}

// streamCount is the number of messages on subject of the SCHEDULE stream now.
func streamCount(t *testing.T, e *env, subject string) int {
	t.Helper()
	_, js := natstest.Connect(t, e.NATS.URL)
	stream, err := js.Stream(t.Context(), events.StreamSchedule)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(t.Context(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

// An actual time moves the ETA only when it moves it by more than the threshold (30 min): 20
// min late at the origin is neither announced nor stored, 45 min late at the next stop is
// announced once, against the ETA announced at booking.
func TestETAThresholdFromMilestones(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8701", nil)
	var b booking
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
		e.bookBody(t, d.ID, 11, "45G1", "CNJZH", "KZALA", 20000, "acme"), http.StatusCreated, &b)
	box := container(t, 11)
	plan, _ := e.timed(t, d.ID)
	booked := *plan.Stops[4].PlannedArrival

	e.Publish(t, transportEvent(box, plan.Stops[0].PlannedDeparture.Add(20*time.Minute),
		trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "CNJZH", "X8701"))
	settled(t, e, 1)
	if n := streamCount(t, e, "schedule.v1.eta.changed"); n != 0 {
		t.Fatalf("%d ETA events for a 20 min delay, want none", n)
	}
	e.Publish(t, transportEvent(box, plan.Stops[1].PlannedArrival.Add(45*time.Minute),
		trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, "CNURM", "X8701"))
	settled(t, e, 2)
	msgs := scheduleMsgs(t, e, "schedule.v1.eta.changed", 1)
	var ev schedulev1.EtaEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.GetChanged()
	if ev.GetBookingId() != b.ID || ev.GetDepartureId() != d.ID || ev.GetEquipmentReference() != box ||
		ev.GetEnvelope().GetTenantId() != "acme" ||
		c.GetReason() != schedulev1.EtaChangeReason_ETA_CHANGE_REASON_MILESTONE || c.GetLocation().GetUnLocationCode() != "KZALA" ||
		!c.GetPreviousEta().AsTime().Equal(booked) || !c.GetEta().AsTime().Equal(booked.Add(45*time.Minute)) {
		t.Fatalf("ETA event %v; want KZALA %v -> %v", &ev, booked, booked.Add(45*time.Minute))
	}
}

// A departure 3 h later than its first plan raises departure_late once, however often its
// lateness is reported again.
func TestDepartureLateRaisedOnce(t *testing.T) {
	e := startEnv(t)
	d := e.newDeparture(t, "X8702", nil)
	e.call(t, http.MethodPost, "/v1/bookings", e.dispatcher,
		e.bookBody(t, d.ID, 12, "45G1", "CNJZH", "KZALA", 20000, "acme"), http.StatusCreated, nil)
	box := container(t, 12)
	plan, _ := e.timed(t, d.ID)
	left := plan.Stops[0].PlannedDeparture.Add(3 * time.Hour)

	depa := transportEvent(box, left, trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "CNJZH", "X8702")
	e.Publish(t, depa)
	e.Publish(t, depa) // redelivered under its id
	settled(t, e, 1)
	e.Publish(t, transportEvent(box, left.Add(time.Hour), trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA, "", "X8702"))
	e.Publish(t, transportEvent(box, plan.Stops[1].PlannedArrival.Add(3*time.Hour),
		trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI, "CNURM", "X8702"))
	settled(t, e, 3)
	msgs := scheduleMsgs(t, e, "schedule.v1.exception.departure_late", 1)
	var ev schedulev1.ExceptionEvent
	if err := events.Unmarshal(msgs[0].Data(), &ev); err != nil {
		t.Fatal(err)
	}
	late := ev.GetDepartureLate()
	if ev.GetDepartureId() != d.ID || ev.GetRouteCode() != testRoute || ev.GetTrainNumber() != "X8702" ||
		ev.GetEnvelope().GetTenantId() != "" || late.GetDelay().AsDuration() != 3*time.Hour ||
		late.GetThreshold().AsDuration() != 2*time.Hour || late.GetStopSequence() != 1 ||
		late.GetLocation().GetUnLocationCode() != "CNJZH" || !late.GetActualAt().AsTime().Equal(left) ||
		!late.GetPlannedAt().AsTime().Equal(*plan.Stops[0].PlannedDeparture) {
		t.Fatalf("departure_late event %v", &ev)
	}
	var page struct {
		Exceptions []struct {
			Key, Kind, DepartureID string
		} `json:"exceptions"`
	}
	e.call(t, http.MethodGet, "/v1/exceptions?kind=departure_late", e.dispatcher, nil, http.StatusOK, &page)
	if len(page.Exceptions) != 1 || page.Exceptions[0].Key != "departure_late:"+d.ID {
		t.Fatalf("exceptions %+v", page.Exceptions)
	}
}
