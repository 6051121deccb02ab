// Package paging holds what every keyset-paged list shares: the opaque cursor a page hands the
// client to ask for the next one, and the parsing of a page's limit.
//
// A cursor names the last item of a page by its sort time and a tie-breaking id (created_at and
// id, planned departure and id, raised_at and key): the next page starts after it. It travels as
// URL-safe base64 of a small versioned JSON object, so clients cannot build one by hand without
// trying and the format can change without old cursors being misread.
package paging

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// version is the cursor format Encode writes; Decode reads only it.
const version = 1

// ErrBadCursor is a cursor this API did not issue. Its text reads as the reason of a
// validation error on the cursor field.
var ErrBadCursor = errors.New("is not a cursor this API returned")

// Cursor is a position in a list sorted by a time, then an id: the last item of a page.
type Cursor struct {
	At time.Time
	ID string
}

// wire is a Cursor as it travels.
type wire struct {
	V  int       `json:"v"`
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// Encode returns the opaque form of c, which Decode reads back.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(wire{V: version, At: c.At, ID: c.ID}) // a time and a string always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a cursor Encode made. "" is the first page: nil and no error. Anything else
// that is not a cursor of this version with a time and an id is ErrBadCursor; so is one whose
// id validID rejects (nil accepts any non-empty id), for ids of a known form such as UUIDs that
// a store would otherwise fail to compare.
func Decode(s string, validID func(string) bool) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil || w.V != version || w.At.IsZero() || w.ID == "" {
		return nil, ErrBadCursor
	}
	if validID != nil && !validID(w.ID) {
		return nil, ErrBadCursor
	}
	return &Cursor{At: w.At, ID: w.ID}, nil
}

// LimitError is a page limit that is not a whole number from 1 to Max.
type LimitError struct{ Max int }

func (e *LimitError) Error() string { return "is a whole number from 1 to " + strconv.Itoa(e.Max) }

// Limit parses the size of a page from raw: def when raw is empty, else a whole number from 1
// to maxLimit, or a *LimitError.
func Limit(raw string, def, maxLimit int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		return 0, &LimitError{Max: maxLimit}
	}
	return n, nil
}
