package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/internal/progress"
	"github.com/trialwatch/trialwatch/sqldb"
)

func (c *cli) importCmd() *cobra.Command {
	var dsn, study string
	var chunk int
	return c.Command(&cobra.Command{
		Use:   "import --db DSN --study ID FILE|FOLDER|GLOB...",
		Short: "Load SDTM domains (DM, EX, AE, LB, DS, CM), streamed in bounded memory",
		Long: `Loads the SDTM domains trialwatch reads, DM, EX, AE, LB, DS and CM, as CSV,
Dataset-JSON or SAS XPORT v5 (.csv, .json, .xpt, optionally .gz), from the
files, folders (their files) and glob patterns given. Files of other domains
(SV, VS, SUPPAE...) and of other formats (define.xml) are skipped and listed.

The files are streamed, in bounded memory, DM first, staged out of sight
a chunk at a time and made visible in one short transaction: nothing is
stored unless every file is valid. Problems that repeat (every
row of an unknown subject) are reported once, with how many rows and where.
Changed subjects are queued for a check, which the next serve runs. On a
terminal, progress is one line redrawn; otherwise a log line every 10s with
rows/s and the time left.`,
		Example: `  trialwatch import --db trialwatch.db --study CDISCPILOT01 dm.csv ex.csv ae.csv lb.csv ds.csv cm.csv
  trialwatch import --db trialwatch.db --study CDISCPILOT01 sdtm/
  trialwatch import --db trialwatch.db --study CDISCPILOT01 'sdtm/*.xpt'
  trialwatch import --db 'postgres://tw@db:5432/trialwatch' --study CDISCPILOT01 sdtm/ --chunk 20000`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return command.Usagef("%s needs the files, folders or globs to import", command.Name(cmd))
			}
			return nil
		},
	}, func(fs *flagset.Set) {
		fs.StringVar(&dsn, "db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
		fs.StringVar(&study, "study", "", "study ID (STUDYID) the files belong to (required)")
		fs.IntVar(&chunk, "chunk", ingest.DefaultChunk, "records validated and written at a time; memory grows with it, not with the files")
		fs.Check("db", flagset.Required)
		fs.Check("study", flagset.Required)
		fs.Check("chunk", flagset.Positive)
	}, func(_ *flagset.Set, args []string) error {
		return importFiles(c.Ctx, dsn, study, chunk, args, c.Stdout, c.Stderr)
	})
}

// progressEvery is how often an import logs its progress off a
// terminal; tests shorten it.
var progressEvery = progress.DefaultEvery

// importFiles imports what paths name into dsn's database, as
// trialwatch itself on behalf of the operator.
func importFiles(ctx context.Context, dsn, study string, chunk int, paths []string, stdout, stderr io.Writer) error {
	start := time.Now()
	files, skipped, err := ingest.Collect(paths)
	for _, s := range skipped {
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
	if err != nil {
		return err
	}
	prog := progress.New(stderr, progress.Every(progressEvery))
	for i, f := range files {
		files[i].Open = func() (io.ReadCloser, error) { return prog.Open("importing "+filepath.Base(f.Name), f.Name) }
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := local.Import(ctx, db, study, files, chunk, command.Actor(), "cli",
		ingest.WithProgress(func(_ string, rows int) { prog.SetRows(rows) }))
	if err != nil {
		return err
	}
	// Closing copies the log into the database file and syncs it (see
	// sqldb's checkpointer): the import is on disk once reported.
	prog.Start("writing to disk", 0)
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", db, err)
	}
	prog.Finish()
	fmt.Fprintf(stdout, "imported %s into %s for study %s in %v\n%s\n", res.Records(), db, study,
		time.Since(start).Round(time.Millisecond), res.Changes())
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "skipped %d file(s) of domains or formats trialwatch does not read (listed on stderr)\n", len(skipped))
	}
	return nil
}
