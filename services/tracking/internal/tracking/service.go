// Package tracking is the tracking service: it owns container events (positions and
// milestones), their history and the live position of every container. It publishes
// tracking.v1.* on the TRACKING stream.
package tracking

import (
	_ "embed"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/services/tracking/migrations"
)

//go:embed openapi.json
var openAPI []byte

// Name is the service's name: its process, schema and NATS client name.
const Name = "tracking"

// Service describes the tracking service to the runtime.
func Service(version string) app.Service {
	return app.Service{
		Name:        Name,
		Version:     version,
		DefaultAddr: ":8081",
		Migrations:  migrations.FS,
		OpenAPI:     openAPI,
	}
}
