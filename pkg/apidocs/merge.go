package apidocs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrConflict is matched (errors.Is) by the error Merge returns when both documents define the
// same thing differently.
var ErrConflict = errors.New("apidocs: defined in both documents")

// operationKeys are the Path Item fields that hold an Operation ("query" is OpenAPI 3.2's).
var operationKeys = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true, "query": true,
}

// defaultDialect is the jsonSchemaDialect an OpenAPI 3.1 document has when it states none.
const defaultDialect = "https://spec.openapis.org/oas/3.1/dialect/base"

// Merge overlays doc paths/components onto base (both OpenAPI 3.1 JSON); used to add the
// runtime's common routes (health, metrics, /v1/me ...) to each service's own document.
// A path+method or component name defined in both is an error (no silent override).
//
// In detail:
//   - paths and webhooks: path items are merged operation by operation; an operation (path and
//     method) in both documents, a path that only differs from one of base by the names of its
//     template variables (/a/{id} and /a/{key}), a shared path-level field (parameters,
//     summary, ...) with different values and an operationId used in both are errors;
//   - components: every section (schemas, responses, parameters, securitySchemes, ...) is
//     merged by name; a name in both is an error unless both definitions are the same JSON,
//     so both documents may carry, say, the same bearerAuth security scheme;
//   - tags: appended by name; for a tag in both, fields base lacks are added and a field
//     with different values is an error;
//   - security: when the overlay states a top-level security requirement that differs from
//     base's, it is copied into each overlay operation that has none of its own, so that the
//     overlay's operations keep their meaning; an overlay without one inherits base's;
//   - openapi, info, servers and externalDocs are base's (an overlay may omit them, but its
//     openapi major.minor version must match); jsonSchemaDialect and x- extensions must agree.
//
// The result keeps base's key order, with the overlay's additions after it. The error joins
// every conflict found (errors.Is(err, ErrConflict)); invalid JSON and documents that are not
// JSON objects are errors too. Neither input is modified.
func Merge(base, overlay []byte) ([]byte, error) {
	b, err := decodeDoc("base", base)
	if err != nil {
		return nil, err
	}
	o, err := decodeDoc("overlay", overlay)
	if err != nil {
		return nil, err
	}
	bv, ok := b.vals["openapi"].(string)
	if !ok {
		return nil, errors.New(`apidocs: base: no "openapi" version`)
	}
	if ov, ok := o.get("openapi"); ok {
		s, _ := ov.(string)
		if majorMinor(s) != majorMinor(bv) {
			return nil, fmt.Errorf("apidocs: overlay is OpenAPI %q, base is %q", s, bv)
		}
	}

	m := merger{base: b, overlay: o, opIDs: map[string]string{}}
	m.collectOperationIDs()
	m.pushDownSecurity()
	for _, key := range o.keys {
		val := o.vals[key]
		switch {
		case key == "openapi", key == "info", key == "servers", key == "externalDocs", key == "$self":
			// base's
		case key == "security":
			// handled by pushDownSecurity
		case key == "paths", key == "webhooks":
			m.mergePathItems(key, val)
		case key == "components":
			m.mergeComponents(val)
		case key == "tags":
			m.mergeTags(val)
		case key == "jsonSchemaDialect":
			if !equalJSON(dialect(b), dialect(o)) {
				m.conflict("jsonSchemaDialect differs")
			}
		default: // x- extensions and fields this version does not know
			if bval, ok := b.get(key); !ok {
				b.set(key, val)
			} else if !equalJSON(bval, val) {
				m.conflict("field %q differs", key)
			}
		}
	}
	if len(m.errs) > 0 {
		return nil, errors.Join(m.errs...)
	}
	var buf bytes.Buffer
	if err := encodeJSON(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeDoc(name string, data []byte) (*object, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("apidocs: %s: invalid JSON: %w", name, err)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("apidocs: %s: not a JSON object", name)
	}
	return o, nil
}

// majorMinor turns "3.1.0" into "3.1".
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

func dialect(doc *object) any {
	if v, ok := doc.get("jsonSchemaDialect"); ok {
		return v
	}
	return defaultDialect
}

type merger struct {
	base, overlay *object
	opIDs         map[string]string // operationId -> "GET /path" in base
	errs          []error
}

func (m *merger) conflict(format string, args ...any) {
	m.errs = append(m.errs, fmt.Errorf("%w: "+format, append([]any{ErrConflict}, args...)...))
}

func (m *merger) invalid(format string, args ...any) {
	m.errs = append(m.errs, fmt.Errorf("apidocs: overlay: "+format, args...))
}

// operations calls fn for each operation of the path items in doc[section].
func operations(doc *object, section string, fn func(path, method string, op *object)) {
	items, ok := doc.obj(section)
	if !ok {
		return
	}
	for _, path := range items.keys {
		item, ok := items.obj(path)
		if !ok {
			continue
		}
		for _, method := range item.keys {
			if op, ok := item.obj(method); ok && operationKeys[method] {
				fn(path, method, op)
			}
		}
	}
}

func opName(section, path, method string) string {
	name := strings.ToUpper(method) + " " + path
	if section == "webhooks" {
		name = "webhook " + name
	}
	return name
}

func (m *merger) collectOperationIDs() {
	for _, section := range []string{"paths", "webhooks"} {
		operations(m.base, section, func(path, method string, op *object) {
			if id, ok := op.vals["operationId"].(string); ok {
				m.opIDs[id] = opName(section, path, method)
			}
		})
	}
}

// pushDownSecurity keeps the overlay's top-level security requirement for its own operations
// when base's differs (base's is the merged document's top-level one).
func (m *merger) pushDownSecurity() {
	osec, ok := m.overlay.get("security")
	if !ok {
		return
	}
	bsec, ok := m.base.get("security")
	if !ok {
		bsec = []any{}
	}
	if equalJSON(osec, bsec) {
		return
	}
	for _, section := range []string{"paths", "webhooks"} {
		operations(m.overlay, section, func(_, _ string, op *object) {
			if _, has := op.get("security"); !has {
				op.set("security", osec)
			}
		})
	}
}

func (m *merger) mergePathItems(section string, val any) {
	items, ok := val.(*object)
	if !ok {
		m.invalid("%s is not an object", section)
		return
	}
	dst, ok := m.base.obj(section)
	if !ok {
		if _, exists := m.base.get(section); exists {
			m.conflict("%s is not an object in base", section)
			return
		}
		dst = newObject()
		m.base.set(section, dst)
	}
	templates := map[string]string{}
	if section == "paths" {
		for _, p := range dst.keys {
			templates[pathTemplate(p)] = p
		}
	}
	for _, path := range items.keys {
		item, ok := items.obj(path)
		if !ok {
			m.invalid("%s %q is not an object", section, path)
			continue
		}
		if section == "paths" {
			if other, ok := templates[pathTemplate(path)]; ok && other != path {
				m.conflict("path %q is the same as %q", path, other)
				continue
			}
		}
		m.checkOperationIDs(section, path, item)
		existing, ok := dst.obj(path)
		if !ok {
			dst.set(path, item)
			continue
		}
		m.mergePathItem(section, path, existing, item)
	}
}

func (m *merger) checkOperationIDs(section, path string, item *object) {
	for _, method := range item.keys {
		op, ok := item.obj(method)
		if !ok || !operationKeys[method] {
			continue
		}
		id, ok := op.vals["operationId"].(string)
		if !ok {
			continue
		}
		name := opName(section, path, method)
		if other, dup := m.opIDs[id]; dup && other != name {
			m.conflict("operationId %q of %s is also %s's", id, name, other)
		}
	}
}

func (m *merger) mergePathItem(section, path string, dst, src *object) {
	_, dref := dst.get("$ref")
	_, sref := src.get("$ref")
	if (dref || sref) && !equalJSON(dst, src) {
		m.conflict("%s %q: a path item with a $ref cannot be merged", section, path)
		return
	}
	for _, key := range src.keys {
		val := src.vals[key]
		existing, ok := dst.get(key)
		switch {
		case !ok:
			dst.set(key, val)
		case operationKeys[key]:
			m.conflict("operation %s", opName(section, path, key))
		case !equalJSON(existing, val):
			m.conflict("%s %q: %s differs", section, path, key)
		}
	}
}

// pathTemplate replaces the names of template variables: /a/{id} -> /a/{}.
func pathTemplate(p string) string {
	var sb strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			break
		}
		sb.WriteString(p[:i+1])
		p = p[i+j:]
	}
	sb.WriteString(p)
	return sb.String()
}

func (m *merger) mergeComponents(val any) {
	src, ok := val.(*object)
	if !ok {
		m.invalid("components is not an object")
		return
	}
	dst, ok := m.base.obj("components")
	if !ok {
		if _, exists := m.base.get("components"); exists {
			m.conflict("components is not an object in base")
			return
		}
		dst = newObject()
		m.base.set("components", dst)
	}
	for _, section := range src.keys {
		sval := src.vals[section]
		if strings.HasPrefix(section, "x-") {
			if dval, ok := dst.get(section); !ok {
				dst.set(section, sval)
			} else if !equalJSON(dval, sval) {
				m.conflict("components.%s differs", section)
			}
			continue
		}
		named, ok := sval.(*object)
		if !ok {
			m.invalid("components.%s is not an object", section)
			continue
		}
		into, ok := dst.obj(section)
		if !ok {
			if _, exists := dst.get(section); exists {
				m.conflict("components.%s is not an object in base", section)
				continue
			}
			into = newObject()
			dst.set(section, into)
		}
		for _, name := range named.keys {
			def := named.vals[name]
			if existing, ok := into.get(name); !ok {
				into.set(name, def)
			} else if !equalJSON(existing, def) {
				m.conflict("components.%s.%s", section, name)
			}
		}
	}
}

func (m *merger) mergeTags(val any) {
	src, ok := val.([]any)
	if !ok {
		m.invalid("tags is not an array")
		return
	}
	var dst []any
	if v, ok := m.base.get("tags"); ok {
		if dst, ok = v.([]any); !ok {
			m.conflict("tags is not an array in base")
			return
		}
	}
	byName := map[string]*object{}
	for _, t := range dst {
		if to, ok := t.(*object); ok {
			if name, ok := to.vals["name"].(string); ok {
				byName[name] = to
			}
		}
	}
	for _, t := range src {
		to, ok := t.(*object)
		name, named := "", false
		if ok {
			name, named = to.vals["name"].(string)
		}
		if !named {
			m.invalid("a tag has no name")
			continue
		}
		if existing, ok := byName[name]; ok {
			for _, k := range to.keys {
				if v, ok := existing.get(k); !ok {
					existing.set(k, to.vals[k])
				} else if !equalJSON(v, to.vals[k]) {
					m.conflict("tag %q: %s differs", name, k)
				}
			}
			continue
		}
		byName[name] = to
		dst = append(dst, to)
	}
	if len(dst) > 0 {
		m.base.set("tags", dst)
	}
}
