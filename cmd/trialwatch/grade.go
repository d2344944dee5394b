package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/labgrade"
)

func (c *cli) gradeCmd() *cobra.Command {
	var criteria, gradingContext, baselineName, lbPath, dmPath, outPath, study string
	var crit ctcae.Criteria
	var gc ctcae.Context
	var baseline rules.Baseline
	return c.Command(&cobra.Command{
		Use:   "grade --lb LB_FILE [--criteria ctcae-v4.03|ctcae-v5.0|ctcae-v6.0|daids-v2.1] [--grading-context number-only|worst-case] [--baseline sdtm|adam-last-predose] [--dm DM_FILE] [--out FILE] [--study ID]",
		Short: "Grade LB records by CTCAE (v4.03, v5.0, v6.0) or DAIDS v2.1 into CSV",
		Long: `Grades every LB record by CTCAE (or DAIDS) and writes CSV: USUBJID,LBSEQ,
LBTESTCD,TERM,DIRECTION,GRADE,REASON. A test graded low and high gives two
rows; GRADE is empty when the record cannot be graded, and REASON says why.
The baseline is the LBBLFL=Y record of the same test, else (with --dm) the
last value on or before the subject's first dose (RFXSTDTC); DAIDS needs
--dm for the subjects' age and sex. Files are SDTM CSV (.csv), Dataset-JSON
(.json) or SAS XPORT (.xpt), optionally gzip-compressed (.gz). Without
--study, the study is the STUDYID of the LB file's first row.`,
		Example: `  trialwatch grade --criteria ctcae-v5.0 --lb lb.csv --dm dm.csv --out grades.csv
  trialwatch grade --criteria ctcae-v6.0 --grading-context worst-case --lb lb.csv --dm dm.csv
  trialwatch grade --criteria daids-v2.1 --lb lb.csv --dm dm.csv   # DAIDS needs DM: age and sex
  trialwatch grade --baseline adam-last-predose --lb lb.csv --dm dm.csv   # ADaM's BASE`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.StringVar(&criteria, "criteria", string(ctcae.Default), "grading criteria: "+strings.Join(ctcae.Names(), ", "))
		fs.StringVar(&gradingContext, "grading-context", string(ctcae.NumberOnly), "grades that need symptoms: number-only (the number alone) or worst-case (as admiral)")
		fs.StringVar(&baselineName, "baseline", string(rules.BaselineSDTM), "baseline convention: sdtm (LBBLFL=Y) or adam-last-predose (last value on or before RFXSTDTC)")
		fs.StringVar(&lbPath, "lb", "", "SDTM LB file to grade (required)")
		fs.StringVar(&dmPath, "dm", "", "SDTM DM file, for first doses when a test has no LBBLFL=Y record")
		fs.StringVar(&outPath, "out", "", "write the grades to this file instead of stdout")
		fs.StringVar(&study, "study", "", "study ID (STUDYID); default: the STUDYID of the LB file's first row")
		fs.Check("criteria", func(any) string {
			var err error
			if crit, err = ctcae.ParseCriteria(criteria); err != nil {
				return err.Error()
			}
			return ""
		})
		fs.Check("grading-context", func(any) string {
			var err error
			if gc, err = ctcae.ParseContext(gradingContext); err != nil {
				return err.Error()
			}
			return ""
		})
		fs.Check("baseline", func(any) string {
			var err error
			if baseline, err = labgrade.ParseBaseline(baselineName); err != nil {
				return err.Error()
			}
			return ""
		})
		fs.Check("lb", flagset.Required)
	}, func(*flagset.Set, []string) error {
		in, err := labgrade.ReadFiles(lbPath, dmPath, study)
		if err != nil {
			return err
		}
		in.Baseline = baseline
		if outPath == "" {
			_, err := labgrade.Write(c.Ctx, c.Stdout, crit, in, ctcae.WithContext(gc))
			return err
		}
		sum, err := labgrade.WriteFile(c.Ctx, outPath, crit, in, ctcae.WithContext(gc))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "graded %d LB records by %s into %s: %s\n", sum.Records, crit, outPath, sum)
		return nil
	})
}
