package stackapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/scripts/internal/stackapi"
)

// fakeService answers POST /v1/things the way the services answer; caller is who called last.
func fakeService(t *testing.T) (srv *httptest.Server, caller *atomic.Pointer[auth.Principal]) {
	t.Helper()
	key, err := auth.HMACKey([]byte(auth.DevSecret))
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewVerifier(key)
	caller = new(atomic.Pointer[auth.Principal])
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		caller.Store(&p)
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("If-Match") != `"v1"` {
			http.Error(w, "want JSON with If-Match", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("ETag", `"v2"`)
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, caller
}

func TestDo(t *testing.T) {
	srv, caller := fakeService(t)
	c, err := stackapi.New(stackapi.Config{Tracking: srv.URL, Scheduling: srv.URL, Notification: srv.URL,
		Secret: []byte(auth.DevSecret), Subject: "tester", TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.WaitReady(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ifMatch := http.Header{"If-Match": {`"v1"`}}
	tests := []struct {
		name string
		who  string
		want auth.Principal
	}{
		{name: "a role", who: "dispatcher", want: auth.Principal{Role: auth.RoleDispatcher, Subject: "tester"}},
		{name: "a shipper of a tenant", who: "shipper:acme", want: auth.Principal{Role: auth.RoleShipper, Tenant: "acme", Subject: "tester@acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct{ N int }
			etag, err := c.Do(ctx, http.MethodPost, srv.URL+"/v1/things", tt.who, ifMatch, map[string]int{"n": 7}, &out, http.StatusCreated)
			if err != nil {
				t.Fatal(err)
			}
			if etag != `"v2"` || out.N != 7 {
				t.Fatalf("ETag %s, answer %+v", etag, out)
			}
			if got := *caller.Load(); got != tt.want {
				t.Fatalf("called as %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("another status", func(t *testing.T) {
		_, err := c.Do(ctx, http.MethodPost, srv.URL+"/v1/things", "carrier", nil, map[string]int{"n": 7}, nil, http.StatusCreated)
		var se *stackapi.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(se.Body, "If-Match") {
			t.Fatalf("err = %v, want a 400 StatusError", err)
		}
	})
	t.Run("an answer that is not the JSON wanted", func(t *testing.T) {
		var out []string
		if _, err := c.Do(ctx, http.MethodPost, srv.URL+"/v1/things", "carrier", ifMatch, map[string]int{"n": 7}, &out, http.StatusCreated); err == nil {
			t.Fatal("decoded an object into a slice")
		}
	})
	t.Run("an unknown role", func(t *testing.T) {
		for _, who := range []string{"pilot", "shipper", "shipper:"} {
			if _, err := c.Do(ctx, http.MethodGet, srv.URL+"/readyz", who, nil, nil, nil, http.StatusOK); err == nil {
				t.Fatalf("%q: a token was minted", who)
			}
		}
	})
}

func TestNewRequest(t *testing.T) {
	ctx := context.Background()
	req, err := stackapi.NewRequest(ctx, http.MethodPost, "http://scheduling/v1/departures", "tok",
		http.Header{"If-Match": {`"3"`}}, map[string]string{"route": "SCO-KZ-ALA"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != `{"route":"SCO-KZ-ALA"}` || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("Authorization") != "Bearer tok" || req.Header.Get("If-Match") != `"3"` {
		t.Fatalf("with a body: %s, header %v", body, req.Header)
	}

	req, err = stackapi.NewRequest(ctx, http.MethodGet, "http://scheduling/v1/departures", "tok", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil || req.Header.Get("Content-Type") != "" || req.Header.Get("Authorization") != "Bearer tok" {
		t.Fatalf("without a body: header %v", req.Header)
	}

	if _, err := stackapi.NewRequest(ctx, http.MethodPost, "http://scheduling/v1/departures", "tok", nil, func() {}); err == nil {
		t.Fatal("a body that is not JSON was sent")
	}
}

// One token per caller, minted once, also under concurrent use.
func TestTokenIsKept(t *testing.T) {
	c, err := stackapi.New(stackapi.Config{Secret: []byte(auth.DevSecret), Subject: "tester", TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Token("carrier")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if tok, err := c.Token("carrier"); err != nil || tok != first {
				t.Errorf("Token = %.20s..., %v; want the first token", tok, err)
			}
		})
	}
	wg.Wait()
}

func TestWaitReadyGivesUp(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	c, err := stackapi.New(stackapi.Config{Tracking: down.URL, Secret: []byte(auth.DevSecret), TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(context.Background(), 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "is not ready") {
		t.Fatalf("WaitReady = %v, want not ready", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, c := range map[string]stackapi.Config{
		"short secret": {Secret: []byte("short"), TokenTTL: time.Hour},
		"no token TTL": {Secret: []byte(auth.DevSecret)},
	} {
		if _, err := stackapi.New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
