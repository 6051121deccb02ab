package pgstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

// TestMain checks that the package's tests leave no goroutines behind (one per package).
func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// openStore migrates a fresh schema and returns a store on it and the pool under it.
func openStore(t testing.TB) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	dsn, schema := pgtest.Schema(t, "notifpg")
	if err := postgres.Migrate(context.Background(), dsn, schema, migrations.FS); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	pool, err := postgres.Connect(context.Background(), dsn, schema)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pgstore.New(pool), pool
}

type ownershipRow struct{ Tenant, Kind, Value, Container string }

func ownershipRows(t *testing.T, pool *pgxpool.Pool) []ownershipRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT tenant_id, kind, value, container FROM ownership ORDER BY tenant_id, kind, value`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ownershipRow
	for rows.Next() {
		var r ownershipRow
		if err := rows.Scan(&r.Tenant, &r.Kind, &r.Value, &r.Container); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOwnIsIdempotentAndKeepsWhatItKnows(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	const c = "CSQU3054383"
	// A leg names the booking before the booking event says its container.
	if err := s.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindBooking, Value: "bk-1"}, {Kind: pgstore.KindDocument, Value: "MBL-1"}}); err != nil {
		t.Fatal(err)
	}
	booking := []pgstore.Owned{
		{Kind: pgstore.KindContainer, Value: c},
		{Kind: pgstore.KindBooking, Value: "bk-1", Container: c},
		{Kind: pgstore.KindBooking, Value: "bk-1"}, // a repeat in one call: no double update
		{Kind: pgstore.KindDocument, Value: ""},    // nothing to own
	}
	for range 2 { // the same event twice: same rows
		if err := s.Own(ctx, pool, "acme", booking); err != nil {
			t.Fatal(err)
		}
	}
	// Another tenant may own the same container later (a container is reused).
	if err := s.Own(ctx, pool, "globex", []pgstore.Owned{{Kind: pgstore.KindContainer, Value: c}}); err != nil {
		t.Fatal(err)
	}
	// An event without a tenant, or about nothing, owns nothing.
	if err := s.Own(ctx, pool, "", booking); err != nil {
		t.Fatal(err)
	}
	// Owning a booking again without its container keeps the container known.
	if err := s.Own(ctx, pool, "acme", []pgstore.Owned{{Kind: pgstore.KindBooking, Value: "bk-1"}}); err != nil {
		t.Fatal(err)
	}
	want := []ownershipRow{
		{"acme", "booking", "bk-1", c},
		{"acme", "container", c, ""},
		{"acme", "document", "MBL-1", ""},
		{"globex", "container", c, ""},
	}
	if got := ownershipRows(t, pool); !slices.Equal(got, want) {
		t.Fatalf("ownership\n got %v\nwant %v", got, want)
	}

	for _, tc := range []struct {
		tenant string
		keys   []pgstore.Key
		want   bool
	}{
		{"acme", []pgstore.Key{{Kind: "container", Value: c}, {Kind: "booking", Value: "bk-1"}, {Kind: "document", Value: "MBL-1"}}, true},
		{"acme", []pgstore.Key{{Kind: "container", Value: c}, {Kind: "container", Value: c}}, true}, // repeats count once
		{"acme", nil, true},
		{"globex", []pgstore.Key{{Kind: "container", Value: c}}, true},
		{"globex", []pgstore.Key{{Kind: "container", Value: c}, {Kind: "booking", Value: "bk-1"}}, false}, // one of two
		{"acme", []pgstore.Key{{Kind: "booking", Value: c}}, false},                                       // right value, wrong kind
		{"initech", []pgstore.Key{{Kind: "container", Value: c}}, false},
	} {
		got, err := s.Owns(ctx, tc.tenant, tc.keys...)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Owns(%s, %v) = %v, want %v", tc.tenant, tc.keys, got, tc.want)
		}
	}
	owners, err := s.Owners(ctx, pool, pgstore.KindContainer, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(owners, []string{"acme", "globex"}) {
		t.Fatalf("owners of %s: %v", c, owners)
	}
}

// A container's bookings and transport documents are the keys a subscription by booking or
// document listens on: each tenant's own, a document with several containers, nothing for
// another tenant or container.
func TestReferencesOf(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	own := func(tenant string, owned ...pgstore.Owned) {
		t.Helper()
		if err := s.Own(ctx, pool, tenant, owned); err != nil {
			t.Fatal(err)
		}
	}
	own("acme", pgstore.Owned{Kind: pgstore.KindBooking, Value: "b-1", Container: "MSCU1234565"},
		pgstore.Owned{Kind: pgstore.KindDocument, Value: "MBL-1", Container: "MSCU1234565"},
		pgstore.Owned{Kind: pgstore.KindDocument, Value: "MBL-1", Container: "SCDU2000013"})
	own("acme", pgstore.Owned{Kind: pgstore.KindDocument, Value: "MBL-1", Container: "MSCU1234565"}) // again
	own("globex", pgstore.Owned{Kind: pgstore.KindBooking, Value: "b-2", Container: "MSCU1234565"})

	for _, tc := range []struct {
		tenant, container string
		want              []pgstore.Key
	}{
		{"acme", "MSCU1234565", []pgstore.Key{{Kind: pgstore.KindBooking, Value: "b-1"}, {Kind: pgstore.KindDocument, Value: "MBL-1"}}},
		{"acme", "SCDU2000013", []pgstore.Key{{Kind: pgstore.KindDocument, Value: "MBL-1"}}},
		{"globex", "MSCU1234565", []pgstore.Key{{Kind: pgstore.KindBooking, Value: "b-2"}}},
		{"globex", "SCDU2000013", nil},
		{"initech", "MSCU1234565", nil},
	} {
		got, err := s.ReferencesOf(ctx, pool, tc.tenant, tc.container)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b pgstore.Key) int { return strings.Compare(a.Kind+a.Value, b.Kind+b.Value) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("ReferencesOf(%s, %s) = %v, want %v", tc.tenant, tc.container, got, tc.want)
		}
	}
}
