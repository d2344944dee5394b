package sdtm

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
)

// requiredColumns are what trialwatch needs of each domain.
var requiredColumns = map[string][]string{
	"DM": {"STUDYID", "USUBJID", "SITEID"},
	"EX": {"STUDYID", "USUBJID", "EXSEQ", "EXTRT"},
	"AE": {"STUDYID", "USUBJID", "AESEQ", "AETERM"},
	"LB": {"STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTNRLO", "LBSTNRHI"},
	"CM": {"STUDYID", "USUBJID", "CMSEQ", "CMTRT"},
	"DS": {"STUDYID", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD"},
}

// row is the typed view of one record that every format's reader shares.
type row struct {
	file  string
	pos   position
	cols  map[string]int
	cells []cell
	errs  Errors
}

// convert appends the row to out as its domain's type and returns its key,
// the column that makes it unique within the subject, and whether the key
// is complete enough to check for duplicates.
func (r *row) convert(domain, study string, out *Batch) (k key, seqCol string, ok bool) {
	id := r.required("USUBJID")
	switch domain {
	case "DM":
		out.Subjects = append(out.Subjects, clinical.Subject{
			Study: study, USUBJID: id, Site: r.required("SITEID"), Sex: r.str("SEX"), Age: r.int("AGE", false),
			Arm: r.str("ARM"), ConsentDate: r.date("RFICDTC"), FirstDose: r.date("RFXSTDTC"), LastDose: r.date("RFXENDTC"),
			EndOfStudy: r.date("RFPENDTC"), DeathDate: r.date("DTHDTC"),
		})
		return key{id: id}, "USUBJID", id != ""
	case "EX":
		seqCol = "EXSEQ"
		dose, has := r.float("EXDOSE")
		d := clinical.Dose{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Treatment: r.required("EXTRT"), Dose: dose, HasDose: has,
			Unit: r.str("EXDOSU"), Route: r.str("EXROUTE"), Start: r.date("EXSTDTC"), End: r.date("EXENDTC"),
		}
		out.Doses = append(out.Doses, d)
		k.seq = d.Seq
	case "AE":
		seqCol = "AESEQ"
		e := clinical.AdverseEvent{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required("AETERM"), Decoded: r.str("AEDECOD"),
			BodySystem: r.str("AEBODSYS"), Severity: r.str("AESEV"), Serious: strings.EqualFold(r.str("AESER"), "Y"),
			Start: r.date("AESTDTC"), End: r.date("AEENDTC"), Recorded: r.date("AEDTC"),
		}
		out.Events = append(out.Events, e)
		k.seq = e.Seq
	case "LB":
		seqCol = "LBSEQ"
		l := clinical.LabResult{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), TestCode: r.required("LBTESTCD"), Test: r.str("LBTEST"),
			Category: r.str("LBCAT"), Unit: r.labUnit("LBSTRESU"), Baseline: strings.EqualFold(r.str("LBBLFL"), "Y"),
			Date: r.date("LBDTC"), Visit: r.str("VISIT"),
		}
		l.Value, l.HasValue = r.float("LBSTRESN")
		l.Low, l.HasLow = r.float("LBSTNRLO")
		l.High, l.HasHigh = r.float("LBSTNRHI")
		out.Labs = append(out.Labs, l)
		k.seq = l.Seq
	case "CM":
		seqCol = "CMSEQ"
		c := ConMed{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required("CMTRT"), Decoded: r.str("CMDECOD"),
			Start: r.date("CMSTDTC"), End: r.date("CMENDTC"),
		}
		out.ConMeds = append(out.ConMeds, c)
		k.seq = c.Seq
	case "DS":
		seqCol = "DSSEQ"
		d := Disposition{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required("DSTERM"), Decoded: r.required("DSDECOD"),
			Category: r.str("DSCAT"), Start: r.date("DSSTDTC"),
		}
		out.Dispositions = append(out.Dispositions, d)
		k.seq = d.Seq
	}
	k.id = id
	// A missing or malformed --SEQ is already reported; a zero it was read
	// as must not also collide with the subject's other rows.
	return k, seqCol, id != "" && !r.failed(seqCol)
}

// sortErrors puts a row's problems in column order, as a person reads it.
func (r *row) sortErrors() {
	if len(r.errs) < 2 {
		return
	}
	sort.SliceStable(r.errs, func(i, j int) bool {
		return r.cols[r.errs[i].Column] < r.cols[r.errs[j].Column]
	})
}

func (r *row) fail(col, msg string) {
	r.errs = append(r.errs, r.pos.error(r.file, col, msg))
}

func (r *row) failed(col string) bool {
	for _, e := range r.errs {
		if e.Column == col {
			return true
		}
	}
	return false
}

func (r *row) cell(col string) cell {
	i, ok := r.cols[col]
	if !ok || i >= len(r.cells) {
		return cell{}
	}
	return r.cells[i]
}

// cellString is a cell as text, with R's NA and surrounding blanks read as
// empty, and a number in its shortest form.
func cellString(c cell) string {
	switch c.kind {
	case text:
		v := strings.TrimSpace(c.text)
		if v == "NA" {
			return ""
		}
		return v
	case number:
		return strconv.FormatFloat(c.num, 'f', -1, 64)
	}
	return ""
}

func (r *row) str(col string) string { return cellString(r.cell(col)) }

func (r *row) required(col string) string {
	v := r.str(col)
	if v == "" {
		r.fail(col, "required value is missing")
	}
	return v
}

// number reads a numeric cell; present is false when it is missing, ok
// false when it is present but not a finite decimal number.
func (r *row) number(col string) (f float64, v string, present, ok bool) {
	c := r.cell(col)
	if c.kind == number {
		return c.num, "", true, true
	}
	v = cellString(c)
	if v == "" {
		return 0, "", false, false
	}
	f, err := strconv.ParseFloat(v, 64)
	// ParseFloat also takes hexadecimal, Inf and NaN, which no SDTM
	// writer means by a result.
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(v, "xX_") {
		return 0, v, true, false
	}
	return f, v, true, true
}

func (r *row) float(col string) (float64, bool) {
	f, v, present, ok := r.number(col)
	if present && !ok {
		r.fail(col, fmt.Sprintf("%q is not a number", v))
	}
	return f, ok
}

// maxInt bounds whole numbers to those a float64 holds exactly.
const maxInt = 1 << 53

func (r *row) int(col string, required bool) int {
	f, v, present, ok := r.number(col)
	switch {
	case !present:
		if required {
			r.fail(col, "required value is missing")
		}
		return 0
	case ok && f == math.Trunc(f) && math.Abs(f) <= maxInt:
		return int(f)
	}
	if v == "" {
		v = strconv.FormatFloat(f, 'g', -1, 64)
	}
	r.fail(col, fmt.Sprintf("%q is not a whole number", v))
	return 0
}

// date reads an SDTM --DTC value: ISO 8601, complete or partial down to
// the year, with an optional time to the hour, minute or second.
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

func (r *row) labUnit(col string) string {
	u := r.str(col)
	if u == "" || knownLabUnit(u) {
		return u
	}
	msg := fmt.Sprintf("unit %q is not one trialwatch knows", u)
	if like := labUnitLike(u); like != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", like)
	}
	r.fail(col, msg)
	return u
}
