package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/sdtm"
)

const gradeUsage = `Usage: trialwatch grade --lb LB_FILE [--criteria ctcae-v4.03|ctcae-v5.0] [--dm DM_FILE] [--out FILE] [--study ID]

Grades every LB record by CTCAE and writes CSV: USUBJID,LBSEQ,LBTESTCD,TERM,
DIRECTION,GRADE,REASON. A test graded low and high gives two rows; GRADE is
empty when the record cannot be graded, and REASON says why. The baseline
is the LBBLFL=Y record of the same test, else (with --dm) the last value on
or before the subject's first dose (RFXSTDTC). Files are SDTM CSV (.csv),
Dataset-JSON (.json) or SAS XPORT (.xpt), optionally gzip-compressed (.gz).
Without --study, the study is the STUDYID of a CSV LB file's first row.
`

// gradeHeader is the CSV header gradeCmd writes.
var gradeHeader = []string{"USUBJID", "LBSEQ", "LBTESTCD", "TERM", "DIRECTION", "GRADE", "REASON"}

func gradeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("grade", stderr)
	var criteria, lbPath, dmPath, outPath, study string
	fs.StringVar(&criteria, "criteria", string(ctcae.Default), "grading criteria: "+string(ctcae.V403)+" or "+string(ctcae.V50))
	fs.StringVar(&lbPath, "lb", "", "SDTM LB file to grade (required)")
	fs.StringVar(&dmPath, "dm", "", "SDTM DM file, for first doses when a test has no LBBLFL=Y record")
	fs.StringVar(&outPath, "out", "", "write the grades to this file instead of stdout")
	fs.StringVar(&study, "study", "", "study ID (STUDYID); default: the STUDYID of the LB file's first row")
	fs.Usage = func() {
		fmt.Fprint(stderr, gradeUsage+"\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := ctcae.ParseCriteria(criteria)
	if err != nil || lbPath == "" || fs.NArg() > 0 {
		if err != nil {
			fmt.Fprintln(stderr, "trialwatch grade:", err)
		}
		fs.Usage()
		return errUsage
	}
	labs, firstDose, err := readGradeInput(lbPath, dmPath, study)
	if err != nil {
		return err
	}
	if outPath == "" {
		_, err := writeGrades(ctx, stdout, c, labs, firstDose)
		return err
	}
	return writeGradesFile(ctx, outPath, stdout, c, labs, firstDose)
}

// readGradeInput reads the LB records to grade and, from DM, each
// subject's first dose.
func readGradeInput(lbPath, dmPath, study string) ([]clinical.LabResult, map[string]clinical.Date, error) {
	if study == "" {
		s, err := peekStudy(lbPath)
		if err != nil {
			return nil, nil, err
		}
		study = s
	}
	var lb sdtm.Batch
	if err := sdtm.ReadFile(lbPath, study, &lb); err != nil {
		return nil, nil, err
	}
	if len(lb.Labs) == 0 {
		return nil, nil, fmt.Errorf("%s: not an LB file", lbPath)
	}
	if dmPath == "" {
		return lb.Labs, nil, nil
	}
	var dm sdtm.Batch
	if err := sdtm.ReadFile(dmPath, study, &dm); err != nil {
		return nil, nil, err
	}
	if len(dm.Subjects) == 0 {
		return nil, nil, fmt.Errorf("%s: not a DM file", dmPath)
	}
	firstDose := make(map[string]clinical.Date, len(dm.Subjects))
	for _, s := range dm.Subjects {
		firstDose[s.USUBJID] = s.FirstDose
	}
	return lb.Labs, firstDose, nil
}

// peekStudy returns the STUDYID of a CSV file's first data row, for the
// sdtm readers need to be told the study they check every row against.
func peekStudy(path string) (string, error) {
	if f, err := sdtm.FormatOf(path); err != nil {
		return "", err
	} else if f != sdtm.CSV {
		return "", fmt.Errorf("%s: give --study; it is only taken from CSV files", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	// Recognise gzip by its magic number, as sdtm.Read does.
	if magic, _ := r.(*bufio.Reader).Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return "", fmt.Errorf("%s: gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return "", fmt.Errorf("%s: reading the header: %w", path, err)
	}
	row, err := cr.Read()
	if err != nil {
		return "", fmt.Errorf("%s: no data row to take STUDYID from (give --study): %w", path, err)
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), "STUDYID") && i < len(row) && row[i] != "" {
			return strings.TrimSpace(row[i]), nil
		}
	}
	return "", fmt.Errorf("%s: no STUDYID in the first row; give --study", path)
}

// writeGradesFile writes to a temporary file renamed into place at the
// end, so an interrupted run leaves no half-written grades behind.
func writeGradesFile(ctx context.Context, path string, stdout io.Writer, c ctcae.Criteria, labs []clinical.LabResult, firstDose map[string]clinical.Date) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	sum, err := writeGrades(ctx, f, c, labs, firstDose)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "graded %d LB records by %s into %s: %s\n", len(labs), c, path, sum)
	return nil
}

// gradeSummary counts the rows written, for the closing message.
type gradeSummary struct{ graded, severe, notGradable, noCriteria int }

func (s gradeSummary) String() string {
	return fmt.Sprintf("%d grades (%d of grade 3 or more), %d not gradable, %d records without CTCAE criteria",
		s.graded, s.severe, s.notGradable, s.noCriteria)
}

func writeGrades(ctx context.Context, w io.Writer, c ctcae.Criteria, labs []clinical.LabResult, firstDose map[string]clinical.Date) (gradeSummary, error) {
	var sum gradeSummary
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Write(gradeHeader)
	baselines := ctcae.FindBaselines(labs, firstDose)
	for i, l := range labs {
		if i%4096 == 0 && ctx.Err() != nil {
			return sum, ctx.Err()
		}
		seq := strconv.Itoa(l.Seq)
		rs := ctcae.Grade(c, l, baselines.For(l))
		if rs == nil {
			sum.noCriteria++
			cw.Write([]string{l.USUBJID, seq, l.TestCode, "", "", "", "no CTCAE criteria for " + l.TestCode})
			continue
		}
		for _, r := range rs {
			grade := ""
			switch {
			case !r.Gradable:
				sum.notGradable++
			default:
				sum.graded++
				grade = strconv.Itoa(r.Grade)
				if r.Grade >= 3 {
					sum.severe++
				}
			}
			cw.Write([]string{l.USUBJID, seq, l.TestCode, r.Term, string(r.Direction), grade, r.Reason})
		}
	}
	cw.Flush()
	return sum, errors.Join(cw.Error(), bw.Flush())
}
