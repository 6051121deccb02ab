package pgstore_test

import (
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
	if v, dirty, err := m.Version(); err != nil || dirty || v != 3 {
		t.Fatalf("version %d dirty %v err %v, want 3 clean", v, dirty, err)
	}
}
