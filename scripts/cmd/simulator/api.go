package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

// api calls the three services as their users would: a carrier posts events, a dispatcher plans
// and changes departures, shippers book and subscribe.
type api struct {
	tracking, scheduling, notification string
	http                               *http.Client
	key                                auth.Key
	tokens                             map[string]string // "carrier", "dispatcher", "shipper:<tenant>"
}

func newAPI(tracking, scheduling, notification string, secret []byte) (*api, error) {
	key, err := auth.HMACKey(secret)
	if err != nil {
		return nil, err
	}
	return &api{tracking: tracking, scheduling: scheduling, notification: notification,
		http: &http.Client{Timeout: 30 * time.Second}, key: key, tokens: map[string]string{}}, nil
}

// token is a fresh-enough token for a role ("shipper:acme" for a shipper of tenant acme).
func (a *api) token(who string) (string, error) {
	if t, ok := a.tokens[who]; ok {
		return t, nil
	}
	p := auth.Principal{Role: auth.Role(who), Subject: "simulator"}
	if len(who) > 8 && who[:8] == "shipper:" {
		p = auth.Principal{Role: auth.RoleShipper, Tenant: who[8:], Subject: "simulator@" + who[8:]}
	}
	t, err := auth.Mint(a.key, p, 24*time.Hour, time.Now())
	if err != nil {
		return "", err
	}
	a.tokens[who] = t
	return t, nil
}

// statusError is an answer other than the one expected.
type statusError struct {
	Status int
	Body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %.300s", e.Status, e.Body) }

// do sends body (JSON, nil for none) and decodes the answer into out when it has status want.
// It returns the answer's ETag.
func (a *api) do(ctx context.Context, method, url, who string, header http.Header, body, out any, want int) (string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return "", err
	}
	tok, err := a.token(who)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != want {
		return "", &statusError{Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return "", fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.Header.Get("ETag"), nil
}

// waitReady polls each base URL's /readyz until it answers 200.
func (a *api) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, base := range []string{a.tracking, a.scheduling, a.notification} {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
			resp, err := a.http.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s is not ready: %w", base, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

type departureOut struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	PlannedDeparture time.Time `json:"plannedDeparture"`
	Cutoff           time.Time `json:"cutoff"`
}

func (a *api) createDeparture(ctx context.Context, route, train string, planned, cutoff time.Time) (departureOut, error) {
	var d departureOut
	_, err := a.do(ctx, http.MethodPost, a.scheduling+"/v1/departures", "dispatcher", nil, map[string]any{
		"route": route, "trainNumber": train, "status": "open",
		"plannedDeparture": planned.UTC().Format(time.RFC3339), "cutoff": cutoff.UTC().Format(time.RFC3339),
	}, &d, http.StatusCreated)
	return d, err
}

// change reads the departure for its ETag and posts action (delay, cancel) with If-Match.
func (a *api) change(ctx context.Context, id, action string, body, out any) error {
	etag, err := a.do(ctx, http.MethodGet, a.scheduling+"/v1/departures/"+id, "dispatcher", nil, nil, nil, http.StatusOK)
	if err != nil {
		return err
	}
	if etag == "" {
		return errors.New("GET departure: no ETag")
	}
	_, err = a.do(ctx, http.MethodPost, a.scheduling+"/v1/departures/"+id+"/"+action, "dispatcher",
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
	_, err := a.do(ctx, http.MethodPost, a.scheduling+"/v1/bookings", "shipper:"+b.Tenant, nil, map[string]any{
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
	_, err := a.do(ctx, http.MethodPost, a.tracking+"/v1/events", "carrier", nil, map[string]any{"events": evs}, &out, http.StatusAccepted)
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
	if _, err := a.do(ctx, http.MethodGet, a.notification+"/v1/subscriptions?limit=100", who, nil, nil, &page, http.StatusOK); err != nil {
		return "", "", fmt.Errorf("list subscriptions: %w", err)
	}
	for _, s := range page.Subscriptions {
		if s.CallbackURL != callback {
			continue
		}
		url := a.notification + "/v1/subscriptions/" + s.ID
		etag, err := a.do(ctx, http.MethodGet, url, who, nil, nil, nil, http.StatusOK)
		if err != nil {
			return "", "", err
		}
		if _, err := a.do(ctx, http.MethodDelete, url, who, http.Header{"If-Match": {etag}}, nil, nil, http.StatusNoContent); err != nil {
			return "", "", fmt.Errorf("delete old subscription %s: %w", s.ID, err)
		}
	}
	var out struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	_, err = a.do(ctx, http.MethodPost, a.notification+"/v1/subscriptions", who, nil, map[string]any{
		"callbackUrl": callback, "filters": map[string]any{"allContainers": true, "eventTypes": types},
	}, &out, http.StatusCreated)
	return out.ID, out.Secret, err
}
