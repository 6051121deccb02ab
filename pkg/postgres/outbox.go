package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/scodalabs/scoda/pkg/natsx"
)

// OutboxDDL creates the outbox table in a service's schema; services put it in a migration.
// A state change and the events announcing it are written in one transaction ([Enqueue]) and a
// [Relay] publishes them afterwards, so a crash can delay an event but never lose it.
const OutboxDDL = `CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    subject    text        NOT NULL,
    msg_id     text        NOT NULL UNIQUE,
    headers    jsonb,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts   int         NOT NULL DEFAULT 0,
    last_error text
);`

// maxChannelLen is the longest channel name PostgreSQL accepts (NAMEDATALEN - 1).
const maxChannelLen = 63

// notifyChannel is the default channel, computed by the database so that Enqueue and the
// relay agree without being told: outbox_<schema of the outbox table>, cut to 63 bytes.
const notifyChannel = `left('outbox_' || current_schema(), 63)`

// OutboxMessage is one event to publish after the enqueueing transaction commits. MsgID becomes
// the Nats-Msg-Id (the event id), so a publish repeated after a crash is deduplicated.
type OutboxMessage struct {
	Subject string
	MsgID   string
	Header  nats.Header
	Data    []byte
}

// Enqueue writes msgs to the outbox in the caller's transaction tx and notifies the relay
// (delivered only when tx commits). The trace context of ctx is added to each message's stored
// headers (msgs are not modified), so the relay's publish continues the request's trace.
// A message whose id is already in the outbox is skipped.
func Enqueue(ctx context.Context, tx pgx.Tx, msgs ...OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	subjects := make([]string, len(msgs))
	ids := make([]string, len(msgs))
	headers := make([]string, len(msgs))
	payloads := make([][]byte, len(msgs))
	for i, m := range msgs {
		if m.Subject == "" {
			return fmt.Errorf("postgres: outbox message %d has no subject", i)
		}
		if m.MsgID == "" {
			return fmt.Errorf("postgres: outbox message %d (%s): %w", i, m.Subject, natsx.ErrNoMsgID)
		}
		h := make(nats.Header, len(m.Header)+2)
		for k, v := range m.Header {
			h[k] = append([]string(nil), v...)
		}
		natsx.Inject(ctx, h)
		js, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("postgres: outbox headers of %s: %w", m.MsgID, err)
		}
		subjects[i], ids[i], headers[i] = m.Subject, m.MsgID, string(js)
		payloads[i] = m.Data
		if payloads[i] == nil {
			payloads[i] = []byte{}
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (subject, msg_id, headers, payload)
SELECT s, m, h::jsonb, p
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS t(s, m, h, p, n)
ORDER BY n
ON CONFLICT (msg_id) DO NOTHING`, subjects, ids, headers, payloads)
	if err != nil {
		return fmt.Errorf("postgres: outbox insert: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify(`+notifyChannel+`, '')`); err != nil {
		return fmt.Errorf("postgres: outbox notify: %w", err)
	}
	return nil
}

// RelayOptions configures a [Relay]. Zero values take the defaults.
type RelayOptions struct {
	// Batch is the most rows claimed and published at once (default 500).
	Batch int
	// Interval is how often the relay polls when no notification arrives (default 1s), so a
	// missed notification only delays.
	Interval time.Duration
	// Channel is the channel to LISTEN on. Default: outbox_<current schema> (cut to 63 bytes),
	// the channel Enqueue notifies; another name is only useful to a service that notifies
	// it itself, otherwise the relay falls back to polling.
	Channel string
	// Logger receives publish failures and listener errors (default slog.Default()).
	Logger *slog.Logger
}

const (
	// batchTimeout bounds one claim-publish-delete round, so a stuck broker cannot hold the
	// row locks forever; the rows are retried when it expires.
	batchTimeout = 30 * time.Second
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// Relay publishes committed outbox rows to JetStream in id order and deletes each row once
// JetStream has acked it. Rows are claimed with FOR UPDATE SKIP LOCKED in a transaction held
// while publishing, so replicas never publish the same row concurrently; a row published again
// after a crash (published, not yet deleted) is dropped by JetStream's Nats-Msg-Id dedupe
// within the stream's Duplicates window. A row that fails to publish is kept, with attempts
// incremented and last_error set, and the relay backs off (100ms doubling to 30s).
type Relay struct {
	db      *pgxpool.Pool
	pub     *natsx.Publisher
	opts    RelayOptions
	log     *slog.Logger
	wake    chan struct{}
	running atomic.Bool
}

// NewRelay returns a relay publishing the outbox table of db's schema with pub.
func NewRelay(db *pgxpool.Pool, pub *natsx.Publisher, opts RelayOptions) *Relay {
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if len(opts.Channel) > maxChannelLen {
		opts.Channel = opts.Channel[:maxChannelLen]
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Relay{db: db, pub: pub, opts: opts, log: log.With("component", "outbox-relay"), wake: make(chan struct{}, 1)}
}

// Run relays until ctx ends, then finishes the batch in hand (bounded by 30s) and returns nil.
// It returns an error only if it cannot start (or is already running).
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("postgres: outbox relay is already running")
	}
	defer r.running.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	channel := r.opts.Channel
	if channel == "" {
		if err := r.db.QueryRow(ctx, `SELECT `+notifyChannel).Scan(&channel); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("postgres: outbox relay channel: %w", err)
		}
	}
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.listen(lctx, channel)
	}()
	defer func() { stop(); <-done }()

	ticker := time.NewTicker(r.opts.Interval)
	defer ticker.Stop()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		n, failed, err := r.relayBatch(ctx)
		switch {
		case err != nil || failed > 0:
			if err != nil && ctx.Err() == nil {
				r.log.Warn("outbox relay round failed", "error", err)
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			wait := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-wait.C:
			}
			wait.Stop()
		case n == r.opts.Batch:
			backoff = 0 // a full batch: there may be more right now
		default:
			backoff = 0
			select {
			case <-ctx.Done():
			case <-r.wake:
			case <-ticker.C:
			}
		}
	}
	return nil
}

// listen LISTENs on channel on a connection of its own and turns each notification into a
// wake-up of the relay loop. A lost connection is re-established after a pause; meanwhile the
// relay polls.
func (r *Relay) listen(ctx context.Context, channel string) {
	pause := minBackoff
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, channel)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("outbox relay listener lost, relying on polling until it is back", "channel", channel, "error", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, maxBackoff)
	}
}

func (r *Relay) listenOnce(ctx context.Context, channel string) error {
	pc, err := r.db.Acquire(ctx)
	if err != nil {
		return err
	}
	// A listening connection must not go back to the pool: take it out and close it at the end.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	r.notify() // rows may have been committed before LISTEN took effect
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		r.notify()
	}
}

func (r *Relay) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

type outboxRow struct {
	id  int64
	msg natsx.Msg
}

// relayBatch claims up to Batch rows, publishes them, deletes the acked ones and records the
// failures, all in one transaction. It runs to its end even when ctx ends (bounded by
// batchTimeout). It returns how many rows it claimed and how many failed.
func (r *Relay) relayBatch(ctx context.Context) (claimed, failed int, err error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	tx, err := r.db.Begin(bctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(bctx) }()

	rows, err := tx.Query(bctx, `SELECT id, subject, msg_id, headers, payload FROM outbox
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, r.opts.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("claim: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		var hdr []byte
		if err := row.Scan(&o.id, &o.msg.Subject, &o.msg.MsgID, &hdr, &o.msg.Data); err != nil {
			return o, err
		}
		if len(hdr) > 0 {
			if err := json.Unmarshal(hdr, &o.msg.Header); err != nil {
				return o, fmt.Errorf("headers of outbox row %d: %w", o.id, err)
			}
		}
		return o, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("claim: %w", err)
	}
	if len(batch) == 0 {
		return 0, 0, nil
	}

	errs := r.publish(bctx, batch)
	var sent, failedIDs []int64
	var reasons []string
	for i, o := range batch {
		if errs[i] == nil {
			sent = append(sent, o.id)
			continue
		}
		failedIDs = append(failedIDs, o.id)
		reasons = append(reasons, errs[i].Error())
	}
	if len(sent) > 0 {
		if _, err := tx.Exec(bctx, `DELETE FROM outbox WHERE id = ANY($1)`, sent); err != nil {
			return len(batch), len(batch), fmt.Errorf("delete published: %w", err)
		}
	}
	if len(failedIDs) > 0 {
		r.log.Warn("outbox relay: messages not published, will retry",
			"failed", len(failedIDs), "batch", len(batch), "first_error", reasons[0])
		if _, err := tx.Exec(bctx, `UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.err
FROM unnest($1::bigint[], $2::text[]) AS f(id, err) WHERE o.id = f.id`, failedIDs, reasons); err != nil {
			return len(batch), len(batch), fmt.Errorf("record failures: %w", err)
		}
	}
	if err := tx.Commit(bctx); err != nil {
		// The published rows stay and go out again; the Nats-Msg-Id dedupe drops the repeat.
		return len(batch), len(batch), fmt.Errorf("commit: %w", err)
	}
	return len(batch), len(failedIDs), nil
}

// publish sends the batch in id order and returns one error per row (nil when acked).
//
// Consecutive rows enqueued under the same trace context go out in one PublishBatch whose
// PRODUCER span continues that trace, so every message carries (and its consumer continues)
// the trace of the request that enqueued it, at one round trip per run of rows.
func (r *Relay) publish(ctx context.Context, batch []outboxRow) []error {
	errs := make([]error, len(batch))
	for start := 0; start < len(batch); {
		parent := natsx.HeaderCarrier(batch[start].msg.Header).Get("traceparent")
		end := start + 1
		for end < len(batch) && natsx.HeaderCarrier(batch[end].msg.Header).Get("traceparent") == parent {
			end++
		}
		msgs := make([]natsx.Msg, 0, end-start)
		for _, o := range batch[start:end] {
			msgs = append(msgs, o.msg)
		}
		pctx := ctx
		if parent != "" {
			pctx = natsx.Extract(ctx, batch[start].msg.Header)
		}
		_, err := r.pub.PublishBatch(pctx, msgs)
		var be *natsx.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be) && len(be.Errs) == len(msgs):
			copy(errs[start:end], be.Errs)
		default:
			for i := start; i < end; i++ {
				errs[i] = err
			}
		}
		start = end
	}
	return errs
}
