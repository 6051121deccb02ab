// Package apidocs serves a service's OpenAPI 3.1 document and a browsable UI for it.
//
// Mount adds three public routes: GET /openapi.json (the document), GET /docs (a page that
// lists the operations by tag with their parameters and schemas, and can send requests to the
// service with a bearer token) and GET /docs/{file} (the page's script and style sheet). The
// UI is plain JavaScript embedded in the binary: it loads nothing from elsewhere, and every
// response carries a Content-Security-Policy that only allows the service's own origin.
//
// Merge combines two documents, so that each service's own document can be served together
// with the routes every service has.
package apidocs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"time"
)

// ContentSecurityPolicy is sent with every response of Mount's routes.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"

//go:embed ui/index.html ui/app.js ui/app.css
var uiFiles embed.FS

// asset is a response body with its validators, computed once.
type asset struct {
	name        string
	contentType string
	body        []byte
	etag        string
}

func newAsset(name, contentType string, body []byte) *asset {
	sum := sha256.Sum256(body)
	return &asset{name: name, contentType: contentType, body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func uiAsset(file, contentType string) *asset {
	body, err := uiFiles.ReadFile("ui/" + file)
	if err != nil {
		panic("apidocs: embedded " + file + " missing: " + err.Error())
	}
	return newAsset(file, contentType, body)
}

var (
	indexPage = uiAsset("index.html", "text/html; charset=utf-8")
	// assets are the files served under /docs/.
	assets = map[string]*asset{
		"app.js":  uiAsset("app.js", "text/javascript; charset=utf-8"),
		"app.css": uiAsset("app.css", "text/css; charset=utf-8"),
	}
)

// Mount registers on mux: "GET /openapi.json" (application/json, the doc as given, with
// Cache-Control: no-cache and an ETag), "GET /docs" (the HTML UI), "GET /docs/{file}" for the
// embedded assets (app.js, app.css), all public (no auth) — the caller mounts them on a public mux.
//
// Every response is revalidated (Cache-Control: no-cache) with a strong ETag, answers
// If-None-Match with 304, and carries ContentSecurityPolicy, nosniff, no-referrer and
// frame denial headers. The page refers to its files and the document by relative URLs, so it
// also works behind a proxy that serves the service under a path prefix. /docs/ redirects to
// /docs; other files under /docs/ are 404. Mount copies doc; it panics when doc is not valid
// JSON, and, like http.ServeMux, when a route is already registered.
func Mount(mux *http.ServeMux, doc []byte) {
	if !json.Valid(doc) {
		panic("apidocs: Mount: the OpenAPI document is not valid JSON")
	}
	spec := newAsset("openapi.json", "application/json", bytes.Clone(doc))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, spec)
	})
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, indexPage)
	})
	mux.HandleFunc("GET /docs/{$}", func(w http.ResponseWriter, _ *http.Request) {
		// Relative, so that it also points the right way behind a path prefix.
		setSecurityHeaders(w.Header())
		w.Header().Set("Location", "../docs")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /docs/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok {
			setSecurityHeaders(w.Header())
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		serve(w, r, a)
	})
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// serve writes a, or 304 when the request's If-None-Match names its ETag (http.ServeContent
// does the conditional and HEAD handling).
func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, path.Base(a.name), time.Time{}, bytes.NewReader(a.body))
}
