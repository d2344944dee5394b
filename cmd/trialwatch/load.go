package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
)

// readFiles reads SDTM files (CSV, Dataset-JSON or XPT, optionally
// gzip-compressed) into one batch. Every file is read before anything is
// stored, so a bad file stores nothing.
func readFiles(study string, paths []string) (*sdtm.Batch, error) {
	var b sdtm.Batch
	for _, p := range paths {
		if err := sdtm.ReadFile(p, study, &b); err != nil {
			return nil, err
		}
	}
	return &b, nil
}

// store writes a batch into one database holding every service's tables,
// through the same path as an upload, and queues checks of what changed.
func store(ctx context.Context, db *sqldb.DB, study string, b *sdtm.Batch) (ingest.Result, error) {
	target, err := ingest.OpenLocal(ctx, db)
	if err != nil {
		return ingest.Result{}, err
	}
	return ingest.Ingest(ctx, target, study, b, time.Now())
}

func describe(b *sdtm.Batch) string {
	return fmt.Sprintf("%d subjects, %d doses, %d adverse events, %d lab results",
		len(b.Subjects), len(b.Doses), len(b.Events), len(b.Labs))
}

func describeResult(r ingest.Result) string {
	domains := make([]string, 0, len(r.Domains))
	for d := range r.Domains {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	parts := make([]string, len(domains))
	for i, d := range domains {
		s := r.Domains[d]
		parts[i] = fmt.Sprintf("%s %d new, %d updated, %d unchanged", d, s.Inserted, s.Updated, s.Unchanged)
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; %d subject checks queued", r.Queued)
}
