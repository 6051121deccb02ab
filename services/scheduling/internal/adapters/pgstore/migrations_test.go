package pgstore_test

import (
	"io/fs"
	"testing"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
	"github.com/scodalabs/scoda/services/scheduling/migrations"
)

// The migrations go down cleanly and come back up.
func TestMigrationsDownAndUp(t *testing.T) {
	dsn, schema := pgtest.Schema(t, "schedmig")
	m, err := postgres.NewMigrator(t.Context(), dsn, schema, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	for step, run := range []func() error{m.Up, m.Down, m.Up} {
		if err := run(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	ups, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	if v, dirty, err := m.Version(); err != nil || dirty || v != uint(len(ups)) {
		t.Fatalf("version %d dirty %v err %v, want %d clean", v, dirty, err, len(ups))
	}
}
