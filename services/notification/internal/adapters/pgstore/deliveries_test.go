package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

// deliveryStore migrates a fresh schema and returns a store on it and the pool under it.
func deliveryStore(t *testing.T) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	dsn, schema := pgtest.Schema(t, "notifpg")
	if err := postgres.Migrate(context.Background(), dsn, schema, migrations.FS); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	pool, err := postgres.Connect(context.Background(), dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pgstore.New(pool), pool
}

// rawSubscription inserts a subscription of tenant listening on keys, taking types (nil: all).
func rawSubscription(t *testing.T, pool *pgxpool.Pool, tenant, status string, types []string, keys ...pgstore.Key) string {
	t.Helper()
	if types == nil {
		types = []string{}
	}
	var id string
	if err := pool.QueryRow(context.Background(), `INSERT INTO subscriptions (tenant_id, callback_url, secret, event_types, status)
VALUES ($1, 'https://example.com/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $2, $3) RETURNING id`, tenant, types, status).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := pool.Exec(context.Background(), `INSERT INTO subscription_keys (kind, value, subscription_id) VALUES ($1, $2, $3)`,
			k.Kind, k.Value, id); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func insert(t *testing.T, s *pgstore.Store, pool *pgxpool.Pool, d pgstore.NewDelivery) int64 {
	t.Helper()
	var n int64
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		n, err = s.InsertDeliveries(context.Background(), tx, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func subscriptionsOf(t *testing.T, pool *pgxpool.Pool, event string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT subscription_id::text FROM deliveries WHERE event_id = $1 ORDER BY 1`, event)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Matching goes by key, but only to active subscriptions of the event's tenant taking its type,
// once per event.
func TestInsertDeliveriesMatches(t *testing.T) {
	s, pool := deliveryStore(t)
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	acmeAll := pgstore.Key{Kind: pgstore.KindTenant, Value: "acme"}
	byBox := rawSubscription(t, pool, "acme", "active", nil, box)
	all := rawSubscription(t, pool, "acme", "active", nil, acmeAll)
	departures := rawSubscription(t, pool, "acme", "active", []string{"DEPA"}, box)
	rawSubscription(t, pool, "acme", "disabled", nil, box)
	rawSubscription(t, pool, "globex", "active", nil, box, pgstore.Key{Kind: pgstore.KindTenant, Value: "globex"})
	rawSubscription(t, pool, "acme", "active", nil, pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU7654321"})

	d := pgstore.NewDelivery{Tenant: "acme", EventID: "ev-1", EventType: "GTIN", Subject: box.Value, Lane: "container:" + box.Value,
		Body: []byte(`{}`), Keys: []pgstore.Key{box, acmeAll}}
	if n := insert(t, s, pool, d); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
	want := []string{byBox, all}
	slices.Sort(want)
	if got := subscriptionsOf(t, pool, "ev-1"); !slices.Equal(got, want) {
		t.Fatalf("delivered to %v, want %v", got, want)
	}
	if n := insert(t, s, pool, d); n != 0 {
		t.Fatalf("the same event again made %d deliveries", n)
	}
	d.EventID, d.EventType = "ev-2", "DEPA"
	if n := insert(t, s, pool, d); n != 3 {
		t.Fatalf("a DEPA made %d deliveries, want 3", n)
	}
	if got := subscriptionsOf(t, pool, "ev-2"); !slices.Contains(got, departures) {
		t.Fatalf("the DEPA subscription missed it: %v", got)
	}
	d.EventID, d.Tenant = "ev-3", ""
	if n := insert(t, s, pool, d); n != 0 {
		t.Fatalf("an event of no tenant made %d deliveries", n)
	}
}

// listenDeliveries is a connection of pool listening on the dispatchers' channel, until the
// test ends.
func listenDeliveries(t *testing.T, pool *pgxpool.Pool) *pgxpool.Conn {
	t.Helper()
	ctx := t.Context()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "UNLISTEN *")
		conn.Release()
	})
	var channel string
	if err := conn.QueryRow(ctx, `SELECT left('deliveries_' || current_schema(), 63)`).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// Only the head of a lane is claimed, under a lease; an attempt is recorded only under its
// claim; a retry re-queues a dead delivery but not a succeeded one.
func TestClaimRecordRetry(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := context.Background()
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	sub := rawSubscription(t, pool, "acme", "active", nil, box)
	for _, ev := range []string{"first", "second"} {
		insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: ev, EventType: "GTIN", Subject: box.Value,
			Lane: "container:" + box.Value, Body: []byte(`{"id":"` + ev + `"}`), Keys: []pgstore.Key{box}})
	}
	now := time.Now()
	claims, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || claims[0].EventID != "first" || claims[0].SubscriptionID != sub || claims[0].Attempts != 0 {
		t.Fatalf("claimed %+v, want only the head of the lane", claims)
	}
	if again, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed again under the lease: %+v (%v)", again, err)
	}
	first := claims[0]

	// A retry while it is in flight supersedes the claim: its attempt is not recorded.
	if err := s.RetryDelivery(ctx, sub, first.ID, now); err != nil {
		t.Fatal(err)
	}
	ok := func(_ pgx.Tx, _ pgstore.SubscriptionHealth) (pgstore.Verdict, error) {
		return pgstore.Verdict{Status: pgstore.DeliverySucceeded, Succeeded: true}, nil
	}
	code := 200
	if recorded, err := s.RecordAttempt(ctx, first, pgstore.Attempt{StartedAt: now, StatusCode: &code}, ok); err != nil || recorded {
		t.Fatalf("a superseded claim was recorded: %v %v", recorded, err)
	}

	claims, err = s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].ID != first.ID {
		t.Fatalf("re-claim: %+v (%v)", claims, err)
	}
	fail := func(_ pgx.Tx, h pgstore.SubscriptionHealth) (pgstore.Verdict, error) {
		if h.Tenant != "acme" || h.Status != pgstore.StatusActive || h.ConsecutiveFailures != 0 {
			t.Errorf("health %+v", h)
		}
		return pgstore.Verdict{Status: pgstore.DeliveryDead}, nil
	}
	code = 500
	if recorded, err := s.RecordAttempt(ctx, claims[0], pgstore.Attempt{StartedAt: now, StatusCode: &code, Error: "boom", Response: "no"}, fail); err != nil || !recorded {
		t.Fatalf("record: %v %v", recorded, err)
	}
	var failures int
	var since *time.Time
	if err := pool.QueryRow(ctx, `SELECT consecutive_failures, first_failure_at FROM subscriptions WHERE id = $1`, sub).Scan(&failures, &since); err != nil {
		t.Fatal(err)
	}
	if failures != 1 || since == nil || !since.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("failures %d since %v", failures, since)
	}
	// The first is dead: the second heads the lane.
	claims, err = s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].EventID != "second" {
		t.Fatalf("after the dead letter claimed %+v (%v)", claims, err)
	}
	code = 204
	if recorded, err := s.RecordAttempt(ctx, claims[0], pgstore.Attempt{StartedAt: now, StatusCode: &code}, ok); err != nil || !recorded {
		t.Fatalf("record: %v %v", recorded, err)
	}
	if err := pool.QueryRow(ctx, `SELECT consecutive_failures, first_failure_at FROM subscriptions WHERE id = $1`, sub).Scan(&failures, &since); err != nil {
		t.Fatal(err)
	}
	if failures != 0 || since != nil {
		t.Fatalf("a success left failures %d since %v", failures, since)
	}

	list, err := s.Deliveries(ctx, pgstore.DeliveryFilter{SubscriptionID: sub, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].EventID != "second" || list[1].Status != pgstore.DeliveryDead || len(list[1].History) != 1 ||
		*list[1].History[0].StatusCode != 500 || list[1].History[0].Error != "boom" || list[1].History[0].Response != "no" {
		t.Fatalf("deliveries %+v", list)
	}
	if err := s.RetryDelivery(ctx, sub, list[0].ID, now); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("retry of a succeeded delivery: %v", err)
	}
	other := rawSubscription(t, pool, "acme", "active", nil)
	if err := s.RetryDelivery(ctx, other, list[1].ID, now); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("retry through another subscription: %v", err)
	}
	if n, err := s.ReplayDeliveries(ctx, sub, pgstore.DeliveryDead, time.Time{}, now); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	claims, err = s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].ID != list[1].ID || claims[0].Attempts != 1 {
		t.Fatalf("after replay claimed %+v (%v)", claims, err)
	}
}

// InsertMatched names each delivery after its subscription and event, so a delivery lost and
// inserted again keeps its webhook-id, and wakes the dispatchers, in the same statement, only
// for a delivery that heads its lane.
func TestInsertMatchedDerivesIDsAndNotifiesHeads(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := t.Context()
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	sub := rawSubscription(t, pool, "acme", "active", nil, box)
	conn := listenDeliveries(t, pool)
	matched := func(events ...string) int64 {
		t.Helper()
		ds := matchedOn(sub, box, events...)
		var n int64
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) (err error) {
			n, err = s.InsertMatched(ctx, tx, ds)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// next is the payload of the next notification (InsertMatched's is empty).
	next := func() string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := conn.Conn().WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("waiting for a notification: %v", err)
		}
		return n.Payload
	}

	if n := matched("ev-1", "ev-2"); n != 2 {
		t.Fatalf("inserted %d, want 2", n)
	}
	if p := next(); p != "" {
		t.Fatalf("notified %q, want InsertMatched's notification of a new lane head", p)
	}
	idOf := func(ev string) string {
		t.Helper()
		var id string
		if err := pool.QueryRow(ctx, `SELECT id::text FROM deliveries WHERE event_id = $1`, ev).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := idOf("ev-1")
	want, err := pgstore.DeliveryID(sub, "ev-1")
	if err != nil || first != want.String() {
		t.Fatalf("id %s, want DeliveryID %s (%v)", first, want, err)
	}
	if idOf("ev-2") == first {
		t.Fatal("two events' deliveries share an id")
	}
	// Behind a pending delivery of its lane: no wake-up. Notifications come in commit order,
	// so a later one that is not empty proves there was none in between.
	if n := matched("ev-3"); n != 1 {
		t.Fatalf("inserted %d, want 1", n)
	}
	other := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU7654321"}
	rawSubscription(t, pool, "acme", "active", nil, other)
	insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: "marker", EventType: "GTIN", Subject: other.Value,
		Lane: "container:" + other.Value, Body: []byte(`{}`), Keys: []pgstore.Key{other}})
	if p := next(); p != "container:"+other.Value {
		t.Fatalf("notified %q before the marker's lane: a delivery queued behind its lane's head woke the dispatchers", p)
	}
	// Lost (as a commit the database did not flush before a crash) and matched again.
	if _, err := pool.Exec(ctx, `DELETE FROM deliveries WHERE event_id = 'ev-1'`); err != nil {
		t.Fatal(err)
	}
	if n := matched("ev-1"); n != 1 || idOf("ev-1") != first {
		t.Fatalf("matched again: %d inserted, id %s; want 1 under %s", n, idOf("ev-1"), first)
	}
	if _, err := pgstore.DeliveryID("not-a-uuid", "ev-1"); err == nil {
		t.Fatal("DeliveryID took a subscription id that is no UUID")
	}
}

// RecordSuccesses records a batch of accepted attempts and says how many deliveries head
// their lanes now: the dispatcher claims again only when some do.
func TestRecordSuccessesCountsUnblocked(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := context.Background()
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	other := pgstore.Key{Kind: pgstore.KindContainer, Value: "CSQU3054383"}
	rawSubscription(t, pool, "acme", "active", nil, box, other)
	for _, ev := range []struct{ id, box string }{{"a1", box.Value}, {"a2", box.Value}, {"b1", other.Value}} {
		k := pgstore.Key{Kind: pgstore.KindContainer, Value: ev.box}
		insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: ev.id, EventType: "GTIN", Subject: ev.box,
			Lane: "container:" + ev.box, Body: []byte(`{}`), Keys: []pgstore.Key{k}})
	}
	now := time.Now()
	code := 204
	succeed := func(claims []pgstore.Claim) (map[string]bool, int) {
		t.Helper()
		done := make([]pgstore.Success, len(claims))
		for i, c := range claims {
			done[i] = pgstore.Success{Claim: c, Attempt: pgstore.Attempt{StartedAt: now, StatusCode: &code}}
		}
		recorded, unblocked, err := s.RecordSuccesses(ctx, done)
		if err != nil {
			t.Fatal(err)
		}
		return recorded, unblocked
	}
	claims, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 2 {
		t.Fatalf("claimed %+v (%v), want the heads a1 and b1", claims, err)
	}
	if recorded, unblocked := succeed(claims); len(recorded) != 2 || unblocked != 1 {
		t.Fatalf("recorded %v, unblocked %d; want both, and a2 unblocked", recorded, unblocked)
	}
	claims, err = s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].EventID != "a2" {
		t.Fatalf("claimed %+v (%v), want a2", claims, err)
	}
	if recorded, unblocked := succeed(claims); len(recorded) != 1 || unblocked != 0 {
		t.Fatalf("recorded %v, unblocked %d; want a2, and nothing behind it", recorded, unblocked)
	}
	// A claim that is no longer current records nothing and unblocks nothing.
	if recorded, unblocked := succeed(claims); len(recorded) != 0 || unblocked != 0 {
		t.Fatalf("recorded %v, unblocked %d for a stale claim", recorded, unblocked)
	}
}

// laneRace is a subscription with one delivery, "head", claimed: its success is about to be
// recorded while "next" is inserted behind it.
func laneRace(t *testing.T) (s *pgstore.Store, pool *pgxpool.Pool, sub string, head pgstore.Success, next []pgstore.Matched) {
	t.Helper()
	s, pool = deliveryStore(t)
	ctx := t.Context()
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	sub = rawSubscription(t, pool, "acme", "active", nil, box)
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := s.InsertMatched(ctx, tx, matchedOn(sub, box, "head"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claimed %+v (%v), want the head", claims, err)
	}
	code := 204
	return s, pool, sub, pgstore.Success{Claim: claims[0], Attempt: pgstore.Attempt{StartedAt: now, StatusCode: &code}}, matchedOn(sub, box, "next")
}

// matchedOn is a GTIN delivery of each of events to subscription sub of tenant acme, in the
// lane of container box, in that order.
func matchedOn(sub string, box pgstore.Key, events ...string) []pgstore.Matched {
	ds := make([]pgstore.Matched, len(events))
	for i, ev := range events {
		ds[i] = pgstore.Matched{SubscriptionID: sub, Tenant: "acme", EventID: ev, EventType: "GTIN", Subject: box.Value,
			Lane: "container:" + box.Value, Body: []byte(`{}`)}
	}
	return ds
}

// claimNext claims what is due and fails the test unless it is "next" alone.
func claimNext(t *testing.T, s *pgstore.Store) {
	t.Helper()
	now := time.Now()
	claims, err := s.ClaimDeliveries(t.Context(), now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].EventID != "next" {
		t.Fatalf("claimed %+v (%v), want next at once, not at the next poll", claims, err)
	}
}

// A delivery inserted behind its lane's head, whose success is recorded before the insert
// commits, is unblocked by the insert's look after its commit: the record could not see it.
func TestInsertLooksAtItsLaneAfterCommit(t *testing.T) {
	s, pool, _, head, next := laneRace(t)
	ctx := t.Context()
	err := postgres.BeginVisibleFirst(ctx, pool, func(tx pgx.Tx) error {
		if n, err := s.InsertMatched(ctx, tx, next); err != nil || n != 1 {
			return fmt.Errorf("insert: %d (%v)", n, err)
		}
		recorded, unblocked, err := s.RecordSuccesses(ctx, []pgstore.Success{head})
		if err != nil || len(recorded) != 1 || unblocked != 0 {
			return fmt.Errorf("record: %v, unblocked %d (%v); want the head, and nothing seen behind it", recorded, unblocked, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	claimNext(t, s)
}

// A delivery inserted behind its lane's head, committed after the record of the head's
// success read the lane and before the record committed, is unblocked by the record's look
// after its own commit.
func TestRecordLooksAtItsLanesAfterCommit(t *testing.T) {
	s, pool, sub, head, next := laneRace(t)
	ctx := t.Context()
	// With a failure to forget, the record updates the subscription: it waits there, its
	// statement's snapshot taken, for the insert's transaction, which holds the row.
	if _, err := pool.Exec(ctx, `UPDATE subscriptions SET consecutive_failures = 1 WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx) // pgx's: nothing runs after its commit
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if n, err := s.InsertMatched(ctx, tx, next); err != nil || n != 1 {
		t.Fatalf("insert: %d (%v)", n, err)
	}
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid() FROM subscriptions WHERE id = $1 FOR UPDATE`, sub).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		recorded  map[string]bool
		unblocked int
		err       error
	}
	done := make(chan outcome, 1)
	go func() {
		r, u, err := s.RecordSuccesses(ctx, []pgstore.Success{head})
		done <- outcome{r, u, err}
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		var blocked bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)))`, pid).Scan(&blocked); err != nil {
			return err
		}
		if !blocked {
			return errors.New("the record does not wait for the insert yet")
		}
		return nil
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || len(got.recorded) != 1 || got.unblocked != 1 {
		t.Fatalf("record: %v, unblocked %d (%v); want the head, and next unblocked", got.recorded, got.unblocked, got.err)
	}
	claimNext(t, s)
}

// The dispatchers are woken by a delivery that heads its lane, not by one queued behind a
// pending delivery (whoever sends that one claims it next).
func TestInsertNotifiesLaneHeads(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := t.Context()
	a := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	b := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU7654321"}
	rawSubscription(t, pool, "acme", "active", nil, a, b)
	conn := listenDeliveries(t, pool)
	for i, k := range []pgstore.Key{a, a, b} { // the second event of lane a waits behind the first
		insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: "ev-" + strconv.Itoa(i), EventType: "GTIN", Subject: k.Value,
			Lane: "container:" + k.Value, Body: []byte(`{}`), Keys: []pgstore.Key{k}})
	}
	// Notifications arrive in commit order: a second one for lane a would come before b's.
	for _, want := range []string{"container:" + a.Value, "container:" + b.Value} {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if n.Payload != want {
			t.Fatalf("notified for %q, want %q", n.Payload, want)
		}
	}
}

// A claim during a rotation's grace period carries both secrets; after it, only the new one.
func TestClaimCarriesRotation(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := t.Context()
	box := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	sub := rawSubscription(t, pool, "acme", "active", nil, box)
	const previous = "whsec_c2VjcmV0LXRoYXQtd2FzLWluLXVzZS1iZWZvcmU="
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if _, err := pool.Exec(ctx, `UPDATE subscriptions SET previous_secret = $2, previous_until = $3 WHERE id = $1`, sub, previous, until); err != nil {
		t.Fatal(err)
	}
	insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: "ev", EventType: "GTIN", Subject: box.Value,
		Lane: "container:" + box.Value, Body: []byte(`{}`), Keys: []pgstore.Key{box}})
	now := time.Now()
	claims, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 1)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claimed %+v (%v)", claims, err)
	}
	c := claims[0].Subscription()
	if c.ID != sub || c.Scheme != pgstore.SchemeStandard || c.CallbackURL != "https://example.com/hook" {
		t.Fatalf("claim's subscription %+v", c)
	}
	if got := c.Secrets(now); len(got) != 2 || got[0] != c.Secret || got[1] != previous {
		t.Fatalf("secrets during the rotation %v", got)
	}
	if got := c.Secrets(until.Add(time.Second)); len(got) != 1 || got[0] != c.Secret {
		t.Fatalf("secrets after the grace period %v", got)
	}
}

// A delivery keeps the trace context it was matched under, and every claim of it (the first
// attempt and each retry) hands it back; a delivery matched without one claims empty.
func TestClaimCarriesTraceContext(t *testing.T) {
	s, pool := deliveryStore(t)
	ctx := context.Background()
	traced := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	untraced := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU7654321"}
	rawSubscription(t, pool, "acme", "active", nil, traced, untraced)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: "traced", EventType: "GTIN", Subject: traced.Value,
		Lane: "container:" + traced.Value, Body: []byte(`{}`), Keys: []pgstore.Key{traced},
		TraceParent: parent, TraceState: "scoda=1"})
	insert(t, s, pool, pgstore.NewDelivery{Tenant: "acme", EventID: "untraced", EventType: "GTIN", Subject: untraced.Value,
		Lane: "container:" + untraced.Value, Body: []byte(`{}`), Keys: []pgstore.Key{untraced}})

	now := time.Now()
	claims, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(claims) != 2 {
		t.Fatalf("claimed %+v (%v), want 2", claims, err)
	}
	byEvent := map[string]pgstore.Claim{}
	for _, c := range claims {
		byEvent[c.EventID] = c
	}
	if c := byEvent["traced"]; c.TraceParent != parent || c.TraceState != "scoda=1" {
		t.Fatalf("traced claim carries %q / %q", c.TraceParent, c.TraceState)
	}
	if c := byEvent["untraced"]; c.TraceParent != "" || c.TraceState != "" {
		t.Fatalf("untraced claim carries %q / %q", c.TraceParent, c.TraceState)
	}

	// A failed attempt leaves it pending; the retry's claim carries the same context.
	code := 500
	retry := func(_ pgx.Tx, _ pgstore.SubscriptionHealth) (pgstore.Verdict, error) {
		return pgstore.Verdict{Status: pgstore.DeliveryPending, NextAttemptAt: now}, nil
	}
	if recorded, err := s.RecordAttempt(ctx, byEvent["traced"], pgstore.Attempt{StartedAt: now, StatusCode: &code}, retry); err != nil || !recorded {
		t.Fatalf("record: %v %v", recorded, err)
	}
	claims, err = s.ClaimDeliveries(ctx, now.Add(time.Second), now.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].EventID != "traced" || claims[0].Attempts != 1 || claims[0].TraceParent != parent {
		t.Fatalf("retry claim %+v (%v)", claims, err)
	}
}
