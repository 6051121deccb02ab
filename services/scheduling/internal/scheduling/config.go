package scheduling

import (
	"errors"
	"time"

	"github.com/scodalabs/scoda/pkg/app"
)

// Config is the scheduling service's own configuration (the runtime's is app.Config).
type Config struct {
	ETAThreshold         time.Duration // SCHEDULING_ETA_THRESHOLD: an ETA moving by more than this is announced (30m)
	LateThreshold        time.Duration // SCHEDULING_LATE_THRESHOLD: a departure later than its first plan by more raises an exception (2h)
	BorderDwellThreshold time.Duration // SCHEDULING_BORDER_DWELL_THRESHOLD: a train at a border stop for longer raises an exception (24h)
	SweepInterval        time.Duration // SCHEDULING_SWEEP_INTERVAL: how often cut-offs and border dwells are checked (30s)
	TimetableHorizon     time.Duration // SCHEDULING_TIMETABLE_HORIZON: how far ahead timetables are turned into departures (28 days)
}

// DefaultConfig is the configuration with every variable unset.
func DefaultConfig() Config {
	return Config{ETAThreshold: 30 * time.Minute, LateThreshold: 2 * time.Hour, BorderDwellThreshold: 24 * time.Hour,
		SweepInterval: 30 * time.Second, TimetableHorizon: 28 * 24 * time.Hour}
}

// LoadConfig reads the scheduling service's variables.
func LoadConfig() (Config, error) {
	c := DefaultConfig()
	var errs [5]error
	c.ETAThreshold, errs[0] = app.Duration("SCHEDULING_ETA_THRESHOLD", c.ETAThreshold)
	c.LateThreshold, errs[1] = app.Duration("SCHEDULING_LATE_THRESHOLD", c.LateThreshold)
	c.BorderDwellThreshold, errs[2] = app.Duration("SCHEDULING_BORDER_DWELL_THRESHOLD", c.BorderDwellThreshold)
	c.SweepInterval, errs[3] = app.Duration("SCHEDULING_SWEEP_INTERVAL", c.SweepInterval)
	c.TimetableHorizon, errs[4] = app.Duration("SCHEDULING_TIMETABLE_HORIZON", c.TimetableHorizon)
	return c, errors.Join(errs[:]...)
}
