package events_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/scodalabs/scoda/pkg/events"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

func TestSubjectOfSamples(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			got, err := events.Subject(s.event)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.subject {
				t.Errorf("Subject() = %q, want %q", got, s.subject)
			}
			checkSubject(t, got)
		})
	}
}

func TestContainerSubject(t *testing.T) {
	position := func(container, train string) *trackingv1.ContainerEvent {
		return &trackingv1.ContainerEvent{
			EquipmentReference: container,
			Payload:            &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{TrainNumber: train}},
		}
	}
	trainMove := func(train string) *trackingv1.ContainerEvent {
		return &trackingv1.ContainerEvent{Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
			TransportCall: &trackingv1.TransportCall{Rail: &trackingv1.RailDetails{TrainNumber: train}},
		}}}
	}
	tests := []struct {
		name    string
		ev      *trackingv1.ContainerEvent
		want    string
		wantErr error
	}{
		{
			name: "equipment",
			ev:   &trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383", Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{}}},
			want: "tracking.v1.container.equipment.CSQU3054383",
		},
		{
			name: "transport",
			ev:   &trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383", Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{}}},
			want: "tracking.v1.container.transport.CSQU3054383",
		},
		{
			name: "shipment",
			ev:   &trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383", Payload: &trackingv1.ContainerEvent_Shipment{Shipment: &trackingv1.ShipmentEvent{}}},
			want: "tracking.v1.container.shipment.CSQU3054383",
		},
		{name: "position of a container", ev: position("CSQU3054383", ""), want: "tracking.v1.container.position.CSQU3054383"},
		{name: "container wins over train", ev: position("CSQU3054383", "X8024"), want: "tracking.v1.container.position.CSQU3054383"},
		{name: "position of a train", ev: position("", "X8024"), want: "tracking.v1.train.position.X8024"},
		{name: "train number sanitised", ev: position("", " X8024/8023 č.1 "), want: "tracking.v1.train.position.X8024_8023___1"},
		{name: "train with wildcards", ev: position("", "X8024.*>"), want: "tracking.v1.train.position.X8024___"},
		{name: "transport of a train", ev: trainMove("X8024"), want: "tracking.v1.train.transport.X8024"},
		{name: "nil event", ev: nil, wantErr: events.ErrNoPayload},
		{name: "no payload", ev: &trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383"}, wantErr: events.ErrNoPayload},
		{name: "oneof wrapper with nil message", ev: &trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383", Payload: &trackingv1.ContainerEvent_Equipment{}}, want: "tracking.v1.container.equipment.CSQU3054383"},
		{name: "lower case container", ev: position("csqu3054383", ""), wantErr: events.ErrInvalidToken},
		{name: "short container", ev: position("CSQU305438", ""), wantErr: events.ErrInvalidToken},
		{name: "container with space", ev: position("CSQU 305438", ""), wantErr: events.ErrInvalidToken},
		{name: "container with dot", ev: position("CSQU.054383", ""), wantErr: events.ErrInvalidToken},
		{name: "no container no train", ev: position("", ""), wantErr: events.ErrInvalidToken},
		{name: "train of punctuation only", ev: position("", "./*"), wantErr: events.ErrInvalidToken},
		{name: "train number too long", ev: position("", strings.Repeat("X", 65)), wantErr: events.ErrInvalidToken},
		{
			name:    "equipment needs a container even with a train",
			ev:      &trackingv1.ContainerEvent{Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{TransportCall: &trackingv1.TransportCall{Rail: &trackingv1.RailDetails{TrainNumber: "X8024"}}}}},
			wantErr: events.ErrInvalidToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.ContainerSubject(tt.ev)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ContainerSubject() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ContainerSubject() = %q, want %q", got, tt.want)
			}
			checkSubject(t, got)
		})
	}
}

func TestSourceSubjects(t *testing.T) {
	tests := []struct {
		source         string
		ingest, dead   string
		wantInvalidErr bool
	}{
		{source: "gw-qd-01", ingest: "tracking.v1.ingest.gw-qd-01", dead: "tracking.v1.deadletter.gw-qd-01"},
		{source: "AIS_feed", ingest: "tracking.v1.ingest.AIS_feed", dead: "tracking.v1.deadletter.AIS_feed"},
		{source: "", wantInvalidErr: true},
		{source: "gw.qd", wantInvalidErr: true},
		{source: "gw*", wantInvalidErr: true},
		{source: "gw>", wantInvalidErr: true},
		{source: "gw qd", wantInvalidErr: true},
		{source: strings.Repeat("g", 65), wantInvalidErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			ingest, err1 := events.IngestSubject(tt.source)
			dead, err2 := events.DeadLetterSubject(tt.source)
			if tt.wantInvalidErr {
				if !errors.Is(err1, events.ErrInvalidToken) || !errors.Is(err2, events.ErrInvalidToken) {
					t.Fatalf("errors = %v, %v; want ErrInvalidToken", err1, err2)
				}
				return
			}
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if ingest != tt.ingest || dead != tt.dead {
				t.Errorf("got %q, %q; want %q, %q", ingest, dead, tt.ingest, tt.dead)
			}
		})
	}
}

// TestEveryVariantHasASubject sets each oneof member of each top-level event in turn: a variant
// added to proto/ without a subject case fails here. Subjects must be unique per variant.
func TestEveryVariantHasASubject(t *testing.T) {
	tops := []events.Event{
		&trackingv1.ContainerEvent{EquipmentReference: "CSQU3054383"},
		new(schedulev1.DepartureEvent),
		new(schedulev1.BookingEvent),
		new(schedulev1.EtaEvent),
		new(schedulev1.ShipmentEvent),
		new(notificationv1.DeliveryEvent),
		new(notificationv1.SubscriptionEvent),
	}
	seen := map[string]protoreflect.FullName{}
	for _, top := range tops {
		md := top.ProtoReflect().Descriptor()
		if md.Oneofs().Len() != 1 {
			t.Fatalf("%s has %d oneofs, want 1", md.FullName(), md.Oneofs().Len())
		}
		if _, err := events.Subject(top); !errors.Is(err, events.ErrNoPayload) {
			t.Errorf("Subject(empty %s) error = %v, want ErrNoPayload", md.FullName(), err)
		}
		fields := md.Oneofs().Get(0).Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			ev := proto.Clone(top).(events.Event)
			m := ev.ProtoReflect()
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
			subject, err := events.Subject(ev)
			if err != nil {
				t.Errorf("%s: %v", fd.FullName(), err)
				continue
			}
			checkSubject(t, subject)
			if !strings.Contains(subject, "."+string(fd.Name())) {
				t.Errorf("%s: subject %q does not name the variant", fd.FullName(), subject)
			}
			if prev, dup := seen[subject]; dup {
				t.Errorf("%s and %s share subject %q", prev, fd.FullName(), subject)
			}
			seen[subject] = fd.FullName()
		}
	}
}

func TestStreamsCoverSubjects(t *testing.T) {
	streams := events.Streams()
	if len(streams) != 3 {
		t.Fatalf("Streams() = %v, want 3 streams", streams)
	}
	subjects := []string{"tracking.v1.ingest.gw-qd-01", "tracking.v1.deadletter.gw-qd-01", "tracking.v1.train.position.X8024"}
	for _, s := range samples() {
		subjects = append(subjects, s.subject)
	}
	for _, subj := range subjects {
		var in []string
		for _, st := range streams {
			for _, f := range st.Subjects {
				if matches(f, subj) {
					in = append(in, st.Name)
				}
			}
		}
		if len(in) != 1 {
			t.Errorf("subject %q is captured by streams %v, want exactly one", subj, in)
		}
	}
}

func TestSanitizeToken(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "X8024", want: "X8024"},
		{in: " 81-012_A ", want: "81-012_A"},
		{in: "X8024/8023", want: "X8024_8023"},
		{in: "中欧班列X9", want: "____X9"},
		{in: "a.b*c>d e\tf", want: "a_b_c_d_e_f"},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "--__", wantErr: true},
		{in: strings.Repeat("9", 64), want: strings.Repeat("9", 64)},
		{in: strings.Repeat("9", 65), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := events.SanitizeToken(tt.in)
			if tt.wantErr {
				if !errors.Is(err, events.ErrInvalidToken) {
					t.Fatalf("SanitizeToken(%q) = %q, %v; want ErrInvalidToken", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("SanitizeToken(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// checkSubject fails unless subject is a concrete NATS subject of our shape: versioned prefix,
// non-empty tokens of [A-Za-z0-9_-], no wildcards.
func checkSubject(t testing.TB, subject string) {
	t.Helper()
	if !validSubject(subject) {
		t.Errorf("subject %q is not a valid concrete SCODA subject", subject)
	}
}

func validSubject(subject string) bool {
	tokens := strings.Split(subject, ".")
	if len(tokens) < 4 || tokens[1] != "v1" {
		return false
	}
	for _, tok := range tokens {
		if tok == "" {
			return false
		}
		for _, c := range []byte(tok) {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// matches reports whether a NATS filter (with * and > wildcards) matches subject.
func matches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestOrderKey(t *testing.T) {
	for _, tc := range []struct{ subject, want string }{
		{"tracking.v1.container.equipment.MSCU1234565", "tracking.v1.container.MSCU1234565"},
		{"tracking.v1.container.transport.MSCU1234565", "tracking.v1.container.MSCU1234565"},
		{"tracking.v1.container.position.MSCU1234565", "tracking.v1.container.MSCU1234565"},
		{"tracking.v1.train.position.X8024", "tracking.v1.train.X8024"},
		{"tracking.v1.container.equipment", "tracking.v1.container.equipment"},
		{"schedule.v1.booking.created", "schedule.v1.booking.created"},
	} {
		if got := events.OrderKey(tc.subject); got != tc.want {
			t.Errorf("OrderKey(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
}
