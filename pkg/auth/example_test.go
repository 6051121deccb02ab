package auth_test

import (
	"fmt"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

func Example() {
	key, _ := auth.HMACKey([]byte(auth.DevSecret))
	token, _ := auth.Mint(key, auth.Principal{Role: auth.RoleShipper, Tenant: "acme"}, time.Hour, time.Now())

	p, err := auth.NewVerifier(key).Verify(token)
	fmt.Println(p.Subject, p.Role, p.Tenant, err)
	fmt.Println(p.Allowed(auth.RoleDispatcher), p.Allowed(auth.RoleShipper))
	// Output:
	// shipper@acme shipper acme <nil>
	// false true
}
