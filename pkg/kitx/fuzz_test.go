package kitx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scodalabs/scoda/pkg/kitx"
)

// FuzzDecodeJSON: whatever a client sends, DecodeJSON returns nil or an error that maps to a
// 4xx problem naming a field; it never panics and never yields a 5xx.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"CSQU3054383","count":2}`, `{"name":`, `[]`, `{"count":"x"}`, `{"nam":1}`,
		`{"name":"a"} {}`, ``, `null`, `{"count":1e999}`, "\x00", `{"name":"\ud800"}`,
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Add(`{}`, "application/problem+json; charset=utf-8")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		var v struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
		}
		err := kitx.DecodeJSON(req, &v, 256)
		if err == nil {
			return
		}
		p := kitx.ProblemFor(err)
		if p.Status < 400 || p.Status >= 500 {
			t.Fatalf("body %q -> %v -> status %d", body, err, p.Status)
		}
		var m *kitx.MalformedError
		if errors.As(err, &m) && (m.Field == "" || m.Reason == "") {
			t.Fatalf("malformed error without field or reason: %+v", m)
		}
	})
}
