package events_test

import (
	"testing"

	"github.com/scodalabs/scoda/pkg/events"
)

func TestSubjectTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"tracking.v1.container.equipment.CSQU3054383": "tracking.v1.container.equipment.{containerNo}",
		"tracking.v1.container.position.MSKU9070323":  "tracking.v1.container.position.{containerNo}",
		"tracking.v1.train.position.X8024":            "tracking.v1.train.position.{trainNo}",
		"tracking.v1.ingest.gw-qqct":                  "tracking.v1.ingest.{source}",
		"tracking.v1.deadletter.gw-qqct":              "tracking.v1.deadletter.{source}",
		"schedule.v1.departure.delayed":               "schedule.v1.departure.delayed",
		"notification.v1.delivery.succeeded":          "notification.v1.delivery.succeeded",
		"tracking.v1.container":                       "tracking.v1.container",
		"":                                            "",
	} {
		if got := events.SubjectTemplate(in); got != want {
			t.Errorf("SubjectTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}
