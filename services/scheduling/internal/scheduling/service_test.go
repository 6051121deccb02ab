package scheduling_test

import (
	"testing"

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
