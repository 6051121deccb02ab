package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseRuns(t *testing.T) {
	tests := []struct {
		in      string
		want    []runSpec
		wantErr bool
	}{
		{in: "5000:100,0:500", want: []runSpec{{Rate: 5000, Batch: 100}, {Rate: 0, Batch: 500}}},
		{in: "5000:100 nats:5000:100", want: []runSpec{{Rate: 5000, Batch: 100}, {NATS: true, Rate: 5000, Batch: 100}}},
		{in: "5000", wantErr: true},
		{in: "5000:0", wantErr: true},
		{in: "-1:100", wantErr: true},
		{in: "kafka:5000:100", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRuns(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The hand-written JSON is what it claims: n events, each with a fresh UUID, and the subscribed
// containers' ids listed.
func TestGeneratorBodies(t *testing.T) {
	lines, err := loadCorridor()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(1, lines, 200, 20)
	for _, b := range []batch{g.next(500), g.fill(1000, 300)} {
		var body struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal(b.body, &body); err != nil {
			t.Fatalf("invalid JSON: %v\n%.500s", err, b.body)
		}
		if len(body.Events) != b.events {
			t.Fatalf("%d events, batch says %d", len(body.Events), b.events)
		}
		ids := map[string]bool{}
		subscribed := 0
		for _, ev := range body.Events {
			id, _ := ev["eventID"].(string)
			if !uuidRE.MatchString(id) || ids[id] {
				t.Fatalf("eventID %q is not a fresh v4 UUID", id)
			}
			ids[id] = true
			if ev["eventType"] == "POSITION" && (ev["latitude"] == nil || ev["longitude"] == nil) {
				t.Fatalf("a position without coordinates: %v", ev)
			}
			for i := range 20 {
				if ev["equipmentReference"] == containerNo(i) {
					subscribed++
				}
			}
		}
		if subscribed != len(b.subscribed) {
			t.Fatalf("%d events of subscribed containers, %d listed", subscribed, len(b.subscribed))
		}
	}
}

// A delivery signed the Standard Webhooks way is accepted and timed; a bad signature is not.
func TestReceiverVerifiesAndTimes(t *testing.T) {
	r := &receiver{waiting: map[string]time.Time{}, seen: map[string]bool{}, byType: map[string]int{},
		bookings: map[string]bool{}, changed: make(chan struct{})}
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := r.setSecret("whsec_" + base64.StdEncoding.EncodeToString(key)); err != nil {
		t.Fatal(err)
	}
	r.startRun()
	r.expect([]string{"ev-1"}, time.Now().Add(-30*time.Millisecond))
	body := []byte(`{"specversion":"1.0","id":"ev-1","eventtype":"POSITION","subject":"SCDU0000002"}`)
	post := func(sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/scoda", bytes.NewReader(body))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte("msg-1." + ts + "."))
		mac.Write(body)
		if sig == "" {
			sig = base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
		req.Header.Set("webhook-id", "msg-1")
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", "v1,"+sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	if code := post(base64.StdEncoding.EncodeToString([]byte("forged"))); code != http.StatusUnauthorized {
		t.Fatalf("forged signature: status %d", code)
	}
	if code := post(""); code != http.StatusNoContent {
		t.Fatalf("good signature: status %d", code)
	}
	got, missing := r.runResult()
	if missing != 0 || len(got) != 1 || got[0] < 30*time.Millisecond {
		t.Fatalf("latencies %v, %d missing", got, missing)
	}
	if st := r.stats(); st.Verified != 1 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
}
