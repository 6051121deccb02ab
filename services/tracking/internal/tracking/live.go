package tracking

import (
	"context"
	"fmt"
	"time"

	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/services/tracking/internal/adapters/redislive"
)

// Rebuild replays the newest position and milestone of every container seen within the
// rebuild window from the store of record into the live cache, then marks the cache rebuilt.
// The cache only takes newer state, so a rebuild running beside the projector never moves a
// container backwards.
func (s *Tracker) Rebuild(ctx context.Context) (containers int, err error) {
	since := s.clock().Add(-s.cfg.RebuildWindow)
	err = s.history.LatestSince(ctx, since, 1000, func(batch []*trackingv1.ContainerEvent) error {
		ups := make([]redislive.Update, 0, len(batch))
		for _, ev := range batch {
			ups = append(ups, liveUpdate(ev))
		}
		if _, err := s.live.Apply(ctx, ups); err != nil {
			return err
		}
		containers += len(batch)
		return nil
	})
	if err != nil {
		return containers, fmt.Errorf("rebuild live cache: %w", err)
	}
	if err := s.live.MarkRebuilt(ctx); err != nil {
		return containers, err
	}
	s.metrics.rebuilds.Add(ctx, 1)
	return containers, nil
}

// WatchCache rebuilds the live cache whenever it is found empty (Redis flushed or restarted),
// checking every RebuildCheck, without a restart of the service. Reads that miss in the
// meantime fall back to the store of record (readThrough).
func (s *Tracker) WatchCache(ctx context.Context, onRebuild func(containers int, took time.Duration, err error)) error {
	t := time.NewTicker(s.cfg.RebuildCheck)
	defer t.Stop()
	for {
		ok, err := s.live.Sentinel(ctx)
		if err == nil && !ok {
			start := time.Now()
			n, err := s.Rebuild(ctx)
			onRebuild(n, time.Since(start), err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// readThrough loads a container missing from the cache from the store of record, applies it
// (newer-only, like any update), and reports whether the container has any state at all.
func (s *Tracker) readThrough(ctx context.Context, container string) (bool, error) {
	pos, ms, err := s.history.Latest(ctx, container)
	if err != nil {
		return false, err
	}
	var ups []redislive.Update
	for _, ev := range []*trackingv1.ContainerEvent{pos, ms} {
		if ev != nil {
			ups = append(ups, liveUpdate(ev))
		}
	}
	if len(ups) == 0 {
		return false, nil
	}
	_, err = s.live.Apply(ctx, ups)
	return err == nil, err
}
