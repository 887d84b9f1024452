// Package migrations holds the goose SQL migrations, embedded in the binary.
// Files are named by sequence and never edited once they have landed.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
