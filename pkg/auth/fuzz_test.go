package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

// FuzzVerify: no token string makes Verify panic, and only a correctly signed token passes.
func FuzzVerify(f *testing.F) {
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		f.Fatal(err)
	}
	good, err := auth.Mint(key, auth.Principal{Role: auth.RoleCarrier, Subject: "gw-1"}, time.Hour, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good[:len(good)-2], good + "x"} {
		f.Add(seed)
	}
	v := auth.NewVerifier(key)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(token)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrNoToken) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !p.Role.Valid() {
			t.Fatalf("accepted a token with role %q", p.Role)
		}
	})
}
