package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trialwatch/trialwatch/sqldb"
)

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	var dsn, study string
	fs.StringVar(&dsn, "db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
	fs.StringVar(&study, "study", "", "study ID (STUDYID) the files belong to (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: trialwatch import --db DSN --study ID FILES...\n\nLoads SDTM domains DM, EX, AE, LB as CSV, Dataset-JSON or SAS XPORT v5 (.csv, .json, .xpt, optionally .gz).\nNothing is stored unless every file is valid. Changed subjects are queued for a check.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if study == "" || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	prog := newProgress(stderr)
	b, err := readFiles(study, fs.Args(), prog)
	if err != nil {
		return err
	}
	prog.start(fmt.Sprintf("storing %d records", b.Len()), 0)
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := store(ctx, db, study, b)
	prog.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s into %s for study %s in %v\n%s\n", describe(b), db, study,
		time.Since(start).Round(time.Millisecond), describeResult(res))
	return nil
}
