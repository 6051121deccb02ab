package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes stores map to domain errors
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	CodeUniqueViolation = "23505" // a UNIQUE or PRIMARY KEY constraint
	CodeCheckViolation  = "23514" // a CHECK constraint
	CodeInvalidText     = "22P02" // invalid_text_representation, e.g. an id that is not a UUID
)

// ErrorCode returns the *pgconn.PgError in err's chain when its SQLSTATE is code, so a store can
// read which constraint or table it names; false when err holds no such error.
func ErrorCode(err error, code string) (*pgconn.PgError, bool) {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == code {
		return pe, true
	}
	return nil, false
}
