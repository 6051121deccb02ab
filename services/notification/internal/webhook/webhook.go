// Package webhook signs webhook deliveries and verifies signed deliveries.
//
// Two schemes are supported; a subscription uses exactly one.
//
// # Standard Webhooks
//
// The scheme of https://www.standardwebhooks.com. A [Secret] is written as
// "whsec_" followed by the standard base64 encoding of 24 to 64 random bytes;
// [NewSecret] makes a 32-byte one. [Sign] sets three headers:
//
//	webhook-id:        the message id; the same on every retry of one message
//	webhook-timestamp: the send time in unix seconds
//	webhook-signature: "v1,<sig>" for each active secret, separated by spaces
//
// where sig is the standard base64 (with padding) of
// HMAC-SHA256(key, id + "." + timestamp + "." + body), key being the decoded
// secret bytes (not the "whsec_..." text) and body the exact bytes sent. While a
// secret is rotated, both the old and the new secret sign, so the header carries
// two signatures.
//
// A receiver verifies ([Verify]) by:
//  1. reading the three headers; any missing one fails;
//  2. refusing a timestamp more than [Tolerance] (5 minutes) before or after its
//     own clock, which bounds replays;
//  3. computing the signature above over the raw request body, before any JSON
//     decoding, and comparing it in constant time with each "v1," entry of
//     webhook-signature; one match is enough. Entries of other versions are
//     ignored.
//
// Receivers should also treat webhook-id as an idempotency key: delivery is at
// least once.
//
// # DCSA
//
// The scheme of the DCSA Event Hub (Track and Trace 2.2). The subscriber gives a
// shared secret of raw bytes (the API carries it base64-encoded). [SignDCSA]
// sets two headers:
//
//	Notification-Signature: sha256=<lowercase hex of HMAC-SHA256(secret, body)>
//	Subscription-ID:        the subscription id
//
// A receiver looks up the secret by Subscription-ID, computes
// HMAC-SHA256(secret, raw body) and compares it in constant time with the hex
// after "sha256=" ([VerifyDCSA]). DCSA signs no timestamp and no message id, so
// the scheme gives integrity and authenticity but no replay protection.
//
// Go's [net/http.Header] stores names in canonical form ("Webhook-Id",
// "Subscription-Id"); HTTP header names are case-insensitive, so receivers
// must match them without regard to case.
package webhook

import "errors"

// Errors returned by the verifiers and signers; test with errors.Is.
var (
	// ErrMissingHeader means a header the scheme requires is absent or empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrInvalidTimestamp means webhook-timestamp is not a decimal integer.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp")
	// ErrTimestampOutOfRange means webhook-timestamp is more than Tolerance away
	// from the receiver's clock.
	ErrTimestampOutOfRange = errors.New("webhook: timestamp outside tolerance")
	// ErrNoMatchingSignature means no signature in the request matches the
	// secret and body: the body was altered, the secret is wrong, or the
	// signature is malformed.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
	// ErrInvalidSecret means a secret is malformed, empty or of the wrong size.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrInvalidID means a message or subscription id is empty or is not
	// printable ASCII without spaces.
	ErrInvalidID = errors.New("webhook: invalid id")
)

// validID reports whether id is non-empty printable ASCII without spaces, so it
// can travel in a header unchanged.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
