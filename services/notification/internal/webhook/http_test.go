package webhook_test

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// TestRoundTripOverHTTP signs, sends through a real HTTP server and verifies
// what the receiver saw, for both schemes.
func TestRoundTripOverHTTP(t *testing.T) {
	secret := webhook.NewSecret()
	dcsaKey := []byte(dcsaSecret)
	body := []byte(`{"type":"container.loaded","data":{"container":"MSCU1234565"}}`)

	results := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil {
			results <- err
			return
		}
		if r.URL.Path == "/dcsa" {
			results <- webhook.VerifyDCSA(dcsaKey, r.Header, got)
		} else {
			results <- webhook.Verify(secret, r.Header, got, time.Now())
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	standard, err := webhook.Sign([]webhook.Secret{secret}, "msg_2Qx", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	dcsa, err := webhook.SignDCSA(dcsaKey, dcsaSubID, body)
	if err != nil {
		t.Fatal(err)
	}
	for path, h := range map[string]http.Header{"/standard": standard, "/dcsa": dcsa} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			maps.Copy(req.Header, h)
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if err := <-results; err != nil {
				t.Errorf("receiver: %v", err)
			}
		})
	}
}
