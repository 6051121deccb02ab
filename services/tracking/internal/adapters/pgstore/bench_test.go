package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// BenchmarkRecord stores history as the projector does: batches of 1,000 events with their
// wire bytes, nine in ten of them GNSS fixes and the rest milestones, over 20,000 containers,
// happening now (so in this month's partition). It reports the time and the WAL written per
// event.
func BenchmarkRecord(b *testing.B) {
	s, pool := newStore(b)
	ctx := context.Background()
	now := time.Now()
	if err := s.EnsurePartitions(ctx, now, 1, 1); err != nil {
		b.Fatal(err)
	}
	const batch, containers = 1000, 20_000
	boxes := make([]string, containers)
	for i := range boxes {
		boxes[i] = container(b, i)
	}
	var start string
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&start); err != nil {
		b.Fatal(err)
	}
	evs := make([]*trackingv1.ContainerEvent, batch)
	payloads := make([][]byte, batch)
	n := 0
	for b.Loop() {
		for i := range evs {
			c := boxes[(n*7919)%containers]
			at := now.Add(time.Duration(n) * time.Millisecond)
			if n%10 == 0 {
				evs[i] = equipment(c, trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD, at, "CNJZH", bkg("BKG-"+c))
			} else {
				evs[i] = position(c, at, 43.1+float64(n%1000)/1e4, 76.9)
			}
			p, err := events.Marshal(evs[i])
			if err != nil {
				b.Fatal(err)
			}
			payloads[i] = p
			n++
		}
		if _, err := s.Record(ctx, evs, payloads); err != nil {
			b.Fatal(err)
		}
	}
	var wal float64
	if err := pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)`, start).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	b.ReportMetric(wal/float64(n), "WAL-B/event")
}
