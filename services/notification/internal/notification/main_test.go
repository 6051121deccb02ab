package notification_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// migratedPool returns a pool on a fresh schema (named after name) with the service's
// migrations applied, closed when tb ends.
func migratedPool(tb testing.TB, name string) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	dsn, schema := pgtest.Schema(tb, name)
	if err := postgres.Migrate(ctx, dsn, schema, migrations.FS); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	pool, err := postgres.Connect(ctx, dsn, schema)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
