package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// The raw limits of this machine, measured in the same run as the service's figures: the
// fastest the stores take writes shaped like ours, with none of our work (HTTP, validation,
// encoding, scripts, indexes beyond a primary key). Each of our figures is printed as a ratio to
// them.
type rawLimits struct {
	JetStreamMsgsPerSec float64 `json:"jetStreamAsyncPublishMsgsPerSec"`
	RedisUpdatesPerSec  float64 `json:"redisPipelinedHsetGeoaddPerSec"`
	PostgresRowsPerSec  float64 `json:"postgresCopyRowsPerSec"`
}

// rawJetStream measures async publishing of n ~300-byte messages to a fresh R1 file stream,
// the same storage as TRACKING, then deletes the stream.
func rawJetStream(ctx context.Context, url string, n int) (float64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	name := "BENCH_RAW_" + uuid.NewString()[:8]
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench." + name + ".>"}, Storage: jetstream.FileStorage}); err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	payload := bytes.Repeat([]byte("x"), 300)
	start := time.Now()
	for i := range n {
		if _, err := js.PublishAsync("bench."+name+".c", payload, jetstream.WithMsgID(strconv.Itoa(i))); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return 0, errors.New("raw publish did not complete")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rawRedis measures n live-state-like updates (HSET of six fields + GEOADD, one pair per
// container) in pipelines of 1,000 from 4 connections — the projector's shape without its Lua
// script — under prefix, and deletes every key it wrote.
func rawRedis(ctx context.Context, rdb *redis.Client, prefix string, n int) (float64, error) {
	const workers, pipe = 4, 1000
	geoKey := prefix + "geo"
	defer func() {
		c := context.Background()
		for i := 0; i < n; i += pipe {
			keys := make([]string, 0, pipe)
			for j := i; j < min(i+pipe, n); j++ {
				keys = append(keys, prefix+"c:{"+containerNo(j)+"}")
			}
			rdb.Unlink(c, keys...)
		}
		rdb.Unlink(c, geoKey)
	}()
	work := make(chan int)
	errs := make(chan error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for from := range work {
				p := rdb.Pipeline()
				for i := from; i < min(from+pipe, n); i++ {
					no := containerNo(i)
					lat, lon := 40+float64(i%800)/100, 70+float64(i%4500)/100
					p.HSet(ctx, prefix+"c:{"+no+"}", "lat", lat, "lon", lon, "at", "2026-11-27T08:00:00.000Z",
						"id", "0b7d4c8e-5f0e-4a43-9d0c-7d1f1a2b3c4d", "mode", "RAIL", "vehicle", "X8001")
					p.GeoAdd(ctx, geoKey, &redis.GeoLocation{Name: no, Longitude: lon, Latitude: lat})
				}
				if _, err := p.Exec(ctx); err != nil {
					errs <- err
					for range work { // drain, so the feeder does not block
					}
					return
				}
			}
		})
	}
	for i := 0; i < n; i += pipe {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rawPostgres measures n ~300-byte rows written with COPY, 1,000 rows per transaction from 4
// connections (the projector's commit pattern), into a table with a uuid primary key in its own
// schema, which is dropped afterwards.
func rawPostgres(ctx context.Context, dbURL, schema string, n int) (float64, error) {
	const workers, per = 4, 1000
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer admin.Close(context.Background())
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+ident+"; CREATE TABLE "+ident+`.raw_events (
		event_id uuid PRIMARY KEY, equipment_reference text NOT NULL, occurred_at timestamptz NOT NULL, payload bytea NOT NULL)`); err != nil {
		return 0, err
	}
	defer func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+ident+" CASCADE") }()
	payload := bytes.Repeat([]byte("p"), 240) // + 16 (uuid) + 11 (container) + 8 (time) + tuple header ≈ 300 bytes
	work := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(context.Background())
			for from := range work {
				rows := make([][]any, 0, per)
				at := time.Now()
				for i := from; i < min(from+per, n); i++ {
					rows = append(rows, []any{uuid.New(), containerNo(i % 20000), at, payload})
				}
				err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "raw_events"},
						[]string{"event_id", "equipment_reference", "occurred_at", "payload"}, pgx.CopyFromRows(rows))
					return err
				})
				if err != nil {
					errs <- err
					for range work { // drain, so the feeder does not block
					}
					return
				}
			}
		})
	}
	for i := 0; i < n; i += per {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("raw postgres: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
