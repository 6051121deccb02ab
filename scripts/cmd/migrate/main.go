// Command migrate applies (or reverts) the migrations of the services' schemas, as each service
// does at start. `make migrate` runs it for all three.
//
//	go run ./scripts/cmd/migrate [-down] [service ...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"time"

	"github.com/scodalabs/scoda/pkg/postgres"
	notification "github.com/scodalabs/scoda/services/notification/migrations"
	scheduling "github.com/scodalabs/scoda/services/scheduling/migrations"
	tracking "github.com/scodalabs/scoda/services/tracking/migrations"
)

var schemas = map[string]fs.FS{
	"tracking":     tracking.FS,
	"scheduling":   scheduling.FS,
	"notification": notification.FS,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("migrate", flag.ContinueOnError)
	down := flags.Bool("down", false, "revert every migration instead of applying them")
	if err := flags.Parse(args); err != nil {
		return err
	}
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/scoda?sslmode=disable"
	}
	names := flags.Args()
	if len(names) == 0 {
		names = []string{"tracking", "scheduling", "notification"}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, name := range names {
		src, ok := schemas[name]
		if !ok {
			return fmt.Errorf("unknown service %q", name)
		}
		m, err := postgres.NewMigrator(ctx, dsn, name, src)
		if err != nil {
			return err
		}
		if *down {
			err = m.Down()
		} else {
			err = m.Up()
		}
		v, dirty, verr := m.Version()
		if err := errors.Join(err, verr, m.Close()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("%-13s version %d dirty=%v\n", name, v, dirty)
	}
	return nil
}
