package domain

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/scodalabs/scoda/pkg/apperr"
)

// MaxBatch is the most events one ingest request may carry.
const MaxBatch = 1000

const shapeReason = `expected an event object or {"events": [...]}`

// DecodeBatch splits a POST /v1/events body into its items: the body is either one event
// object or {"events": [ ... ]} with 1 to MaxBatch items. It checks the shape only; Parse
// checks the items. Errors are *apperr.ValidationError on field "body" or "events". The items
// share body's memory. Limiting the body's size in bytes is the transport's job
// (http.MaxBytesReader).
func DecodeBatch(body []byte) ([]json.RawMessage, error) {
	body = bytes.Trim(body, " \t\r\n") // JSON white space only
	if len(body) == 0 {
		return nil, apperr.Invalid("body", "empty; "+shapeReason)
	}
	// One validating pass; the walk below relies on it and only finds boundaries.
	if !json.Valid(body) {
		return nil, apperr.Invalid("body", "not JSON")
	}
	if body[0] != '{' {
		return nil, apperr.Invalid("body", shapeReason)
	}
	events, isBatch, hasEventType := topLevel(body)
	if !isBatch {
		return []json.RawMessage{json.RawMessage(body)}, nil
	}
	if hasEventType {
		return nil, apperr.Invalid("body", shapeReason+`, not both: "events" next to "eventType"`)
	}
	if events[0] != '[' {
		return nil, apperr.Invalid("events", "must be an array of event objects")
	}
	items := elements(events)
	switch {
	case len(items) == 0:
		return nil, apperr.Invalid("events", fmt.Sprintf("empty batch: send 1 to %d events", MaxBatch))
	case len(items) > MaxBatch:
		return nil, apperr.Invalid("events", fmt.Sprintf("at most %d events per request, got %d", MaxBatch, len(items)))
	}
	return items, nil
}

// The functions below walk JSON that json.Valid accepted, so they only track strings and
// nesting to find where values end.

// topLevel finds the value of the key "events" in a valid JSON object, and whether the object
// also has "eventType". As encoding/json does, a repeated key counts by its last value.
func topLevel(obj []byte) (events []byte, isBatch, hasEventType bool) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end := skipString(obj, i)
		key := obj[i:end]
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		start := i
		i = skipValue(obj, i)
		switch keyName(key) {
		case "events":
			events, isBatch = obj[start:i], true
		case "eventType":
			hasEventType = true
		}
		i = skipSpace(obj, i)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return events, isBatch, hasEventType
}

// elements splits a valid JSON array into its elements.
func elements(arr []byte) []json.RawMessage {
	var out []json.RawMessage
	i := skipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		start := i
		i = skipValue(arr, i)
		out = append(out, json.RawMessage(arr[start:i]))
		i = skipSpace(arr, i)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return out
}

// keyName returns a JSON string's text (unescaping only when it has escapes).
func keyName(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	_ = json.Unmarshal(quoted, &s) // valid JSON: cannot fail
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a '"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}
