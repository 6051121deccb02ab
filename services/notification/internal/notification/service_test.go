package notification_test

import (
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit/servicetest"
	"github.com/scodalabs/scoda/services/notification/internal/notification"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

// TestService runs the notification service through its real wiring against PostgreSQL, Redis and an
// embedded NATS server.
func TestService(t *testing.T) {
	h := servicetest.Start(t, notification.Service("test"))
	t.Run("operations", func(t *testing.T) { servicetest.CheckOperations(t, h) })
	t.Run("auth", func(t *testing.T) { servicetest.CheckAuth(t, h) })
	t.Run("openapi", func(t *testing.T) { servicetest.CheckOpenAPI(t, h) })
	t.Run("consumes tracking events", func(t *testing.T) { servicetest.CheckConsumesIdempotent(t, h, "notification-tracking") })
}

func TestMigrationsUpDownUp(t *testing.T) {
	servicetest.CheckMigrations(t, notification.Name, migrations.FS)
}
