package apidocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// serviceDoc is a small OpenAPI 3.1 document using 3.1-only forms: type arrays, const,
// examples, $ref with sibling keywords, info.summary, license.identifier and webhooks.
const serviceDoc = `{
  "openapi": "3.1.0",
  "info": {
    "title": "Tracking <service> & co",
    "summary": "Container events",
    "version": "v1",
    "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"}
  },
  "security": [{"bearerAuth": []}],
  "tags": [{"name": "containers", "description": "Containers and their events."}],
  "paths": {
    "/v1/containers/{ref}": {
      "parameters": [{"name": "ref", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Z]{4}[0-9]{7}$"}}],
      "get": {
        "tags": ["containers"], "operationId": "getContainer", "summary": "One container",
        "responses": {
          "200": {"description": "The container.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Container"}}}},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/events": {
      "post": {
        "tags": ["containers"], "operationId": "postEvent", "summary": "Record an event",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}},
        "responses": {"202": {"description": "Accepted."}, "422": {"$ref": "#/components/responses/Unprocessable"}}
      }
    }
  },
  "webhooks": {
    "containerArrived": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}}, "responses": {"200": {"description": "Received."}}}}
  },
  "components": {
    "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "schemas": {
      "Container": {
        "type": "object",
        "required": ["ref", "kind"],
        "properties": {
          "ref": {"type": "string", "examples": ["MSCU1234565"]},
          "kind": {"const": "container"},
          "vessel": {"type": ["string", "null"], "description": "Current vessel, if any."},
          "tare": {"type": "integer", "exclusiveMinimum": 0},
          "last": {"$ref": "#/components/schemas/Event", "description": "The most recent event."}
        }
      },
      "Event": {
        "type": "object",
        "required": ["type"],
        "properties": {
          "type": {"type": "string", "enum": ["gate-in", "loaded", "discharged"]},
          "at": {"type": "string", "format": "date-time"},
          "position": {"oneOf": [{"$ref": "#/components/schemas/Point"}, {"type": "null"}]}
        },
        "examples": [{"type": "loaded", "at": "2025-01-31T12:00:00Z"}]
      },
      "Point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false}
    }
  }
}`

// commonDoc is the runtime's part: public operational routes and shared components.
const commonDoc = `{
  "openapi": "3.1.0",
  "info": {"title": "common", "version": "v1"},
  "tags": [{"name": "operations"}, {"name": "identity"}],
  "security": [{"bearerAuth": []}],
  "paths": {
    "/healthz": {"get": {"tags": ["operations"], "operationId": "healthz", "security": [], "responses": {"200": {"description": "Up."}}}},
    "/v1/me": {"get": {"tags": ["identity"], "operationId": "me", "responses": {
      "200": {"description": "The caller.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
      "401": {"$ref": "#/components/responses/Unauthorized"}}}}
  },
  "components": {
    "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "responses": {
      "Unauthorized": {"description": "No valid token.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "NotFound": {"description": "No such resource.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Unprocessable": {"description": "Invalid fields.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": ["string", "null"]}}},
      "Me": {"type": "object", "required": ["subject"], "properties": {"subject": {"type": "string"}, "role": {"type": "string", "enum": ["shipper", "admin"]}}}
    }
  }
}`

func mustMerge(t *testing.T, base, overlay string) map[string]any {
	t.Helper()
	out, err := Merge([]byte(base), []byte(overlay))
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("merged document is not JSON: %v\n%s", err, out)
	}
	return doc
}

func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object at %q", strings.Join(path, "."), k)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: no %q", strings.Join(path, "."), k)
		}
	}
	return v
}

func TestMergeAddsPathsAndComponents(t *testing.T) {
	doc := mustMerge(t, serviceDoc, commonDoc)

	for _, p := range []string{"/v1/containers/{ref}", "/v1/events", "/healthz", "/v1/me"} {
		at(t, doc, "paths", p)
	}
	for _, s := range []string{"Container", "Event", "Point", "Problem", "Me"} {
		at(t, doc, "components", "schemas", s)
	}
	for _, r := range []string{"Unauthorized", "NotFound", "Unprocessable"} {
		at(t, doc, "components", "responses", r)
	}
	at(t, doc, "components", "securitySchemes", "bearerAuth") // the same in both: allowed
	at(t, doc, "webhooks", "containerArrived", "post")

	// Base's info wins; tags are appended by name.
	if got := at(t, doc, "info", "title"); got != "Tracking <service> & co" {
		t.Errorf("info.title = %v", got)
	}
	var tags []string
	for _, tag := range at(t, doc, "tags").([]any) {
		tags = append(tags, tag.(map[string]any)["name"].(string))
	}
	if want := []string{"containers", "operations", "identity"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %v, want %v", tags, want)
	}
	// Operations keep their own security (healthz: public).
	if sec := at(t, doc, "paths", "/healthz", "get", "security").([]any); len(sec) != 0 {
		t.Errorf("healthz security = %v", sec)
	}
}

func TestMergeMergesMethodsOfOnePath(t *testing.T) {
	overlay := `{"paths": {"/v1/events": {"get": {"operationId": "listEvents", "responses": {"200": {"description": "Events."}}}}}}`
	doc := mustMerge(t, serviceDoc, overlay)
	at(t, doc, "paths", "/v1/events", "post")
	at(t, doc, "paths", "/v1/events", "get")
}

func TestMergeKeepsOrderAndText(t *testing.T) {
	out, err := Merge([]byte(serviceDoc), []byte(commonDoc))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	// Base's paths first in their order, then the overlay's.
	order := []string{`"/v1/containers/{ref}"`, `"/v1/events"`, `"/healthz"`, `"/v1/me"`}
	last := -1
	for _, p := range order {
		i := strings.Index(s, p)
		if i <= last {
			t.Fatalf("path %s out of order in %s", p, s)
		}
		last = i
	}
	if !strings.Contains(s, `"Tracking <service> & co"`) {
		t.Errorf("text was escaped: %s", s[:200])
	}
	if !strings.HasPrefix(s, `{"openapi":"3.1.0","info":`) {
		t.Errorf("base's key order lost: %s", s[:80])
	}
}

func TestMergeDoesNotModifyInputs(t *testing.T) {
	base, overlay := []byte(serviceDoc), []byte(commonDoc)
	b0, o0 := bytes.Clone(base), bytes.Clone(overlay)
	if _, err := Merge(base, overlay); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(base, b0) || !bytes.Equal(overlay, o0) {
		t.Fatal("Merge modified its input")
	}
}

func TestMergeConflicts(t *testing.T) {
	base := `{"openapi": "3.1.0", "info": {"title": "b", "version": "1"},
	  "tags": [{"name": "a", "description": "A."}],
	  "x-team": "tracking",
	  "paths": {"/v1/items/{id}": {
	    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
	    "get": {"operationId": "getItem", "responses": {"200": {"description": "ok"}}}}},
	  "components": {"schemas": {"Item": {"type": "object"}}, "responses": {"Gone": {"description": "gone"}}}}`
	tests := []struct {
		name, overlay, want string
	}{
		{"same path and method", `{"paths": {"/v1/items/{id}": {"get": {"responses": {"200": {"description": "other"}}}}}}`, "operation GET /v1/items/{id}"},
		{"same path and method, identical", `{"paths": {"/v1/items/{id}": {"get": {"operationId": "getItem", "responses": {"200": {"description": "ok"}}}}}}`, "operation GET /v1/items/{id}"},
		{"schema", `{"components": {"schemas": {"Item": {"type": "string"}}}}`, "components.schemas.Item"},
		{"response", `{"components": {"responses": {"Gone": {"description": "really gone"}}}}`, "components.responses.Gone"},
		{"equivalent template", `{"paths": {"/v1/items/{key}": {"delete": {"responses": {"204": {"description": "ok"}}}}}}`, `path "/v1/items/{key}" is the same as "/v1/items/{id}"`},
		{"operationId", `{"paths": {"/v2/items": {"get": {"operationId": "getItem", "responses": {"200": {"description": "ok"}}}}}}`, `operationId "getItem"`},
		{"path-level parameters", `{"paths": {"/v1/items/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}], "put": {"responses": {"200": {"description": "ok"}}}}}}`, "parameters differs"},
		{"tag", `{"tags": [{"name": "a", "description": "Other."}]}`, `tag "a": description differs`},
		{"extension", `{"x-team": "scheduling"}`, `field "x-team" differs`},
		{"dialect", `{"jsonSchemaDialect": "https://example.com/dialect"}`, "jsonSchemaDialect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Merge([]byte(base), []byte(tt.overlay))
			if err == nil {
				t.Fatalf("no error; merged: %s", out)
			}
			if !errors.Is(err, ErrConflict) {
				t.Errorf("error %v is not ErrConflict", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if out != nil {
				t.Errorf("output with an error: %s", out)
			}
		})
	}
}

func TestMergeReportsEveryConflict(t *testing.T) {
	_, err := Merge([]byte(serviceDoc), []byte(serviceDoc[:strings.Index(serviceDoc, `"webhooks"`)]+`"components": {"schemas": {"Event": {}}}}`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"GET /v1/containers/{ref}", "POST /v1/events", "components.schemas.Event"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestMergeAllowsCompatibleDefinitions(t *testing.T) {
	base := `{"openapi": "3.1.0", "info": {"title": "b", "version": "1"}, "tags": [{"name": "a"}],
	  "paths": {"/a/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "get": {"responses": {"200": {"description": "ok"}}}}},
	  "components": {"schemas": {"S": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}}}`
	// Same schema with keys in another order, same path-level parameters, a tag description.
	overlay := `{"openapi": "3.1.1", "tags": [{"name": "a", "description": "A."}],
	  "paths": {"/a/{id}": {"parameters": [{"in": "path", "name": "id", "schema": {"type": "string"}, "required": true}], "delete": {"responses": {"204": {"description": "gone"}}}}},
	  "components": {"schemas": {"S": {"properties": {"b": {"type": "integer"}, "a": {"type": "string"}}, "type": "object"}}}}`
	doc := mustMerge(t, base, overlay)
	at(t, doc, "paths", "/a/{id}", "delete")
	if got := at(t, doc, "tags").([]any)[0].(map[string]any)["description"]; got != "A." {
		t.Errorf("tag description = %v", got)
	}
}

func TestMergeSecurity(t *testing.T) {
	base := `{"openapi": "3.1.0", "info": {"title": "b", "version": "1"}, "paths": {}}`
	overlay := `{"security": [{"bearerAuth": []}],
	  "paths": {
	    "/v1/me": {"get": {"responses": {"200": {"description": "ok"}}}},
	    "/healthz": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}}},
	  "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}}}`
	doc := mustMerge(t, base, overlay)
	if _, ok := doc["security"]; ok {
		t.Error("the overlay's top-level security replaced base's")
	}
	me := at(t, doc, "paths", "/v1/me", "get", "security").([]any)
	if len(me) != 1 || me[0].(map[string]any)["bearerAuth"] == nil {
		t.Errorf("/v1/me security = %v, want the overlay's bearerAuth", me)
	}
	if h := at(t, doc, "paths", "/healthz", "get", "security").([]any); len(h) != 0 {
		t.Errorf("/healthz security = %v, want its own []", h)
	}

	// An overlay without a top-level requirement inherits base's: nothing is copied.
	doc = mustMerge(t, `{"openapi": "3.1.0", "info": {"title": "b", "version": "1"}, "security": [{"k": []}], "components": {"securitySchemes": {"k": {"type": "http", "scheme": "bearer"}}}}`,
		`{"paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}}`)
	if _, ok := at(t, doc, "paths", "/x", "get").(map[string]any)["security"]; ok {
		t.Error("security copied into an overlay operation that inherits base's")
	}
}

func TestMergeInvalidInput(t *testing.T) {
	valid := `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}`
	tests := []struct {
		name, base, overlay, want string
	}{
		{"base not JSON", `{"openapi": `, valid, "base: invalid JSON"},
		{"overlay not JSON", valid, `{paths: {}}`, "overlay: invalid JSON"},
		{"empty overlay", valid, ``, "overlay: invalid JSON"},
		{"trailing data", valid, `{} {}`, "overlay: invalid JSON"},
		{"duplicate key", valid, `{"paths": {"/a": {}, "/a": {}}}`, `duplicate object key "/a"`},
		{"array", `[]`, valid, "base: not a JSON object"},
		{"no version", `{"info": {}}`, valid, `no "openapi" version`},
		{"other version", valid, `{"openapi": "3.0.3"}`, `overlay is OpenAPI "3.0.3"`},
		{"paths not an object", valid, `{"paths": []}`, "paths is not an object"},
		{"schemas not an object", valid, `{"components": {"schemas": 1}}`, "components.schemas is not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Merge([]byte(tt.base), []byte(tt.overlay))
			if err == nil {
				t.Fatalf("no error; merged: %s", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestMergedDocumentValidates loads the merged document with kin-openapi, which validates
// OpenAPI 3.1 documents with JSON Schema 2020-12 rules.
func TestMergedDocumentValidates(t *testing.T) {
	out, err := Merge([]byte(serviceDoc), []byte(commonDoc))
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(out)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("kin-openapi does not see %q as 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	// The 3.1 forms came through.
	vessel := doc.Components.Schemas["Container"].Value.Properties["vessel"].Value
	if !vessel.Type.Includes("null") || !vessel.Type.Includes("string") {
		t.Errorf("vessel type = %v", vessel.Type)
	}
	if doc.Components.Schemas["Container"].Value.Properties["kind"].Value.Const != "container" {
		t.Error("const lost")
	}
	if doc.Paths.Find("/healthz") == nil || doc.Paths.Find("/v1/me") == nil {
		t.Error("overlay paths missing")
	}
	if len(doc.Webhooks) != 1 {
		t.Errorf("webhooks = %v", doc.Webhooks)
	}
}

// The validation really runs with 3.1 rules: forms that are only wrong since 3.1 fail, and
// a $ref left dangling by a merge does not load.
func TestKinOpenAPIChecks31Rules(t *testing.T) {
	full, err := Merge([]byte(serviceDoc), []byte(commonDoc))
	if err != nil {
		t.Fatal(err)
	}
	boolBound := `{"components": {"schemas": {"N": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}}}}`
	out, err := Merge(full, []byte(boolBound))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "exclusiveMinimum") {
		t.Errorf("boolean exclusiveMinimum in a 3.1 document: err = %v", err)
	}

	dangling := `{"paths": {"/x": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}`
	out, err = Merge(full, []byte(dangling))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openapi3.NewLoader().LoadFromData(out); err == nil {
		t.Error("dangling $ref loaded")
	}
}
