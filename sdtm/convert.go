package sdtm

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm/internal/source"
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

// column is a column the conversion reads, by its name's place in
// columnNames. A file's header is looked up once (row.locate), so that
// a row's cells are found by position rather than by name.
type column uint8

const (
	cDOMAIN column = iota
	cSTUDYID
	cUSUBJID
	// DM
	cSITEID
	cSEX
	cAGE
	cARM
	cRFICDTC
	cRFSTDTC
	cRFENDTC
	cRFXSTDTC
	cRFXENDTC
	cRFPENDTC
	cDTHDTC
	cBRTHDTC
	// EX
	cEXSEQ
	cEXDOSE
	cEXTRT
	cEXDOSU
	cEXROUTE
	cEXSTDTC
	cEXENDTC
	// AE
	cAESEQ
	cAETERM
	cAEDECOD
	cAEBODSYS
	cAESEV
	cAESER
	cAESTDTC
	cAEENDTC
	cAEDTC
	// LB
	cLBSEQ
	cLBTESTCD
	cLBTEST
	cLBCAT
	cLBSTRESU
	cLBBLFL
	cLBDTC
	cVISIT
	cLBSTRESN
	cLBSTNRLO
	cLBSTNRHI
	// CM
	cCMSEQ
	cCMTRT
	cCMDECOD
	cCMSTDTC
	cCMENDTC
	// DS
	cDSSEQ
	cDSTERM
	cDSDECOD
	cDSCAT
	cDSSTDTC
	cEPOCH
	numColumns
)

var columnNames = [numColumns]string{
	cDOMAIN: "DOMAIN", cSTUDYID: "STUDYID", cUSUBJID: "USUBJID",
	cSITEID: "SITEID", cSEX: "SEX", cAGE: "AGE", cARM: "ARM", cRFICDTC: "RFICDTC", cRFSTDTC: "RFSTDTC", cRFENDTC: "RFENDTC", cRFXSTDTC: "RFXSTDTC",
	cRFXENDTC: "RFXENDTC", cRFPENDTC: "RFPENDTC", cDTHDTC: "DTHDTC", cBRTHDTC: "BRTHDTC",
	cEXSEQ: "EXSEQ", cEXDOSE: "EXDOSE", cEXTRT: "EXTRT", cEXDOSU: "EXDOSU", cEXROUTE: "EXROUTE", cEXSTDTC: "EXSTDTC",
	cEXENDTC: "EXENDTC",
	cAESEQ:   "AESEQ", cAETERM: "AETERM", cAEDECOD: "AEDECOD", cAEBODSYS: "AEBODSYS", cAESEV: "AESEV", cAESER: "AESER",
	cAESTDTC: "AESTDTC", cAEENDTC: "AEENDTC", cAEDTC: "AEDTC",
	cLBSEQ: "LBSEQ", cLBTESTCD: "LBTESTCD", cLBTEST: "LBTEST", cLBCAT: "LBCAT", cLBSTRESU: "LBSTRESU", cLBBLFL: "LBBLFL",
	cLBDTC: "LBDTC", cVISIT: "VISIT", cLBSTRESN: "LBSTRESN", cLBSTNRLO: "LBSTNRLO", cLBSTNRHI: "LBSTNRHI",
	cCMSEQ: "CMSEQ", cCMTRT: "CMTRT", cCMDECOD: "CMDECOD", cCMSTDTC: "CMSTDTC", cCMENDTC: "CMENDTC",
	cDSSEQ: "DSSEQ", cDSTERM: "DSTERM", cDSDECOD: "DSDECOD", cDSCAT: "DSCAT", cDSSTDTC: "DSSTDTC",
	cEPOCH: "EPOCH",
}

func (c column) String() string { return columnNames[c] }

// row is the typed view of one record that every format's reader shares.
type row struct {
	file  string
	pos   source.Position
	cols  map[string]int
	at    [numColumns]int // each column's index in cells, -1 when the file lacks it
	cells []source.Cell
	errs  Errors
}

// locate finds the columns the conversion reads in the file's header.
func (r *row) locate(cols map[string]int) {
	r.cols = cols
	for c := range numColumns {
		i, ok := cols[columnNames[c]]
		if !ok {
			i = -1
		}
		r.at[c] = i
	}
}

// convert appends the row to out as its domain's type and returns its key,
// the column that makes it unique within the subject, and whether the key
// is complete enough to check for duplicates.
func (r *row) convert(domain, study string, out *Batch) (k key, seqCol column, ok bool) {
	id := r.required(cUSUBJID)
	switch domain {
	case "DM":
		out.Subjects = append(out.Subjects, clinical.Subject{
			Study: study, USUBJID: id, Site: r.required(cSITEID), Sex: r.str(cSEX), Age: r.int(cAGE, false),
			Arm: r.str(cARM), ConsentDate: r.date(cRFICDTC), RefStart: r.date(cRFSTDTC), RefEnd: r.date(cRFENDTC), FirstDose: r.date(cRFXSTDTC), LastDose: r.date(cRFXENDTC),
			EndOfStudy: r.date(cRFPENDTC), DeathDate: r.date(cDTHDTC), BirthDate: r.date(cBRTHDTC),
		})
		return key{id: id}, cUSUBJID, id != ""
	case "EX":
		seqCol = cEXSEQ
		dose, has := r.float(cEXDOSE)
		d := clinical.Dose{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Treatment: r.required(cEXTRT), Dose: dose, HasDose: has,
			Unit: r.str(cEXDOSU), Route: r.str(cEXROUTE), Start: r.date(cEXSTDTC), End: r.date(cEXENDTC),
		}
		out.Doses = append(out.Doses, d)
		k.seq = d.Seq
	case "AE":
		seqCol = cAESEQ
		e := clinical.AdverseEvent{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required(cAETERM), Decoded: r.str(cAEDECOD),
			BodySystem: r.str(cAEBODSYS), Severity: r.str(cAESEV), Serious: strings.EqualFold(r.str(cAESER), "Y"),
			Start: r.date(cAESTDTC), End: r.date(cAEENDTC), Recorded: r.date(cAEDTC),
		}
		out.Events = append(out.Events, e)
		k.seq = e.Seq
	case "LB":
		seqCol = cLBSEQ
		l := clinical.LabResult{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), TestCode: r.required(cLBTESTCD), Test: r.str(cLBTEST),
			Category: r.str(cLBCAT), Unit: r.labUnit(cLBSTRESU), Baseline: strings.EqualFold(r.str(cLBBLFL), "Y"),
			Date: r.date(cLBDTC), Visit: r.str(cVISIT),
		}
		l.Value, l.HasValue = r.float(cLBSTRESN)
		l.Low, l.HasLow = r.float(cLBSTNRLO)
		l.High, l.HasHigh = r.float(cLBSTNRHI)
		out.Labs = append(out.Labs, l)
		k.seq = l.Seq
	case "CM":
		seqCol = cCMSEQ
		c := ConMed{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required(cCMTRT), Decoded: r.str(cCMDECOD),
			Start: r.date(cCMSTDTC), End: r.date(cCMENDTC),
		}
		out.ConMeds = append(out.ConMeds, c)
		k.seq = c.Seq
	case "DS":
		seqCol = cDSSEQ
		d := Disposition{
			Study: study, USUBJID: id, Seq: r.int(seqCol, true), Term: r.required(cDSTERM), Decoded: r.required(cDSDECOD),
			Category: r.str(cDSCAT), Epoch: r.str(cEPOCH), Start: r.date(cDSSTDTC),
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
	r.errs = append(r.errs, r.pos.Error(r.file, col, msg))
}

func (r *row) failed(col column) bool {
	for _, e := range r.errs {
		if e.Column == columnNames[col] {
			return true
		}
	}
	return false
}

func (r *row) cell(col column) source.Cell {
	i := r.at[col]
	if i < 0 || i >= len(r.cells) {
		return source.Cell{}
	}
	return r.cells[i]
}

// cellString is a cell as text, with R's NA and surrounding blanks read as
// empty, and a number in its shortest form.
func cellString(c source.Cell) string {
	switch c.Kind {
	case source.Text:
		v := strings.TrimSpace(c.Text)
		if v == "NA" {
			return ""
		}
		return v
	case source.Number:
		return strconv.FormatFloat(c.Num, 'f', -1, 64)
	}
	return ""
}

// str is a text cell's value. Text must be UTF-8 without control
// characters but tab and line breaks: PostgreSQL refuses NUL and invalid
// UTF-8 with an error that names no row, and such bytes are no clinical
// text.
func (r *row) str(col column) string {
	v := cellString(r.cell(col))
	if msg := badText(v); msg != "" {
		r.fail(col.String(), msg)
	}
	return v
}

// badText says what is wrong with v as stored text, or "" if nothing.
func badText(v string) string {
	n := 0 // c's place in v, counting characters from 1
	for i, c := range v {
		n++
		switch {
		case c == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(v[i:]); size == 1 {
				if s, ok := surrogate(v[i:]); ok {
					return fmt.Sprintf("unpaired UTF-16 surrogate %U at character %d: text must be characters (UTF-8)", s, n)
				}
				return fmt.Sprintf("text is not valid UTF-8 (byte %d); save the file as UTF-8", i+1)
			}
		case c < ' ' && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return fmt.Sprintf("control character %U at character %d: text may hold tabs and line breaks, no other control characters", c, n)
		}
	}
	return ""
}

// surrogate reads the three bytes UTF-8 would give a UTF-16 surrogate,
// which are not UTF-8: what an unpaired one (\ud800) in a Dataset-JSON
// string, or a CESU-8 writer, gives.
func surrogate(v string) (rune, bool) {
	if len(v) < 3 || v[0] != 0xed || v[1]&0xe0 != 0xa0 || v[2]&0xc0 != 0x80 {
		return 0, false
	}
	return 0xd000 | rune(v[1]&0x3f)<<6 | rune(v[2]&0x3f), true
}

func (r *row) required(col column) string {
	v := r.str(col)
	if v == "" {
		r.fail(col.String(), "required value is missing")
	}
	return v
}

// number reads a numeric cell; present is false when it is missing, ok
// false when it is present but not a finite decimal number.
func (r *row) number(col column) (f float64, v string, present, ok bool) {
	c := r.cell(col)
	if c.Kind == source.Number {
		return c.Num, "", true, true
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

func (r *row) float(col column) (float64, bool) {
	f, v, present, ok := r.number(col)
	if present && !ok {
		r.fail(col.String(), fmt.Sprintf("%s is not a number", quoted(v)))
	}
	return f, ok
}

// maxInt bounds whole numbers to those a float64 holds exactly.
const maxInt = 1 << 53

func (r *row) int(col column, required bool) int {
	f, v, present, ok := r.number(col)
	switch {
	case !present:
		if required {
			r.fail(col.String(), "required value is missing")
		}
		return 0
	case ok && f == math.Trunc(f) && math.Abs(f) <= maxInt:
		return int(f)
	}
	if v == "" {
		v = strconv.FormatFloat(f, 'g', -1, 64)
	}
	r.fail(col.String(), fmt.Sprintf("%s is not a whole number", quoted(v)))
	return 0
}

// minYear is the earliest year a date may have: before it, a year is a
// typing error (0000, 0214) rather than a date of a clinical trial.
const minYear = 1900

// date reads an SDTM --DTC value: ISO 8601, complete or partial down to
// the year, with an optional time to the hour, minute, second or fraction
// of a second, and an optional time zone offset (clinical.Date.Time).
func (r *row) date(col column) clinical.Date {
	d := clinical.Date(r.str(col))
	if d.IsZero() {
		return d
	}
	switch t, ok := d.Time(); {
	case !ok:
		r.fail(col.String(), fmt.Sprintf("%s is not an ISO 8601 date", quoted(string(d))))
	case t.Year() < minYear:
		r.fail(col.String(), fmt.Sprintf("%s is not a plausible date: the year is before %d", quoted(string(d)), minYear))
	}
	return d
}

func (r *row) labUnit(col column) string {
	u := r.str(col)
	if u == "" || knownLabUnit(u) {
		return u
	}
	msg := fmt.Sprintf("unit %s is not one trialwatch knows", quoted(u))
	if like := labUnitLike(u); like != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", like)
	}
	r.fail(col.String(), msg)
	return u
}
