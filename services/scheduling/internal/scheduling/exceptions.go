package scheduling

import (
	"context"
	"log/slog"

	"github.com/scodalabs/scoda/pkg/app"
)

// mountExceptions registers the exception routes.
func mountExceptions(route router, s *Scheduler) {}

// Sweeper closes departures at their cut-off and raises the exceptions time alone reveals
// (missed cut-offs, border dwells), every cfg.SweepInterval.
func (s *Scheduler) Sweeper(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
}
