package apidocs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/scodalabs/scoda/pkg/apidocs"
)

func ExampleMerge() {
	service := []byte(`{
	  "openapi": "3.1.0",
	  "info": {"title": "tracking", "version": "v1"},
	  "paths": {"/v1/containers": {"get": {"summary": "List containers", "responses": {"200": {"description": "The containers."}}}}}
	}`)
	common := []byte(`{
	  "openapi": "3.1.0",
	  "info": {"title": "common", "version": "v1"},
	  "paths": {"/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Up."}}}}},
	  "components": {"schemas": {"Problem": {"type": "object"}}}
	}`)

	doc, err := apidocs.Merge(service, common)
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	_ = json.Indent(&out, doc, "", "  ")
	fmt.Println(out.String())

	// The same operation in both documents is an error.
	_, err = apidocs.Merge(service, service)
	fmt.Println(err)

	// Serve the merged document and its UI on a public mux.
	apidocs.Mount(http.NewServeMux(), doc)

	// Output:
	// {
	//   "openapi": "3.1.0",
	//   "info": {
	//     "title": "tracking",
	//     "version": "v1"
	//   },
	//   "paths": {
	//     "/v1/containers": {
	//       "get": {
	//         "summary": "List containers",
	//         "responses": {
	//           "200": {
	//             "description": "The containers."
	//           }
	//         }
	//       }
	//     },
	//     "/healthz": {
	//       "get": {
	//         "summary": "Liveness",
	//         "responses": {
	//           "200": {
	//             "description": "Up."
	//           }
	//         }
	//       }
	//     }
	//   },
	//   "components": {
	//     "schemas": {
	//       "Problem": {
	//         "type": "object"
	//       }
	//     }
	//   }
	// }
	// apidocs: defined in both documents: operation GET /v1/containers
}
