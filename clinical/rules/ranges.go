package rules

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// fractions maps each white-cell differential fraction (LBTESTCD ending
// in LE: the share of leukocytes) to its absolute count. A fraction is
// read through the count: a high lymphocyte share with a normal count is
// a low neutrophil count or nothing at all, and the CDISC pilot's
// fractions, 20×ULN by ratio, were 19 of its 42 "critical" range
// findings.
var fractions = map[string]string{
	"BASOLE": "BASO", "EOSLE": "EOS", "LYMLE": "LYM", "MONOLE": "MONO", "NEUTLE": "NEUT",
}

// rangeSignals raises LAB_OUT_OF_RANGE findings: an episode per test and
// direction of results outside the reference range, severe by the
// study's cut-offs. A result CTCAE grades in that direction is left to
// CTCAE_GRADE unless the study sets graded_tests. Results within the study's tolerance of the limit
// are not abnormal unless CTCAE grades them; a differential fraction is
// not abnormal on a day its absolute count was measured (the count's own
// finding speaks), and otherwise is low at most.
func (s *subject) rangeSignals() []clinical.Signal {
	cfg := s.cfg.OutOfRange
	var out []clinical.Signal
	for _, test := range s.tests() {
		series := s.ByTest[test]
		_, fraction := fractions[test]
		for _, dir := range []clinical.Direction{clinical.High, clinical.Low} {
			eps := s.runs(series, func(i int) (float64, bool) {
				lab := &s.Labs[i]
				f, ok := clinical.CheckRange(*lab)
				if !ok || f.Direction != dir {
					return 0, false
				}
				if !cfg.GradedTests && s.gradable(i, dir) || cfg.within(f) && !s.graded(i, dir) {
					return 0, false
				}
				if fraction && s.measuredSameDay(fractions[test], lab.Date) {
					return 0, false
				}
				if dir == clinical.Low {
					return -f.Ratio, true
				}
				return f.Ratio, true
			})
			for _, e := range eps {
				out = append(out, s.rangeSignal(e, dir, fraction))
			}
		}
	}
	return out
}

func (s *subject) rangeSignal(e episode, dir clinical.Direction, fraction bool) clinical.Signal {
	lab := &s.Labs[e.worst]
	f, _ := clinical.CheckRange(*lab)
	sev := s.cfg.OutOfRange.severity(f)
	limit, unit := lab.High, "ULN"
	if dir == clinical.Low {
		limit, unit = lab.Low, "LLN"
	}
	ev := s.episodeEvidence(e)
	ev["test"], ev["direction"], ev["unit"] = lab.TestCode, string(dir), lab.Unit
	ev["worst_lbseq"], ev["worst_value"], ev["worst_ratio"], ev["worst_date"] = lab.Seq, lab.Value, subjectview.Round2(f.Ratio), string(lab.Date)
	ev["low"], ev["high"] = lab.Low, lab.High
	msg := fmt.Sprintf("%s %s %s is %.2f×%s (%s %s) on %s%s", lab.TestCode, subjectview.Num(lab.Value), lab.Unit, f.Ratio, unit,
		subjectview.Num(limit), lab.Unit, subjectview.DateText(lab.Date), s.spanText(e))
	if fraction {
		if sev > clinical.SeverityLow {
			sev = clinical.SeverityLow
		}
		ev["fraction_of"] = fractions[lab.TestCode]
		msg += fmt.Sprintf("; a differential fraction with no %s count that day, so ranked low", fractions[lab.TestCode])
	}
	return s.episodeSignal(clinical.RuleLabOutOfRange, sev, s.episodeKey(lab.TestCode+":"+string(dir), e), e, ev, msg)
}

// within says whether a finding lies within the tolerance of its limit.
func (r RangeSettings) within(f clinical.RangeFinding) bool {
	if f.Direction == clinical.High {
		return subjectview.AtMost(f.Ratio, 1+r.Tolerance)
	}
	return subjectview.AtLeast(f.Ratio, 1-r.Tolerance)
}

// severity ranks a range finding by the study's cut-offs.
func (r RangeSettings) severity(f clinical.RangeFinding) clinical.Severity {
	x := f.Ratio
	if f.Direction == clinical.High {
		switch {
		case x > r.High.Critical:
			return clinical.SeverityCritical
		case x > r.High.High:
			return clinical.SeverityHigh
		case x > r.High.Medium:
			return clinical.SeverityMedium
		}
		return clinical.SeverityLow
	}
	switch {
	case x < r.Low.Critical:
		return clinical.SeverityCritical
	case x < r.Low.High:
		return clinical.SeverityHigh
	case x < r.Low.Medium:
		return clinical.SeverityMedium
	}
	return clinical.SeverityLow
}

// graded says whether CTCAE grades result i abnormal (grade ≥ 1) in dir.
func (s *subject) graded(i int, dir clinical.Direction) bool {
	for _, r := range s.grades[i] {
		if r.Gradable && r.Grade >= 1 && strings.EqualFold(string(r.Direction), string(dir)) {
			return true
		}
	}
	return false
}

// gradable says whether CTCAE grades result i in dir, abnormal or not.
func (s *subject) gradable(i int, dir clinical.Direction) bool {
	for _, r := range s.grades[i] {
		if r.Gradable && strings.EqualFold(string(r.Direction), string(dir)) {
			return true
		}
	}
	return false
}

// measuredSameDay says whether the subject has a result of test with a
// value on the day of date.
func (s *subject) measuredSameDay(test string, date clinical.Date) bool {
	for _, i := range s.ByTest[test] {
		if l := &s.Labs[i]; l.HasValue {
			if min, max, ok := clinical.DaysBetween(date, l.Date); ok && min <= 0 && max >= 0 {
				return true
			}
		}
	}
	return false
}
