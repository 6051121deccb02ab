package main

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// The rhythm of a train's life, in simulated time before its departure.
const (
	bookAhead    = 36 * time.Hour // the departure is planned and booked
	dispatchAt   = 30 * time.Hour // a dispatcher may delay or cancel it
	sealAt       = 24 * time.Hour // its containers' events are planned (gate-ins start)
	cutoffBefore = 6 * time.Hour  // booking cut-off
	maxBatch     = 1000           // events per POST /v1/events
)

var (
	tenants = []string{"acme", "globex", "initech"}
	owners  = []string{"SCD", "HAI", "KZT", "CSQ", "QDL"}
)

// train is one departure the simulator runs.
type train struct {
	route     corridor.Route
	number    string
	dep       time.Time // simulated departure from the origin
	depID     string    // the departure in scheduling
	boxes     []box
	bookings  map[string]int // booking id -> index in boxes
	delay     time.Duration  // a dispatcher will delay it by this much
	cancel    bool           // a dispatcher will cancel it
	longDwell bool           // it will wait more than a day at the first border
	acted     bool
	sealed    bool
}

// simulator drives the services through their APIs like carriers, terminals, trackers,
// dispatchers and shippers of the corridor.
type simulator struct {
	cfg     config
	log     *slog.Logger
	api     *api
	clock   *clock
	net     *corridor.Network
	routes  []corridor.Route
	rng     *rand.Rand
	trains  []*train // not sealed yet
	queue   eventQueue
	nextDay time.Time
	seq     int
	sent    int
	booked  int
	first   string // the first container booked for cfg.Tenant
}

func newSimulator(cfg config, log *slog.Logger, a *api, c *clock) (*simulator, error) {
	n, err := corridor.Load()
	if err != nil {
		return nil, err
	}
	s := &simulator{cfg: cfg, log: log, api: a, clock: c, net: n, routes: n.Routes(),
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5c0da))}
	s.nextDay = c.Now().UTC().Truncate(24 * time.Hour)
	return s, nil
}

// run steps the simulation every tick until ctx ends.
func (s *simulator) run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	report := time.Now()
	for {
		if err := s.step(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("step failed; retrying next tick", "error", err)
		}
		if time.Since(report) > 30*time.Second {
			report = time.Now()
			s.log.Info("progress", "simTime", s.clock.Now().UTC().Format(time.RFC3339), "eventsSent", s.sent,
				"booked", s.booked, "eventsQueued", s.queue.Len())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// step does what is due at the simulated now: plan and book trains, let dispatchers act, plan
// the events of trains about to run, and send the events whose time has come.
func (s *simulator) step(ctx context.Context) error {
	now := s.clock.Now()
	for !s.nextDay.Add(-bookAhead).After(now) {
		day := s.nextDay
		s.nextDay = s.nextDay.Add(24 * time.Hour)
		for i := range s.cfg.TrainsPerDay {
			dep := day.Add(time.Duration((float64(i) + s.rng.Float64()) / float64(s.cfg.TrainsPerDay) * float64(24*time.Hour))).Truncate(time.Minute)
			tr := s.newTrain(dep)
			if dep.Before(now.Add(time.Hour)) {
				continue // the simulation started after it would have been planned
			}
			if err := s.plan(ctx, tr); err != nil {
				if ctx.Err() != nil {
					return err
				}
				s.log.Warn("could not plan departure", "train", tr.number, "route", tr.route.Code, "error", err)
				continue
			}
			s.trains = append(s.trains, tr)
		}
	}
	keep := s.trains[:0]
	for _, tr := range s.trains {
		if !tr.acted && !tr.dep.Add(-dispatchAt).After(now) {
			tr.acted = true
			s.dispatch(ctx, tr)
		}
		if !tr.cancel && !tr.dep.Add(-sealAt).After(now) {
			s.seal(tr)
		}
		if !tr.sealed && !tr.cancel {
			keep = append(keep, tr)
		}
	}
	s.trains = keep
	return s.flush(ctx, now)
}

func (s *simulator) newTrain(dep time.Time) *train {
	s.seq++
	tr := &train{route: s.routes[s.rng.IntN(len(s.routes))], number: fmt.Sprintf("X%d", 8000+s.rng.IntN(1000)), dep: dep,
		bookings: map[string]int{}}
	switch p := s.rng.Float64(); {
	case p < 0.05 && s.seq > 3:
		tr.cancel = true
	case p < 0.15:
		tr.delay = hours(s.rng, 2, 8)
	}
	tr.longDwell = s.rng.Float64() < 0.15
	for range s.cfg.ContainersPerTrain {
		b := box{Tenant: tenants[s.rng.IntN(len(tenants))], ISOCode: "45G1", WeightKg: 12000 + s.rng.IntN(12000)}
		if s.rng.IntN(3) == 0 {
			b.ISOCode, b.WeightKg = "22G1", 8000+s.rng.IntN(13000)
		}
		no, _ := iso6346.Make(owners[s.rng.IntN(len(owners))], iso6346.CategoryFreight, s.rng.IntN(1_000_000))
		b.No = string(no)
		b.LateGateIn = s.rng.Float64() < 0.05
		tr.boxes = append(tr.boxes, b)
	}
	return tr
}

// plan creates tr's departure and books its containers. A departure must be bookable now, in
// real time (scheduling refuses bookings after the cut-off by its own clock): while the
// simulated clock is still behind real time, the departure is planned a few hours ahead of real
// time and the train then leaves "early" by simulated time.
func (s *simulator) plan(ctx context.Context, tr *train) error {
	planned := tr.dep
	if real := time.Now(); planned.Add(-cutoffBefore).Before(real.Add(30 * time.Minute)) {
		planned = real.Add(cutoffBefore + time.Hour).Truncate(time.Minute)
	}
	d, err := s.api.createDeparture(ctx, tr.route.Code, tr.number, planned, planned.Add(-cutoffBefore))
	if err != nil {
		return err
	}
	tr.depID = d.ID
	from, to := string(tr.route.Stops[0]), string(tr.route.Stops[len(tr.route.Stops)-1])
	var boxes []box
	for _, b := range tr.boxes {
		bk, err := s.api.book(ctx, d.ID, b, from, to)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.log.Warn("booking refused", "container", b.No, "train", tr.number, "error", err)
			continue
		}
		tr.bookings[bk.ID] = len(boxes)
		boxes = append(boxes, b)
		s.booked++
		if s.first == "" && b.Tenant == s.cfg.Tenant {
			s.first = b.No
			s.writeBooked(b.No, d.ID)
		}
	}
	tr.boxes = boxes
	s.log.Info("departure planned and booked", "train", tr.number, "route", tr.route.Code, "departureId", d.ID,
		"departs", tr.dep.UTC().Format(time.RFC3339), "containers", len(boxes))
	return nil
}

// writeBooked tells scripts/run.sh a container and departure to show in its curl examples.
func (s *simulator) writeBooked(container, departure string) {
	if s.cfg.BookedFile == "" {
		return
	}
	if err := os.WriteFile(s.cfg.BookedFile, []byte(container+" "+departure+"\n"), 0o644); err != nil {
		s.log.Warn("could not write the booked file", "error", err)
	}
}

// dispatch lets a dispatcher delay or cancel tr, with If-Match on the departure's ETag.
func (s *simulator) dispatch(ctx context.Context, tr *train) {
	switch {
	case tr.cancel:
		var c cancellation
		if err := s.api.change(ctx, tr.depID, "cancel", map[string]any{"reason": "locomotive shortage (simulated)"}, &c); err != nil {
			s.log.Warn("cancel failed; the train runs", "train", tr.number, "error", err)
			tr.cancel = false
			return
		}
		moved := 0
		for _, m := range c.Moved {
			i, ok := tr.bookings[m.BookingID]
			if !ok {
				continue
			}
			for _, other := range s.trains {
				if other.depID == m.ToDepartureID && !other.sealed && !other.cancel {
					other.bookings[m.BookingID] = len(other.boxes)
					other.boxes = append(other.boxes, tr.boxes[i])
					moved++
				}
			}
		}
		s.log.Info("dispatcher cancelled a departure", "train", tr.number, "departureId", tr.depID,
			"bookingsMoved", len(c.Moved), "waitlisted", len(c.Waitlisted), "followed", moved)
	case tr.delay > 0:
		by := fmt.Sprintf("%dm", int(tr.delay.Minutes()))
		if err := s.api.change(ctx, tr.depID, "delay", map[string]any{"by": by, "reason": "late inbound wagons (simulated)"}, nil); err != nil {
			s.log.Warn("delay failed; the train leaves on time", "train", tr.number, "error", err)
			return
		}
		tr.dep = tr.dep.Add(tr.delay)
		s.log.Info("dispatcher delayed a departure", "train", tr.number, "departureId", tr.depID, "by", by)
	}
}

// seal plans the run of tr and every event of its containers.
func (s *simulator) seal(tr *train) {
	tr.sealed = true
	if len(tr.boxes) == 0 {
		return
	}
	run := planTrip(s.net, tr.route, tr.number, tr.dep, s.rng, tr.longDwell)
	fixes := run.fixes(s.cfg.FixEvery, s.rng)
	for i, b := range tr.boxes {
		for _, e := range containerPlan(run, b, fixes, tr.dep.Add(-cutoffBefore), s.rng) {
			q := queued{ev: e}
			if i == 0 && e.Code != "POSITION" {
				q.notable = true
			}
			if b.LateGateIn && e.Code == "GTIN" {
				q.late = true
			}
			heap.Push(&s.queue, q)
		}
	}
	s.log.Info("train formed", "train", tr.number, "route", tr.route.Code, "containers", len(tr.boxes),
		"departs", run.Stops[0].Depart.UTC().Format(time.RFC3339), "arrives", run.Arrival().UTC().Format(time.RFC3339),
		"positions", len(fixes)*len(tr.boxes))
}

// flush sends every queued event due by now, in time order, in batches.
func (s *simulator) flush(ctx context.Context, now time.Time) error {
	for s.queue.Len() > 0 && !s.queue[0].ev.At.After(now) {
		var batch []queued
		for s.queue.Len() > 0 && !s.queue[0].ev.At.After(now) && len(batch) < maxBatch {
			batch = append(batch, heap.Pop(&s.queue).(queued))
		}
		wire := make([]map[string]any, len(batch))
		for i, q := range batch {
			wire[i] = q.ev.wire(uuid.NewString())
		}
		n, err := s.api.postEvents(ctx, wire)
		if err != nil {
			var se *stackapi.StatusError
			if errors.As(err, &se) && se.Status/100 == 4 && se.Status != 429 {
				return fmt.Errorf("tracking refused a batch of %d events (dropped): %w", len(batch), err)
			}
			for _, q := range batch { // a transient fault: try again next tick
				heap.Push(&s.queue, q)
			}
			return err
		}
		s.sent += n
		for _, q := range batch {
			s.notable(q)
		}
	}
	return nil
}

// notable logs the milestones of each train's first container.
func (s *simulator) notable(q queued) {
	e := q.ev
	if q.late {
		s.log.Info("late gate-in after the cut-off", "container", e.Container, "train", e.Train, "at", e.At.UTC().Format(time.RFC3339))
	}
	if !q.notable {
		return
	}
	at := e.At.UTC().Format(time.RFC3339)
	switch {
	case e.Code == "DEPA" && e.Stop == 0:
		s.log.Info("train departed", "train", e.Train, "from", e.Location, "at", at, "example", e.Container)
	case e.Code == "ARRI" && e.Crossed:
		s.log.Info("train crossed a border", "train", e.Train, "into", e.Country, "at", at, "station", e.Location)
	case e.Code == "ARRI":
		s.log.Info("train arrived", "train", e.Train, "station", e.Location, "at", at)
	case e.Code == "LOAD" && e.Stop > 0:
		s.log.Info("reloaded at the break of gauge", "train", e.Train, "station", e.Location, "at", at)
	case e.Code == "GTOT":
		s.log.Info("container gated out at destination", "container", e.Container, "station", e.Location, "at", at)
	}
}

// queued is an event waiting for its time.
type queued struct {
	ev      plannedEvent
	notable bool // log it
	late    bool // a late gate-in
}

// eventQueue is a min-heap of events by time.
type eventQueue []queued

func (q eventQueue) Len() int           { return len(q) }
func (q eventQueue) Less(i, j int) bool { return q[i].ev.At.Before(q[j].ev.At) }
func (q eventQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)        { *q = append(*q, x.(queued)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
