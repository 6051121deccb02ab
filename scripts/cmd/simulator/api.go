package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// api calls the three services as their users would: a carrier posts events, a dispatcher plans
// and changes departures, shippers book and subscribe ("shipper:<tenant>").
type api struct{ *stackapi.Client }

func newAPI(tracking, scheduling, notification string, secret []byte) (*api, error) {
	c, err := stackapi.New(stackapi.Config{Tracking: tracking, Scheduling: scheduling, Notification: notification,
		Secret: secret, Subject: "simulator", TokenTTL: 24 * time.Hour, MaxAnswer: 4 << 20})
	if err != nil {
		return nil, err
	}
	return &api{c}, nil
}

type departureOut struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	PlannedDeparture time.Time `json:"plannedDeparture"`
	Cutoff           time.Time `json:"cutoff"`
}

func (a *api) createDeparture(ctx context.Context, route, train string, planned, cutoff time.Time) (departureOut, error) {
	var d departureOut
	_, err := a.Do(ctx, http.MethodPost, a.Scheduling+"/v1/departures", "dispatcher", nil, map[string]any{
		"route": route, "trainNumber": train, "status": "open",
		"plannedDeparture": planned.UTC().Format(time.RFC3339), "cutoff": cutoff.UTC().Format(time.RFC3339),
	}, &d, http.StatusCreated)
	return d, err
}

// change reads the departure for its ETag and posts action (delay, cancel) with If-Match.
func (a *api) change(ctx context.Context, id, action string, body, out any) error {
	etag, err := a.Do(ctx, http.MethodGet, a.Scheduling+"/v1/departures/"+id, "dispatcher", nil, nil, nil, http.StatusOK)
	if err != nil {
		return err
	}
	if etag == "" {
		return errors.New("GET departure: no ETag")
	}
	_, err = a.Do(ctx, http.MethodPost, a.Scheduling+"/v1/departures/"+id+"/"+action, "dispatcher",
		http.Header{"If-Match": {etag}}, body, out, http.StatusOK)
	return err
}

type cancellation struct {
	Moved []struct {
		BookingID     string `json:"bookingID"`
		ToDepartureID string `json:"toDepartureID"`
	} `json:"moved"`
	Waitlisted []string `json:"waitlisted"`
}

type bookingOut struct {
	ID                 string `json:"id"`
	EquipmentReference string `json:"equipmentReference"`
	Status             string `json:"status"`
}

func (a *api) book(ctx context.Context, departure string, b box, from, to string) (bookingOut, error) {
	var out bookingOut
	_, err := a.Do(ctx, http.MethodPost, a.Scheduling+"/v1/bookings", "shipper:"+b.Tenant, nil, map[string]any{
		"departureID": departure, "equipmentReference": b.No, "isoEquipmentCode": b.ISOCode,
		"grossWeightKg": b.WeightKg, "from": from, "to": to,
	}, &out, http.StatusCreated)
	return out, err
}

// postEvents sends one batch of events as a carrier; it answers how many were accepted.
func (a *api) postEvents(ctx context.Context, evs []map[string]any) (int, error) {
	var out struct {
		Accepted int `json:"accepted"`
	}
	_, err := a.Do(ctx, http.MethodPost, a.Tracking+"/v1/events", "carrier", nil, map[string]any{"events": evs}, &out, http.StatusAccepted)
	return out.Accepted, err
}

// subscribe makes tenant's "all my containers" webhook subscription to callback and returns its
// secret. Subscriptions of the tenant to the same callback (earlier runs) are deleted first, so
// the receiver is not sent deliveries signed with secrets it no longer knows.
func (a *api) subscribe(ctx context.Context, tenant, callback string, types []string) (id, secret string, err error) {
	who := "shipper:" + tenant
	var page struct {
		Subscriptions []struct {
			ID          string `json:"id"`
			CallbackURL string `json:"callbackUrl"`
		} `json:"subscriptions"`
	}
	if _, err := a.Do(ctx, http.MethodGet, a.Notification+"/v1/subscriptions?limit=100", who, nil, nil, &page, http.StatusOK); err != nil {
		return "", "", fmt.Errorf("list subscriptions: %w", err)
	}
	for _, s := range page.Subscriptions {
		if s.CallbackURL != callback {
			continue
		}
		url := a.Notification + "/v1/subscriptions/" + s.ID
		etag, err := a.Do(ctx, http.MethodGet, url, who, nil, nil, nil, http.StatusOK)
		if err != nil {
			return "", "", err
		}
		if _, err := a.Do(ctx, http.MethodDelete, url, who, http.Header{"If-Match": {etag}}, nil, nil, http.StatusNoContent); err != nil {
			return "", "", fmt.Errorf("delete old subscription %s: %w", s.ID, err)
		}
	}
	var out struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	_, err = a.Do(ctx, http.MethodPost, a.Notification+"/v1/subscriptions", who, nil, map[string]any{
		"callbackUrl": callback, "filters": map[string]any{"allContainers": true, "eventTypes": types},
	}, &out, http.StatusCreated)
	return out.ID, out.Secret, err
}
