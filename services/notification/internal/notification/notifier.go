package notification

import (
	"time"

	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

// Notifier is the notification service's business logic: subscriptions, matching events to
// them, and delivering.
type Notifier struct {
	store *pgstore.Store
	cfg   Config
	now   func() time.Time
}

// NewNotifier returns a Notifier on store.
func NewNotifier(store *pgstore.Store, cfg Config) *Notifier {
	return &Notifier{store: store, cfg: cfg, now: time.Now}
}
