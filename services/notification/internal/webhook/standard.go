package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far webhook-timestamp may be from the receiver's clock, in
// either direction, before [Verify] refuses the request.
const Tolerance = 5 * time.Minute

const (
	secretPrefix   = "whsec_"
	minSecretBytes = 24
	maxSecretBytes = 64
	newSecretBytes = 32
	signatureV1    = "v1"
)

// Secret is a Standard Webhooks signing key. The zero value is not a valid
// secret. Its String method redacts the key; use Encode to store or show it.
type Secret struct {
	key []byte
}

// NewSecret returns a secret of 32 bytes from crypto/rand.
func NewSecret() Secret {
	key := make([]byte, newSecretBytes)
	// crypto/rand.Read never returns an error; it crashes the program if the
	// system source fails.
	_, _ = rand.Read(key)
	return Secret{key: key}
}

// ParseSecret decodes the "whsec_<base64>" form written by Encode. The decoded
// key must be 24 to 64 bytes.
func ParseSecret(s string) (Secret, error) {
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("%w: missing %q prefix", ErrInvalidSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: not standard base64", ErrInvalidSecret)
	}
	if err := checkSecretLen(len(key)); err != nil {
		return Secret{}, err
	}
	return Secret{key: key}, nil
}

// Encode returns the secret as "whsec_" + base64 of the key, the form given to
// subscribers and accepted by ParseSecret.
func (s Secret) Encode() string {
	return secretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// String returns a redacted form, so a secret that reaches a log or an error
// message does not leak.
func (s Secret) String() string {
	return secretPrefix + "[redacted]"
}

func checkSecretLen(n int) error {
	if n < minSecretBytes || n > maxSecretBytes {
		return fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, n, minSecretBytes, maxSecretBytes)
	}
	return nil
}

// Sign returns the webhook-id, webhook-timestamp and webhook-signature headers
// for one delivery of body. The signature header holds one "v1," entry per
// secret, in the order given. The caller must send body byte for byte as
// signed; copy the headers onto the request with Header.Set or maps.Copy.
func Sign(secrets []Secret, id string, ts time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secrets to sign with", ErrInvalidSecret)
	}
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	timestamp := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		if err := checkSecretLen(len(s.key)); err != nil {
			return nil, fmt.Errorf("secret %d: %w", i, err)
		}
		sigs = append(sigs, signatureV1+","+base64.StdEncoding.EncodeToString(standardMAC(s.key, id, timestamp, body)))
	}
	h := make(http.Header, 3)
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, timestamp)
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h, nil
}

// Verify checks a Standard Webhooks delivery received at now against one
// secret. It fails with ErrMissingHeader, ErrInvalidTimestamp,
// ErrTimestampOutOfRange (more than Tolerance either way) or
// ErrNoMatchingSignature; it succeeds when any "v1," signature in the
// webhook-signature header(s) matches. body must be the raw request body.
func Verify(secret Secret, h http.Header, body []byte, now time.Time) error {
	if err := checkSecretLen(len(secret.key)); err != nil {
		return err
	}
	id := h.Get(HeaderID)
	timestamp := h.Get(HeaderTimestamp)
	sigHeaders := h.Values(HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderID)
	case timestamp == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	case strings.TrimSpace(strings.Join(sigHeaders, "")) == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	}

	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidTimestamp, timestamp)
	}
	sent := time.Unix(sec, 0)
	if now.Sub(sent) > Tolerance || sent.Sub(now) > Tolerance {
		return fmt.Errorf("%w: sent %s, now %s", ErrTimestampOutOfRange,
			sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}

	want := standardMAC(secret.key, id, timestamp, body)
	for _, v := range sigHeaders {
		for _, entry := range strings.Fields(v) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != signatureV1 {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err != nil {
				continue
			}
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

// standardMAC is HMAC-SHA256(key, id + "." + timestamp + "." + body).
func standardMAC(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
