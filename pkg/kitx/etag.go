package kitx

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scodalabs/scoda/pkg/apperr"
)

// ETag is the strong entity tag of a resource at version: the version number, quoted ("3").
// Writes send it back in If-Match; IfMatch reads it.
func ETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// IfMatch is the version a write expects the resource to be at, from its If-Match header. The
// header must hold one strong ETag as ETag made it, a quoted positive integer. A missing (or
// blank) header is apperr.ErrPreconditionRequired (428); anything else that is not a tag we
// sent — a list, a weak tag, *, a number without quotes — can never match and is
// apperr.ErrPreconditionFailed (412).
func IfMatch(header string) (int, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, fmt.Errorf("If-Match is required: %w", apperr.ErrPreconditionRequired)
	}
	digits, ok := strings.CutPrefix(header, `"`)
	if ok {
		digits, ok = strings.CutSuffix(digits, `"`)
	}
	v, err := strconv.Atoi(digits)
	if !ok || err != nil || v < 1 || digits != strconv.Itoa(v) {
		return 0, fmt.Errorf("If-Match %q is not an ETag we sent: %w", header, apperr.ErrPreconditionFailed)
	}
	return v, nil
}
