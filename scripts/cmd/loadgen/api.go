package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// api calls the three services as their users would, with development tokens: as a carrier, a
// dispatcher, an admin, and the bench tenant's shipper.
type api struct{ *stackapi.Client }

// tenant is the shipper whose containers are subscribed.
const tenant = "bench"

// shipper is who the bench tenant's shipper is to the api.
const shipper = "shipper:" + tenant

func newAPI(o options) (*api, error) {
	c, err := stackapi.New(stackapi.Config{Tracking: o.tracking, Scheduling: o.scheduling, Notification: o.notification,
		Secret: []byte(envOr("AUTH_JWT_SECRET", auth.DevSecret)), Subject: "loadgen", TokenTTL: 2 * time.Hour,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	if err != nil {
		return nil, err
	}
	return &api{c}, nil
}

// subscribe makes the bench tenant's "all my containers, every event type" Standard Webhooks
// subscription to callback and returns its secret.
func (a *api) subscribe(ctx context.Context, callback string) (string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	_, err := a.Do(ctx, http.MethodPost, a.Notification+"/v1/subscriptions", shipper, nil, map[string]any{
		"callbackUrl": callback, "scheme": "standard", "filters": map[string]any{"allContainers": true},
	}, &out, http.StatusCreated)
	if err == nil && out.Secret == "" {
		err = errors.New("the subscription came back without a secret")
	}
	return out.Secret, err
}

// benchRoute is the seeded route the bench tenant books on.
const benchRoute = "SCO-KZ-ALA"

type departure struct {
	ID       string `json:"id"`
	Segments []struct {
		TEUCapacity      int   `json:"teuCapacity"`
		WeightCapacityKg int64 `json:"weightCapacityKg"`
	} `json:"segments"`
}

// slots is how many 20-foot boxes of boxKg the departure takes end to end.
func (d departure) slots(boxKg int64) int {
	n := -1
	for _, g := range d.Segments {
		s := min(g.TEUCapacity, int(g.WeightCapacityKg/boxKg))
		if n < 0 || s < n {
			n = s
		}
	}
	return max(n, 0)
}

// book creates enough departures on benchRoute for n containers and books containers [0, n)
// for the bench tenant as 20-foot boxes, from parallel clients, as a shipper would.
func (a *api) book(ctx context.Context, n, clients int) (departures int, took time.Duration, err error) {
	const boxKg = 10_000
	start := time.Now()
	planned := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	create := func(i int) (departure, error) {
		var d departure
		_, err := a.Do(ctx, http.MethodPost, a.Scheduling+"/v1/departures", "dispatcher", nil, map[string]any{
			"route": benchRoute, "trainNumber": fmt.Sprintf("B%d", 9000+i), "status": "open",
			"plannedDeparture": planned.UTC().Format(time.RFC3339), "cutoff": planned.Add(-24 * time.Hour).UTC().Format(time.RFC3339),
		}, &d, http.StatusCreated)
		return d, err
	}
	first, err := create(0)
	if err != nil {
		return 0, 0, fmt.Errorf("create a departure: %w", err)
	}
	per := first.slots(boxKg)
	if per == 0 {
		return 0, 0, errors.New("a new departure has no capacity")
	}
	ids := []string{first.ID}
	for i := 1; i*per < n; i++ {
		d, err := create(i)
		if err != nil {
			return 0, 0, fmt.Errorf("create a departure: %w", err)
		}
		ids = append(ids, d.ID)
	}
	route := [2]string{"CNJZH", "KZALA"}
	work := make(chan int)
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range work {
				// Spread over the departures so bookings do not all queue on one departure's rows.
				dep := ids[i%len(ids)]
				_, err := a.Do(ctx, http.MethodPost, a.Scheduling+"/v1/bookings", shipper, nil, map[string]any{
					"departureID": dep, "equipmentReference": containerNo(i), "isoEquipmentCode": "22G1",
					"grossWeightKg": boxKg, "from": route[0], "to": route[1],
				}, nil, http.StatusCreated)
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return len(ids), time.Since(start), fmt.Errorf("%d of %d bookings failed, the first: %w", f, n, firstErr)
	}
	return len(ids), time.Since(start), nil
}

// consumer is one durable consumer of a service, from GET /v1/admin/consumers.
type consumer struct {
	Name       string `json:"name"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ackPending"`
}

func (a *api) consumers(ctx context.Context, base string) (map[string]consumer, error) {
	var st struct {
		Consumers []consumer `json:"consumers"`
	}
	if _, err := a.Do(ctx, http.MethodGet, base+"/v1/admin/consumers", "admin", nil, nil, &st, http.StatusOK); err != nil {
		return nil, err
	}
	out := make(map[string]consumer, len(st.Consumers))
	for _, c := range st.Consumers {
		out[c.Name] = c
	}
	return out, nil
}

// waitCaughtUp polls tracking's consumers until its NATS ingest and its projector have nothing
// pending and nothing unacknowledged, twice in a row (the ingest consumer publishes what the
// projector then reads): every accepted event is in history and in the live state.
func (a *api) waitCaughtUp(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	streak := 0
	for time.Now().Before(deadline) {
		cs, err := a.consumers(ctx, a.Tracking)
		if err != nil {
			return err
		}
		done := true
		for _, name := range []string{"tracking-ingest", "tracking-projector"} {
			c, ok := cs[name]
			if !ok {
				return fmt.Errorf("tracking has no consumer %s", name)
			}
			done = done && c.Pending == 0 && c.AckPending == 0
		}
		if !done {
			streak = 0
		} else if streak++; streak == 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("the projector did not catch up within %s", limit)
}
