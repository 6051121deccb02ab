package apidocs

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit"
)

func newMux(t *testing.T, doc string) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	Mount(mux, []byte(doc))
	return mux
}

func do(mux http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestMountRoutes(t *testing.T) {
	mux := newMux(t, serviceDoc)
	tests := []struct {
		path, contentType string
	}{
		{"/openapi.json", "application/json"},
		{"/docs", "text/html; charset=utf-8"},
		{"/docs/app.js", "text/javascript; charset=utf-8"},
		{"/docs/app.css", "text/css; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := do(mux, http.MethodGet, tt.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := h.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if got := h.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(h.Get("ETag")) {
				t.Errorf("ETag = %q", h.Get("ETag"))
			}
			if rec.Body.Len() == 0 {
				t.Error("empty body")
			}
		})
	}
}

func TestMountServesTheDocumentAsGiven(t *testing.T) {
	doc := []byte(serviceDoc)
	mux := http.NewServeMux()
	Mount(mux, doc)
	copy(doc, "XXXX") // Mount keeps its own copy
	rec := do(mux, http.MethodGet, "/openapi.json", nil)
	if got := rec.Body.String(); got != serviceDoc {
		t.Errorf("body differs from the document:\n%s", got)
	}
}

func TestMountConditionalRequests(t *testing.T) {
	mux := newMux(t, serviceDoc)
	for _, path := range []string{"/openapi.json", "/docs", "/docs/app.js", "/docs/app.css"} {
		etag := do(mux, http.MethodGet, path, nil).Header().Get("ETag")
		for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
			rec := do(mux, http.MethodGet, path, http.Header{"If-None-Match": {inm}})
			if rec.Code != http.StatusNotModified {
				t.Errorf("%s If-None-Match %s: status %d, want 304", path, inm, rec.Code)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("%s: 304 with a body", path)
			}
			if rec.Header().Get("ETag") != etag {
				t.Errorf("%s: 304 without the ETag", path)
			}
		}
		if rec := do(mux, http.MethodGet, path, http.Header{"If-None-Match": {`"stale"`}}); rec.Code != http.StatusOK {
			t.Errorf("%s with a stale ETag: status %d", path, rec.Code)
		}
	}

	// Another document, another ETag.
	other := do(newMux(t, commonDoc), http.MethodGet, "/openapi.json", nil).Header().Get("ETag")
	if other == do(mux, http.MethodGet, "/openapi.json", nil).Header().Get("ETag") {
		t.Error("two documents with the same ETag")
	}
}

func TestMountOtherRequests(t *testing.T) {
	mux := newMux(t, serviceDoc)

	for _, path := range []string{"/docs/nope.js", "/docs/index.html", "/docs/app.js.map", "/docs/app.js/x"} {
		rec := do(mux, http.MethodGet, path, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
	if rec := do(mux, http.MethodGet, "/docs/nope.js", nil); rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("404 without a CSP")
	}

	rec := do(mux, http.MethodGet, "/docs/", nil)
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "../docs" {
		t.Errorf("GET /docs/: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}

	rec = do(mux, http.MethodHead, "/openapi.json", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /openapi.json: %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}

	if rec := do(mux, http.MethodPost, "/openapi.json", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /openapi.json: status %d", rec.Code)
	}
}

func TestMountRejectsInvalidJSON(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Mount accepted a document that is not JSON")
		}
	}()
	Mount(http.NewServeMux(), []byte(`{"openapi": `))
}

// The page must load nothing from elsewhere and never turn document text into HTML.
func TestUIIsSelfContained(t *testing.T) {
	index := string(indexPage.body)
	js := string(assets["app.js"].body)
	css := string(assets["app.css"].body)

	for _, ref := range []string{`href="docs/app.css"`, `src="docs/app.js"`} {
		if !strings.Contains(index, ref) {
			t.Errorf("index.html lacks %s", ref)
		}
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).MatchString(index) {
		t.Error("index.html loads something from another origin")
	}
	if regexp.MustCompile(`(?i)<script>|<style|\sstyle=|\son[a-z]+=`).MatchString(index) {
		t.Error("index.html has inline script, style or event handlers, which the CSP blocks")
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "setAttribute('style'"} {
		if strings.Contains(js, banned) {
			t.Errorf("app.js uses %s", banned)
		}
	}
	if !strings.Contains(js, "sessionStorage") {
		t.Error("app.js does not keep the token in sessionStorage")
	}
	if regexp.MustCompile(`(?i)@import|url\(`).MatchString(css) {
		t.Error("app.css loads other resources")
	}
}

func TestJavaScriptSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Unavailable(t, "node (for the JavaScript syntax check)", err)
	}
	if out, err := exec.Command(node, "--check", "ui/app.js").CombinedOutput(); err != nil {
		t.Fatalf("node --check ui/app.js: %v\n%s", err, out)
	}
}
