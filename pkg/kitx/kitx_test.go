package kitx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
)

type echoRequest struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type echoResponse struct {
	Name string `json:"name"`
	Err  error  `json:"-"`
}

func (r echoResponse) Failed() error { return r.Err }

// newAPI wires a tiny go-kit service the way every SCODA service is wired: a dispatcher-only
// endpoint behind authentication, request ids, panic recovery and problem+json.
func newAPI(t *testing.T, key auth.Key) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	echo := func(_ context.Context, req any) (any, error) {
		r := req.(echoRequest)
		switch r.Name {
		case "":
			return echoResponse{Err: apperr.Invalid("name", "is required")}, nil
		case "missing":
			return echoResponse{Err: apperr.ErrNotFound}, nil
		case "boom":
			panic("boom")
		}
		return echoResponse{Name: r.Name}, nil
	}
	ep := kitx.Chain(echo, kitx.RequireRole(auth.RoleDispatcher), kitx.TraceEndpoint("echo"), kitx.LogEndpoint(log, "echo"))
	decode := func(_ context.Context, r *http.Request) (any, error) {
		var req echoRequest
		err := kitx.DecodeJSON(r, &req, 64)
		return req, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/echo", kithttp.NewServer(ep, decode, kitx.EncodeJSON, kitx.ServerOptions(log)...))
	h := kitx.RequestID(kitx.Recover(log)(kitx.Authenticate(auth.NewVerifier(key))(kitx.ProblemMux(mux))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestAPIWiring(t *testing.T) {
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := auth.HMACKey([]byte(strings.Repeat("k", 40)))
	srv := newAPI(t, key)
	tok := func(k auth.Key, role auth.Role, ttl time.Duration, at time.Time) string {
		s, err := auth.Mint(k, auth.Principal{Role: role, Tenant: "acme"}, ttl, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dispatcher := tok(key, auth.RoleDispatcher, time.Hour, time.Now())

	tests := []struct {
		name        string
		method      string
		path        string
		token       string
		body        string
		wantStatus  int
		wantType    string
		wantField   string
		wantHeader  string
		wantContent string
	}{
		{name: "ok", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"CSQU3054383"}`, wantStatus: 200, wantContent: "CSQU3054383"},
		{name: "missing token", method: "POST", path: "/v1/echo", body: `{}`, wantStatus: 401, wantType: kitx.TypeUnauthenticated, wantHeader: "Www-Authenticate"},
		{name: "expired token", method: "POST", path: "/v1/echo", token: tok(key, auth.RoleDispatcher, time.Minute, time.Now().Add(-2*time.Hour)), body: `{}`, wantStatus: 401, wantType: kitx.TypeUnauthenticated, wantContent: "expired"},
		{name: "wrong signature", method: "POST", path: "/v1/echo", token: tok(wrongKey, auth.RoleDispatcher, time.Hour, time.Now()), body: `{}`, wantStatus: 401, wantType: kitx.TypeUnauthenticated, wantContent: "signature"},
		{name: "wrong role", method: "POST", path: "/v1/echo", token: tok(key, auth.RoleShipper, time.Hour, time.Now()), body: `{"name":"x"}`, wantStatus: 403, wantType: kitx.TypeForbidden},
		{name: "admin may", method: "POST", path: "/v1/echo", token: tok(key, auth.RoleAdmin, time.Hour, time.Now()), body: `{"name":"x"}`, wantStatus: 200},
		{name: "unknown route is 404 after auth", method: "GET", path: "/v1/nope", token: dispatcher, wantStatus: 404, wantType: kitx.TypeBlank},
		{name: "unknown route without token is 401", method: "GET", path: "/v1/nope", wantStatus: 401, wantType: kitx.TypeUnauthenticated},
		{name: "wrong method is 405 with Allow", method: "GET", path: "/v1/echo", token: dispatcher, wantStatus: 405, wantHeader: "Allow"},
		{name: "validation", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":""}`, wantStatus: 422, wantType: kitx.TypeValidation, wantField: "name"},
		{name: "business not found", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"missing"}`, wantStatus: 404, wantType: kitx.TypeNotFound},
		{name: "bad json", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":`, wantStatus: 400, wantType: kitx.TypeMalformed, wantField: "body"},
		{name: "wrong type", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"a","count":"three"}`, wantStatus: 400, wantType: kitx.TypeMalformed, wantField: "count"},
		{name: "unknown field", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"nam":"a"}`, wantStatus: 400, wantType: kitx.TypeMalformed, wantField: "nam"},
		{name: "trailing data", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"a"} {}`, wantStatus: 400, wantType: kitx.TypeMalformed},
		{name: "too large", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"` + strings.Repeat("a", 100) + `"}`, wantStatus: 413, wantType: kitx.TypeTooLarge},
		{name: "panic is a 500 problem", method: "POST", path: "/v1/echo", token: dispatcher, body: `{"name":"boom"}`, wantStatus: 500, wantType: kitx.TypeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(kitx.RequestIDHeader, "req-"+strings.ReplaceAll(tc.name, " ", "-"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if got := resp.Header.Get(kitx.RequestIDHeader); got != "req-"+strings.ReplaceAll(tc.name, " ", "-") {
				t.Errorf("request id not echoed: %q", got)
			}
			if tc.wantHeader != "" && resp.Header.Get(tc.wantHeader) == "" {
				t.Errorf("missing header %s", tc.wantHeader)
			}
			if tc.wantContent != "" && !strings.Contains(string(body), tc.wantContent) {
				t.Errorf("body %s lacks %q", body, tc.wantContent)
			}
			if tc.wantStatus < 400 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != kitx.ProblemContentType {
				t.Fatalf("content type = %q, want problem+json; body %s", ct, body)
			}
			var p kitx.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.wantStatus || p.Title == "" || p.RequestID == "" {
				t.Errorf("problem = %+v", p)
			}
			if tc.wantType != "" && p.Type != tc.wantType {
				t.Errorf("type = %q, want %q", p.Type, tc.wantType)
			}
			if tc.wantField != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.wantField || p.Errors[0].Reason == "") {
				t.Errorf("errors = %+v, want field %q with a reason", p.Errors, tc.wantField)
			}
			if p.Status == 500 && strings.Contains(string(body), "boom") {
				t.Errorf("a 500 must not leak internals: %s", body)
			}
		})
	}
}

func TestRequestIDIsGeneratedWhenAbsentOrUnsafe(t *testing.T) {
	h := kitx.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, kitx.RequestIDFrom(r.Context()))
	}))
	for _, in := range []string{"", "bad id with spaces", strings.Repeat("a", 200)} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(kitx.RequestIDHeader, in)
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(kitx.RequestIDHeader)
		if got == "" || got == in || got != rec.Body.String() || len(got) != 32 {
			t.Errorf("input %q: request id %q (body %q)", in, got, rec.Body.String())
		}
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	var v map[string]any
	err := kitx.DecodeJSON(req, &v, 1024)
	if p := kitx.ProblemFor(err); p.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("status = %d for %v", p.Status, err)
	}
}

func TestAccessLogNamesTheRoute(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/containers/{containerNo}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	h := kitx.AccessLog(log)(kitx.ProblemMux(mux))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/containers/CSQU3054383", nil))
	var line struct {
		Route  string `json:"route"`
		Path   string `json:"path"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line.Route != "GET /v1/containers/{containerNo}" || line.Status != http.StatusNoContent || line.Path != "/v1/containers/CSQU3054383" {
		t.Fatalf("access log = %+v", line)
	}
}

func TestSplitError(t *testing.T) {
	for _, tc := range []struct {
		err             error
		business, infra bool
	}{
		{nil, false, false},
		{apperr.Invalid("x", "bad"), true, false},
		{fmt.Errorf("booking: %w", apperr.ErrNotFound), true, false},
		{apperr.ErrConflict, true, false},
		{&kitx.MalformedError{Field: "body", Reason: "not JSON"}, true, false},
		{errors.New("connection reset"), false, true},
		{apperr.ErrUnavailable, false, true},
	} {
		b, i := kitx.SplitError(tc.err)
		if (b != nil) != tc.business || (i != nil) != tc.infra {
			t.Errorf("SplitError(%v) = %v, %v", tc.err, b, i)
		}
	}
}
