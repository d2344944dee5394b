package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
)

// readFiles reads SDTM files (CSV, Dataset-JSON or XPT, optionally
// gzip-compressed) into one batch, showing progress on a terminal. Every
// file is read before anything is stored, so a bad file stores nothing.
func readFiles(study string, paths []string, prog *progress) (*sdtm.Batch, error) {
	var b sdtm.Batch
	for _, p := range paths {
		if err := readFile(study, p, &b, prog); err != nil {
			return nil, err
		}
	}
	return &b, nil
}

func readFile(study, path string, b *sdtm.Batch, prog *progress) error {
	format, err := sdtm.FormatOf(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	prog.start("reading "+filepath.Base(path), size)
	defer prog.finish()
	return sdtm.Read(path, prog.reader(f), format, study, b)
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
