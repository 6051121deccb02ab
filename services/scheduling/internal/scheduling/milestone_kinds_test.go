package scheduling

import (
	"slices"
	"testing"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// Every kind of container event (a field of ContainerEvent's payload oneof) is decided: a
// milestone, or one of those the consumer leaves out. A new kind fails here until it is.
func TestMilestoneKindsCoverContainerEvents(t *testing.T) {
	skipped := []string{events.KindPosition, events.KindShipment}
	payload := (&trackingv1.ContainerEvent{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")
	if payload == nil {
		t.Fatal("ContainerEvent has no payload oneof")
	}
	var kinds []string
	for i := range payload.Fields().Len() {
		kinds = append(kinds, string(payload.Fields().Get(i).Name()))
	}
	decided := slices.Concat(milestoneKinds, skipped)
	slices.Sort(kinds)
	slices.Sort(decided)
	if !slices.Equal(kinds, decided) {
		t.Errorf("container event kinds %v, decided %v (milestones %v)", kinds, decided, milestoneKinds)
	}
}

func TestNotMilestone(t *testing.T) {
	for subject, want := range map[string]bool{
		"tracking.v1.container.equipment.CSQU3054383": false,
		"tracking.v1.container.transport.CSQU3054383": false,
		"tracking.v1.container.position.CSQU3054383":  true,
		"tracking.v1.container.shipment.CSQU3054383":  true,
		"tracking.v1.container.equipmentx.CSQU305438": true,
		"tracking.v1.train.transport.X8024":           true,
		"tracking.v1.ingest.gw1":                      true,
	} {
		if got := notMilestone(subject); got != want {
			t.Errorf("notMilestone(%q) = %v, want %v", subject, got, want)
		}
	}
}
