// Command notification runs the SCODA Track notification service. Configuration comes from the environment
// (see README.md); SIGINT or SIGTERM drains consumers and in-flight requests, then exits.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "notification:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	return app.Run(ctx, notification.Service(version))
}
