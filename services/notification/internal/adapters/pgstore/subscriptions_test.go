package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

func newSub(tenant string, all bool, keys ...pgstore.Key) pgstore.Subscription {
	return pgstore.Subscription{Tenant: tenant, CallbackURL: "https://hooks.example.com/" + tenant, Scheme: pgstore.SchemeStandard,
		Secret: secretA, AllContainers: all, EventTypes: []string{"DEPA", "ARRI"}, Keys: keys}
}

func keysOf(t *testing.T, pool *pgxpool.Pool, id string) []pgstore.Key {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT kind, value FROM subscription_keys WHERE subscription_id = $1 ORDER BY kind, value`, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgstore.Key, error) {
		var k pgstore.Key
		return k, r.Scan(&k.Kind, &k.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSubscriptionLifecycle(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	c := pgstore.Key{Kind: pgstore.KindContainer, Value: "CSQU3054383"}
	b := pgstore.Key{Kind: pgstore.KindBooking, Value: "bk-1"}

	sub, err := s.CreateSubscription(ctx, newSub("acme", true, b, c))
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID == "" || sub.Version != 1 || sub.Status != pgstore.StatusActive || sub.Secret != secretA || !sub.AllContainers ||
		!slices.Equal(sub.EventTypes, []string{"DEPA", "ARRI"}) || sub.CreatedAt.IsZero() {
		t.Fatalf("created %+v", sub)
	}
	// The keys as stored: the references and, for "all my containers", the tenant key; the
	// subscription shows only the references.
	if got, want := keysOf(t, pool, sub.ID), []pgstore.Key{b, c, {Kind: "tenant", Value: "acme"}}; !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	if !slices.Equal(sub.Keys, []pgstore.Key{b, c}) {
		t.Fatalf("subscription keys %v", sub.Keys)
	}

	// Reading: by its tenant or unscoped; another tenant and non-ids are not found.
	for _, tc := range []struct {
		tenant, id string
		found      bool
	}{
		{"acme", sub.ID, true}, {"", sub.ID, true}, {"globex", sub.ID, false},
		{"", "not-a-uuid", false}, {"", "00000000-0000-0000-0000-000000000000", false},
	} {
		got, err := s.Subscription(ctx, tc.tenant, tc.id)
		switch {
		case tc.found && (err != nil || got.ID != sub.ID):
			t.Errorf("Subscription(%q, %q) = %+v, %v", tc.tenant, tc.id, got, err)
		case !tc.found && !errors.Is(err, apperr.ErrNotFound):
			t.Errorf("Subscription(%q, %q): err %v, want not found", tc.tenant, tc.id, err)
		}
	}

	// Update: another tenant's is not found (before any version check), a stale version fails.
	noop := func(*pgstore.Subscription) error { return nil }
	if _, err := s.UpdateSubscription(ctx, "globex", sub.ID, 1, noop); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("other tenant's update: %v", err)
	}
	if _, err := s.UpdateSubscription(ctx, "globex", sub.ID, 7, noop); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("other tenant's update at a wrong version: %v", err)
	}
	if _, err := s.UpdateSubscription(ctx, "acme", sub.ID, 2, noop); !errors.Is(err, apperr.ErrPreconditionFailed) {
		t.Fatalf("stale update: %v", err)
	}
	d := pgstore.Key{Kind: pgstore.KindDocument, Value: "MBL-9"}
	sub, err = s.UpdateSubscription(ctx, "acme", sub.ID, 1, func(u *pgstore.Subscription) error {
		u.CallbackURL, u.AllContainers, u.Keys, u.EventTypes = "https://hooks.example.com/v2", false, []pgstore.Key{d}, nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Version != 2 || sub.CallbackURL != "https://hooks.example.com/v2" || sub.AllContainers || len(sub.EventTypes) != 0 ||
		!slices.Equal(sub.Keys, []pgstore.Key{d}) {
		t.Fatalf("updated %+v", sub)
	}
	if got := keysOf(t, pool, sub.ID); !slices.Equal(got, []pgstore.Key{d}) {
		t.Fatalf("keys after update %v", got)
	}
	// A failing update changes nothing.
	boom := errors.New("boom")
	if _, err := s.UpdateSubscription(ctx, "acme", sub.ID, 2, func(u *pgstore.Subscription) error { u.CallbackURL = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}

	// Disabled (as the dispatcher would), then re-enabled: the reason and failures are cleared.
	if _, err := pool.Exec(ctx, `UPDATE subscriptions SET status = 'disabled', disabled_reason = 'endpoint answered 410 Gone',
		disabled_at = now(), consecutive_failures = 9, first_failure_at = now() WHERE id = $1`, sub.ID); err != nil {
		t.Fatal(err)
	}
	sub, err = s.Subscription(ctx, "", sub.ID)
	if err != nil || sub.Status != pgstore.StatusDisabled || sub.DisabledReason == "" || sub.DisabledAt == nil || sub.ConsecutiveFailures != 9 {
		t.Fatalf("disabled: %+v %v", sub, err)
	}
	sub, err = s.UpdateSubscription(ctx, "acme", sub.ID, 2, func(u *pgstore.Subscription) error { u.Status = pgstore.StatusActive; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != pgstore.StatusActive || sub.DisabledReason != "" || sub.DisabledAt != nil || sub.ConsecutiveFailures != 0 || sub.FirstFailureAt != nil || sub.Version != 3 {
		t.Fatalf("re-enabled %+v", sub)
	}

	// Rotation: the current secret becomes the previous one until the grace ends.
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	sub, err = s.RotateSecret(ctx, "acme", sub.ID, 3, until, func(cur pgstore.Subscription) (string, error) {
		if cur.Secret != secretA {
			t.Errorf("rotating from %q", cur.Secret)
		}
		return secretB, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Secret != secretB || sub.PreviousSecret != secretA || sub.PreviousUntil == nil || !sub.PreviousUntil.Equal(until) || sub.Version != 4 {
		t.Fatalf("rotated %+v", sub)
	}
	if got := sub.Secrets(time.Now()); !slices.Equal(got, []string{secretB, secretA}) {
		t.Fatalf("secrets during the grace: %v", got)
	}
	if got := sub.Secrets(until.Add(time.Second)); !slices.Equal(got, []string{secretB}) {
		t.Fatalf("secrets after the grace: %v", got)
	}

	// Delete: scoped and versioned like an update; keys go with it.
	if err := s.DeleteSubscription(ctx, "globex", sub.ID, 4); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("other tenant's delete: %v", err)
	}
	if err := s.DeleteSubscription(ctx, "acme", sub.ID, 3); !errors.Is(err, apperr.ErrPreconditionFailed) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.DeleteSubscription(ctx, "", sub.ID, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscription(ctx, "", sub.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if got := keysOf(t, pool, sub.ID); len(got) != 0 {
		t.Fatalf("keys left: %v", got)
	}
}

func TestListSubscriptionsPages(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	var acme []string
	for i := range 5 {
		tenant := "acme"
		if i%2 == 1 {
			tenant = "globex"
		}
		sub, err := s.CreateSubscription(ctx, newSub(tenant, true))
		if err != nil {
			t.Fatal(err)
		}
		if tenant == "acme" {
			acme = append([]string{sub.ID}, acme...) // newest first
		}
	}
	var got []string
	var after *paging.Cursor
	for page := 0; ; page++ {
		subs, next, err := s.ListSubscriptions(ctx, "acme", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs {
			got = append(got, sub.ID)
		}
		if next == nil {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		if after, err = pgstore.DecodeCursor(next.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, acme) {
		t.Fatalf("acme's pages %v, want %v", got, acme)
	}
	all, next, err := s.ListSubscriptions(ctx, "", nil, 10)
	if err != nil || len(all) != 5 || next != nil {
		t.Fatalf("all: %d, next %v, %v", len(all), next, err)
	}
	if _, err := pgstore.DecodeCursor("bm90LWEta2V5c2V0"); !errors.Is(err, paging.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// countingDB counts the statements sent through it.
type countingDB struct {
	postgres.DB
	n int
}

func (c *countingDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.n++
	return c.DB.Exec(ctx, sql, args...)
}

func (c *countingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n++
	return c.DB.Query(ctx, sql, args...)
}

func (c *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.n++
	return c.DB.QueryRow(ctx, sql, args...)
}

func TestMatchSubscriptions(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	c1 := pgstore.Key{Kind: pgstore.KindContainer, Value: "CSQU3054383"}
	c2 := pgstore.Key{Kind: pgstore.KindContainer, Value: "MSCU1234565"}
	bk := pgstore.Key{Kind: pgstore.KindBooking, Value: "bk-1"}
	doc := pgstore.Key{Kind: pgstore.KindDocument, Value: "MBL-1"}
	acmeAll := pgstore.Key{Kind: pgstore.KindTenant, Value: "acme"}

	create := func(sub pgstore.Subscription) string {
		t.Helper()
		got, err := s.CreateSubscription(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	byContainer := create(newSub("acme", false, c1))
	byBooking := create(newSub("acme", false, bk))
	byDocument := create(newSub("acme", false, doc))
	byAll := create(newSub("acme", true))
	several := create(newSub("globex", false, c1, bk, doc)) // matched once however many keys hit
	dcsa := newSub("globex", false, c2)
	dcsa.Scheme, dcsa.Secret = pgstore.SchemeDCSA, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
	byC2 := create(dcsa)
	disabled := create(newSub("acme", false, c2))
	if _, err := pool.Exec(ctx, `UPDATE subscriptions SET status = 'disabled' WHERE id = $1`, disabled); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		keys []pgstore.Key
		want []string // in creation order
	}{
		{"container", []pgstore.Key{c1}, []string{byContainer, several}},
		{"booking", []pgstore.Key{bk}, []string{byBooking, several}},
		{"document", []pgstore.Key{doc}, []string{byDocument, several}},
		{"tenant", []pgstore.Key{acmeAll}, []string{byAll}},
		{"every kind at once, deduplicated", []pgstore.Key{c1, bk, doc, acmeAll}, []string{byContainer, byBooking, byDocument, byAll, several}},
		{"disabled ones are left out", []pgstore.Key{c2}, []string{byC2}},
		{"nothing listens", []pgstore.Key{{Kind: pgstore.KindContainer, Value: "TGHU0000002"}, {Kind: pgstore.KindTenant, Value: "initech"}}, nil},
		{"no keys", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &countingDB{DB: pool}
			subs, err := s.MatchSubscriptions(ctx, db, tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sub := range subs {
				got = append(got, sub.ID)
				if sub.Secret == "" || sub.CallbackURL == "" || sub.Scheme == "" || sub.Status != pgstore.StatusActive {
					t.Errorf("match without what delivery needs: %+v", sub)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
			if len(tc.keys) > 0 && db.n != 1 {
				t.Fatalf("%d statements, want one query", db.n)
			}
		})
	}

	// Inside a transaction too (the inbox's), and with the subscription's fields.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		subs, err := s.MatchSubscriptions(ctx, tx, []pgstore.Key{c2})
		if err != nil {
			return err
		}
		if len(subs) != 1 || subs[0].Scheme != pgstore.SchemeDCSA || subs[0].Tenant != "globex" || !slices.Equal(subs[0].EventTypes, []string{"DEPA", "ARRI"}) {
			t.Errorf("in a transaction: %+v", subs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
