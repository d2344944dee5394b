package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// shiftGrades is how many grades above baseline a result must be to count
// as a shift: one grade is within the noise of repeated draws near a cut-off.
const shiftGrades = 2

// reconcileGrade is the lowest grade expected to be reported as an AE:
// severe (grade 3) abnormalities almost always are, milder ones often are
// not by protocol.
const reconcileGrade = 3

// gradeSignals raises a CTCAE_GRADE finding per episode of abnormal
// (grade ≥ 1) results of one test, term and direction, as severe as its
// worst grade.
func (s *subject) gradeSignals() []clinical.Signal {
	return s.gradeEpisodes(func(i int, r ctcae.Result) (float64, bool) {
		return float64(r.Grade), r.Grade >= 1
	}, func(e episode, r ctcae.Result) clinical.Signal {
		lab := &s.Labs[e.worst]
		ev := s.gradeEvidence(e, r)
		return s.episodeSignal(CTCAEGrade, ctcae.Severity(r.Grade), s.gradeKey(e, r), e, ev,
			fmt.Sprintf("CTCAE grade %d %s: %s%s", r.Grade, r.Term, labText(lab, r), s.spanText(e)))
	})
}

// shiftSignals raises a finding per episode of results at least
// shiftGrades above the subject's baseline grade in the same direction: a
// normal baseline that becomes grade 2, or a grade 1 baseline that
// becomes grade 3.
func (s *subject) shiftSignals() []clinical.Signal {
	return s.gradeEpisodes(func(i int, r ctcae.Result) (float64, bool) {
		bg, ok := s.baselineGrade(i, r)
		return float64(r.Grade), ok && r.Grade-bg >= shiftGrades
	}, func(e episode, r ctcae.Result) clinical.Signal {
		lab := &s.Labs[e.worst]
		bl := &s.Labs[s.Baseline[e.worst]]
		bg, _ := s.baselineGrade(e.worst, r)
		ev := s.gradeEvidence(e, r)
		ev["baseline_grade"] = bg
		ev["shift"] = r.Grade - bg
		return s.episodeSignal(ShiftFromBaseline, ctcae.Severity(r.Grade), s.gradeKey(e, r), e, ev,
			fmt.Sprintf("%s shifted from grade %d at baseline (%s %s on %s) to grade %d: %s%s",
				r.Term, bg, subjectview.Num(bl.Value), bl.Unit, bl.Date, r.Grade, labText(lab, r), s.spanText(e)))
	})
}

// baselineGrade is the grade of result i's baseline in r's direction, when
// i is a post-baseline result with a gradable baseline.
func (s *subject) baselineGrade(i int, r ctcae.Result) (int, bool) {
	b := s.Baseline[i]
	if b < 0 || b == i || s.Labs[i].Baseline {
		return 0, false
	}
	// A screening value drawn before the baseline is not a change from it.
	if clinical.CompareDates(s.Labs[i].Date, s.Labs[b].Date) == clinical.OrderBefore {
		return 0, false
	}
	return gradeIn(s.grades[b], r.Direction)
}

// gradeEpisodes runs abnormal over the gradable results of each test, term
// and direction, and makes a finding of each episode with raise, given the
// grade of the episode's worst result.
func (s *subject) gradeEpisodes(abnormal func(i int, r ctcae.Result) (float64, bool), raise func(e episode, worst ctcae.Result) clinical.Signal) []clinical.Signal {
	var out []clinical.Signal
	for _, test := range s.tests() {
		series := s.ByTest[test]
		for _, side := range s.gradedSides(series) {
			result := func(i int) (ctcae.Result, bool) {
				for _, r := range s.grades[i] {
					if r.Gradable && r.Term == side.Term && r.Direction == side.Direction {
						return r, true
					}
				}
				return ctcae.Result{}, false
			}
			for _, e := range s.runs(series, func(i int) (float64, bool) {
				r, ok := result(i)
				if !ok {
					return 0, false
				}
				return abnormal(i, r)
			}) {
				r, _ := result(e.worst)
				out = append(out, raise(e, r))
			}
		}
	}
	return out
}

// gradedSide is a CTCAE term and direction a test is graded in.
type gradedSide struct {
	Term      string
	Direction ctcae.Direction
}

// gradedSides lists the terms and directions series' results are graded
// in, in the order first met.
func (s *subject) gradedSides(series []int) []gradedSide {
	var out []gradedSide
	for _, i := range series {
		for _, r := range s.grades[i] {
			if side := (gradedSide{r.Term, r.Direction}); r.Gradable && !slices.Contains(out, side) {
				out = append(out, side)
			}
		}
	}
	return out
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

// gradeKey names an episode by its test and the direction graded: a
// test graded both ways (glucose, potassium) gives one finding per
// direction.
func (s *subject) gradeKey(e episode, r ctcae.Result) string {
	return s.episodeKey(s.Labs[e.worst].TestCode+":"+string(r.Direction), e)
}

// gradeEvidence is an episode's evidence with its worst result graded r.
func (s *subject) gradeEvidence(e episode, r ctcae.Result) map[string]any {
	i := e.worst
	lab := &s.Labs[i]
	ev := s.episodeEvidence(e)
	for k, v := range map[string]any{
		"lbseq": lab.Seq, "test": lab.TestCode, "term": r.Term, "direction": string(r.Direction),
		"grade": r.Grade, "criteria": string(s.cfg.Criteria),
		"value": lab.Value, "unit": lab.Unit, "graded_value": r.Value, "graded_unit": r.Unit,
		"date": string(lab.Date), "visit": lab.Visit,
	} {
		ev[k] = v
	}
	if r.Correction != "" {
		ev["correction"] = r.Correction
	}
	if lab.HasLow {
		ev["low"] = lab.Low
	}
	if lab.HasHigh {
		ev["high"] = lab.High
	}
	if b := s.Baseline[i]; b >= 0 {
		bl := &s.Labs[b]
		ev["baseline_lbseq"] = bl.Seq
		ev["baseline_value"] = bl.Value
		ev["baseline_date"] = string(bl.Date)
	}
	return ev
}

// labText describes a result as a monitor reads it: value, unit, limit,
// date and visit. A value the grader corrected (total calcium for albumin)
// is the corrected one, saying so and from what.
func labText(lab *clinical.LabResult, r ctcae.Result) string {
	var b strings.Builder
	value, unit := lab.Value, lab.Unit
	if r.Correction != "" {
		value, unit = r.Value, r.Unit
	}
	fmt.Fprintf(&b, "%s %s %s", lab.TestCode, subjectview.Num(value), unit)
	if r.Correction != "" {
		fmt.Fprintf(&b, " %s", r.Correction)
	}
	switch {
	case unit != lab.Unit:
	case r.Direction == ctcae.High && lab.HasHigh && lab.High > 0:
		fmt.Fprintf(&b, " (%.2f×ULN)", value/lab.High)
	case r.Direction == ctcae.Low && lab.HasLow:
		fmt.Fprintf(&b, " (LLN %s)", subjectview.Num(lab.Low))
	}
	fmt.Fprintf(&b, " on %s", subjectview.DateText(lab.Date))
	if lab.Visit != "" {
		fmt.Fprintf(&b, " (%s)", lab.Visit)
	}
	return b.String()
}
