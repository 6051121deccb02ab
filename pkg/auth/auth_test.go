package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scodalabs/scoda/pkg/auth"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func hmacKey(t *testing.T, secret string) auth.Key {
	t.Helper()
	k, err := auth.HMACKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerify(t *testing.T) {
	good := hmacKey(t, auth.DevSecret)
	other := hmacKey(t, strings.Repeat("x", 32))
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ed := auth.Ed25519PrivateKey(edPriv)

	mint := func(k auth.Key, p auth.Principal, ttl time.Duration, at time.Time) string {
		tok, err := auth.Mint(k, p, ttl, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	shipper := auth.Principal{Role: auth.RoleShipper, Tenant: "acme"}
	forged := func(c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(auth.DevSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "exp": now.Add(time.Hour).Unix(), "role": "dispatcher"}
	}

	tests := []struct {
		name    string
		key     auth.Key
		token   string
		want    auth.Principal
		wantErr string
	}{
		{"valid shipper", good, mint(good, shipper, time.Hour, now), auth.Principal{Subject: "shipper@acme", Role: auth.RoleShipper, Tenant: "acme"}, ""},
		{"valid eddsa", ed, mint(ed, auth.Principal{Role: auth.RoleAdmin}, time.Hour, now), auth.Principal{Subject: "admin", Role: auth.RoleAdmin}, ""},
		{"missing", good, "", auth.Principal{}, "no bearer token"},
		{"garbage", good, "not.a.jwt", auth.Principal{}, "malformed"},
		{"expired", good, mint(good, shipper, time.Minute, now.Add(-time.Hour)), auth.Principal{}, "expired"},
		{"wrong signature", good, mint(other, shipper, time.Hour, now), auth.Principal{}, "signature"},
		{"hs256 token against eddsa key", ed, mint(good, shipper, time.Hour, now), auth.Principal{}, "signature"},
		{"alg none", good, noneToken(base()), auth.Principal{}, "not valid"},
		{"no exp", good, forged(func() jwt.MapClaims { c := base(); delete(c, "exp"); return c }()), auth.Principal{}, "required claim"},
		{"wrong audience", good, forged(func() jwt.MapClaims { c := base(); c["aud"] = "other"; return c }()), auth.Principal{}, "audience"},
		{"wrong issuer", good, forged(func() jwt.MapClaims { c := base(); c["iss"] = "evil"; return c }()), auth.Principal{}, "issuer"},
		{"unknown role", good, forged(func() jwt.MapClaims { c := base(); c["role"] = "root"; return c }()), auth.Principal{}, "unknown role"},
		{"shipper without tenant", good, forged(func() jwt.MapClaims { c := base(); c["role"] = "shipper"; return c }()), auth.Principal{}, "needs a tenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := auth.NewVerifier(tc.key, auth.WithClock(func() time.Time { return now }))
			got, err := v.Verify(tc.token)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got != tc.want {
					t.Fatalf("principal = %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrNoToken) {
				t.Fatalf("err %v is neither ErrInvalidToken nor ErrNoToken", err)
			}
		})
	}
}

func TestEd25519PublicKeyPEM(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	key, err := auth.Ed25519PublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(auth.Ed25519PrivateKey(priv), auth.Principal{Role: auth.RoleCarrier, Subject: "terminal-qqct"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewVerifier(key).Verify(tok)
	if err != nil || p.Subject != "terminal-qqct" || p.Role != auth.RoleCarrier {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if _, err := auth.Mint(key, auth.Principal{Role: auth.RoleAdmin}, time.Hour, time.Now()); err == nil {
		t.Fatal("a public key must not mint")
	}
	if _, err := auth.Ed25519PublicKey([]byte("nope")); err == nil {
		t.Fatal("want an error for a non-PEM key")
	}
}

func TestHMACKeyTooShort(t *testing.T) {
	if _, err := auth.HMACKey([]byte("short")); err == nil {
		t.Fatal("want an error for a short secret")
	}
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		p     auth.Principal
		roles []auth.Role
		want  bool
	}{
		{auth.Principal{Role: auth.RoleShipper}, []auth.Role{auth.RoleShipper}, true},
		{auth.Principal{Role: auth.RoleShipper}, []auth.Role{auth.RoleDispatcher}, false},
		{auth.Principal{Role: auth.RoleAdmin}, []auth.Role{auth.RoleDispatcher}, true},
		{auth.Principal{Role: auth.RoleCarrier}, nil, false},
	}
	for _, c := range cases {
		if got := c.p.Allowed(c.roles...); got != c.want {
			t.Errorf("%s.Allowed(%v) = %v", c.p.Role, c.roles, got)
		}
	}
}

func noneToken(c jwt.MapClaims) string {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return tok
}

// A token accepted once is accepted again from memory only while it is valid: past its exp
// (and the leeway) or before its nbf it is refused as a first look would refuse it, and a
// token that differs in any byte is checked in full.
func TestVerifyRemembersOnlyWhileValid(t *testing.T) {
	key := hmacKey(t, auth.DevSecret)
	clock := now
	v := auth.NewVerifier(key, auth.WithClock(func() time.Time { return clock }))
	tok, err := auth.Mint(key, auth.Principal{Role: auth.RoleShipper, Tenant: "acme"}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if p, err := v.Verify(tok); err != nil || p.Tenant != "acme" {
			t.Fatalf("valid token: %+v, %v", p, err)
		}
	}
	// Another signature on the same claims: not the remembered token.
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	tampered := tok[:len(tok)-len(sig)] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, sig)
	if _, err := v.Verify(tampered); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("tampered signature: %v, want ErrInvalidToken", err)
	}
	clock = now.Add(time.Hour + 29*time.Second) // within the 30 s leeway
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	clock = now.Add(time.Hour + 31*time.Second)
	if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("past exp and leeway: %v, want expired", err)
	}

	// nbf in the future: refused before it, even after being accepted once.
	nbf := now.Add(10 * time.Minute)
	early, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience,
		"exp": now.Add(time.Hour).Unix(), "nbf": nbf.Unix(), "role": "dispatcher"}).SignedString([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	clock = nbf
	if _, err := v.Verify(early); err != nil {
		t.Fatalf("at nbf: %v", err)
	}
	clock = nbf.Add(-time.Minute)
	if _, err := v.Verify(early); err == nil || !strings.Contains(err.Error(), "not valid yet") {
		t.Fatalf("before nbf after being accepted: %v, want not valid yet", err)
	}
}
