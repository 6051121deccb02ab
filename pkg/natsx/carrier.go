package natsx

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts nats.Header to propagation.TextMapCarrier.
//
// nats.Header is a plain map and, unlike net/http, does not canonicalise keys, so the HTTP
// carrier cannot be reused: it would write "Traceparent" while other NATS clients write and
// look up "traceparent". HeaderCarrier always writes lowercase keys (the W3C spelling) and
// reads lowercase first, falling back to a case-insensitive scan so messages from producers
// that wrote "Traceparent" still continue their trace.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key, matched case-insensitively.
func (c HeaderCarrier) Get(key string) string {
	lk := strings.ToLower(key)
	if v := c[lk]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, lk) {
			return v[0]
		}
	}
	return ""
}

// Set stores value under the lowercase key, replacing any value stored under another
// spelling of the same key so a message never carries two competing trace parents.
// The carrier must not be nil.
func (c HeaderCarrier) Set(key, value string) {
	lk := strings.ToLower(key)
	for k := range c {
		if k != lk && strings.EqualFold(k, lk) {
			delete(c, k)
		}
	}
	c[lk] = []string{value}
}

// Keys lists the keys present, lowercased and without repeats.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	seen := make(map[string]struct{}, len(c))
	for k := range c {
		lk := strings.ToLower(k)
		if _, ok := seen[lk]; ok {
			continue
		}
		seen[lk] = struct{}{}
		keys = append(keys, lk)
	}
	return keys
}

// Inject writes the trace context (and baggage) of ctx into h with the given propagator, or
// the global one (otel.GetTextMapPropagator) when none or nil is given. A nil h is left alone:
// the caller owns the header map and must allocate it.
func Inject(ctx context.Context, h nats.Header, p ...propagation.TextMapPropagator) {
	if h == nil {
		return
	}
	propagatorOf(p).Inject(ctx, HeaderCarrier(h))
}

// Extract returns ctx carrying the remote trace context (and baggage) found in h, read with the
// given propagator, or the global one when none or nil is given.
func Extract(ctx context.Context, h nats.Header, p ...propagation.TextMapPropagator) context.Context {
	return propagatorOf(p).Extract(ctx, HeaderCarrier(h))
}

func propagatorOf(p []propagation.TextMapPropagator) propagation.TextMapPropagator {
	if len(p) > 0 && p[0] != nil {
		return p[0]
	}
	return otel.GetTextMapPropagator()
}
