package tracking_test

import (
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/tracking/internal/tracking"
	"github.com/scodalabs/scoda/services/tracking/migrations"
)

// TestService runs the tracking service through its real wiring against PostgreSQL, Redis and an
// embedded NATS server.
func TestService(t *testing.T) {
	h := servicetest.Start(t, tracking.Service("test"))
	t.Run("operations", func(t *testing.T) { servicetest.CheckOperations(t, h) })
	t.Run("auth", func(t *testing.T) { servicetest.CheckAuth(t, h) })
	t.Run("openapi", func(t *testing.T) { servicetest.CheckOpenAPI(t, h) })

}

func TestMigrationsUpDownUp(t *testing.T) {
	servicetest.CheckMigrations(t, tracking.Name, migrations.FS)
}
