package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"
)

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

func TestVerifyStandard(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	now := time.Unix(1_795_000_000, 0)
	body := []byte(`{"subject":"SCDU1234564","eventtype":"GTIN"}`)
	tests := []struct {
		name    string
		secret  string
		header  http.Header
		body    []byte
		wantErr bool
	}{
		{name: "valid", secret: secret, header: sign(key, "msg_1", now, body), body: body},
		{name: "altered body", secret: secret, header: sign(key, "msg_1", now, body), body: []byte(`{"subject":"SCDU1234564","eventtype":"GTOT"}`), wantErr: true},
		{name: "wrong secret", secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of 32 bytes......")), header: sign(key, "msg_1", now, body), body: body, wantErr: true},
		{name: "stale timestamp", secret: secret, header: sign(key, "msg_1", now.Add(-6*time.Minute), body), body: body, wantErr: true},
		{name: "future timestamp", secret: secret, header: sign(key, "msg_1", now.Add(6*time.Minute), body), body: body, wantErr: true},
		{name: "no headers", secret: secret, header: http.Header{}, body: body, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyStandard(tt.secret, tt.header, tt.body, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("verify = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
