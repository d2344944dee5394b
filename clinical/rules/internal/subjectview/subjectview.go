// Package subjectview is one subject's lab results as the safety rules
// read them: in date order and by test, each with its baseline record and
// whether it was drawn on treatment, and the few helpers every rule
// writes a finding with. The rules (clinical/rules) and the liver rules
// (clinical/rules/liver) both read a subject through it, so they agree on
// order, baseline and treatment.
package subjectview

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// View is one subject's labs, indexed once for every rule.
type View struct {
	Subject *clinical.Subject
	Labs    []clinical.LabResult
	// ByDate indexes Labs in date order (undated last), for rules that
	// need the first occurrence of something.
	ByDate []int
	// ByTest indexes Labs by test code, each in date order.
	ByTest map[string][]int
	// Baseline holds, for each lab, the index of its test's baseline
	// record by the study's convention, or -1. One definition of baseline
	// keeps every signal in step with the grades.
	Baseline []int
	// BaselineConvention names that convention, for evidence.
	BaselineConvention string

	treatment treatment
}

// New indexes labs; baselines are their baseline records by the study's
// convention (rules.FindBaselines), convention its name.
func New(subj *clinical.Subject, labs []clinical.LabResult, baselines *ctcae.Baselines, convention string) *View {
	v := &View{Subject: subj, Labs: labs, ByTest: map[string][]int{}, BaselineConvention: convention,
		treatment: treatmentOf(subj)}
	v.ByDate = sortedByDate(labs)
	for _, i := range v.ByDate {
		t := labs[i].TestCode
		v.ByTest[t] = append(v.ByTest[t], i)
	}
	pos := make(map[*clinical.LabResult]int, len(labs))
	for i := range labs {
		pos[&labs[i]] = i
	}
	v.Baseline = make([]int, len(labs))
	for i, l := range labs {
		v.Baseline[i] = -1
		if b := baselines.For(l); b != nil {
			v.Baseline[i] = pos[b]
		}
	}
	return v
}

// BaselineOf returns the baseline record for lab i's test, or nil.
func (v *View) BaselineOf(i int) *clinical.LabResult {
	if b := v.Baseline[i]; b >= 0 {
		return &v.Labs[b]
	}
	return nil
}

// Signal is a finding about the subject.
func (v *View) Signal(rule clinical.Rule, sev clinical.Severity, key string, ev map[string]any, msg string) clinical.Signal {
	subj := v.Subject
	return clinical.Signal{Study: subj.Study, Site: subj.Site, USUBJID: subj.USUBJID,
		Rule: rule, Severity: sev, Key: key, Evidence: ev, Message: msg}
}

// OnTreatment tells on-treatment draws from pre-dose ones. It excludes
// the baseline record and draws certainly before the first-dose day.
// With no first dose recorded every non-baseline draw counts, so missing
// exposure data cannot hide an abnormality.
func (v *View) OnTreatment(l *clinical.LabResult) bool { return v.treatment.includes(l) }

type treatment struct {
	firstDay int
	known    bool
}

func treatmentOf(subj *clinical.Subject) treatment {
	first, _, ok := subj.FirstDose.DayRange()
	return treatment{first, ok}
}

func (t treatment) includes(l *clinical.LabResult) bool {
	if l.Baseline {
		return false
	}
	_, last, ok := l.Date.DayRange()
	if !t.known || !ok {
		return true
	}
	return last >= t.firstDay
}

type datedIndex struct {
	i    int
	from int64 // unix seconds of the earliest instant; undated sort last
	ok   bool
}

func sortedByDate(labs []clinical.LabResult) []int {
	idx := make([]datedIndex, len(labs))
	for i, l := range labs {
		idx[i].i = i
		if from, _, ok := l.Date.Span(); ok {
			idx[i].from, idx[i].ok = from.Unix(), true
		}
	}
	slices.SortStableFunc(idx, func(a, b datedIndex) int {
		if a.ok != b.ok {
			if a.ok {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(labs[a.i].Seq, labs[b.i].Seq))
	})
	out := make([]int, len(idx))
	for k, d := range idx {
		out[k] = d.i
	}
	return out
}

// Earlier orders draws as ByDate does: by earliest instant, then LBSEQ,
// undated last.
func Earlier(a, b *clinical.LabResult) bool {
	fromA, _, okA := a.Date.Span()
	fromB, _, okB := b.Date.Span()
	switch {
	case okA != okB:
		return okA
	case okA && !fromA.Equal(fromB):
		return fromA.Before(fromB)
	}
	return a.Seq < b.Seq
}

// AtLeast compares a ratio (×ULN, ×LLN, × baseline) with a threshold
// after rounding to nine decimals, so that a value of exactly 3×ULN (3.6 /
// 1.2 is 2.9999999999999996 in binary) counts as 3×ULN.
func AtLeast(ratio, k float64) bool {
	return math.Round(ratio*1e9) >= k*1e9
}

// AtMost is AtLeast's mirror: ratio ≤ k after rounding to nine decimals.
func AtMost(ratio, k float64) bool { return math.Round(ratio*1e9) <= k*1e9 }

// Round2 rounds a ratio to the two decimals evidence shows.
func Round2(v float64) float64 { return math.Round(v*100) / 100 }

// DateText is a date as a message shows it.
func DateText(d clinical.Date) string {
	if d == "" {
		return "an unrecorded date"
	}
	return string(d)
}

// Num is a number as a message shows it: no more digits than it has.
func Num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
