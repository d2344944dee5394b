package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/studygen"
)

// genCmd writes a synthetic study (package studygen), e.g. to measure an
// import.
func (c *cli) genCmd() *cobra.Command {
	var o studygen.Options
	var out string
	return c.Command(&cobra.Command{
		Use:   "gen-study --out DIR [--subjects N] [--labs-per-subject M]",
		Short: "Write a synthetic study's DM and LB as SDTM CSV",
		Long:  "Writes a synthetic study's DM and LB as SDTM CSV, e.g. to measure an import.",
		Example: `  trialwatch gen-study --subjects 20000 --labs-per-subject 500 --out /tmp/gen
  trialwatch gen-study --out /tmp/gen --gzip --seed 7`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.IntVar(&o.Subjects, "subjects", studygen.DefaultSubjects, "number of subjects (DM rows)")
		fs.IntVar(&o.LabsPerSubject, "labs-per-subject", studygen.DefaultLabsPerSubject, "LB rows per subject")
		fs.StringVar(&out, "out", "", "directory to write dm.csv and lb.csv into (required)")
		fs.StringVar(&o.Study, "study", studygen.DefaultStudy, "STUDYID of the rows")
		fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed writes the same files")
		fs.BoolVar(&o.Gzip, "gzip", false, "write dm.csv.gz and lb.csv.gz")
		fs.Check("subjects", flagset.Positive)
		fs.Check("labs-per-subject", flagset.Positive)
		fs.Check("out", flagset.Required)
		fs.Check("study", flagset.Required)
	}, func(*flagset.Set, []string) error {
		start := time.Now()
		dm, lb, err := studygen.Write(out, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "wrote %d subjects to %s and %d lab results to %s in %v\n", o.Subjects, dm, o.Subjects*o.LabsPerSubject, lb,
			time.Since(start).Round(time.Millisecond))
		return nil
	})
}
