// Package hooks checks Standard Webhooks deliveries (https://www.standardwebhooks.com) as a
// subscriber's receiver does: the simulator's, the load generator's and the end-to-end tests'.
//
// It is written from the specification, apart from the notification service's signer, so that
// these receivers check the service against the specification rather than against itself.
package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a delivery's webhook-timestamp may be from the receiver's clock
// (Standard Webhooks recommends five minutes): an older delivery may be a replay.
const Tolerance = 5 * time.Minute

// ParseSecret decodes a subscription's secret, "whsec_" + base64 as notification answers it,
// into the key that signs its deliveries.
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("the secret is not whsec_ + base64")
	}
	return key, nil
}

// Verify checks a delivery received at now: the webhook-signature header lists space-separated
// "v1,<base64 HMAC-SHA256>" signatures of "<webhook-id>.<webhook-timestamp>.<body>" under key;
// one must match, and the timestamp must be within Tolerance of now. body is the raw request
// body, before any decoding.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("webhook-timestamp is outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
