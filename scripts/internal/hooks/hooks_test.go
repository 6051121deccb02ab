package hooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/scripts/internal/hooks"
)

// sign is a delivery's headers with a "v1" signature that does not match before the good one.
func sign(key []byte, id string, ts time.Time, body []byte) http.Header {
	s := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + s + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", s)
	h.Set("webhook-signature", "v1,bm90IGl0 v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

func TestVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("another secret of 32 bytes......")
	now := time.Unix(1_795_000_000, 0)
	body := []byte(`{"subject":"SCDU1234564","eventtype":"GTIN"}`)
	unsigned := sign(key, "msg_1", now, body)
	unsigned.Del("webhook-signature")
	v2Only := sign(key, "msg_1", now, body) // the good signature, under another version
	v2Only.Set("webhook-signature", strings.ReplaceAll(v2Only.Get("webhook-signature"), "v1,", "v2,"))
	tests := []struct {
		name    string
		key     []byte
		header  http.Header
		body    []byte
		wantErr bool
	}{
		{name: "valid", key: key, header: sign(key, "msg_1", now, body), body: body},
		{name: "within tolerance", key: key, header: sign(key, "msg_1", now.Add(-hooks.Tolerance), body), body: body},
		{name: "altered body", key: key, header: sign(key, "msg_1", now, body), body: []byte(`{"subject":"SCDU1234564","eventtype":"GTOT"}`), wantErr: true},
		{name: "wrong key", key: other, header: sign(key, "msg_1", now, body), body: body, wantErr: true},
		{name: "stale timestamp", key: key, header: sign(key, "msg_1", now.Add(-6*time.Minute), body), body: body, wantErr: true},
		{name: "future timestamp", key: key, header: sign(key, "msg_1", now.Add(6*time.Minute), body), body: body, wantErr: true},
		{name: "no signature", key: key, header: unsigned, body: body, wantErr: true},
		{name: "only another version", key: key, header: v2Only, body: body, wantErr: true},
		{name: "no headers", key: key, header: http.Header{}, body: body, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hooks.Verify(tt.key, tt.header, tt.body, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{name: "whsec_ and base64", secret: "whsec_" + base64.StdEncoding.EncodeToString(key)},
		{name: "bare base64", secret: base64.StdEncoding.EncodeToString(key)},
		{name: "not base64", secret: "whsec_not base64!", wantErr: true},
		{name: "empty key", secret: "whsec_", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hooks.ParseSecret(tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSecret = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !hmac.Equal(got, key) {
				t.Fatalf("key = %q, want %q", got, key)
			}
		})
	}
}
