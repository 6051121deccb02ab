package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// maxTypeErrors bounds the decoding rounds for one item: each round finds one field of the
// wrong JSON type (encoding/json reports only the first) and removes it.
const maxTypeErrors = 8

type fieldProblem struct{ field, reason string }

// decodeEvent decodes one item. A field of the wrong JSON type (a number where a string
// belongs) does not stop it: the field is reported, removed, and the item decoded again, so
// the validator still sees, and reports, the rest. err is set only when the item cannot be
// decoded at all.
func decodeEvent(raw []byte) (DCSAEvent, []fieldProblem, error) {
	var problems []fieldProblem
	for {
		var in DCSAEvent
		err := json.Unmarshal(raw, &in)
		if err == nil {
			return in, problems, nil
		}
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field == "" {
			return DCSAEvent{}, problems, err
		}
		path := arrayPath(raw, te.Field)
		problems = append(problems, fieldProblem{path, "must be " + goKind(te.Type.String()) + ", got " + jsonKind(te.Value)})
		next, ok := removePath(raw, path)
		if !ok || len(problems) == maxTypeErrors {
			// Cannot isolate it: keep what encoding/json decoded around the bad field.
			return in, problems, nil
		}
		raw = next
	}
}

// jsonKind names what the client sent, from UnmarshalTypeError.Value ("string",
// "number 1.5", "array", ...).
func jsonKind(v string) string {
	switch {
	case v == "object", v == "array":
		return "an " + v
	case v == "bool":
		return "true/false"
	case strings.HasPrefix(v, "number "):
		return v
	default:
		return "a " + v
	}
}

// goKind names the JSON kind a Go type wants.
func goKind(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	default:
		return "an object"
	}
}

// arrayPath adds the index to a type error's path inside an event's arrays
// ("seals.sealNumber" becomes "seals[2].sealNumber"), which encoding/json leaves out.
func arrayPath(raw []byte, field string) string {
	name, rest, ok := strings.Cut(field, ".")
	if !ok {
		return field
	}
	var probe func(json.RawMessage) error
	switch name {
	case "seals":
		probe = func(m json.RawMessage) error { var v DCSASeal; return json.Unmarshal(m, &v) }
	case "references":
		probe = func(m json.RawMessage) error { var v DCSAReference; return json.Unmarshal(m, &v) }
	case "documentReferences":
		probe = func(m json.RawMessage) error { var v DCSADocumentReference; return json.Unmarshal(m, &v) }
	default:
		return field
	}
	elems, ok := memberArray(raw, name)
	if !ok {
		return field
	}
	for i, e := range elems {
		if probe(e) != nil {
			return name + "[" + strconv.Itoa(i) + "]." + rest
		}
	}
	return field
}

// memberArray returns the elements of the array member name of a JSON object, matched as
// encoding/json matches struct fields (the last member whose key equals name, ignoring case).
func memberArray(raw []byte, name string) ([]json.RawMessage, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil, false
	}
	var val json.RawMessage
	for key, v := range top {
		if key == name {
			val = v
			break
		}
		if strings.EqualFold(key, name) {
			val = v
		}
	}
	var elems []json.RawMessage
	if val == nil || json.Unmarshal(val, &elems) != nil {
		return nil, false
	}
	return elems, true
}

// removePath returns raw without the member at path ("transportCall.vessel.vesselName",
// "seals[1].sealNumber"); keys match ignoring case, as encoding/json matches them.
func removePath(raw []byte, path string) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as sent
	var root any
	if dec.Decode(&root) != nil {
		return nil, false
	}
	node := root
	steps := strings.Split(path, ".")
	for i, step := range steps {
		key, index := step, -1
		if k, idx, ok := strings.Cut(step, "["); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil {
				return nil, false
			}
			key, index = k, n
		}
		obj, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		last := i == len(steps)-1 && index < 0
		found := false
		for k, v := range obj {
			if !strings.EqualFold(k, key) {
				continue
			}
			found = true
			if last {
				delete(obj, k)
				continue
			}
			node = v
		}
		if !found {
			return nil, false
		}
		if last {
			break
		}
		if index >= 0 {
			arr, ok := node.([]any)
			if !ok || index >= len(arr) {
				return nil, false
			}
			node = arr[index]
		}
	}
	out, err := json.Marshal(root)
	return out, err == nil
}
