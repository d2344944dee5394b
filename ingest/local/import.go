package local

import (
	"context"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Import stores files of study in db as one upload, the way an operator
// loads data on the server (`trialwatch import`, the demo's pilot study):
// a data change like an upload, with one audit record in its transaction
// naming actor and source, made as trialwatch itself (auth.WithSystem),
// on every site of the study. Changed subjects are queued for a check.
func Import(ctx context.Context, db *sqldb.DB, study string, files []ingest.File, chunk int, actor, source string,
	opts ...ingest.Option) (ingest.Result, error) {
	target, err := Open(ctx, db)
	if err != nil {
		return ingest.Result{}, err
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		return ingest.Result{}, err
	}
	ctx = audit.WithPending(auth.WithSystem(ctx), audit.NewPending(trail, audit.Record{Actor: actor, Study: study,
		Entity: "upload", Action: "import", Source: source}))
	return ingest.IngestFiles(ctx, target, study, files, chunk, time.Now(), opts...)
}
