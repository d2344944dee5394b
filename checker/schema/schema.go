// Package schema holds the checker service's tables — lab results, the
// check queue, signals and their review, study settings and eDISH points —
// and their migrations. The checker's stores (labs, queue, signals) each
// own some of the tables but share one migration history, so an existing
// database upgrades in one sequence whichever store opens it first.
package schema

import (
	"context"
	"embed"

	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings db's checker tables up to date; it is idempotent.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, "checker_schema_version", migrations)
}
