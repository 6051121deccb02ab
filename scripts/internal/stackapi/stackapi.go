// Package stackapi calls the three SCODA Track services (tracking, scheduling, notification)
// over their public HTTP APIs as their users would: JSON in and out, each request with a
// development token for the role it is sent as. The simulator and the load generator drive a
// running stack with it.
package stackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

// Config says where the services are and what the client's tokens say.
type Config struct {
	Tracking, Scheduling, Notification string // base URLs

	// Secret is the HMAC secret the services verify tokens with (their AUTH_JWT_SECRET).
	Secret []byte
	// Subject names the caller in its tokens: Subject for a role, Subject@<tenant> for a shipper.
	Subject string
	// TokenTTL is how long a token is valid. A client mints one token per caller, on first
	// use, and keeps it: a client must not outlive its tokens.
	TokenTTL time.Duration
	// MaxAnswer is the largest answer body read, in bytes (0: 8 MiB).
	MaxAnswer int64
	// HTTP sends the requests (nil: a client with a 30 s timeout).
	HTTP *http.Client
}

// Client calls the services. It is safe for concurrent use.
type Client struct {
	Tracking, Scheduling, Notification string // base URLs

	http      *http.Client
	key       auth.Key
	subject   string
	ttl       time.Duration
	maxAnswer int64

	mu     sync.Mutex
	tokens map[string]string // caller -> token
}

// New returns a client for c.
func New(c Config) (*Client, error) {
	key, err := auth.HMACKey(c.Secret)
	if err != nil {
		return nil, err
	}
	if c.TokenTTL <= 0 {
		return nil, errors.New("stackapi: TokenTTL must be positive")
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if c.MaxAnswer == 0 {
		c.MaxAnswer = 8 << 20
	}
	return &Client{Tracking: c.Tracking, Scheduling: c.Scheduling, Notification: c.Notification,
		http: c.HTTP, key: key, subject: c.Subject, ttl: c.TokenTTL, maxAnswer: c.MaxAnswer,
		tokens: map[string]string{}}, nil
}

// Token is the token of who: a role ("carrier", "dispatcher", "admin"), or "shipper:<tenant>"
// for a shipper of that tenant.
func (c *Client) Token(who string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[who]; ok {
		return t, nil
	}
	p := auth.Principal{Role: auth.Role(who), Subject: c.subject}
	if tenant, ok := strings.CutPrefix(who, "shipper:"); ok && tenant != "" {
		p = auth.Principal{Role: auth.RoleShipper, Tenant: tenant, Subject: c.subject + "@" + tenant}
	}
	t, err := auth.Mint(c.key, p, c.ttl, time.Now())
	if err != nil {
		return "", err
	}
	c.tokens[who] = t
	return t, nil
}

// StatusError is an answer other than the one expected.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %.300s", e.Status, e.Body) }

// NewRequest is a request to url with body as JSON (nil: no body) and header added, sent with
// token as its bearer token.
func NewRequest(ctx context.Context, method, url, token string, header http.Header, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Do sends body (JSON; nil for none) to url as who (see Token), with header added, and decodes
// an answer with status want into out (nil: not decoded). Any other status is a *StatusError.
// It returns the answer's ETag.
func (c *Client) Do(ctx context.Context, method, url, who string, header http.Header, body, out any, want int) (etag string, err error) {
	tok, err := c.Token(who)
	if err != nil {
		return "", err
	}
	req, err := NewRequest(ctx, method, url, tok, header, body)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != want {
		return "", &StatusError{Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return "", fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.Header.Get("ETag"), nil
}

// WaitReady polls each service's /readyz until it answers 200, for at most timeout in all.
func (c *Client) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, base := range []string{c.Tracking, c.Scheduling, c.Notification} {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
			if resp, err := c.http.Do(req); err == nil {
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
