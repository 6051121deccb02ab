// Package apperr holds the error kinds every service's domain speaks, with no dependency beyond
// the standard library so domain packages may use them. Only transports map them to a protocol
// (HTTP status, problem+json), always through errors.Is / errors.As.
package apperr

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel kinds. Wrap them with fmt.Errorf("...: %w", apperr.ErrNotFound) to add detail.
var (
	// ErrNotFound: the resource does not exist, or the caller may not know that it does.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is valid but clashes with the current state.
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed: an If-Match version did not match the current one.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrPreconditionRequired: a write that needs If-Match came without it.
	ErrPreconditionRequired = errors.New("precondition required")
	// ErrUnauthenticated: no valid credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: valid credentials, but not allowed to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: a dependency is down; the caller may retry.
	ErrUnavailable = errors.New("unavailable")
)

// FieldError says what is wrong with one field of the input. Index is the position of the item
// in a batch, or nil when the input is not a batch.
type FieldError struct {
	Index  *int   `json:"index,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error implements error.
func (e FieldError) Error() string {
	var b strings.Builder
	if e.Index != nil {
		b.WriteString("item ")
		b.WriteString(strconv.Itoa(*e.Index))
		b.WriteString(": ")
	}
	b.WriteString(e.Field)
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// ValidationError is bad input: one or more fields, each with its reason. Nothing was changed.
type ValidationError struct {
	Fields []FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	switch len(e.Fields) {
	case 0:
		return "invalid input"
	case 1:
		return "invalid input: " + e.Fields[0].Error()
	default:
		return "invalid input: " + e.Fields[0].Error() + " (and " + strconv.Itoa(len(e.Fields)-1) + " more)"
	}
}

// Invalid returns a ValidationError for a single field.
func Invalid(field, reason string) *ValidationError {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}

// Add records one more invalid field.
func (e *ValidationError) Add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}

// AddAt records one more invalid field of batch item i.
func (e *ValidationError) AddAt(i int, field, reason string) {
	e.Fields = append(e.Fields, FieldError{Index: &i, Field: field, Reason: reason})
}

// Err returns e as an error when it holds at least one field, and nil otherwise, so a validator
// can collect everything and finish with `return v.Err()`.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}
