package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

// waitFor waits (testkit.Eventually) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !cond() {
			return errors.New(what + ": not yet")
		}
		return nil
	})
}

func ownerTenants(t *testing.T, s *pgstore.Store, db postgres.DB, containers ...string) map[string][]string {
	t.Helper()
	owners, err := s.ContainerOwners(context.Background(), db, containers)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for c, os := range owners {
		for _, o := range os {
			out[c] = append(out[c], o.Tenant)
		}
	}
	return out
}

// TestOwnedSetFollowsEveryWriter: the set starts from what is owned, then follows owners
// added by another process's store and by plain SQL (the trigger), and its own store's Owns
// before they commit; in sync, ContainerOwners asks only about the containers it holds, and
// nothing when it holds none; out of sync, it asks about every container again.
func TestOwnedSetFollowsEveryWriter(t *testing.T) {
	ctx := context.Background()
	plain, pool := openStore(t) // another process: no set
	if err := plain.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: "MSCU1234565"}}); err != nil {
		t.Fatal(err)
	}
	set := pgstore.NewOwnedSet()
	s := plain.WithOwnedSet(set)
	if set.Synced() {
		t.Fatal("a new set is in sync")
	}
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.ListenOwned(lctx) }()
	waitFor(t, "in sync", set.Synced)
	if set.Unowned("MSCU1234565") || !set.Unowned("TGHU0000001") {
		t.Fatalf("after the first read: MSCU1234565 unowned %v, TGHU0000001 unowned %v; want false, true",
			set.Unowned("MSCU1234565"), set.Unowned("TGHU0000001"))
	}

	// Another process's Own, committed: announced by the trigger.
	if err := plain.Own(ctx, pool, "globex", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: "TCLU7654329"},
		{Kind: pgstore.KindBooking, Value: "BK-1", Container: "TCLU7654329"}}); err != nil {
		t.Fatal(err)
	}
	// An operator's plain INSERT, committed.
	if _, err := pool.Exec(ctx, `INSERT INTO ownership (tenant_id, kind, value) VALUES ('acme', 'container', 'CSQU3054383')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the committed owners announced", func() bool {
		return !set.Unowned("TCLU7654329") && !set.Unowned("CSQU3054383")
	})
	if !set.Unowned("BK-1") {
		t.Fatal("a booking id is in the set of containers")
	}

	// This store's own Own is in the set before its transaction commits; another process's
	// is not, and matching in sync does not see it: the set decides which containers are asked for.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := s.Own(ctx, tx, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: "MSKU0000012"}}); err != nil {
		t.Fatal(err)
	}
	if set.Unowned("MSKU0000012") {
		t.Fatal("this store's own Own is not in the set before commit")
	}
	if err := plain.Own(ctx, tx, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: "HLXU1234567"}}); err != nil {
		t.Fatal(err)
	}
	if got := ownerTenants(t, s, tx, "HLXU1234567", "MSKU0000012", "MSCU1234565"); len(got) != 2 ||
		got["HLXU1234567"] != nil || len(got["MSKU0000012"]) != 1 || len(got["MSCU1234565"]) != 1 {
		t.Fatalf("in sync, owners of the three: %v (HLXU1234567 not in the set must be left out)", got)
	}

	// In sync and none of the containers in the set: no statement at all.
	count := &countingDB{DB: tx}
	if got := ownerTenants(t, s, count, "TGHU0000001", "TRLU1111111"); len(got) != 0 || count.n != 0 {
		t.Fatalf("owners of unowned containers: %v after %d statements, want none after 0", got, count.n)
	}

	// Out of sync (the listener stopped), every container is asked for again.
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("listen owned returned %v, want context.Canceled", err)
	}
	if set.Synced() {
		t.Fatal("the set is in sync with its listener stopped")
	}
	if got := ownerTenants(t, s, tx, "HLXU1234567", "TGHU0000001"); len(got["HLXU1234567"]) != 1 || len(got) != 1 {
		t.Fatalf("out of sync, owners: %v, want HLXU1234567's", got)
	}
}

// ownersText renders ContainerOwners' answer for one container: "tenant[kind:value ...]" per
// owner, references sorted.
func ownersText(t *testing.T, s *pgstore.Store, db postgres.DB, container string) string {
	t.Helper()
	owners, err := s.ContainerOwners(context.Background(), db, []string{container, container})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range owners[container] {
		var refs []string
		for _, r := range o.Refs {
			refs = append(refs, r.Kind+":"+r.Value)
		}
		slices.Sort(refs)
		out = append(out, o.Tenant+"["+strings.Join(refs, " ")+"]")
	}
	return strings.Join(out, " ")
}

// TestOwnedSetKnowsOwnersUntilTheyChange: in sync, a container's owners are read once and then
// known, until any writer changes them (a booking, a document, another owner, in another
// process or by plain SQL), after which they are read again, as changed.
func TestOwnedSetKnowsOwnersUntilTheyChange(t *testing.T) {
	ctx := context.Background()
	plain, pool := openStore(t)
	const box = "MSCU1234565"
	if err := plain.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: box}}); err != nil {
		t.Fatal(err)
	}
	set := pgstore.NewOwnedSet()
	s := plain.WithOwnedSet(set)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.ListenOwned(lctx) }()
	defer func() { stop(); <-done }()
	waitFor(t, "in sync", set.Synced)

	count := &countingDB{DB: pool}
	if got := ownersText(t, s, count, box); got != "acme[]" || count.n != 1 {
		t.Fatalf("first read: %q after %d statements, want acme[] after 1", got, count.n)
	}
	if got := ownersText(t, s, count, box); got != "acme[]" || count.n != 1 {
		t.Fatalf("known: %q after %d statements in all, want acme[] and no more statements", got, count.n)
	}
	changes := []struct {
		what, want string
		change     func() error
	}{
		{"a booking, by another process", "acme[booking:BK-1]", func() error {
			return plain.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindBooking, Value: "BK-1", Container: box}})
		}},
		{"a transport document, by plain SQL", "acme[booking:BK-1 document:MBL-1]", func() error {
			_, err := pool.Exec(ctx, `INSERT INTO document_containers (tenant_id, document, container) VALUES ('acme', 'MBL-1', $1)`, box)
			return err
		}},
		{"a booking that learns its container", "acme[booking:BK-1 booking:BK-2 document:MBL-1]", func() error {
			if _, err := pool.Exec(ctx, `INSERT INTO ownership (tenant_id, kind, value) VALUES ('acme', 'booking', 'BK-2')`); err != nil {
				return err
			}
			_, err := pool.Exec(ctx, `UPDATE ownership SET container = $1 WHERE kind = 'booking' AND value = 'BK-2'`, box)
			return err
		}},
		{"another owner", "acme[booking:BK-1 booking:BK-2 document:MBL-1] globex[]", func() error {
			return plain.Own(ctx, pool, "globex", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: box}})
		}},
	}
	for _, c := range changes {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		waitFor(t, c.what, func() bool { return ownersText(t, s, pool, box) == c.want })
		count.n = 0
		if got := ownersText(t, s, count, box); got != c.want || count.n != 0 {
			t.Fatalf("after %s: %q after %d statements, want %q known", c.what, got, count.n, c.want)
		}
	}
	// An Own that changes nothing announces nothing: the owners stay known.
	if err := plain.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: box}}); err != nil {
		t.Fatal(err)
	}
	// Notifications arrive in commit order: once a later change is in, one for box would be too.
	const later = "TGHU0000001"
	if err := plain.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: later}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a later change announced", func() bool { return !set.Unowned(later) })
	count.n = 0
	if ownersText(t, s, count, box); count.n != 0 {
		t.Fatalf("owners read again (%d statements) after an Own that changed nothing", count.n)
	}
}
