package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// shiftGrades is how many grades above baseline a result must be to count
// as a shift: one grade is within the noise of repeated draws near a cut-off.
const shiftGrades = 2

// reconcileGrade is the lowest grade expected to be reported as an AE:
// severe (grade 3) abnormalities almost always are, milder ones often are
// not by protocol.
const reconcileGrade = 3

// gradeSignals raises one signal per abnormal (grade ≥ 1) CTCAE result.
func (s *subject) gradeSignals() []clinical.Signal {
	var out []clinical.Signal
	s.eachGrade(func(i int, r ctcae.Result) {
		if r.Grade < 1 {
			return
		}
		lab := &s.in.Labs[i]
		ev := s.gradeEvidence(i, r)
		out = append(out, s.signal(CTCAEGrade, ctcae.Severity(r.Grade), gradeKey(lab, r), ev,
			fmt.Sprintf("CTCAE grade %d %s: %s", r.Grade, r.Term, labText(lab, r))))
	})
	return out
}

// shiftSignals raises a signal when a result is at least shiftGrades above
// the subject's baseline grade in the same direction: a normal baseline
// that becomes grade 2, or a grade 1 baseline that becomes grade 3.
func (s *subject) shiftSignals() []clinical.Signal {
	var out []clinical.Signal
	s.eachGrade(func(i int, r ctcae.Result) {
		b := s.baseline[i]
		if b < 0 || b == i || s.in.Labs[i].Baseline {
			return
		}
		lab, bl := &s.in.Labs[i], &s.in.Labs[b]
		// A screening value drawn before the baseline is not a change from it.
		if CompareDates(lab.Date, bl.Date) == OrderBefore {
			return
		}
		bg, ok := gradeIn(s.grades[b], r.Direction)
		if !ok || r.Grade-bg < shiftGrades {
			return
		}
		ev := s.gradeEvidence(i, r)
		ev["baseline_grade"] = bg
		ev["shift"] = r.Grade - bg
		out = append(out, s.signal(ShiftFromBaseline, ctcae.Severity(r.Grade), gradeKey(lab, r), ev,
			fmt.Sprintf("%s shifted from grade %d at baseline (%s %s on %s) to grade %d: %s",
				r.Term, bg, fmtNum(bl.Value), bl.Unit, bl.Date, r.Grade, labText(lab, r))))
	})
	return out
}

// eachGrade calls f for every gradable result, in input order.
func (s *subject) eachGrade(f func(i int, r ctcae.Result)) {
	for i, rs := range s.grades {
		for _, r := range rs {
			if r.Gradable {
				f(i, r)
			}
		}
	}
}

// gradeIn returns the gradable grade of rs in direction d.
func gradeIn(rs []ctcae.Result, d ctcae.Direction) (int, bool) {
	for _, r := range rs {
		if r.Direction == d && r.Gradable {
			return r.Grade, true
		}
	}
	return 0, false
}

// gradeKey names a lab record and the direction graded: a test graded both
// ways (glucose, potassium) gives one finding per direction.
func gradeKey(lab *clinical.LabResult, r ctcae.Result) string {
	return "LB:" + strconv.Itoa(lab.Seq) + ":" + string(r.Direction)
}

func (s *subject) gradeEvidence(i int, r ctcae.Result) map[string]any {
	lab := &s.in.Labs[i]
	ev := map[string]any{
		"lbseq": lab.Seq, "test": lab.TestCode, "term": r.Term, "direction": string(r.Direction),
		"grade": r.Grade, "criteria": string(s.cfg.Criteria),
		"value": lab.Value, "unit": lab.Unit, "graded_value": r.Value, "graded_unit": r.Unit,
		"date": string(lab.Date), "visit": lab.Visit,
	}
	if lab.HasLow {
		ev["low"] = lab.Low
	}
	if lab.HasHigh {
		ev["high"] = lab.High
	}
	if b := s.baseline[i]; b >= 0 {
		bl := &s.in.Labs[b]
		ev["baseline_lbseq"] = bl.Seq
		ev["baseline_value"] = bl.Value
		ev["baseline_date"] = string(bl.Date)
	}
	return ev
}

// labText describes a result as a monitor reads it: value, unit, limit,
// date and visit.
func labText(lab *clinical.LabResult, r ctcae.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", lab.TestCode, fmtNum(lab.Value), lab.Unit)
	switch {
	case r.Direction == ctcae.High && lab.HasHigh && lab.High > 0:
		fmt.Fprintf(&b, " (%.2f×ULN)", lab.Value/lab.High)
	case r.Direction == ctcae.Low && lab.HasLow:
		fmt.Fprintf(&b, " (LLN %s)", fmtNum(lab.Low))
	}
	fmt.Fprintf(&b, " on %s", dateText(lab.Date))
	if lab.Visit != "" {
		fmt.Fprintf(&b, " (%s)", lab.Visit)
	}
	return b.String()
}

func dateText(d clinical.Date) string {
	if d == "" {
		return "an unrecorded date"
	}
	return string(d)
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// signal fills in the subject's identity.
func (s *subject) signal(rule clinical.Rule, sev clinical.Severity, key string, ev map[string]any, msg string) clinical.Signal {
	subj := &s.in.Subject
	return clinical.Signal{Study: subj.Study, Site: subj.Site, USUBJID: subj.USUBJID,
		Rule: rule, Severity: sev, Key: key, Evidence: ev, Message: msg}
}
