package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trialwatch/trialwatch/studygen"
)

// genCmd writes a synthetic study (package studygen), e.g. to measure an
// import.
func genCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen-study", stderr)
	var o studygen.Options
	var out string
	fs.IntVar(&o.Subjects, "subjects", studygen.DefaultSubjects, "number of subjects (DM rows)")
	fs.IntVar(&o.LabsPerSubject, "labs-per-subject", studygen.DefaultLabsPerSubject, "LB rows per subject")
	fs.StringVar(&out, "out", "", "directory to write dm.csv and lb.csv into (required)")
	fs.StringVar(&o.Study, "study", studygen.DefaultStudy, "STUDYID of the rows")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed writes the same files")
	fs.BoolVar(&o.Gzip, "gzip", false, "write dm.csv.gz and lb.csv.gz")
	fs.check("subjects", positive)
	fs.check("labs-per-subject", positive)
	fs.check("out", required)
	fs.check("study", required)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: trialwatch gen-study --subjects N --labs-per-subject M --out DIR\n\nWrites a synthetic study's DM and LB as SDTM CSV, e.g. to measure an import.")
		fs.PrintDefaults()
	}
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	dm, lb, err := studygen.Write(out, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d subjects to %s and %d lab results to %s in %v\n", o.Subjects, dm, o.Subjects*o.LabsPerSubject, lb,
		time.Since(start).Round(time.Millisecond))
	return nil
}
