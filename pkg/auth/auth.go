// Package auth verifies and mints the bearer tokens every SCODA API takes.
//
// Tokens are JWTs with the registered claims (iss, aud, sub, exp, iat) plus role and tenant.
// Signatures are checked with a key from configuration: an HMAC secret (HS256), which is what
// local development uses, or an Ed25519 public key (EdDSA) for deployments where the services
// must not be able to mint tokens themselves. Algorithms are pinned per key; "none" and
// algorithm confusion are rejected by construction.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a principal may do.
type Role string

// The roles of the brief.
const (
	RoleShipper    Role = "shipper"    // one tenant's containers, bookings and subscriptions
	RoleDispatcher Role = "dispatcher" // the timetable, slots and all bookings
	RoleCarrier    Role = "carrier"    // carriers, terminals and gateways that ingest events
	RoleAdmin      Role = "admin"      // operators and SREs: everything
)

// Roles lists every known role.
var Roles = []Role{RoleShipper, RoleDispatcher, RoleCarrier, RoleAdmin}

// Valid tells whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Defaults for the registered claims.
const (
	DefaultIssuer   = "scoda"
	DefaultAudience = "scoda-api"
	// DevSecret signs development tokens. Services refuse it outside local development.
	DevSecret = "scoda-dev-secret-do-not-use-in-production"
)

// Principal is the authenticated caller.
type Principal struct {
	Subject string
	Role    Role
	Tenant  string // set for shippers (their tenant id); empty for the other roles
}

// Claims is the token body.
type Claims struct {
	jwt.RegisteredClaims
	Role   Role   `json:"role"`
	Tenant string `json:"tenant,omitempty"`
}

// Errors a caller can tell apart (all mean 401 to a client).
var (
	ErrNoToken      = errors.New("no bearer token")
	ErrInvalidToken = errors.New("invalid token")
)

// Key is the verification (and, for HMAC, signing) material.
type Key struct {
	method jwt.SigningMethod
	verify any
	sign   any
}

// HMACKey uses a shared secret with HS256. The secret must be at least 32 bytes.
func HMACKey(secret []byte) (Key, error) {
	if len(secret) < 32 {
		return Key{}, fmt.Errorf("auth: HMAC secret must be at least 32 bytes, got %d", len(secret))
	}
	return Key{method: jwt.SigningMethodHS256, verify: secret, sign: secret}, nil
}

// Ed25519PublicKey verifies EdDSA tokens with a PEM-encoded (PKIX) public key; it cannot sign.
func Ed25519PublicKey(pemBytes []byte) (Key, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return Key{}, errors.New("auth: no PEM block in public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("auth: public key: %w", err)
	}
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok {
		return Key{}, fmt.Errorf("auth: public key is %T, want Ed25519", pub)
	}
	return Key{method: jwt.SigningMethodEdDSA, verify: edPub}, nil
}

// Ed25519PrivateKey signs (and verifies) EdDSA tokens; for token issuers and tests.
func Ed25519PrivateKey(priv ed25519.PrivateKey) Key {
	return Key{method: jwt.SigningMethodEdDSA, verify: priv.Public(), sign: priv}
}

// Verifier checks tokens. It remembers up to verifiedCacheSize tokens it accepted, with the
// time window in which they stay valid, so that a client sending the same token with every
// request has it parsed and its signature checked once: decoding and verifying took ~12 % of
// a service's CPU serving container queries. A remembered token is still refused once it
// expires (or before its nbf). The cache is keyed by the whole token: the same bytes, checked
// with the same key.
type Verifier struct {
	key      Key
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time

	mu       sync.Mutex
	verified map[string]verifiedToken
}

// verifiedToken is a token Verify accepted: its principal, and when it is valid.
type verifiedToken struct {
	p          Principal
	from, till time.Time // nbf and exp, widened by the leeway; from is zero without nbf
}

// verifiedCacheSize bounds the remembered tokens; when it is reached they are all forgotten
// (tokens are short-lived: the cache fills again with those in use).
const verifiedCacheSize = 10_000

// VerifierOption tunes a Verifier.
type VerifierOption func(*Verifier)

// WithIssuer sets the required iss (default DefaultIssuer).
func WithIssuer(iss string) VerifierOption { return func(v *Verifier) { v.issuer = iss } }

// WithAudience sets the required aud (default DefaultAudience).
func WithAudience(aud string) VerifierOption { return func(v *Verifier) { v.audience = aud } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) VerifierOption { return func(v *Verifier) { v.now = now } }

// NewVerifier returns a Verifier for key. Clock skew of up to 30 s is tolerated.
func NewVerifier(key Key, opts ...VerifierOption) *Verifier {
	v := &Verifier{key: key, issuer: DefaultIssuer, audience: DefaultAudience, leeway: 30 * time.Second, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Verify parses and checks a token: signature with the pinned algorithm, exp (required), nbf,
// iss, aud, a known role, and a tenant for shippers.
func (v *Verifier) Verify(token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrNoToken
	}
	now := v.now()
	v.mu.Lock()
	t, ok := v.verified[token]
	v.mu.Unlock()
	if ok && now.Before(t.till) && !now.Before(t.from) {
		return t.p, nil
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key.verify, nil },
		jwt.WithValidMethods([]string{v.key.method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	if !c.Role.Valid() {
		return Principal{}, fmt.Errorf("%w: unknown role %q", ErrInvalidToken, c.Role)
	}
	if c.Role == RoleShipper && c.Tenant == "" {
		return Principal{}, fmt.Errorf("%w: a shipper token needs a tenant", ErrInvalidToken)
	}
	p := Principal{Subject: c.Subject, Role: c.Role, Tenant: c.Tenant}
	t = verifiedToken{p: p, till: c.ExpiresAt.Add(v.leeway)} // exp is required: set
	if c.NotBefore != nil {
		t.from = c.NotBefore.Add(-v.leeway)
	}
	v.mu.Lock()
	if len(v.verified) >= verifiedCacheSize || v.verified == nil {
		v.verified = make(map[string]verifiedToken)
	}
	v.verified[token] = t
	v.mu.Unlock()
	return p, nil
}

// reason turns jwt's errors into a short phrase safe to show a client.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature is not valid"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	default:
		return "token is not valid"
	}
}

// Mint signs a token for p that expires after ttl. Only keys that can sign (HMAC, Ed25519
// private) mint; it is meant for development tooling and tests.
func Mint(key Key, p Principal, ttl time.Duration, now time.Time) (string, error) {
	if key.sign == nil {
		return "", errors.New("auth: this key cannot sign")
	}
	if !p.Role.Valid() {
		return "", fmt.Errorf("auth: unknown role %q (want one of %v)", p.Role, Roles)
	}
	if p.Role == RoleShipper && p.Tenant == "" {
		return "", errors.New("auth: a shipper token needs a tenant")
	}
	if p.Subject == "" {
		p.Subject = string(p.Role)
		if p.Tenant != "" {
			p.Subject += "@" + p.Tenant
		}
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    DefaultIssuer,
			Audience:  jwt.ClaimStrings{DefaultAudience},
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role:   p.Role,
		Tenant: p.Tenant,
	}
	return jwt.NewWithClaims(key.method, c).SignedString(key.sign)
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of the request, if authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Allowed tells whether p has one of roles. Admin is allowed everything.
func (p Principal) Allowed(roles ...Role) bool {
	return p.Role == RoleAdmin || slices.Contains(roles, p.Role)
}
