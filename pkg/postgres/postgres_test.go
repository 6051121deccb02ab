package postgres_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
)

var migrations = fstest.MapFS{
	"000001_create_things.up.sql":   {Data: []byte(`CREATE TABLE things (id bigint PRIMARY KEY, name text NOT NULL);`)},
	"000001_create_things.down.sql": {Data: []byte(`DROP TABLE things;`)},
	"000002_add_note.up.sql":        {Data: []byte(`ALTER TABLE things ADD COLUMN note text;`)},
	"000002_add_note.down.sql":      {Data: []byte(`ALTER TABLE things DROP COLUMN note;`)},
}

func TestMigrateUpDownUpInOwnSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, schema := pgtest.Schema(t, "pgpkg")

	m, err := postgres.NewMigrator(ctx, url, schema, migrations)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	pool, err := postgres.Connect(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tables := func() map[string]bool {
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]bool{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			got[n] = true
		}
		return got
	}
	wantVersion := func(want uint) {
		t.Helper()
		v, dirty, err := m.Version()
		if err != nil || dirty || v != want {
			t.Fatalf("version = %d dirty=%v err=%v, want %d clean", v, dirty, err, want)
		}
	}

	for round := 1; round <= 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("round %d up: %v", round, err)
		}
		wantVersion(2)
		if got := tables(); !got["things"] || !got[postgres.MigrationsTable] {
			t.Fatalf("round %d: tables in %s = %v", round, schema, got)
		}
		// search_path: unqualified names resolve in the service schema.
		if _, err := pool.Exec(ctx, `INSERT INTO things (id, name, note) VALUES (1, 'box', 'n')`); err != nil {
			t.Fatalf("round %d insert: %v", round, err)
		}
		if err := m.Up(); err != nil { // nothing to do is success
			t.Fatalf("round %d second up: %v", round, err)
		}
		if err := m.Down(); err != nil {
			t.Fatalf("round %d down: %v", round, err)
		}
		wantVersion(0)
		if got := tables(); got["things"] {
			t.Fatalf("round %d: things survived down", round)
		}
	}
}

func TestMigrateRunsAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, schema := pgtest.Schema(t, "pgpkg")
	for range 2 { // a second start finds nothing to do
		if err := postgres.Migrate(ctx, url, schema, migrations); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRejectsBadSchemaNames(t *testing.T) {
	for _, s := range []string{"", "Tracking", "a;drop", "x-y", "1abc"} {
		if postgres.ValidSchema(s) {
			t.Errorf("ValidSchema(%q) = true", s)
		}
		if _, err := postgres.Connect(context.Background(), pgtest.URL(), s); err == nil {
			t.Errorf("Connect with schema %q: want error", s)
		}
	}
}
