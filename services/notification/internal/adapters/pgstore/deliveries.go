package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// Delivery states (deliveries.status).
const (
	DeliveryPending   = "pending"   // due at next_attempt_at (or being sent under a lease)
	DeliverySucceeded = "succeeded" // the endpoint answered 2xx
	DeliveryDead      = "dead"      // every attempt failed: a dead letter, to retry or replay
	DeliveryCancelled = "cancelled" // the endpoint answered 410 Gone
)

// deliveriesChannel is the channel a new or re-queued delivery is announced on, computed by the
// database like the outbox's: deliveries_<schema>, cut to 63 bytes. pg_notify is delivered at
// commit, so the dispatcher never wakes before the delivery is visible.
const deliveriesChannel = `left('deliveries_' || current_schema(), 63)`

// NewDelivery is an event to deliver to the subscriptions of Tenant listening on any of Keys.
type NewDelivery struct {
	Tenant    string // only this tenant's subscriptions get the event, whatever the keys say
	EventID   string
	EventType string // the delivery's type code (GTIN, DEPA, ETA, ...), filtered by event_types
	Subject   string
	Lane      string
	Body      []byte
	Keys      []Key
	// TraceParent and TraceState are the W3C trace context of the span that matched the event
	// (the consumer's), kept with each delivery so that every attempt to send it, however much
	// later, is a span of the event's trace. Empty: none.
	TraceParent string
	TraceState  string
}

// InsertDeliveries records one delivery of d for every active subscription of d.Tenant that
// listens on one of d.Keys (found through subscription_keys' primary key, not a scan) and
// takes d.EventType (an empty event_types takes every type). A subscription that already has
// the event is skipped. A delivery inserted behind a pending one of its lane is blocked (see
// ClaimDeliveries). It returns how many deliveries were inserted.
//
// The dispatchers are notified (at commit, by the same statement, with the lane as payload)
// only when a new delivery heads its lane: behind a pending delivery it is claimed by whichever
// dispatcher finishes that one. A notifying commit holds the database's notification lock
// through its fsync, so notifying every event would serialise the consumers. The lanes of the
// deliveries inserted blocked are looked at again after the commit (unblockAfterCommit).
func (s *Store) InsertDeliveries(ctx context.Context, db postgres.DB, d NewDelivery) (int64, error) {
	if d.Tenant == "" || len(d.Keys) == 0 {
		return 0, nil
	}
	kinds, values := splitKeys(d.Keys)
	var inserted int64
	var behind []string // the subscriptions whose delivery waits behind a pending one
	// The subquery sees the lane as it was before this statement: without the new rows. It is
	// a scalar subquery with a limit, not EXISTS, which the planner may answer by hashing every
	// pending delivery (see InsertMatched).
	err := db.QueryRow(ctx, `WITH ins AS (
    INSERT INTO deliveries (subscription_id, tenant_id, event_id, event_type, subject, lane, body, traceparent, tracestate, blocked)
    SELECT s.id, s.tenant_id, $2, $3, $4, $5, $6, nullif($9, ''), nullif($10, ''),
           (SELECT true FROM deliveries p WHERE p.subscription_id = s.id AND p.lane = $5 AND p.status = 'pending' LIMIT 1) IS NOT NULL
    FROM subscriptions s
    WHERE s.id IN (SELECT k.subscription_id
                   FROM unnest($7::text[], $8::text[]) AS q(kind, value)
                   JOIN subscription_keys k ON k.kind = q.kind AND k.value = q.value)
      AND s.tenant_id = $1
      AND s.status = 'active'
      AND (cardinality(s.event_types) = 0 OR $3 = ANY (s.event_types))
    ORDER BY s.id
    ON CONFLICT (subscription_id, event_id) DO NOTHING
    RETURNING subscription_id, blocked
)
SELECT count(*), CASE WHEN bool_or(NOT blocked) THEN pg_notify(`+deliveriesChannel+`, $5) END IS NULL,
       coalesce(array_agg(subscription_id::text) FILTER (WHERE blocked), '{}')
FROM ins`,
		d.Tenant, d.EventID, d.EventType, d.Subject, d.Lane, d.Body, kinds, values, d.TraceParent, d.TraceState).Scan(&inserted, new(bool), &behind)
	if err != nil {
		return 0, fmt.Errorf("insert deliveries: %w", err)
	}
	lanes := make([]string, len(behind))
	for i := range lanes {
		lanes[i] = d.Lane
	}
	unblockAfterCommit(db, behind, lanes)
	return inserted, nil
}

// unblockAfterCommit has the heads of lanes (subs[i], lanes[i]), where deliveries were just
// inserted blocked behind a pending one, looked at again once the inserting transaction has
// committed (postgres.AfterCommit), and unblocked if blocked (unblockHeadsSQL). The insert saw the
// pending one still pending; if its success was recorded while the insert ran, the record
// could not see the new delivery to unblock it, and only the look after the insert's commit
// sees both. (RecordSuccesses and RecordAttempt look again after their own commit, for the
// other order.) A transaction that runs nothing after its commit leaves it to the
// dispatcher's poll (UnblockDeliveries).
func unblockAfterCommit(db postgres.DB, subs, lanes []string) {
	if len(subs) > 0 {
		postgres.AfterCommit(db, unblockHeadsSQL, subs, lanes)
	}
}

// unblockHeadsSQL unblocks the head of each lane ($1[i], $2[i]) (its first pending delivery) if
// it is blocked, notifies the dispatchers if it did, and says how many it unblocked. It skips
// a row locked by another transaction: one that unblocks it too (none other writes a blocked
// pending delivery but a retry or replay by hand, which the poll mends). Taking the locks in
// whatever order, it would risk a deadlock with another such statement.
const unblockHeadsSQL = `WITH heads AS (
    SELECT h.id
    FROM unnest($1::uuid[], $2::text[]) AS l (sub, lane),
         LATERAL (SELECT n.id, n.blocked FROM deliveries n
                  WHERE n.subscription_id = l.sub AND n.lane = l.lane AND n.status = 'pending'
                  ORDER BY n.seq LIMIT 1) h
    WHERE h.blocked
), locked AS (
    SELECT d.id FROM deliveries d
    WHERE d.id IN (SELECT id FROM heads) AND d.status = 'pending' AND d.blocked
    FOR UPDATE SKIP LOCKED
), unblocked AS (
    UPDATE deliveries d SET blocked = false FROM locked WHERE d.id = locked.id RETURNING d.id
)
SELECT count(*), CASE WHEN count(*) > 0 THEN pg_notify(` + deliveriesChannel + `, '') END IS NULL FROM unblocked`

// notifyDeliveries wakes the dispatchers at commit; the payload (the lane of a new delivery,
// or "") is only informative.
func notifyDeliveries(ctx context.Context, db postgres.DB, lane string) error {
	if _, err := db.Exec(ctx, `SELECT pg_notify(`+deliveriesChannel+`, $1)`, lane); err != nil {
		return fmt.Errorf("notify deliveries: %w", err)
	}
	return nil
}

// ListenDeliveries calls wake whenever a delivery is inserted or re-queued (in any process on
// this schema), and once when it starts listening. It returns when ctx ends or the listening
// connection fails; the caller decides whether to listen again.
func (s *Store) ListenDeliveries(ctx context.Context, wake func()) error {
	return s.listen(ctx, deliveriesChannel, func() error {
		wake() // deliveries may have been committed before LISTEN took effect
		return nil
	}, func(string) { wake() })
}

// Claim is a delivery taken for sending, with what is needed to sign and send it.
type Claim struct {
	ID             string
	SubscriptionID string
	Tenant         string
	EventID        string
	EventType      string
	Attempts       int // attempts made before this one
	Body           []byte
	Token          time.Time // the claim's lease token (updated_at); the attempt is recorded only under it
	CallbackURL    string
	Scheme         string
	Secret         string
	PreviousSecret string     // "" unless a rotation is under way
	PreviousUntil  *time.Time // the end of the rotation's grace period
	TraceParent    string     // the W3C trace context stored with the delivery ("" for none)
	TraceState     string
}

// Subscription is what c knows of its subscription: enough to sign and send it.
func (c Claim) Subscription() Subscription {
	return Subscription{ID: c.SubscriptionID, Tenant: c.Tenant, CallbackURL: c.CallbackURL, Scheme: c.Scheme,
		Secret: c.Secret, PreviousSecret: c.PreviousSecret, PreviousUntil: c.PreviousUntil, Status: StatusActive}
}

// ClaimDeliveries takes at most limit due deliveries for sending: pending, next_attempt_at
// passed, of an active subscription, and the head of their lane (no pending delivery of the
// same subscription and lane with a lower seq). The due index holds only deliveries that are
// not blocked behind another of their lane (blocked when inserted behind a pending one,
// unblocked when that one is done, by RecordAttempt, RecordSuccesses or UnblockDeliveries), so
// a claim reads about as many deliveries as it takes, however long the lanes behind them; the
// lane check above still decides. Each is leased until leaseUntil by moving its
// next_attempt_at there: no other dispatcher takes it meanwhile, nor the later deliveries of
// its lane (it is still pending), and if this process dies before recording the attempt it is
// taken again, with the same id, when the lease expires.
//
// The claim does not wait for its commit to be flushed to disk: a lease lost with a crash of
// the database only lets the delivery be taken again at once, and sent again with the same id,
// as after a crash of the dispatcher.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) (claims []Claim, err error) {
	err = postgres.BeginAsyncFunc(ctx, s.db, func(tx pgx.Tx) error {
		claims, err = claimDeliveries(ctx, tx, now, leaseUntil, limit)
		return err
	})
	return claims, err
}

func claimDeliveries(ctx context.Context, tx pgx.Tx, now, leaseUntil time.Time, limit int) ([]Claim, error) {
	// The subscription's status, and whether the candidate heads its lane, are read per
	// candidate in scalar subqueries, which the planner does not turn into joins. With a join
	// to subscriptions, and statistics that lag a fast-growing table, the planner started from
	// the (one) active subscription and read every pending delivery of it, blocked ones too,
	// at each claim — 20,000 rows a claim, 25 claims a second, in a backlog; with NOT EXISTS
	// for the lane, it read every pending delivery once per candidate (an anti-join on a
	// bitmap scan of the whole lane index: 264,000 rows and 89 ms for a claim of 48). Read this
	// way, the candidates come from the due index, which holds only the heads of lanes that
	// are due, and each is checked by reading the first entry of its lane.
	rows, err := tx.Query(ctx, `WITH due AS (
    SELECT d.id
    FROM deliveries d
    WHERE d.status = 'pending' AND NOT d.blocked AND d.next_attempt_at <= $1
      AND (SELECT s.status FROM subscriptions s WHERE s.id = d.subscription_id) = 'active'
      AND (SELECT p.seq FROM deliveries p
           WHERE p.subscription_id = d.subscription_id AND p.lane = d.lane AND p.status = 'pending'
           ORDER BY p.seq LIMIT 1) = d.seq
    ORDER BY d.next_attempt_at, d.seq
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d SET next_attempt_at = $2, updated_at = clock_timestamp()
FROM due, subscriptions s
WHERE d.id = due.id AND s.id = d.subscription_id
RETURNING d.id, d.subscription_id, d.tenant_id, d.event_id, d.event_type, d.attempts, d.body, d.updated_at,
          s.callback_url, s.scheme, s.secret, coalesce(s.previous_secret, ''), s.previous_until,
          coalesce(d.traceparent, ''), coalesce(d.tracestate, '')`,
		now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	claims, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Claim, error) {
		var c Claim
		err := r.Scan(&c.ID, &c.SubscriptionID, &c.Tenant, &c.EventID, &c.EventType, &c.Attempts, &c.Body, &c.Token,
			&c.CallbackURL, &c.Scheme, &c.Secret, &c.PreviousSecret, &c.PreviousUntil, &c.TraceParent, &c.TraceState)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return claims, nil
}

// UnblockDeliveries unblocks every blocked delivery that heads its lane and returns how many.
// The inserts and records look at their lanes again after their commits, so that none is
// left so; this is the backstop for a look that failed or never ran (an insert in a
// transaction that runs nothing after its commit). The dispatcher runs it at each poll; it
// reads the blocked pending deliveries once.
func (s *Store) UnblockDeliveries(ctx context.Context) (int64, error) {
	tag, err := s.db.Exec(ctx, `UPDATE deliveries d SET blocked = false
WHERE d.status = 'pending' AND d.blocked
  AND (SELECT p.seq FROM deliveries p
       WHERE p.subscription_id = d.subscription_id AND p.lane = d.lane AND p.status = 'pending'
       ORDER BY p.seq LIMIT 1) = d.seq`)
	if err != nil {
		return 0, fmt.Errorf("unblock deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Attempt is the record of one try at sending a delivery, in the JSON its subscription's
// owner reads (GET /v1/subscriptions/{id}/deliveries).
type Attempt struct {
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"startedAt"`
	StatusCode *int      `json:"statusCode"` // null: no HTTP answer
	LatencyMS  int       `json:"latencyMs"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
}

// SubscriptionHealth is what the attempt's verdict needs to know of the subscription, read
// under its row lock.
type SubscriptionHealth struct {
	Tenant              string
	Status              string
	ConsecutiveFailures int
	FirstFailureAt      *time.Time
}

// Verdict is what comes of an attempt: the delivery's new state and what happens to its
// subscription.
type Verdict struct {
	Status        string    // the delivery's new status
	NextAttemptAt time.Time // when Status is pending
	Succeeded     bool      // the endpoint accepted: the subscription's run of failures ends
	Disable       string    // not empty: disable the subscription with this reason
}

// RecordAttempt records attempt a of claim c in one transaction: the attempt row, the
// delivery's new state and the subscription's failure count (and status) as decided by decide,
// which sees the subscription's health and may write to tx (e.g. enqueue events). When the
// claim is no longer current (the delivery was re-queued, or its lease expired and another
// dispatcher took it), nothing is recorded and recorded is false. An error wrapping
// ErrLanesNotRechecked comes with recorded true.
func (s *Store) RecordAttempt(ctx context.Context, c Claim, a Attempt,
	decide func(tx pgx.Tx, h SubscriptionHealth) (Verdict, error)) (recorded bool, err error) {
	var lane string // of a delivery done with nothing pending behind it
	err = postgres.BeginAsyncFunc(ctx, s.db, func(tx pgx.Tx) error {
		// The subscription's row is locked until commit; not waiting for the WAL flush keeps
		// that short. A record lost with a crash of the database only means the attempt is
		// made again, with the same webhook-id, when its lease expires.
		var attempts int
		err := tx.QueryRow(ctx, `SELECT attempts FROM deliveries
WHERE id = $1 AND status = 'pending' AND updated_at = $2 FOR UPDATE`, c.ID, c.Token).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		var h SubscriptionHealth
		// FOR NO KEY UPDATE: inserting deliveries (a foreign key's KEY SHARE) is not blocked.
		if err := tx.QueryRow(ctx, `SELECT tenant_id, status, consecutive_failures, first_failure_at
FROM subscriptions WHERE id = $1 FOR NO KEY UPDATE`, c.SubscriptionID).Scan(&h.Tenant, &h.Status, &h.ConsecutiveFailures, &h.FirstFailureAt); err != nil {
			return fmt.Errorf("record attempt: subscription: %w", err)
		}
		v, err := decide(tx, h)
		if err != nil {
			return err
		}
		a.Attempt = attempts + 1
		if _, err := tx.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, response)
VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''))`, c.ID, a.Attempt, a.StartedAt, a.StatusCode, a.LatencyMS, a.Error, a.Response); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		next := v.NextAttemptAt
		if v.Status != DeliveryPending {
			next = a.StartedAt
		}
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
    last_status = $5, last_error = nullif($6, ''), updated_at = clock_timestamp()
WHERE id = $1`, c.ID, v.Status, a.Attempt, next, a.StatusCode, a.Error); err != nil {
			return fmt.Errorf("record attempt: delivery: %w", err)
		}
		if v.Status != DeliveryPending {
			// The delivery is done: the next of its lane heads it now.
			var next bool
			if err := tx.QueryRow(ctx, `WITH n AS (
    SELECT n.id, n.blocked FROM deliveries d,
        LATERAL (SELECT n.id, n.blocked FROM deliveries n
                 WHERE n.subscription_id = d.subscription_id AND n.lane = d.lane AND n.status = 'pending' AND n.seq > d.seq
                 ORDER BY n.seq LIMIT 1) n
    WHERE d.id = $1
), u AS (
    UPDATE deliveries d SET blocked = false FROM n WHERE d.id = n.id AND n.blocked
)
SELECT EXISTS (SELECT 1 FROM n), (SELECT lane FROM deliveries WHERE id = $1)`, c.ID).Scan(&next, &lane); err != nil {
				return fmt.Errorf("record attempt: next of lane: %w", err)
			}
			if next {
				lane = "" // nothing to look at again
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE subscriptions SET
    consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures + 1 END,
    first_failure_at = CASE WHEN $2 THEN NULL ELSE coalesce(first_failure_at, $3) END,
    status = CASE WHEN $4 <> '' THEN 'disabled' ELSE status END,
    disabled_reason = CASE WHEN $4 <> '' THEN $4 ELSE disabled_reason END,
    disabled_at = CASE WHEN $4 <> '' THEN clock_timestamp() ELSE disabled_at END,
    version = CASE WHEN $4 <> '' THEN version + 1 ELSE version END,
    updated_at = CASE WHEN $4 <> '' THEN clock_timestamp() ELSE updated_at END
WHERE id = $1`, c.SubscriptionID, v.Succeeded, a.StartedAt, v.Disable); err != nil {
			return fmt.Errorf("record attempt: subscription: %w", err)
		}
		recorded = true
		return nil
	})
	if err != nil || lane == "" {
		return recorded, err
	}
	// The lane looked empty behind the delivery: look again now that this commit is visible,
	// as RecordSuccesses does.
	_, err = s.unblockHeads(ctx, []string{c.SubscriptionID}, []string{lane})
	return recorded, err
}

// Success is an attempt at claimed delivery Claim that the endpoint accepted (2xx).
type Success struct {
	Claim   Claim
	Attempt Attempt
}

// RecordSuccesses records many accepted attempts in one transaction of one statement, as
// RecordAttempt would record each with a Verdict of DeliverySucceeded: for each whose claim is
// still current, the attempt row and the delivery's new state, and for their subscriptions the
// end of any run of failures. An accepted attempt needs no look at its subscription's health,
// so no subscription row is read or locked, and one is written only when it had failures to
// forget. It returns the ids of the deliveries recorded (the others' claims were no longer
// current: re-queued, or leased again after their lease expired) and how many deliveries now
// head their lanes because the one ahead of them is done. An error wrapping
// ErrLanesNotRechecked comes with what was recorded.
func (s *Store) RecordSuccesses(ctx context.Context, done []Success) (recorded map[string]bool, unblocked int, err error) {
	if len(done) == 0 {
		return nil, 0, nil
	}
	ids, subs := make([]string, len(done)), make([]string, len(done))
	tokens, started := make([]time.Time, len(done)), make([]time.Time, len(done))
	statuses, latencies := make([]*int, len(done)), make([]int, len(done))
	errs, responses := make([]string, len(done)), make([]string, len(done))
	for i, d := range done {
		ids[i], subs[i], tokens[i] = d.Claim.ID, d.Claim.SubscriptionID, d.Claim.Token
		started[i], statuses[i], latencies[i] = d.Attempt.StartedAt, d.Attempt.StatusCode, d.Attempt.LatencyMS
		errs[i], responses[i] = d.Attempt.Error, d.Attempt.Response
	}
	recorded = make(map[string]bool, len(done))
	var emptySubs, emptyLanes []string // lanes with nothing pending behind the recorded deliveries
	err = postgres.BeginAsyncFunc(ctx, s.db, func(tx pgx.Tx) error {
		// As in RecordAttempt: a record lost with a crash of the database only means the
		// attempts are made again, with the same webhook-ids, when their leases expire.
		// The statement's parts see the same snapshot: the subscriptions' update takes its
		// ids from the deliveries updated, not from the table.
		rows, err := tx.Query(ctx, `WITH r AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::int[], $7::text[], $8::text[])
        AS r (id, sub, token, started, status, latency, error, response)
), upd AS (
    UPDATE deliveries d SET status = 'succeeded', attempts = d.attempts + 1, next_attempt_at = r.started,
        last_status = r.status, last_error = nullif(r.error, ''), updated_at = clock_timestamp()
    FROM r
    WHERE d.id = r.id AND d.status = 'pending' AND d.updated_at = r.token
    RETURNING d.id, d.attempts, d.lane, d.seq, r.sub, r.started, r.status, r.latency, r.error, r.response
), att AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, response)
    SELECT id, attempts, started, status, latency, nullif(error, ''), nullif(response, '') FROM upd
), healed AS (
    UPDATE subscriptions s SET consecutive_failures = 0, first_failure_at = NULL
    WHERE s.id IN (SELECT sub FROM upd) AND (s.consecutive_failures <> 0 OR s.first_failure_at IS NOT NULL)
), next AS (
    -- The next delivery of each lane whose head is done (none: the lane looks empty).
    SELECT u.sub, u.lane, n.id
    FROM upd u LEFT JOIN LATERAL (SELECT n.id FROM deliveries n
                                  WHERE n.subscription_id = u.sub AND n.lane = u.lane AND n.status = 'pending' AND n.seq > u.seq
                                  ORDER BY n.seq LIMIT 1) n ON true
), unblocked AS (
    -- It heads the lane now.
    UPDATE deliveries d SET blocked = false FROM next WHERE d.id = next.id AND d.blocked
    RETURNING d.id
)
SELECT id::text, (SELECT count(*) FROM unblocked),
       (SELECT coalesce(array_agg(sub::text), '{}') FROM next WHERE id IS NULL),
       (SELECT coalesce(array_agg(lane), '{}') FROM next WHERE id IS NULL)
FROM upd`, ids, subs, tokens, started, statuses, latencies, errs, responses)
		if err != nil {
			return fmt.Errorf("record successes: %w", err)
		}
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id, &unblocked, &emptySubs, &emptyLanes}, func() error {
			recorded[id] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("record successes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// A delivery being inserted into a lane that looked empty was not seen above; if the
	// insert saw the head still pending, it is blocked. Look at those lanes again, now that
	// this commit is visible: an insert that committed meanwhile is seen here, and one that
	// commits later sees this commit (unblockAfterCommit).
	more, err := s.unblockHeads(ctx, emptySubs, emptyLanes)
	return recorded, unblocked + more, err
}

// ErrLanesNotRechecked is returned, wrapped, with what was recorded when an attempt was
// recorded but its lane was not looked at again after the commit (unblockHeads): a delivery
// inserted behind it meanwhile may stay blocked until the dispatcher's next poll.
var ErrLanesNotRechecked = errors.New("recorded, but the lanes were not looked at again")

// unblockHeads runs unblockHeadsSQL on lanes (subs[i], lanes[i]) in a transaction of its own,
// which does not wait for the disk, and returns how many deliveries it unblocked.
func (s *Store) unblockHeads(ctx context.Context, subs, lanes []string) (int, error) {
	if len(subs) == 0 {
		return 0, nil
	}
	var n int
	err := postgres.QueryRowAsync(ctx, s.db, func(r pgx.Row) error { return r.Scan(&n, new(bool)) }, unblockHeadsSQL, subs, lanes)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrLanesNotRechecked, err)
	}
	return n, nil
}

// Delivery is a delivery with its attempts, as its subscription's owner sees it.
type Delivery struct {
	ID            string
	EventID       string
	EventType     string
	Subject       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    *int
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Body          []byte
	History       []Attempt
}

// DeliveryFilter selects a subscription's deliveries.
type DeliveryFilter struct {
	SubscriptionID string
	Status         string    // "" for any
	EventType      string    // "" for any
	Since          time.Time // created at or after; zero for any
	Limit          int
	After          *paging.Cursor // the page before ended here
}

// Deliveries lists a subscription's deliveries, newest first, each with its attempts.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	var afterAt *time.Time
	var afterID *string
	if f.After != nil {
		afterAt, afterID = &f.After.At, &f.After.ID
	}
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := s.db.Query(ctx, `SELECT id, event_id, event_type, subject, status, attempts, next_attempt_at,
       last_status, coalesce(last_error, ''), created_at, updated_at, body
FROM deliveries
WHERE subscription_id = $1
  AND ($2 = '' OR status = $2)
  AND ($3 = '' OR event_type = $3)
  AND ($4::timestamptz IS NULL OR created_at >= $4)
  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $7`, f.SubscriptionID, f.Status, f.EventType, since, afterAt, afterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.EventID, &d.EventType, &d.Subject, &d.Status, &d.Attempts, &d.NextAttemptAt,
			&d.LastStatus, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &d.Body)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	if len(list) == 0 {
		return list, nil
	}
	ids := make([]string, len(list))
	at := make(map[string]int, len(list))
	for i, d := range list {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err = s.db.Query(ctx, `SELECT delivery_id, attempt, started_at, status_code, latency_ms, coalesce(error, ''), coalesce(response, '')
FROM delivery_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY delivery_id, attempt`, ids)
	if err != nil {
		return nil, fmt.Errorf("delivery attempts: %w", err)
	}
	var id string
	var a Attempt
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Attempt, &a.StartedAt, &a.StatusCode, &a.LatencyMS, &a.Error, &a.Response}, func() error {
		d := &list[at[id]]
		d.History = append(d.History, a)
		a.StatusCode = nil // a fresh pointer for the next row
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delivery attempts: %w", err)
	}
	return list, nil
}

// RetryDelivery re-queues delivery id of subscription sub to be sent at now, keeping its id
// (and so its webhook-id): a dead, cancelled or pending delivery becomes pending and due.
// A succeeded one is apperr.ErrConflict; one not of sub, apperr.ErrNotFound.
func (s *Store) RetryDelivery(ctx context.Context, sub, id string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM deliveries WHERE id = $1 AND subscription_id = $2 FOR UPDATE`, id, sub).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("delivery %s: %w", id, apperr.ErrNotFound)
		}
		if _, ok := postgres.ErrorCode(err, postgres.CodeInvalidText); ok {
			return fmt.Errorf("delivery %q: %w", id, apperr.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		if status == DeliverySucceeded {
			return fmt.Errorf("delivery %s has succeeded: %w", id, apperr.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'pending', blocked = false, next_attempt_at = $2, updated_at = clock_timestamp()
WHERE id = $1`, id, now); err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		return notifyDeliveries(ctx, tx, "")
	})
}

// ReplayDeliveries re-queues, to be sent at now, every delivery of subscription sub in status
// (dead) created at or after since (zero: any time), and returns how many.
func (s *Store) ReplayDeliveries(ctx context.Context, sub, status string, since, now time.Time) (int64, error) {
	var n int64
	var from *time.Time
	if !since.IsZero() {
		from = &since
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'pending', blocked = false, next_attempt_at = $4, updated_at = clock_timestamp()
WHERE subscription_id = $1 AND status = $2 AND ($3::timestamptz IS NULL OR created_at >= $3)`, sub, status, from, now)
		if err != nil {
			return fmt.Errorf("replay deliveries: %w", err)
		}
		n = tag.RowsAffected()
		if n == 0 {
			return nil
		}
		return notifyDeliveries(ctx, tx, "")
	})
	return n, err
}
