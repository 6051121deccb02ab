// Package migrations holds the scheduling schema's migrations, embedded in the binary and run at
// start (golang-migrate, one numbered up and down file per step).
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
