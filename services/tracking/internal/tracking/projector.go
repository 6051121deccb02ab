package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
	"github.com/scodalabs/scoda/services/tracking/internal/domain"
	"github.com/scodalabs/scoda/services/tracking/internal/geofence"
)

// Project handles a batch from the log: history first (one transaction, new ids only), then
// the live cache (one pipeline; only newer state lands), then geofence milestones derived from
// positions that moved a container, published like any other event. Only then are the
// messages acked, so a crash anywhere replays the batch, and every step is idempotent.
// Writing history before the cache keeps the cache from ever being ahead of the store it is
// rebuilt from.
func (s *Tracker) Project(ctx context.Context, msgs []*natsx.Message) ([]error, error) {
	errs := make([]error, len(msgs))
	evs := make([]*trackingv1.ContainerEvent, 0, len(msgs))
	payloads := make([][]byte, 0, len(msgs))
	traceOf := make(map[*trackingv1.ContainerEvent]context.Context, len(msgs)) // each event's own trace
	for i, m := range msgs {
		ev := new(trackingv1.ContainerEvent)
		if err := events.Unmarshal(m.Data, ev); err != nil {
			errs[i] = natsx.Permanent(err)
			continue
		}
		if events.EventID(ev) == "" || ev.GetEnvelope().GetOccurredAt() == nil {
			errs[i] = natsx.Permanent(fmt.Errorf("event on %s lacks an id or a time", m.Subject))
			continue
		}
		evs = append(evs, ev)
		payloads = append(payloads, m.Data)
		traceOf[ev] = m.SpanContext(ctx)
	}
	if len(evs) == 0 {
		return errs, nil
	}
	fresh, err := s.history.Record(ctx, evs, payloads)
	if err != nil {
		return nil, err
	}
	results, updated, err := s.applyLive(ctx, evs)
	if err != nil {
		return nil, err
	}
	if err := s.deriveMilestones(ctx, updated, results, traceOf); err != nil {
		return nil, err
	}
	n := 0
	for _, f := range fresh {
		if f {
			n++
		}
	}
	s.metrics.projected.Add(ctx, int64(n))
	return errs, nil
}

// applyLive applies the events that concern a container to the live cache. It returns the
// results and, index for index, the events they belong to.
func (s *Tracker) applyLive(ctx context.Context, evs []*trackingv1.ContainerEvent) ([]redislive.Result, []*trackingv1.ContainerEvent, error) {
	ups := make([]redislive.Update, 0, len(evs))
	of := make([]*trackingv1.ContainerEvent, 0, len(evs))
	for _, ev := range evs {
		if ev.GetEquipmentReference() == "" {
			continue // a train's own fix: kept in history; containers follow their own fixes
		}
		ups = append(ups, liveUpdate(ev))
		of = append(of, ev)
	}
	if len(ups) == 0 {
		return nil, nil, nil
	}
	res, err := s.live.Apply(ctx, ups)
	if err != nil {
		return nil, nil, err
	}
	return res, of, nil
}

// liveUpdate is an event's effect on the live cache.
func liveUpdate(ev *trackingv1.ContainerEvent) redislive.Update {
	env := ev.GetEnvelope()
	f := domain.FactsOf(ev)
	u := redislive.Update{
		Container:  ev.GetEquipmentReference(),
		EventID:    env.GetEventId(),
		At:         env.GetOccurredAt().AsTime(),
		RecordedAt: env.GetRecordedAt().AsTime(),
		EventType:  f.EventType,
		Location:   f.Location,
		Mode:       f.Mode,
		Vehicle:    f.Vehicle,
		References: f.References,
	}
	if p := ev.GetPosition(); p != nil {
		u.IsPosition = true
		u.Lat, u.Lon = p.GetLatitude(), p.GetLongitude()
		u.SpeedKmh, u.HeadingDeg = p.SpeedKmh, p.HeadingDeg
	} else {
		u.Milestone = f.TypeCode
	}
	return u
}

// deriveMilestones publishes the geofence transitions of every position that moved its
// container from a previous fix, each in the trace of the fix it comes from (traceOf; the
// batch's ctx for an event it lacks), so a border crossing is found in the carrier's trace.
// Derived ids are deterministic, so a replayed batch publishes duplicates the stream drops.
func (s *Tracker) deriveMilestones(ctx context.Context, evs []*trackingv1.ContainerEvent, results []redislive.Result,
	traceOf map[*trackingv1.ContainerEvent]context.Context) error {
	if s.fences == nil {
		return nil
	}
	var derived []*trackingv1.ContainerEvent
	var from []context.Context // derived[i] comes from the fix whose trace is from[i]
	now := s.clock()
	for i, r := range results {
		ev := evs[i]
		p := ev.GetPosition()
		if p == nil || !r.HadPrev || !(r.Applied || r.Replayed) {
			continue
		}
		prev := geofence.Fix{Point: geo.Point{Lat: r.PrevLat, Lon: r.PrevLon}, At: r.PrevAt, EventID: r.PrevEventID}
		next := geofence.Fix{Point: geo.Point{Lat: p.GetLatitude(), Lon: p.GetLongitude()}, At: ev.GetEnvelope().GetOccurredAt().AsTime(), EventID: events.EventID(ev)}
		if ts := s.fences.Transitions(prev, next); len(ts) > 0 {
			d := geofence.Derive(ev.GetEquipmentReference(), ev, ts, now)
			fctx, ok := traceOf[ev]
			if !ok {
				fctx = ctx
			}
			for range d {
				from = append(from, fctx)
			}
			derived = append(derived, d...)
		}
	}
	if len(derived) == 0 {
		return nil
	}
	// One publish per source fix (crossings are rare: most batches derive none).
	for start := 0; start < len(derived); {
		end := start + 1
		for end < len(derived) && from[end] == from[start] {
			end++
		}
		if _, err := s.publish(from[start], derived[start:end]); err != nil {
			return fmt.Errorf("publish derived milestones: %w", err)
		}
		start = end
	}
	s.metrics.derived.Add(ctx, int64(len(derived)))
	return nil
}

// IngestMessage handles an event (or a batch) that a gateway published on
// tracking.v1.ingest.<source>: the same validation as HTTP; valid events go to the log, an
// invalid message goes to tracking.v1.deadletter.<source> with the reasons, and is counted.
func (s *Tracker) IngestMessage(ctx context.Context, m *natsx.Message) error {
	source := strings.TrimPrefix(m.Subject, events.PrefixTracking+"ingest.")
	_, err := s.Ingest(ctx, source, commonv1.SourceType_SOURCE_TYPE_GATEWAY, m.Data)
	if err == nil {
		return nil
	}
	var verr *apperr.ValidationError
	if !errors.As(err, &verr) {
		return err // transient: redelivered
	}
	reasons, _ := json.Marshal(verr.Fields) // field errors always marshal
	s.metrics.rejected.Add(ctx, 1)
	subject, derr := events.DeadLetterSubject(source)
	if derr != nil {
		return natsx.Permanent(derr)
	}
	hdr := nats.Header{}
	hdr.Set("Scoda-Reject-Reason", truncate(string(reasons), 4000))
	hdr.Set("Scoda-Original-Subject", m.Subject)
	hdr.Set(events.HeaderContentType, "application/json")
	id := fmt.Sprintf("deadletter-%s-%d", m.Stream, m.StreamSeq)
	if _, perr := s.pub.PublishBatch(ctx, []natsx.Msg{{Subject: subject, MsgID: id, Data: m.Data, Header: hdr}}); perr != nil {
		return perr
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
