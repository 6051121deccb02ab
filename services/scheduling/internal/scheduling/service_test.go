package scheduling_test

import (
	"context"
	"testing"

	"github.com/scodalabs/scoda/pkg/postgres"

	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/scheduling/internal/scheduling"
	"github.com/scodalabs/scoda/services/scheduling/migrations"
)

// TestService runs the scheduling service through its real wiring against PostgreSQL, Redis and an
// embedded NATS server.
func TestService(t *testing.T) {
	h := servicetest.Start(t, scheduling.Service("test"))
	t.Run("operations", func(t *testing.T) { servicetest.CheckOperations(t, h) })
	t.Run("auth", func(t *testing.T) { servicetest.CheckAuth(t, h) })
	t.Run("openapi", func(t *testing.T) { servicetest.CheckOpenAPI(t, h) })
	t.Run("consumes tracking events", func(t *testing.T) { servicetest.CheckConsumes(t, h, "scheduling-tracking") })
}

func TestMigrationsUpDownUp(t *testing.T) {
	servicetest.CheckMigrations(t, scheduling.Name, migrations.FS)
}

func TestNetworkIsSeededAtStart(t *testing.T) {
	h := servicetest.Start(t, scheduling.Service("test"))
	db, err := postgres.Connect(context.Background(), h.Config.DatabaseURL, h.Config.DBSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var routes, breaks int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM routes`).Scan(&routes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM route_stops WHERE break_of_gauge`).Scan(&breaks); err != nil {
		t.Fatal(err)
	}
	if routes != 15 || breaks == 0 {
		t.Fatalf("seeded %d routes with %d break-of-gauge stops", routes, breaks)
	}
}
