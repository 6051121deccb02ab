package servicetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/natstest"
)

// GateIn returns an actual gate-in of container at Jiaozhou, a valid event for the bus.
func GateIn(eventID, container string) *trackingv1.ContainerEvent {
	return &trackingv1.ContainerEvent{
		Envelope: &commonv1.Envelope{
			EventId:    eventID,
			OccurredAt: timestamppb.New(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)),
			RecordedAt: timestamppb.Now(),
			TenantId:   "acme",
		},
		EquipmentReference: container,
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
			EventType: trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN,
		}},
	}
}

// Publish puts ev on the harness's bus the way a producer does (subject, content type, msg id,
// trace headers).
func (h *Harness) Publish(t testing.TB, ev events.Event) {
	t.Helper()
	subject, data, hdr := message(t, ev)
	_, js := natstest.Connect(t, h.NATS.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := natsx.NewPublisher(js, natsx.WithSubjectTemplate(events.SubjectTemplate)).Publish(ctx, subject, events.EventID(ev), data, hdr); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

// PublishCopy puts ev on the bus without a msg id, so the stream keeps every copy: a late
// duplicate that the stream's dedupe window no longer catches, which only a consumer's own
// idempotency stops.
func (h *Harness) PublishCopy(t testing.TB, ev events.Event) {
	t.Helper()
	subject, data, hdr := message(t, ev)
	nc, _ := natstest.Connect(t, h.NATS.URL)
	if err := nc.PublishMsg(&nats.Msg{Subject: subject, Data: data, Header: hdr}); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// message returns ev's subject, encoding and content-type header.
func message(t testing.TB, ev events.Event) (string, []byte, nats.Header) {
	t.Helper()
	subject, err := events.Subject(ev)
	if err != nil {
		t.Fatal(err)
	}
	data, err := events.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	hdr := nats.Header{}
	hdr.Set(events.HeaderContentType, events.ContentType(ev))
	return subject, data, hdr
}

// CheckConsumes proves the service has joined the bus: a container event published twice under
// one id, with a poison message between, is recorded exactly once by each named consumer, and
// the poison message does not block it.
func CheckConsumes(t *testing.T, h *Harness, consumers ...string) {
	t.Helper()
	ev := publishWithPoison(t, h)

	ctx := context.Background()
	pool, err := postgres.Connect(ctx, h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, c := range consumers {
		testkit.Eventually(t, 15*time.Second, func() error {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2`, c, events.EventID(ev)).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("consumer %s recorded the event %d times", c, n)
			}
			return nil
		})
	}
}

// CheckConsumesIdempotent is CheckConsumes for consumers that keep no inbox (their handler is
// idempotent by itself, app.BatchEventOptions.Idempotent): the same messages, a poison one
// among them, are all settled by each named consumer on the TRACKING stream; none is left
// pending or redelivered.
func CheckConsumesIdempotent(t *testing.T, h *Harness, consumers ...string) {
	t.Helper()
	publishWithPoison(t, h)
	_, js := natstest.Connect(t, h.NATS.URL)
	for _, c := range consumers {
		natstest.WaitSettled(t, js, events.StreamTracking, c)
	}
}

// publishWithPoison publishes a gate-in twice under one id with a poison message between, and
// returns the event.
func publishWithPoison(t *testing.T, h *Harness) *trackingv1.ContainerEvent {
	t.Helper()
	ev := GateIn("0b7d4c8e-5f0e-4a43-9d0c-7d1f1a2b3c4d", "CSQU3054383")
	h.Publish(t, ev)
	nc, _ := natstest.Connect(t, h.NATS.URL)
	poison := nats.NewMsg("tracking.v1.container.equipment.CSQU3054383")
	poison.Header.Set(events.HeaderContentType, events.ContentTypeContainerEvent)
	poison.Data = []byte{0xff, 0xff, 0xff}
	if err := nc.PublishMsg(poison); err != nil {
		t.Fatal(err)
	}
	h.Publish(t, ev) // the stream dedupes on msg id; the inbox would catch a late duplicate
	return ev
}
