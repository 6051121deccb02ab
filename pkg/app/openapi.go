package app

import (
	_ "embed"
	"fmt"
	"net/http"

	"github.com/scodalabs/scoda/pkg/apidocs"
)

// commonOpenAPI documents the routes and shared components every service has; it is merged
// into each service's own document (whose info and servers win), so shared schemas (Problem, FieldError) are defined once.
//
//go:embed openapi_common.json
var commonOpenAPI []byte

// CommonOpenAPI returns the shared part of every service's OpenAPI document.
func CommonOpenAPI() []byte { return commonOpenAPI }

// openAPIDocument is the document a service serves: the common part plus its own.
func openAPIDocument(own []byte) ([]byte, error) {
	if len(own) == 0 {
		return commonOpenAPI, nil
	}
	doc, err := apidocs.Merge(own, commonOpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// OpenAPIDocument is the merged document for a service (tests check it against the routes).
func OpenAPIDocument(own []byte) ([]byte, error) { return openAPIDocument(own) }

func mountDocs(mux *http.ServeMux, doc []byte) { apidocs.Mount(mux, doc) }
