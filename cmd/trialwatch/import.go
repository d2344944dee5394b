package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sqldb"
)

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	var dsn, study string
	var chunk int
	fs.StringVar(&dsn, "db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
	fs.StringVar(&study, "study", "", "study ID (STUDYID) the files belong to (required)")
	fs.IntVar(&chunk, "chunk", ingest.DefaultChunk, "records validated and written at a time; memory grows with it, not with the files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: trialwatch import --db DSN --study ID FILES...\n\nLoads SDTM domains DM, EX, AE, LB, DS, CM as CSV, Dataset-JSON or SAS XPORT v5 (.csv, .json, .xpt, optionally .gz).\nThe files are streamed, in bounded memory, DM first, in one transaction: nothing is stored unless\nevery file is valid. Changed subjects are queued for a check.")
		fs.PrintDefaults()
	}
	fs.check("db", required)
	fs.check("study", required)
	fs.check("chunk", positive)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	prog := newProgress(stderr)
	files, err := importFiles(fs.Args(), prog)
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	target, err := local.Open(ctx, db)
	if err != nil {
		return err
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		return err
	}
	// The import is a data change like an upload: one audit record, in its
	// transaction, naming who ran it. It runs on the server by an operator,
	// so it acts for trialwatch itself, on every site of the study.
	ctx = auth.WithSystem(ctx)
	ctx = audit.WithPending(ctx, audit.NewPending(trail, audit.Record{Actor: cliActor(), Study: study,
		Entity: "upload", Action: "import", Source: "cli"}))
	res, err := ingest.IngestFiles(ctx, target, study, files, chunk, time.Now())
	if err != nil {
		return err
	}
	// Closing copies the log into the database file and syncs it (see
	// sqldb's checkpointer): the import is on disk once reported.
	prog.start("writing to disk", 0)
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", db, err)
	}
	prog.finish()
	fmt.Fprintf(stdout, "imported %s into %s for study %s in %v\n%s\n", describeCounts(res), db, study,
		time.Since(start).Round(time.Millisecond), describeResult(res))
	return nil
}
