package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/scodalabs/scoda/pkg/apperr"
)

func positions(n int) string {
	item := `{"eventType":"POSITION","eventDateTime":"2026-05-01T10:00:00+08:00","equipmentReference":"CSQU3054383","latitude":36.05,"longitude":120.3}`
	return `{"events":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
}

func TestDecodeBatch(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantItems  int
		wantField  string
		wantReason string
	}{
		{name: "one event object", body: ` {"eventType":"POSITION"} `, wantItems: 1},
		{name: "batch", body: `{"events":[{"eventType":"POSITION"},{"eventType":"EQUIPMENT"}]}`, wantItems: 2},
		{name: "batch of 1000", body: positions(1000), wantItems: 1000},
		{name: "batch with other top-level keys", body: `{"events":[{}],"sender":"x"}`, wantItems: 1},
		{name: "batch items are not checked here", body: `{"events":[1,null]}`, wantItems: 2},
		{name: "escaped key", body: `{"ev\u0065nts":[{}]}`, wantItems: 1},
		{name: "brackets and quotes in strings", body: `{"events":[{"a":"]\"}["},{"b":[1,{"c":"x,"}]}] }`, wantItems: 2},
		{name: "events inside an event do not count", body: `{"eventType":"SHIPMENT","x":{"events":[1,2,3]}}`, wantItems: 1},
		{name: "repeated key: the last counts", body: `{"events":[1],"events":[1,2]}`, wantItems: 2},
		{name: "batch of 1001", body: positions(1001), wantField: "events", wantReason: "at most 1000 events per request, got 1001"},
		{name: "empty batch", body: `{"events":[]}`, wantField: "events", wantReason: "empty batch"},
		{name: "events not an array", body: `{"events":{"eventType":"POSITION"}}`, wantField: "events", wantReason: "must be an array"},
		{name: "events null", body: `{"events":null}`, wantField: "events", wantReason: "must be an array"},
		{name: "empty body", body: "  \n", wantField: "body", wantReason: "empty"},
		{name: "not JSON", body: `{"eventType":`, wantField: "body", wantReason: "not JSON"},
		{name: "trailing garbage", body: `{} {}`, wantField: "body", wantReason: "not JSON"},
		{name: "bare array", body: `[{"eventType":"POSITION"}]`, wantField: "body", wantReason: `expected an event object or {"events": [...]}`},
		{name: "string", body: `"POSITION"`, wantField: "body", wantReason: `expected an event object or {"events": [...]}`},
		{name: "null", body: `null`, wantField: "body", wantReason: `expected an event object`},
		{name: "events beside an event", body: `{"events":[],"eventType":"POSITION"}`, wantField: "body", wantReason: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := DecodeBatch([]byte(tt.body))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("DecodeBatch: %v", err)
				}
				if len(items) != tt.wantItems {
					t.Fatalf("got %d items, want %d", len(items), tt.wantItems)
				}
				return
			}
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("DecodeBatch: error %v, want *apperr.ValidationError", err)
			}
			if items != nil {
				t.Errorf("items returned with an error")
			}
			if len(ve.Fields) != 1 || ve.Fields[0].Field != tt.wantField || !strings.Contains(ve.Fields[0].Reason, tt.wantReason) {
				t.Errorf("got %+v, want field %q with reason containing %q", ve.Fields, tt.wantField, tt.wantReason)
			}
		})
	}
}

// FuzzDecodeBatch checks the boundary walk against encoding/json: the same items, byte for byte
// once compacted, for every body both accept.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{`{"events":[{"a":"]\"}["},{"b":[1,{"c":"x,"}]}]}`, `{"eventType":"POSITION"}`, `{"events":[ 1 , -2.5e3,"x" ,null,true]}`, `{"ev\u0065nts":[{}],"events":[[]]}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeBatch(body)
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil {
			if err == nil {
				t.Fatalf("accepted a body encoding/json rejects as an object: %q", body)
			}
			return
		}
		ev, batch := top["events"]
		if !batch {
			if err != nil || len(items) != 1 || !bytes.Equal(items[0], bytes.Trim(body, " \t\r\n")) {
				t.Fatalf("single event: %v %q", err, items)
			}
			return
		}
		var want []json.RawMessage
		if json.Unmarshal(ev, &want) != nil || len(want) == 0 || len(want) > MaxBatch {
			if err == nil {
				t.Fatalf("accepted %q", body)
			}
			return
		}
		if _, both := top["eventType"]; both {
			if err == nil {
				t.Fatalf("accepted events next to eventType: %q", body)
			}
			return
		}
		if err != nil || len(items) != len(want) {
			t.Fatalf("got %d items, %v; want %d", len(items), err, len(want))
		}
		for i := range want {
			var a, b bytes.Buffer
			if json.Compact(&a, items[i]) != nil || json.Compact(&b, want[i]) != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("item %d: %q, want %q", i, items[i], want[i])
			}
		}
	})
}
