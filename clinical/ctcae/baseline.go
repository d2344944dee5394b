package ctcae

import (
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
)

// Baselines knows each subject's baseline record of each test.
type Baselines struct {
	labs []clinical.LabResult
	idx  map[baselineKey]int
}

type baselineKey struct{ subject, test string }

// FindBaselines picks, per subject and test, the record flagged LBBLFL=Y
// (the first, if a subject has several); failing that, the last record
// with a value taken on or before the subject's first dose (firstDose, by
// USUBJID; nil or missing entries mean no fallback). "On or before" is the
// ADaM convention: a sample taken on the day of first dose is pre-dose
// unless both times say otherwise. Synonym test codes count as one test.
func FindBaselines(labs []clinical.LabResult, firstDose map[string]clinical.Date) *Baselines {
	return findBaselines(labs, firstDose, true)
}

// FindLastPredoseBaselines picks ADaM's BASE as sponsors derive it: per
// subject and test, the last record with a value taken on or before the
// first dose (firstDose, as for FindBaselines), whatever LBBLFL says.
func FindLastPredoseBaselines(labs []clinical.LabResult, firstDose map[string]clinical.Date) *Baselines {
	return findBaselines(labs, firstDose, false)
}

func findBaselines(labs []clinical.LabResult, firstDose map[string]clinical.Date, byFlag bool) *Baselines {
	b := &Baselines{labs: labs, idx: map[baselineKey]int{}}
	flagged := map[baselineKey]bool{}
	for i := range labs {
		l := &labs[i]
		k := keyOf(l)
		switch {
		case flagged[k]:
		case byFlag && l.Baseline:
			b.idx[k], flagged[k] = i, true
		case l.HasValue && preDose(l.Date, firstDose[l.USUBJID]):
			if j, ok := b.idx[k]; !ok || !after(labs[j].Date, l.Date) {
				b.idx[k] = i
			}
		}
	}
	return b
}

// For returns lab's baseline record, or nil. The record may be lab itself.
func (b *Baselines) For(lab clinical.LabResult) *clinical.LabResult {
	if i, ok := b.idx[keyOf(&lab)]; ok {
		return &b.labs[i]
	}
	return nil
}

func keyOf(l *clinical.LabResult) baselineKey {
	if a, ok := analyteOf(l.TestCode); ok {
		return baselineKey{l.USUBJID, a.id}
	}
	return baselineKey{l.USUBJID, strings.ToUpper(strings.TrimSpace(l.TestCode))}
}

// preDose reports whether a sample dated d was taken on or before dose.
func preDose(d, dose clinical.Date) bool {
	dt, ok1 := d.Time()
	st, ok2 := dose.Time()
	if !ok1 || !ok2 {
		return false
	}
	if hasTime(d) && hasTime(dose) {
		return !dt.After(st)
	}
	return !day(dt).After(day(st))
}

func hasTime(d clinical.Date) bool { return strings.Contains(string(d), "T") }

func day(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }

// after reports whether a is later than b; undated records are earliest.
func after(a, b clinical.Date) bool {
	at, ok1 := a.Time()
	bt, ok2 := b.Time()
	return ok1 && (!ok2 || at.After(bt))
}
