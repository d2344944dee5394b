// Package ctcae grades SDTM lab results by the NCI Common Terminology
// Criteria for Adverse Events (CTCAE), versions 4.03, 5.0 and 6.0, and by
// the DAIDS Table for Grading the Severity of Adult and Pediatric Adverse
// Events, version 2.1.
//
// The criteria are data (package criteria): for each term, the
// thresholds of each grade as the criteria write them, in each unit they
// give, with the boundary semantics of the text (">3.0 - 5.0 x ULN" is
// grade 2, so exactly 3.0 x ULN is still grade 1). Grading is pure: no I/O.
//
// Policies where the criteria need more than a lab record carries:
//
//   - Grades defined only by clinical context (symptoms, intervention,
//     hospitalization, anticoagulation, "life-threatening consequences")
//     are not inferred from the number alone (NumberOnly, the default): a
//     value gets the grade its number alone meets, and where one numeric
//     range is split by symptoms (hyponatremia, lipase and amylase,
//     hypokalemia grade 2, hyperuricemia) the asymptomatic grade.
//     WorstCase (WithContext) assumes the context of the higher grade, as
//     pharmaverse admiral does.
//   - Absolute thresholds stand on their own, as the criteria write them:
//     when a laboratory's LLN is below CTCAE's grade-2 cut-off (pilot
//     phosphate LLN 0.71 mmol/L vs "<0.8 mmol/L"), a value inside the
//     reference range can be grade 2. admiral does the same.
//   - Terms that CTCAE does not grade by value (v5.0 hyperglycemia and
//     hypophosphatemia) are reported as not gradable, with the reason; so
//     are grades that need a fasting sample, which LB does not identify.
//   - "Baseline was abnormal" means beyond the baseline record's own
//     limits: above ULN for the liver tests (v5.0, v6.0), below LLN for
//     v6.0 creatinine and fibrinogen. Without a baseline such a test is
//     graded only where every reading of the baseline gives one grade.
//   - CTCAE's calcium terms are written for albumin-corrected (or ionised)
//     calcium. SDTM CA is total calcium: it is corrected with the albumin
//     of the same draw by Payne's formula (calcium.go, WithAlbumin) and is
//     not gradable without one. CACORR (corrected) and CAION (ionised, with
//     its own thresholds) are graded as they are.
//   - DAIDS grades some tests by age at collection and sex (WithSubject).
//     With a full birth date (BRTHDTC) the age is exact; otherwise it is
//     AGE (whole years at RFSTDTC) plus the time since, known to within a
//     year (narrowed by a partial BRTHDTC); a range spanning two DAIDS
//     subgroups is not gradable.
//   - A value graded after a correction (total calcium for albumin) says
//     so in Result.Correction.
//   - Units are never guessed. Thresholds are taken in the unit the result
//     is in when the criteria list that unit (so mmol/L hemoglobin uses
//     CTCAE's 6.2 and 4.9 mmol/L, not 100 and 80 g/L converted); otherwise
//     the value is converted with a known factor (units.go), or the result
//     is not gradable and says which unit.
package ctcae

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

// Criteria names a set of grading criteria: a CTCAE version (or DAIDS).
type Criteria string

const (
	V403 Criteria = "ctcae-v4.03"
	V50  Criteria = "ctcae-v5.0"
	// V60 is CTCAE v6.0 (July 2025).
	V60 Criteria = "ctcae-v6.0"
	// Default is what the zero Criteria means.
	Default = V50
)

// DAIDS21 is the Division of AIDS Table for Grading the Severity of Adult
// and Pediatric Adverse Events, corrected version 2.1 (July 2017), used in
// HIV and vaccine trials. Its laboratory tables differ from CTCAE: most
// ranges are closed below ("1.25 to < 2.5 x ULN" is grade 1 from 1.25 x ULN
// itself), several are absolute cut-offs that do not depend on the
// laboratory's range, and some differ by age at collection and sex
// (subgroups; the grading needs WithSubject). Package criteria quotes
// the table as pharmaverse admiral's metadata transcribes it
// (data-raw/adlb_grading/DAIDS.json, the source at hand), and the grades
// are cross-checked against admiral's encoding (README).
//
// Where DAIDS grades by clinical context (direct bilirubin after 28 days
// of age, by signs of hepatotoxicity), number-only grades nothing above
// ULN and worst-case takes the life-threatening grade, as admiral does.
// Fasting-only terms (cholesterol, LDL, triglycerides) are not gradable
// above their first cut-off: LB does not record fasting. Calcium is
// graded as measured (DAIDS's tables are for serum calcium), not corrected
// for albumin. CD4 and lymphocyte counts are the table's "not HIV
// infected" rows.
const DAIDS21 Criteria = "daids-v2.1"

// Versions lists the criteria sets this package grades by.
var Versions = []Criteria{V403, V50, V60, DAIDS21}

// ParseCriteria reads a criteria name. It accepts the canonical names and
// the short forms people type ("v5", "5.0", "4.03", "6"); empty means
// Default. An unknown name's error lists the valid ones.
func ParseCriteria(s string) (Criteria, error) {
	n := strings.ToLower(strings.Join(strings.Fields(s), ""))
	if d, ok := strings.CutPrefix(n, "daids"); ok {
		switch strings.TrimPrefix(strings.TrimLeft(d, "-_"), "v") {
		case "", "2.1":
			return DAIDS21, nil
		}
		return "", fmt.Errorf("unknown grading criteria %q (want one of %s)", s, strings.Join(Names(), ", "))
	}
	n = strings.TrimPrefix(n, "ctcae")
	n = strings.TrimPrefix(strings.TrimLeft(n, "-_"), "v")
	switch n {
	case "":
		return Default, nil
	case "5", "5.0":
		return V50, nil
	case "4.03", "4.3":
		return V403, nil
	case "6", "6.0":
		return V60, nil
	}
	return "", fmt.Errorf("unknown grading criteria %q (want one of %s)", s, strings.Join(Names(), ", "))
}

// Names lists the canonical names of every criteria set.
func Names() []string {
	names := make([]string, len(Versions))
	for i, c := range Versions {
		names[i] = string(c)
	}
	return names
}

func (c Criteria) orDefault() Criteria {
	if c == "" {
		return Default
	}
	return c
}

// Direction is the side of normal a term grades.
type Direction = criteria.Direction

const (
	Low  = criteria.Low
	High = criteria.High
)

// Result is the grade of one lab result for one CTCAE term.
type Result struct {
	Term      string // CTCAE term, e.g. "Alanine aminotransferase increased"
	TestCode  string // LBTESTCD of the graded record
	Direction Direction
	Grade     int  // 0 (normal) to 4; 0 whenever Gradable is false
	Gradable  bool // false: the record lacks something the criteria need
	Reason    string
	Value     float64 // the result in Unit, the unit it was graded in
	Unit      string
	// Correction, when set, says how Value was derived from the record's
	// own result: "corrected for albumin (Payne) from 2.12 mmol/L, albumin
	// 30 g/L" for a total calcium graded by the corrected-calcium criteria.
	Correction string
}

// Severity maps a CTCAE grade to how urgently a monitor should look.
// Grade 0 (normal) is information only; grade 3 (severe) and above are
// high severity; grades 4 (life-threatening) and 5 (death) are critical.
func Severity(grade int) clinical.Severity {
	switch {
	case grade <= 0:
		return clinical.SeverityInfo
	case grade == 1:
		return clinical.SeverityLow
	case grade == 2:
		return clinical.SeverityMedium
	case grade == 3:
		return clinical.SeverityHigh
	default:
		return clinical.SeverityCritical
	}
}

// tables are the criteria of each set, the terms of each analyte low
// before high.
var tables = map[Criteria]map[string][]criteria.Term{
	V403: criteria.V403, V50: criteria.V50, V60: criteria.V60, DAIDS21: criteria.DAIDS21,
}

// Grade grades lab by criteria c against baseline (nil when the subject has
// none). It returns one Result per direction the criteria grade the test
// in, and nil when they have no criteria for the test. baseline must be a
// record of the same test. Options give what some terms need beyond the
// record (WithContext, WithAlbumin).
func Grade(c Criteria, lab clinical.LabResult, baseline *clinical.LabResult, opts ...Option) []Result {
	a, ok := analyteOf(lab.TestCode)
	if !ok {
		return nil
	}
	terms, ok := tables[c.orDefault()]
	if !ok {
		return []Result{{TestCode: lab.TestCode, Value: lab.Value, Unit: lab.Unit,
			Reason: fmt.Sprintf("unknown grading criteria %q", c)}}
	}
	if baseline != nil {
		if b, ok := analyteOf(baseline.TestCode); !ok || b != a {
			return []Result{{TestCode: lab.TestCode, Value: lab.Value, Unit: lab.Unit,
				Reason: fmt.Sprintf("baseline is a %s record, not %s", baseline.TestCode, lab.TestCode)}}
		}
	}
	ts := terms[a.id]
	if len(ts) == 0 {
		return nil
	}
	var o options
	o.apply(opts)
	out := make([]Result, len(ts))
	for i := range ts {
		out[i] = gradeTerm(&ts[i], a, lab, baseline, &o)
	}
	return out
}

// TestCodes lists the LBTESTCD values (with synonyms) graded by c.
func TestCodes(c Criteria) []string {
	terms := tables[c.orDefault()]
	var codes []string
	for _, a := range analytes {
		if len(terms[a.id]) > 0 {
			codes = append(codes, a.codes...)
		}
	}
	return codes
}
