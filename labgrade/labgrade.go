// Package labgrade grades SDTM lab files by CTCAE or DAIDS in batch: it
// reads LB, and DM for first doses, birth dates, ages and sexes, with
// package sdtm, finds each record's baseline by a study's convention,
// grades every record with package clinical/ctcae (which does no I/O) and
// writes CSV, one row per record, term and direction.
package labgrade

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sdtm"
)

// Header is the CSV header Write writes.
var Header = []string{"USUBJID", "LBSEQ", "LBTESTCD", "TERM", "DIRECTION", "GRADE", "REASON"}

// Input is what to grade: LB records and, if known, each subject's first
// dose, for tests with no baseline (LBBLFL=Y) record, and each subject's
// DM record, for criteria that grade by age and sex (DAIDS); both by
// USUBJID.
type Input struct {
	Labs      []clinical.LabResult
	FirstDose map[string]clinical.Date
	Subjects  map[string]*clinical.Subject
	// Baseline is the baseline convention, as a study's setting names it:
	// rules.BaselineSDTM (LBBLFL=Y, else the last value on or before the
	// first dose; the default when empty) or rules.BaselineADaMLastPredose
	// (the last value on or before the first dose whatever LBBLFL says).
	// The first dose is DM's RFXSTDTC: EX is not read.
	Baseline rules.Baseline
}

// ParseBaseline reads a baseline convention name; empty is
// rules.BaselineSDTM.
func ParseBaseline(s string) (rules.Baseline, error) {
	b := rules.Baseline(strings.ToLower(strings.TrimSpace(s)))
	switch b {
	case "":
		return rules.BaselineSDTM, nil
	case rules.BaselineSDTM, rules.BaselineADaMLastPredose:
		return b, nil
	}
	return "", fmt.Errorf("unknown baseline convention %q (want %s or %s)", s, rules.BaselineSDTM, rules.BaselineADaMLastPredose)
}

// baselines finds each record's baseline by in's convention.
func (in Input) baselines() (*ctcae.Baselines, error) {
	switch in.Baseline {
	case "", rules.BaselineSDTM:
		return ctcae.FindBaselines(in.Labs, in.FirstDose), nil
	case rules.BaselineADaMLastPredose:
		return ctcae.FindLastPredoseBaselines(in.Labs, in.FirstDose), nil
	}
	_, err := ParseBaseline(string(in.Baseline))
	return nil, err
}

// ReadFiles reads the LB file at lbPath and, if dmPath is not empty, the
// subjects' first doses from the DM file there. Every row must be of
// study; an empty study is the STUDYID of the LB file's first row.
func ReadFiles(lbPath, dmPath, study string) (Input, error) {
	if study == "" {
		s, err := fileStudy(lbPath)
		if err != nil {
			return Input{}, fmt.Errorf("%w (or give the study)", err)
		}
		study = s
	}
	var lb sdtm.Batch
	if err := sdtm.ReadFile(lbPath, study, &lb); err != nil {
		return Input{}, err
	}
	if len(lb.Labs) == 0 {
		return Input{}, fmt.Errorf("%s: not an LB file", lbPath)
	}
	in := Input{Labs: lb.Labs}
	if dmPath == "" {
		return in, nil
	}
	var dm sdtm.Batch
	if err := sdtm.ReadFile(dmPath, study, &dm); err != nil {
		return Input{}, err
	}
	if len(dm.Subjects) == 0 {
		return Input{}, fmt.Errorf("%s: not a DM file", dmPath)
	}
	in.FirstDose = make(map[string]clinical.Date, len(dm.Subjects))
	in.Subjects = make(map[string]*clinical.Subject, len(dm.Subjects))
	for i, s := range dm.Subjects {
		in.FirstDose[s.USUBJID] = s.FirstDose
		in.Subjects[s.USUBJID] = &dm.Subjects[i]
	}
	return in, nil
}

// fileStudy is the STUDYID of the first row of the SDTM file at path.
func fileStudy(path string) (string, error) {
	format, err := sdtm.FormatOf(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return sdtm.Study(path, f, format)
}

// Summary counts the rows written.
type Summary struct {
	Records     int // LB records graded
	Graded      int // rows with a grade
	Severe      int // of which grade 3 or more
	NotGradable int // rows of a term the record cannot be graded by
	NoCriteria  int // records of tests CTCAE has no criteria for
}

func (s Summary) String() string {
	return fmt.Sprintf("%d grades (%d of grade 3 or more), %d not gradable, %d records without CTCAE criteria",
		s.Graded, s.Severe, s.NotGradable, s.NoCriteria)
}

// Write grades every record of in by c and writes the CSV to w: Header,
// then a row per record, term and direction, with GRADE empty when the
// record cannot be graded and REASON saying why. Each record is graded
// against its baseline, its subject (DAIDS) and, for total calcium, the
// albumin of its draw; opts apply to every record (ctcae.WithContext).
func Write(ctx context.Context, w io.Writer, c ctcae.Criteria, in Input, opts ...ctcae.Option) (Summary, error) {
	sum := Summary{Records: len(in.Labs)}
	baselines, err := in.baselines()
	if err != nil {
		return sum, err
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Write(Header)
	draws := ctcae.FindDraws(in.Labs)
	opts = append(slices.Clip(opts), ctcae.Option{}, ctcae.Option{}) // the last two are each record's albumin and subject
	for i, l := range in.Labs {
		if i%4096 == 0 && ctx.Err() != nil {
			return sum, ctx.Err()
		}
		seq := strconv.Itoa(l.Seq)
		opts[len(opts)-2] = ctcae.WithAlbumin(draws.Albumin(l))
		opts[len(opts)-1] = ctcae.WithSubject(in.Subjects[l.USUBJID])
		rs := ctcae.Grade(c, l, baselines.For(l), opts...)
		if rs == nil {
			sum.NoCriteria++
			cw.Write([]string{l.USUBJID, seq, l.TestCode, "", "", "", "no CTCAE criteria for " + l.TestCode})
			continue
		}
		for _, r := range rs {
			grade := ""
			switch {
			case !r.Gradable:
				sum.NotGradable++
			default:
				sum.Graded++
				grade = strconv.Itoa(r.Grade)
				if r.Grade >= 3 {
					sum.Severe++
				}
			}
			// A graded row says what was done to the value (calcium corrected for albumin).
			cw.Write([]string{l.USUBJID, seq, l.TestCode, r.Term, string(r.Direction), grade, cmp.Or(r.Reason, r.Correction)})
		}
	}
	cw.Flush()
	return sum, errors.Join(cw.Error(), bw.Flush())
}

// WriteFile writes the grades (Write) to a temporary file renamed to path
// at the end, so an interrupted run leaves no half-written grades behind.
func WriteFile(ctx context.Context, path string, c ctcae.Criteria, in Input, opts ...ctcae.Option) (_ Summary, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return Summary{}, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	sum, err := Write(ctx, f, c, in, opts...)
	if err != nil {
		return Summary{}, err
	}
	if err := f.Close(); err != nil {
		return Summary{}, err
	}
	return sum, os.Rename(f.Name(), path)
}
