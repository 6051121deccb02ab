package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

// The test vector published with the Standard Webhooks specification.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustParse(t *testing.T, s string) webhook.Secret {
	t.Helper()
	secret, err := webhook.ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(%q): %v", s, err)
	}
	return secret
}

func TestSignSpecVector(t *testing.T) {
	secret := mustParse(t, specSecret)
	ts := time.Unix(specTimestamp, 0)

	h, err := webhook.Sign([]webhook.Secret{secret}, specID, ts, []byte(specPayload))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if got := h.Get(webhook.HeaderSignature); got != specSignature {
		t.Errorf("webhook-signature = %q, want %q", got, specSignature)
	}
	if got := h.Get(webhook.HeaderID); got != specID {
		t.Errorf("webhook-id = %q, want %q", got, specID)
	}
	if got := h.Get(webhook.HeaderTimestamp); got != "1614265330" {
		t.Errorf("webhook-timestamp = %q, want %q", got, "1614265330")
	}
	if len(h) != 3 {
		t.Errorf("Sign set %d headers, want 3: %v", len(h), h)
	}

	// The published headers verify as they stand.
	published := http.Header{}
	published.Set(webhook.HeaderID, specID)
	published.Set(webhook.HeaderTimestamp, "1614265330")
	published.Set(webhook.HeaderSignature, specSignature)
	if err := webhook.Verify(secret, published, []byte(specPayload), ts); err != nil {
		t.Errorf("Verify(spec vector): %v", err)
	}
}

func TestVerify(t *testing.T) {
	secret := mustParse(t, specSecret)
	other := webhook.NewSecret()
	ts := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)

	signed := func(t *testing.T, secrets ...webhook.Secret) http.Header {
		t.Helper()
		h, err := webhook.Sign(secrets, specID, ts, body)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		return h
	}
	without := func(name string) func(h http.Header) {
		return func(h http.Header) { h.Del(name) }
	}
	set := func(name, value string) func(h http.Header) {
		return func(h http.Header) { h.Set(name, value) }
	}

	tests := []struct {
		name    string
		signers []webhook.Secret
		edit    func(http.Header)
		body    []byte
		now     time.Time
		want    error
	}{
		{name: "valid", signers: []webhook.Secret{secret}},
		{name: "altered body", signers: []webhook.Secret{secret}, body: []byte(`{"test": 2432232315}`), want: webhook.ErrNoMatchingSignature},
		{name: "empty body", signers: []webhook.Secret{secret}, body: []byte{}, want: webhook.ErrNoMatchingSignature},
		{name: "wrong secret", signers: []webhook.Secret{other}, want: webhook.ErrNoMatchingSignature},
		{name: "altered id", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderID, "msg_other"), want: webhook.ErrNoMatchingSignature},
		{name: "altered timestamp", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderTimestamp, "1614265331"), want: webhook.ErrNoMatchingSignature},
		{name: "exactly tolerance late", signers: []webhook.Secret{secret}, now: ts.Add(webhook.Tolerance)},
		{name: "exactly tolerance early", signers: []webhook.Secret{secret}, now: ts.Add(-webhook.Tolerance)},
		{name: "too old", signers: []webhook.Secret{secret}, now: ts.Add(webhook.Tolerance + time.Second), want: webhook.ErrTimestampOutOfRange},
		{name: "too far in future", signers: []webhook.Secret{secret}, now: ts.Add(-webhook.Tolerance - time.Second), want: webhook.ErrTimestampOutOfRange},
		{name: "missing id", signers: []webhook.Secret{secret}, edit: without(webhook.HeaderID), want: webhook.ErrMissingHeader},
		{name: "missing timestamp", signers: []webhook.Secret{secret}, edit: without(webhook.HeaderTimestamp), want: webhook.ErrMissingHeader},
		{name: "missing signature", signers: []webhook.Secret{secret}, edit: without(webhook.HeaderSignature), want: webhook.ErrMissingHeader},
		{name: "blank signature", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderSignature, "  "), want: webhook.ErrMissingHeader},
		{name: "timestamp not a number", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderTimestamp, "2021-02-26T15:02:10Z"), want: webhook.ErrInvalidTimestamp},
		{name: "timestamp out of int64", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderTimestamp, "99999999999999999999"), want: webhook.ErrInvalidTimestamp},
		{name: "rotation: old then new", signers: []webhook.Secret{other, secret}},
		{name: "rotation: new then old", signers: []webhook.Secret{secret, other}},
		{name: "unknown versions ignored", signers: []webhook.Secret{secret},
			edit: func(h http.Header) {
				h.Set(webhook.HeaderSignature, "v1a,AAAA v2,xyz "+h.Get(webhook.HeaderSignature))
			}},
		{name: "right signature under another version", signers: []webhook.Secret{secret},
			edit: func(h http.Header) {
				h.Set(webhook.HeaderSignature, strings.Replace(h.Get(webhook.HeaderSignature), "v1,", "v2,", 1))
			}, want: webhook.ErrNoMatchingSignature},
		{name: "signature not base64", signers: []webhook.Secret{secret}, edit: set(webhook.HeaderSignature, "v1,!!!"), want: webhook.ErrNoMatchingSignature},
		{name: "signature truncated", signers: []webhook.Secret{secret},
			edit: func(h http.Header) {
				sig := h.Get(webhook.HeaderSignature)
				h.Set(webhook.HeaderSignature, sig[:len(sig)-4])
			}, want: webhook.ErrNoMatchingSignature},
		{name: "signature in a second header line", signers: []webhook.Secret{secret},
			edit: func(h http.Header) {
				sig := h.Get(webhook.HeaderSignature)
				h.Set(webhook.HeaderSignature, "v1,AAAA")
				h.Add(webhook.HeaderSignature, sig)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed(t, tt.signers...)
			if tt.edit != nil {
				tt.edit(h)
			}
			b := body
			if tt.body != nil {
				b = tt.body
			}
			now := ts
			if !tt.now.IsZero() {
				now = tt.now
			}
			err := webhook.Verify(secret, h, b, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignRotationSendsOneSignaturePerSecret(t *testing.T) {
	old, next := webhook.NewSecret(), webhook.NewSecret()
	h, err := webhook.Sign([]webhook.Secret{old, next}, "msg_1", time.Now(), []byte("{}"))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	entries := strings.Split(h.Get(webhook.HeaderSignature), " ")
	if len(entries) != 2 {
		t.Fatalf("webhook-signature = %q, want 2 entries", h.Get(webhook.HeaderSignature))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e, "v1,") {
			t.Errorf("entry %q lacks v1, prefix", e)
		}
	}
	for _, s := range []webhook.Secret{old, next} {
		if err := webhook.Verify(s, h, []byte("{}"), time.Now()); err != nil {
			t.Errorf("Verify with one of the rotated secrets: %v", err)
		}
	}
}

func TestSignRejects(t *testing.T) {
	good := webhook.NewSecret()
	tests := []struct {
		name    string
		secrets []webhook.Secret
		id      string
		want    error
	}{
		{name: "no secrets", id: "msg_1", want: webhook.ErrInvalidSecret},
		{name: "zero secret", secrets: []webhook.Secret{good, {}}, id: "msg_1", want: webhook.ErrInvalidSecret},
		{name: "empty id", secrets: []webhook.Secret{good}, id: "", want: webhook.ErrInvalidID},
		{name: "id with space", secrets: []webhook.Secret{good}, id: "msg 1", want: webhook.ErrInvalidID},
		{name: "id with newline", secrets: []webhook.Secret{good}, id: "msg_1\r\nX-Evil: 1", want: webhook.ErrInvalidID},
		{name: "id not ascii", secrets: []webhook.Secret{good}, id: "msg_é", want: webhook.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.Sign(tt.secrets, tt.id, time.Now(), nil); !errors.Is(err, tt.want) {
				t.Errorf("Sign = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	ofLen := func(n int) string {
		return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n))
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "spec secret", in: specSecret, ok: true},
		{name: "24 bytes", in: ofLen(24), ok: true},
		{name: "64 bytes", in: ofLen(64), ok: true},
		{name: "23 bytes", in: ofLen(23)},
		{name: "65 bytes", in: ofLen(65)},
		{name: "no prefix", in: strings.TrimPrefix(specSecret, "whsec_")},
		{name: "other prefix", in: "whsecx" + strings.TrimPrefix(specSecret, "whsec_")},
		{name: "not base64", in: "whsec_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"},
		{name: "url-safe base64", in: "whsec_" + base64.URLEncoding.EncodeToString(append(make([]byte, 30), 0xfb, 0xff))},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhook.ParseSecret(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseSecret: %v", err)
				}
				if s.Encode() != tt.in {
					t.Errorf("Encode = %q, want %q", s.Encode(), tt.in)
				}
				return
			}
			if !errors.Is(err, webhook.ErrInvalidSecret) {
				t.Errorf("ParseSecret = %v, want ErrInvalidSecret", err)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a.Encode() == b.Encode() {
		t.Fatal("two secrets are equal")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a.Encode(), "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret decodes to %d bytes (err %v), want 32", len(key), err)
	}
	back := mustParse(t, a.Encode())
	if back.Encode() != a.Encode() {
		t.Errorf("round trip changed the secret")
	}
	if s := a.String(); strings.Contains(s, a.Encode()[6:]) || s != "whsec_[redacted]" {
		t.Errorf("String = %q, want it redacted", s)
	}
}

func TestVerifyRejectsInvalidSecret(t *testing.T) {
	h, err := webhook.Sign([]webhook.Secret{webhook.NewSecret()}, "msg_1", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(webhook.Secret{}, h, nil, time.Now()); !errors.Is(err, webhook.ErrInvalidSecret) {
		t.Errorf("Verify(zero secret) = %v, want ErrInvalidSecret", err)
	}
}
