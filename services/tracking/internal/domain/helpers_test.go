package domain

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/apperr"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// now is the tests' clock: the samples in testdata happened shortly before it.
var now = time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{
		Now:        func() time.Time { return now },
		Source:     "CR-EXPRESS",
		SourceType: commonv1.SourceType_SOURCE_TYPE_RAIL_OPERATOR,
	}
}

// del marks a key to delete in patch.
type delKey struct{}

var del = delKey{}

// patch returns a deep copy of base with the value at a dotted path ("transportCall.rail.trainNumber")
// set to v, or deleted when v is del. Missing objects on the way are created.
func patch(t testing.TB, base map[string]any, path string, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(path, ".")
	m := out
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := keys[len(keys)-1]
	if v == del {
		delete(m, last)
	} else {
		m[last] = v
	}
	return out
}

func raw(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseOne parses one event with testOptions.
func parseOne(t testing.TB, v any, opt Options) (*trackingv1.ContainerEvent, *apperr.ValidationError) {
	t.Helper()
	evs, err := Parse([]json.RawMessage{raw(t, v)}, opt)
	if err != nil {
		var ve *apperr.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Parse: error %T %v, want *apperr.ValidationError", err, err)
		}
		if evs != nil {
			t.Fatalf("Parse returned events and an error")
		}
		return nil, ve
	}
	if len(evs) != 1 {
		t.Fatalf("Parse: %d events, want 1", len(evs))
	}
	return evs[0], nil
}

// sample reads testdata/<name>.json.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleMap(t testing.TB, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sample(t, name), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleNames lists the single-event samples in testdata.
func sampleNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".json")
		if !strings.HasPrefix(n, "batch_") {
			names = append(names, n)
		}
	}
	if len(names) < 7 {
		t.Fatalf("only %d samples in testdata", len(names))
	}
	return names
}
