// Package sdtm reads SDTM domains (DM, EX, AE, LB) into clinical types.
package sdtm

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
)

// Batch is what one or more files hold, by domain.
type Batch struct {
	Subjects []clinical.Subject
	Doses    []clinical.Dose
	Events   []clinical.AdverseEvent
	Labs     []clinical.LabResult
}

// Len counts the records of all domains.
func (b *Batch) Len() int { return len(b.Subjects) + len(b.Doses) + len(b.Events) + len(b.Labs) }

// Error locates one problem in an input file.
type Error struct {
	File   string
	Line   int
	Column string
	Msg    string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Column != "" {
		loc += ": column " + e.Column
	}
	return loc + ": " + e.Msg
}

// Errors is every problem found in a file, up to a limit.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// maxErrors bounds how many problems one read reports.
const maxErrors = 100

// Domains trialwatch reads.
var Domains = []string{"DM", "EX", "AE", "LB"}

// ReadCSV reads one SDTM domain in CSV into b. The domain comes from the
// DOMAIN column. Every row's STUDYID must be study. Nothing is added to b
// unless the whole file is valid.
func ReadCSV(file string, r io.Reader, study string, b *Batch) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{File: file, Msg: "empty file: want a header row"}
		}
		return &Error{File: file, Line: 1, Msg: err.Error()}
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var out Batch
	var errs Errors
	var domain string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			errs = append(errs, &Error{File: file, Line: line, Msg: err.Error()})
			break
		}
		row := &row{file: file, line: line, cols: cols, rec: rec}
		if domain == "" {
			domain = strings.ToUpper(row.required("DOMAIN"))
			if err := row.checkColumns(domain); err != nil {
				return err
			}
		}
		if d := strings.ToUpper(row.str("DOMAIN")); d != domain {
			row.fail("DOMAIN", fmt.Sprintf("%q in a %s file", d, domain))
		}
		if s := row.required("STUDYID"); s != "" && s != study {
			row.fail("STUDYID", fmt.Sprintf("%q, but the study being loaded is %q", s, study))
		}
		row.read(domain, study, &out)
		row.sortErrors()
		errs = append(errs, row.errs...)
		if len(errs) >= maxErrors {
			errs = append(errs[:maxErrors], &Error{File: file, Msg: "too many errors; stopped reading"})
			break
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if domain == "" {
		return &Error{File: file, Msg: "no data rows"}
	}
	b.Subjects = append(b.Subjects, out.Subjects...)
	b.Doses = append(b.Doses, out.Doses...)
	b.Events = append(b.Events, out.Events...)
	b.Labs = append(b.Labs, out.Labs...)
	return nil
}

// requiredColumns are what trialwatch needs of each domain.
var requiredColumns = map[string][]string{
	"DM": {"STUDYID", "USUBJID", "SITEID"},
	"EX": {"STUDYID", "USUBJID", "EXSEQ", "EXTRT"},
	"AE": {"STUDYID", "USUBJID", "AESEQ", "AETERM"},
	"LB": {"STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTNRLO", "LBSTNRHI"},
}

type row struct {
	file string
	line int
	cols map[string]int
	rec  []string
	errs Errors
}

func (r *row) checkColumns(domain string) error {
	need, ok := requiredColumns[domain]
	if !ok {
		return &Error{File: r.file, Line: r.line, Column: "DOMAIN", Msg: fmt.Sprintf("domain %q is not one trialwatch reads (want one of %s)", domain, strings.Join(Domains, ", "))}
	}
	var missing []string
	for _, c := range need {
		if _, ok := r.cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &Error{File: r.file, Line: 1, Msg: fmt.Sprintf("%s file lacks required column(s) %s", domain, strings.Join(missing, ", "))}
	}
	return nil
}

// sortErrors puts a row's problems in column order, as a person reads it.
func (r *row) sortErrors() {
	sort.SliceStable(r.errs, func(i, j int) bool {
		return r.cols[r.errs[i].Column] < r.cols[r.errs[j].Column]
	})
}

func (r *row) fail(col, msg string) {
	r.errs = append(r.errs, &Error{File: r.file, Line: r.line, Column: col, Msg: msg})
}

// str returns a cell with R's NA and surrounding blanks read as empty.
func (r *row) str(col string) string {
	i, ok := r.cols[col]
	if !ok || i >= len(r.rec) {
		return ""
	}
	v := strings.TrimSpace(r.rec[i])
	if v == "NA" {
		return ""
	}
	return v
}

func (r *row) required(col string) string {
	v := r.str(col)
	if v == "" {
		r.fail(col, "required value is missing")
	}
	return v
}

func (r *row) float(col string) (float64, bool) {
	v := r.str(col)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.fail(col, fmt.Sprintf("%q is not a number", v))
		return 0, false
	}
	return f, true
}

func (r *row) int(col string, required bool) int {
	v := r.str(col)
	if v == "" {
		if required {
			r.fail(col, "required value is missing")
		}
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != float64(int(f)) {
		r.fail(col, fmt.Sprintf("%q is not a whole number", v))
		return 0
	}
	return int(f)
}

func (r *row) date(col string) clinical.Date {
	d := clinical.Date(r.str(col))
	if d.IsZero() {
		return d
	}
	if _, ok := d.Time(); !ok {
		r.fail(col, fmt.Sprintf("%q is not an ISO 8601 date", string(d)))
	}
	return d
}

func (r *row) read(domain, study string, out *Batch) {
	id := r.required("USUBJID")
	switch domain {
	case "DM":
		out.Subjects = append(out.Subjects, clinical.Subject{
			Study: study, USUBJID: id, Site: r.required("SITEID"), Sex: r.str("SEX"), Age: r.int("AGE", false),
			Arm: r.str("ARM"), ConsentDate: r.date("RFICDTC"), FirstDose: r.date("RFXSTDTC"), LastDose: r.date("RFXENDTC"),
			EndOfStudy: r.date("RFPENDTC"), DeathDate: r.date("DTHDTC"),
		})
	case "EX":
		dose, has := r.float("EXDOSE")
		out.Doses = append(out.Doses, clinical.Dose{
			Study: study, USUBJID: id, Seq: r.int("EXSEQ", true), Treatment: r.required("EXTRT"), Dose: dose, HasDose: has,
			Unit: r.str("EXDOSU"), Route: r.str("EXROUTE"), Start: r.date("EXSTDTC"), End: r.date("EXENDTC"),
		})
	case "AE":
		out.Events = append(out.Events, clinical.AdverseEvent{
			Study: study, USUBJID: id, Seq: r.int("AESEQ", true), Term: r.required("AETERM"), Decoded: r.str("AEDECOD"),
			BodySystem: r.str("AEBODSYS"), Severity: r.str("AESEV"), Serious: strings.EqualFold(r.str("AESER"), "Y"),
			Start: r.date("AESTDTC"), End: r.date("AEENDTC"), Recorded: r.date("AEDTC"),
		})
	case "LB":
		l := clinical.LabResult{
			Study: study, USUBJID: id, Seq: r.int("LBSEQ", true), TestCode: r.required("LBTESTCD"), Test: r.str("LBTEST"),
			Category: r.str("LBCAT"), Unit: r.str("LBSTRESU"), Baseline: strings.EqualFold(r.str("LBBLFL"), "Y"),
			Date: r.date("LBDTC"), Visit: r.str("VISIT"),
		}
		l.Value, l.HasValue = r.float("LBSTRESN")
		l.Low, l.HasLow = r.float("LBSTNRLO")
		l.High, l.HasHigh = r.float("LBSTNRHI")
		out.Labs = append(out.Labs, l)
	}
}
