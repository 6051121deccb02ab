package notification

import "testing"

func TestContainerOfSubject(t *testing.T) {
	for subject, want := range map[string]string{
		"tracking.v1.container.position.MSCU1234565":  "MSCU1234565",
		"tracking.v1.container.equipment.MSCU1234565": "MSCU1234565",
		"tracking.v1.container.position":              "",
		"tracking.v1.container.position.":             "",
		"tracking.v1.container.position.A.B":          "",
		"tracking.v1.train.position.X8024":            "",
		"schedule.v1.booking.created":                 "",
	} {
		got, ok := containerOfSubject(subject)
		if got != want || ok != (want != "") {
			t.Errorf("containerOfSubject(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
}
