// Package notification is the notification service: subscriptions, webhook endpoints,
// deliveries and live streams. It consumes tracking.v1.* and schedule.v1.* and publishes
// notification.v1.* on the NOTIFICATION stream.
package notification

import (
	"context"
	_ "embed"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/events"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/services/notification/migrations"
)

//go:embed openapi.json
var openAPI []byte

// Name is the service's name: its process, schema and NATS client name.
const Name = "notification"

// Consumers of the notification service: one per stream it matches subscriptions against.
var (
	TrackingConsumer = natsx.Consumer{
		Stream: events.StreamTracking,
		Config: natsx.DurableConsumer("notification-tracking", []string{events.FilterContainer},
			natsx.WithDescription("notification: container events -> matching subscriptions")),
	}
	ScheduleConsumer = natsx.Consumer{
		Stream: events.StreamSchedule,
		Config: natsx.DurableConsumer("notification-schedule", []string{events.FilterSchedule},
			natsx.WithDescription("notification: schedule events (ETA, delays) -> matching subscriptions")),
	}
)

// Service describes the notification service to the runtime.
func Service(version string) app.Service {
	return app.Service{
		Name:        Name,
		Version:     version,
		DefaultAddr: ":8083",
		Migrations:  migrations.FS,
		OpenAPI:     openAPI,
		Consumers:   []natsx.Consumer{TrackingConsumer, ScheduleConsumer},
		Build: func(_ context.Context, d *app.Deps) ([]app.Worker, error) {
			var workers []app.Worker
			for _, c := range []natsx.Consumer{TrackingConsumer, ScheduleConsumer} {
				w, err := app.EventConsumer(d, c, 4, nil)
				if err != nil {
					return nil, err
				}
				workers = append(workers, w)
			}
			return workers, nil
		},
	}
}
