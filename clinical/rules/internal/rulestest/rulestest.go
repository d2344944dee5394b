// Package rulestest holds the fixtures the rules' tests share
// (clinical/rules and clinical/rules/liver): one subject first dosed on
// 2014-01-10, lab results in the units the CTCAE tables read, and lookups
// of the signals one rule raised.
package rulestest

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

// Subject is the fixtures' subject, first dosed on 2014-01-10.
func Subject() clinical.Subject {
	return clinical.Subject{Study: "STUDY1", USUBJID: "STUDY1-101-001", Site: "101", Arm: "Xanomeline High Dose",
		ConsentDate: "2014-01-02", FirstDose: "2014-01-10", LastDose: "2014-06-20", EndOfStudy: "2014-06-30"}
}

// units gives the SI unit the CTCAE tables read each test in.
var units = map[string]string{"ALT": "U/L", "AST": "U/L", "ALP": "U/L", "BILI": "umol/L", "HGB": "g/L", "K": "mmol/L"}

// Lab is a result of the fixtures' subject at week 2.
func Lab(seq int, test string, value, low, high float64, date clinical.Date) clinical.LabResult {
	return clinical.LabResult{Study: "STUDY1", USUBJID: "STUDY1-101-001", Seq: seq, TestCode: test, Test: test,
		Value: value, HasValue: true, Unit: units[test], Low: low, HasLow: true, High: high, HasHigh: true,
		Date: date, Visit: "WEEK 2"}
}

// BaselineLab is Lab flagged as the baseline (LBBLFL = Y).
func BaselineLab(seq int, test string, value, low, high float64, date clinical.Date) clinical.LabResult {
	l := Lab(seq, test, value, low, high, date)
	l.Baseline, l.Visit = true, "BASELINE"
	return l
}

// Liver tests with the upper limits the fixtures use: ALT and AST 40 U/L,
// bilirubin 20 umol/L, ALP 100 U/L.
func ALT(seq int, v float64, d clinical.Date) clinical.LabResult { return Lab(seq, "ALT", v, 7, 40, d) }
func AST(seq int, v float64, d clinical.Date) clinical.LabResult { return Lab(seq, "AST", v, 7, 40, d) }
func Bili(seq int, v float64, d clinical.Date) clinical.LabResult {
	return Lab(seq, "BILI", v, 3, 20, d)
}
func ALP(seq int, v float64, d clinical.Date) clinical.LabResult {
	return Lab(seq, "ALP", v, 30, 100, d)
}

// Only returns the signals of one rule.
func Only(rule clinical.Rule, sigs []clinical.Signal) []clinical.Signal {
	var out []clinical.Signal
	for _, s := range sigs {
		if s.Rule == rule {
			out = append(out, s)
		}
	}
	return out
}

// KeysOf lists the keys of rule's signals.
func KeysOf(rule clinical.Rule, sigs []clinical.Signal) []string {
	var out []string
	for _, s := range Only(rule, sigs) {
		out = append(out, s.Key)
	}
	return out
}

// WantOne returns the one signal of rule, failing t unless there is
// exactly one.
func WantOne(t *testing.T, rule clinical.Rule, sigs []clinical.Signal) clinical.Signal {
	t.Helper()
	got := Only(rule, sigs)
	if len(got) != 1 {
		t.Fatalf("%s signals: got %d %v, want 1", rule, len(got), KeysOf(rule, sigs))
	}
	return got[0]
}
