package main

import "time"

// clock is the simulated time. It starts lag before the real time it was made at and runs
// speed times faster, so a run begins with days of history and catches up with the present.
// It never runs more than lead ahead of real time: tracking refuses events more than
// TRACKING_FUTURE_HORIZON (24 h) in the future, so once the simulated time reaches real time +
// lead it follows real time (speed 1) at that distance.
type clock struct {
	realStart, simStart time.Time
	speed               float64
	lead                time.Duration
	now                 func() time.Time // real time
}

func newClock(now func() time.Time, speed float64, lag, lead time.Duration) *clock {
	r := now()
	return &clock{realStart: r, simStart: r.Add(-lag), speed: speed, lead: lead, now: now}
}

// Now is the simulated time.
func (c *clock) Now() time.Time { return c.at(c.now()) }

func (c *clock) at(real time.Time) time.Time {
	s := c.simStart.Add(time.Duration(float64(real.Sub(c.realStart)) * c.speed))
	if limit := real.Add(c.lead); s.After(limit) {
		return limit
	}
	return s
}

// Until is the real time until the simulated clock shows t (0 when it already has).
func (c *clock) Until(t time.Time) time.Duration {
	r := c.now()
	if !c.at(r).Before(t) {
		return 0
	}
	accelerated := c.realStart.Add(time.Duration(float64(t.Sub(c.simStart)) / c.speed))
	capped := t.Add(-c.lead)
	if capped.After(accelerated) {
		accelerated = capped
	}
	return accelerated.Sub(r)
}
