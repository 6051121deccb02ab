package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

const (
	dcsaSecret = "scoda-dcsa-test-secret-32-bytes!"
	dcsaSubID  = "7f2d1c3e-9b4a-4e8f-a6d2-5c1b0e9f8a7d"
	dcsaBody   = `[{"eventID":"e4b6a8c2-1f3d-4f5e-9a7b-2c8d0e1f3a5b","eventType":"EQUIPMENT","equipmentEventTypeCode":"LOAD"}]`
	// dcsaWant is HMAC-SHA256(dcsaSecret, dcsaBody) in lowercase hex, computed
	// outside Go with: printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret".
	dcsaWant = "a9559ac2c1485521ea0751e1ea1f52813aeac1af2c2116f0f9dd675a3320adef"
)

func TestSignDCSAVector(t *testing.T) {
	m := hmac.New(sha256.New, []byte(dcsaSecret))
	m.Write([]byte(dcsaBody))
	independent := hex.EncodeToString(m.Sum(nil))
	if independent != dcsaWant {
		t.Fatalf("test vector disagrees with crypto/hmac: %s vs %s", dcsaWant, independent)
	}

	h, err := webhook.SignDCSA([]byte(dcsaSecret), dcsaSubID, []byte(dcsaBody))
	if err != nil {
		t.Fatalf("SignDCSA: %v", err)
	}
	if got, want := h.Get("Notification-Signature"), "sha256="+dcsaWant; got != want {
		t.Errorf("Notification-Signature = %q, want %q", got, want)
	}
	if got := h.Get("Subscription-ID"); got != dcsaSubID {
		t.Errorf("Subscription-ID = %q, want %q", got, dcsaSubID)
	}
	if len(h) != 2 {
		t.Errorf("SignDCSA set %d headers, want 2: %v", len(h), h)
	}
}

func TestVerifyDCSA(t *testing.T) {
	secret := []byte(dcsaSecret)
	body := []byte(dcsaBody)
	set := func(name, value string) func(http.Header) {
		return func(h http.Header) { h.Set(name, value) }
	}
	tests := []struct {
		name   string
		secret []byte // verifier's secret; the sender always uses dcsaSecret
		edit   func(http.Header)
		body   []byte
		want   error
	}{
		{name: "valid"},
		{name: "upper-case hex", edit: set("Notification-Signature", "sha256="+strings.ToUpper(dcsaWant))},
		{name: "altered body", body: []byte(strings.Replace(dcsaBody, "LOAD", "DISC", 1)), want: webhook.ErrNoMatchingSignature},
		{name: "body with trailing newline", body: []byte(dcsaBody + "\n"), want: webhook.ErrNoMatchingSignature},
		{name: "wrong secret", secret: []byte("scoda-dcsa-test-secret-32-bytes?"), want: webhook.ErrNoMatchingSignature},
		{name: "missing signature", edit: func(h http.Header) { h.Del("Notification-Signature") }, want: webhook.ErrMissingHeader},
		{name: "missing subscription id", edit: func(h http.Header) { h.Del("Subscription-ID") }, want: webhook.ErrMissingHeader},
		{name: "no sha256= prefix", edit: set("Notification-Signature", dcsaWant), want: webhook.ErrNoMatchingSignature},
		{name: "other algorithm", edit: set("Notification-Signature", "sha1="+dcsaWant), want: webhook.ErrNoMatchingSignature},
		{name: "not hex", edit: set("Notification-Signature", "sha256=zz"), want: webhook.ErrNoMatchingSignature},
		{name: "truncated", edit: set("Notification-Signature", "sha256="+dcsaWant[:32]), want: webhook.ErrNoMatchingSignature},
		{name: "empty verifier secret", secret: []byte{}, want: webhook.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := webhook.SignDCSA(secret, dcsaSubID, body)
			if err != nil {
				t.Fatalf("SignDCSA: %v", err)
			}
			if tt.edit != nil {
				tt.edit(h)
			}
			verifySecret, b := secret, body
			if tt.secret != nil {
				verifySecret = tt.secret
			}
			if tt.body != nil {
				b = tt.body
			}
			err = webhook.VerifyDCSA(verifySecret, h, b)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("VerifyDCSA = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignDCSARejects(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		id     string
		want   error
	}{
		{name: "nil secret", id: dcsaSubID, want: webhook.ErrInvalidSecret},
		{name: "empty secret", secret: []byte{}, id: dcsaSubID, want: webhook.ErrInvalidSecret},
		{name: "empty subscription id", secret: []byte(dcsaSecret), want: webhook.ErrInvalidID},
		{name: "subscription id with CRLF", secret: []byte(dcsaSecret), id: "a\r\nb", want: webhook.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.SignDCSA(tt.secret, tt.id, []byte(dcsaBody)); !errors.Is(err, tt.want) {
				t.Errorf("SignDCSA = %v, want %v", err, tt.want)
			}
		})
	}
}
