package events_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// addGoldenSeeds seeds f with the golden files whose names match pattern.
func addGoldenSeeds(f *testing.F, pattern string, add func(data []byte)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatalf("no seeds match testdata/%s", pattern)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(data)
	}
}

// FuzzUnmarshalContainerEvent feeds arbitrary bytes to the container event decoder, which faces
// the network: it must never panic, and whatever it accepts must have a subject or a clean error,
// and survive a re-encode unchanged.
func FuzzUnmarshalContainerEvent(f *testing.F) {
	addGoldenSeeds(f, "container_*.golden", func(data []byte) { f.Add(data) })
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev trackingv1.ContainerEvent
		if err := events.Unmarshal(data, &ev); err != nil {
			return
		}
		if subject, err := events.ContainerSubject(&ev); err == nil {
			checkSubject(t, subject)
		}
		_ = events.EventID(&ev)

		b, err := events.Marshal(&ev)
		if err != nil {
			t.Fatalf("Marshal of a decoded event: %v", err)
		}
		var again trackingv1.ContainerEvent
		if err := events.Unmarshal(b, &again); err != nil {
			t.Fatalf("Unmarshal of a re-encoded event: %v", err)
		}
		if !proto.Equal(&ev, &again) {
			t.Fatalf("re-encode changed the event:\n%v\n%v", &ev, &again)
		}
	})
}

// FuzzDecode feeds arbitrary headers and payloads to Decode, the entry point of every consumer.
func FuzzDecode(f *testing.F) {
	for _, s := range samples() {
		data, err := os.ReadFile(goldenPath(s.name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(events.ContentType(s.event), data)
	}
	f.Add("application/protobuf; proto=google.protobuf.Any", []byte{0x0a, 0x00})
	f.Add("text/plain; charset=utf-8", []byte("hello"))
	f.Fuzz(func(t *testing.T, contentType string, data []byte) {
		ev, err := events.Decode(contentType, data)
		if err != nil {
			if ev != nil {
				t.Fatalf("Decode returned %v with error %v", ev, err)
			}
			return
		}
		if subject, err := events.Subject(ev); err == nil {
			checkSubject(t, subject)
		}
	})
}
