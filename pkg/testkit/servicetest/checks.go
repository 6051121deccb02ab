package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/testkit/pgtest"
)

// CheckOperations checks the operational surface: /healthz and /readyz answer 200 once the
// service runs, /metrics serves Prometheus text, and none of them needs a token.
func CheckOperations(t *testing.T, h *Harness) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := h.Do(t, http.MethodGet, path, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d: %s", path, resp.StatusCode, body)
		}
	}
	var rep struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	_, body := h.Do(t, http.MethodGet, "/readyz", "", "")
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	for _, dep := range []string{"postgres", "redis", "nats"} {
		if rep.Checks[dep] != "ok" {
			t.Errorf("/readyz check %s = %q", dep, rep.Checks[dep])
		}
	}
	resp, body := h.Do(t, http.MethodGet, "/metrics", "", "")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("go_goroutines")) {
		t.Errorf("GET /metrics = %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = h.Do(t, http.MethodGet, "/docs", "", "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("<script")) {
		t.Errorf("GET /docs = %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

// CheckAuth checks that the API refuses requests without a valid token (401 problem+json with a
// challenge) and with a role that may not (403), and accepts a good one.
func CheckAuth(t *testing.T, h *Harness) {
	t.Helper()
	wrongKey, _ := auth.HMACKey([]byte(strings.Repeat("w", 40)))
	expired, _ := auth.Mint(h.key, auth.Principal{Role: auth.RoleAdmin}, time.Minute, time.Now().Add(-time.Hour))
	forged, _ := auth.Mint(wrongKey, auth.Principal{Role: auth.RoleAdmin}, time.Hour, time.Now())
	cases := []struct {
		name, path, token string
		want              int
	}{
		{"missing token", "/v1/me", "", http.StatusUnauthorized},
		{"expired token", "/v1/me", expired, http.StatusUnauthorized},
		{"wrong signature", "/v1/me", forged, http.StatusUnauthorized},
		{"garbage token", "/v1/me", "abc.def.ghi", http.StatusUnauthorized},
		{"wrong role", "/v1/admin/consumers", h.Token(t, auth.RoleShipper, "acme"), http.StatusForbidden},
		{"good token", "/v1/me", h.Token(t, auth.RoleShipper, "acme"), http.StatusOK},
		{"admin", "/v1/admin/consumers", h.Token(t, auth.RoleAdmin, ""), http.StatusOK},
		{"unknown route needs a token first", "/v1/nowhere", "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.Do(t, http.MethodGet, tc.path, tc.token, "")
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d, want %d: %s", tc.path, resp.StatusCode, tc.want, body)
			}
			if tc.want < 400 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != kitx.ProblemContentType {
				t.Errorf("content type %q, want problem+json", ct)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
		})
	}
	_, body := h.Do(t, http.MethodGet, "/v1/me", h.Token(t, auth.RoleShipper, "acme"), "")
	var me app.MeResponse
	if err := json.Unmarshal(body, &me); err != nil || me.Role != "shipper" || me.Tenant != "acme" {
		t.Errorf("/v1/me = %s (%v)", body, err)
	}
}

// CheckOpenAPI checks that the document served at /openapi.json is valid OpenAPI 3.1, that it
// documents exactly the routes the service registered, and that the responses of the
// operations callable without parameters match their documented schemas.
func CheckOpenAPI(t *testing.T, h *Harness) {
	t.Helper()
	resp, raw := h.Do(t, http.MethodGet, "/openapi.json", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", resp.StatusCode)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load openapi: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document is not valid: %v", err)
	}

	// Routes served vs. operations documented, both ways.
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := append(h.Running.APIRoutes(), app.PublicRoutes()...)
	for _, r := range served {
		if r == "GET /openapi.json" || r == "GET /docs" {
			continue // the documentation does not document itself
		}
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but not documented", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("operation %q is documented but not served", d)
		}
	}

	// The document says which routes need a token, and it says what the server does.
	public := app.PublicRoutes()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			needsToken := len(sec) > 0
			if isPublic := slices.Contains(public, method+" "+path); needsToken == isPublic {
				t.Errorf("%s %s: documented as needing a token = %v, but public = %v", method, path, needsToken, isPublic)
			}
		}
	}

	// Responses agree with the schemas, for operations that take no parameters.
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	admin := h.Token(t, auth.RoleAdmin, "")
	for _, d := range documented {
		method, path, _ := strings.Cut(d, " ")
		if method != http.MethodGet || strings.Contains(path, "{") || path == "/metrics" {
			continue
		}
		for _, token := range []string{admin, ""} {
			req, _ := http.NewRequest(method, h.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("%s: no documented route: %v", d, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
				Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true}}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("%s (token=%v) answered %d, which the document does not allow: %v\n%s", d, token != "", resp.StatusCode, err, body)
			}
		}
	}
}

// CheckMigrations runs a service's migrations up, down and up again in a fresh schema, and
// checks the inbox table exists after each up and is gone after the down.
func CheckMigrations(t *testing.T, name string, migrations fs.FS) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, schema := pgtest.Schema(t, name+"_mig")
	m, err := postgres.NewMigrator(ctx, url, schema, migrations)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool, err := postgres.Connect(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tables := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name <> $2`,
			schema, postgres.MigrationsTable).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := 1; round <= 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("round %d up: %v", round, err)
		}
		if v, dirty, err := m.Version(); err != nil || dirty || v == 0 {
			t.Fatalf("round %d: version %d dirty=%v err=%v", round, v, dirty, err)
		}
		if n := tables(); n == 0 {
			t.Fatalf("round %d: no tables after up", round)
		}
		if err := m.Down(); err != nil {
			t.Fatalf("round %d down: %v", round, err)
		}
		if n := tables(); n != 0 {
			t.Fatalf("round %d: %d tables left after down", round, n)
		}
	}
	if err := m.Up(); err != nil {
		t.Fatalf("final up: %v", err)
	}
}
