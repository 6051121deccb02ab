package events_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/scodalabs/scoda/pkg/events"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the samples")

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden") }

// TestGolden pins the wire format: the deterministic encoding of every sample must equal its
// golden file byte for byte. A difference means the contract changed on the wire; if that is
// intended (a new field, new sample), regenerate with `go test ./events -update` and review the
// diff together with `buf breaking`.
func TestGolden(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			got, err := events.Marshal(s.event)
			if err != nil {
				t.Fatal(err)
			}
			path := goldenPath(s.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run `go test ./events -update` to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding of %s differs from %s (%d bytes, want %d); if intended, rerun with -update",
					s.name, path, len(got), len(want))
			}
		})
	}
}

// TestGoldenFilesHaveSamples keeps testdata free of golden files nothing checks any more.
func TestGoldenFilesHaveSamples(t *testing.T) {
	names := map[string]bool{}
	for _, s := range samples() {
		if names[s.name] {
			t.Errorf("duplicate sample name %q", s.name)
		}
		names[s.name] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".golden"); !names[name] {
			t.Errorf("%s has no sample; delete it or add the sample", f)
		}
	}
}

// TestRoundTrip decodes each golden file, through Unmarshal and through Decode with the header a
// publisher sets, and expects the sample back.
func TestRoundTrip(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			data, err := os.ReadFile(goldenPath(s.name))
			if err != nil {
				t.Fatal(err)
			}
			got := s.event.ProtoReflect().New().Interface()
			if err := events.Unmarshal(data, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, s.event) {
				t.Errorf("Unmarshal(golden) = %v, want %v", got, s.event)
			}

			decoded, err := events.Decode(events.ContentType(s.event), data)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(decoded, s.event) {
				t.Errorf("Decode(golden) = %v, want %v", decoded, s.event)
			}
			if got, want := events.EventID(decoded), s.event.GetEnvelope().GetEventId(); got != want || got == "" {
				t.Errorf("EventID = %q, want %q", got, want)
			}

			again, err := events.Marshal(decoded)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Error("re-encoding the decoded event changed its bytes")
			}
		})
	}
}

// TestSamplesCoverEveryField checks that, together, the samples set every field reachable from the
// top-level events (each oneof member included), so the golden files pin the whole contract. A
// field added to proto/ fails here until a sample sets it.
func TestSamplesCoverEveryField(t *testing.T) {
	tops := []proto.Message{
		(*trackingv1.ContainerEvent)(nil),
		(*schedulev1.DepartureEvent)(nil),
		(*schedulev1.BookingEvent)(nil),
		(*schedulev1.EtaEvent)(nil),
		(*schedulev1.ShipmentEvent)(nil),
		(*schedulev1.ExceptionEvent)(nil),
		(*notificationv1.DeliveryEvent)(nil),
		(*notificationv1.SubscriptionEvent)(nil),
	}
	want := map[protoreflect.FullName]bool{}
	seen := map[protoreflect.FullName]bool{}
	for _, m := range tops {
		reachableFields(m.ProtoReflect().Descriptor(), want, seen)
	}

	set := map[protoreflect.FullName]bool{}
	for _, s := range samples() {
		setFields(s.event.ProtoReflect(), set)
	}

	var missing []string
	for f := range want {
		if !set[f] {
			missing = append(missing, string(f))
		}
	}
	sort.Strings(missing)
	for _, f := range missing {
		t.Errorf("no sample sets %s", f)
	}
}

// wellKnown reports whether md is a google.protobuf type, whose fields are not ours to cover.
func wellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

func reachableFields(md protoreflect.MessageDescriptor, fields map[protoreflect.FullName]bool, seen map[protoreflect.FullName]bool) {
	if wellKnown(md) || seen[md.FullName()] {
		return
	}
	seen[md.FullName()] = true
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		fields[fd.FullName()] = true
		if fd.Message() != nil {
			reachableFields(fd.Message(), fields, seen)
		}
	}
}

func setFields(m protoreflect.Message, set map[protoreflect.FullName]bool) {
	if wellKnown(m.Descriptor()) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		set[fd.FullName()] = true
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				setFields(v.List().Get(i).Message(), set)
			}
		case fd.IsMap():
			// No maps in the contracts; a map would need its own golden strategy (order).
		case fd.Message() != nil:
			setFields(v.Message(), set)
		}
		return true
	})
}

func TestDecodeRejects(t *testing.T) {
	valid, err := events.Marshal(samples()[0].event)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		contentType string
		data        []byte
		want        error
	}{
		{"empty content type", "", valid, events.ErrUnknownContentType},
		{"json", "application/json", valid, events.ErrUnknownContentType},
		{"no proto parameter", events.MediaType, valid, events.ErrUnknownContentType},
		{"not a SCODA event", events.MediaType + "; proto=google.protobuf.Timestamp", valid, events.ErrUnknownContentType},
		{"malformed parameters", events.MediaType + "; proto", valid, events.ErrUnknownContentType},
		{"truncated payload", events.ContentTypeContainerEvent, valid[:len(valid)-1], events.ErrDecode},
		{"garbage payload", events.ContentTypeContainerEvent, []byte{0xff, 0xff, 0xff}, events.ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := events.Decode(tt.contentType, tt.data)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode() error = %v, want %v", err, tt.want)
			}
			if ev != nil {
				t.Errorf("Decode() = %v, want nil", ev)
			}
		})
	}
}

func TestContentTypeConstants(t *testing.T) {
	tests := []struct {
		msg  proto.Message
		want string
	}{
		{new(trackingv1.ContainerEvent), events.ContentTypeContainerEvent},
		{new(schedulev1.DepartureEvent), events.ContentTypeDepartureEvent},
		{new(schedulev1.BookingEvent), events.ContentTypeBookingEvent},
		{new(schedulev1.EtaEvent), events.ContentTypeEtaEvent},
		{new(schedulev1.ShipmentEvent), events.ContentTypeShipmentEvent},
		{new(schedulev1.ExceptionEvent), events.ContentTypeExceptionEvent},
		{new(notificationv1.DeliveryEvent), events.ContentTypeDeliveryEvent},
		{new(notificationv1.SubscriptionEvent), events.ContentTypeSubscriptionEvent},
	}
	for _, tt := range tests {
		if got := events.ContentType(tt.msg); got != tt.want {
			t.Errorf("ContentType(%T) = %q, want %q", tt.msg, got, tt.want)
		}
		if _, err := events.Decode(tt.want, nil); err != nil {
			t.Errorf("Decode(%q, empty) error = %v, want nil", tt.want, err)
		}
	}
}
