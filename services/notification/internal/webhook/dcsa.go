package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// DCSA header names.
const (
	HeaderDCSASignature      = "Notification-Signature"
	HeaderDCSASubscriptionID = "Subscription-ID"
)

const dcsaSignaturePrefix = "sha256="

// SignDCSA returns the Notification-Signature and Subscription-ID headers for
// one delivery of body to a DCSA subscriber. secret is the raw key (decode the
// stored base64 first) and must not be empty. The caller must send body byte
// for byte as signed.
func SignDCSA(secret []byte, subscriptionID string, body []byte) (http.Header, error) {
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: empty DCSA secret", ErrInvalidSecret)
	}
	if !validID(subscriptionID) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidID, subscriptionID)
	}
	h := make(http.Header, 2)
	h.Set(HeaderDCSASignature, dcsaSignaturePrefix+hex.EncodeToString(dcsaMAC(secret, body)))
	h.Set(HeaderDCSASubscriptionID, subscriptionID)
	return h, nil
}

// VerifyDCSA checks a DCSA delivery against the subscription's raw secret. It
// fails with ErrMissingHeader when Notification-Signature or Subscription-ID is
// absent, and with ErrNoMatchingSignature when the signature is malformed or
// does not match body (the raw request body). Hex digits are accepted in
// either case.
func VerifyDCSA(secret []byte, h http.Header, body []byte) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty DCSA secret", ErrInvalidSecret)
	}
	sig := h.Get(HeaderDCSASignature)
	switch {
	case sig == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderDCSASignature)
	case h.Get(HeaderDCSASubscriptionID) == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderDCSASubscriptionID)
	}
	hexSig, ok := strings.CutPrefix(sig, dcsaSignaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want %q prefix", ErrNoMatchingSignature, dcsaSignaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrNoMatchingSignature)
	}
	if !hmac.Equal(got, dcsaMAC(secret, body)) {
		return ErrNoMatchingSignature
	}
	return nil
}

// dcsaMAC is HMAC-SHA256(secret, body).
func dcsaMAC(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
