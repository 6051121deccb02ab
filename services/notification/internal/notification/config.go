package notification

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scodalabs/scoda/pkg/app"
)

// Config is the notification service's own configuration (the runtime's is app.Config).
type Config struct {
	AllowHTTP     bool            // NOTIFICATION_ALLOW_HTTP: accept http:// callback URLs (local development only; default false, true when SCODA_ENV is local or test)
	AllowedNets   []netip.Prefix  // NOTIFICATION_ALLOWED_NETS: comma-separated prefixes exempt from the private-address guard (e.g. 127.0.0.1/32 for a local receiver)
	Timeout       time.Duration   // NOTIFICATION_TIMEOUT: one delivery attempt's limit (15s)
	RetrySchedule []time.Duration // NOTIFICATION_RETRY_SCHEDULE: waits before attempts 2, 3, ... (5s,5m,30m,2h,5h,10h,10h)
	RotationGrace time.Duration   // NOTIFICATION_ROTATION_GRACE: how long the previous secret still signs after a rotation (24h)
	DisableAfter  time.Duration   // NOTIFICATION_DISABLE_AFTER: an endpoint failing every delivery for this long is disabled (72h)
	Workers       int             // NOTIFICATION_WORKERS: deliveries in flight at once, and idle connections kept per receiver host (64)
	PollInterval  time.Duration   // NOTIFICATION_POLL_INTERVAL: how often due retries are looked for (1s)
	ResponseLimit int64           // bytes of a receiver's answer kept for its owner (4096)
}

// DefaultRetrySchedule is about a day of retries: now, then after 5 s, 5 min, 30 min, 2 h, 5 h,
// 10 h and 10 h (jittered), 8 attempts in all.
var DefaultRetrySchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// LoadConfig reads the notification service's variables; local is whether this is a
// development or test environment (app.Config.Local).
func LoadConfig(local bool) (Config, error) {
	c := Config{AllowHTTP: local, Workers: 64, ResponseLimit: 4096, RetrySchedule: DefaultRetrySchedule}
	var errs []error
	var err error
	if v := os.Getenv("NOTIFICATION_ALLOW_HTTP"); v != "" {
		c.AllowHTTP = v == "true" || v == "1"
	}
	if v := os.Getenv("NOTIFICATION_ALLOWED_NETS"); v != "" {
		for _, s := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("NOTIFICATION_ALLOWED_NETS: %w", err))
				continue
			}
			c.AllowedNets = append(c.AllowedNets, p)
		}
	}
	if c.Timeout, err = app.Duration("NOTIFICATION_TIMEOUT", 15*time.Second); err != nil {
		errs = append(errs, err)
	}
	if c.RotationGrace, err = app.Duration("NOTIFICATION_ROTATION_GRACE", 24*time.Hour); err != nil {
		errs = append(errs, err)
	}
	if c.DisableAfter, err = app.Duration("NOTIFICATION_DISABLE_AFTER", 72*time.Hour); err != nil {
		errs = append(errs, err)
	}
	if c.PollInterval, err = app.Duration("NOTIFICATION_POLL_INTERVAL", time.Second); err != nil {
		errs = append(errs, err)
	}
	if v := os.Getenv("NOTIFICATION_WORKERS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1024 {
			errs = append(errs, fmt.Errorf("NOTIFICATION_WORKERS: %q is not a number from 1 to 1024", v))
		} else {
			c.Workers = n
		}
	}
	if v := os.Getenv("NOTIFICATION_RETRY_SCHEDULE"); v != "" {
		c.RetrySchedule = nil
		for _, s := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d < 0 {
				errs = append(errs, fmt.Errorf("NOTIFICATION_RETRY_SCHEDULE: %q is not a duration", s))
				continue
			}
			c.RetrySchedule = append(c.RetrySchedule, d)
		}
	}
	return c, errors.Join(errs...)
}
