// Command token mints a development bearer token and prints only the token on stdout:
//
//	go run ./scripts/cmd/token -role shipper -tenant acme
//
// It signs with AUTH_JWT_SECRET, or with the development secret the services accept when
// SCODA_ENV is local (their default). Production tokens come from your identity provider.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "shipper | dispatcher | carrier | admin")
	tenant := fs.String("tenant", "", "the shipper's tenant id (required for shipper)")
	subject := fs.String("subject", "", "subject (default role@tenant)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *role == "" {
		return errors.New("-role is required (shipper, dispatcher, carrier or admin)")
	}
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = auth.DevSecret
	}
	key, err := auth.HMACKey([]byte(secret))
	if err != nil {
		return err
	}
	tok, err := auth.Mint(key, auth.Principal{Subject: *subject, Role: auth.Role(*role), Tenant: *tenant}, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
