package rules

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

// The fixtures describe one subject first dosed on 2014-01-10.
func testSubject() clinical.Subject {
	return clinical.Subject{Study: "STUDY1", USUBJID: "STUDY1-101-001", Site: "101", Arm: "Xanomeline High Dose",
		ConsentDate: "2014-01-02", FirstDose: "2014-01-10", LastDose: "2014-06-20", EndOfStudy: "2014-06-30"}
}

// units gives the SI unit the CTCAE tables read each test in.
var units = map[string]string{"ALT": "U/L", "AST": "U/L", "ALP": "U/L", "BILI": "umol/L", "HGB": "g/L", "K": "mmol/L"}

func lab(seq int, test string, value, low, high float64, date clinical.Date) clinical.LabResult {
	return clinical.LabResult{Study: "STUDY1", USUBJID: "STUDY1-101-001", Seq: seq, TestCode: test, Test: test,
		Value: value, HasValue: true, Unit: units[test], Low: low, HasLow: true, High: high, HasHigh: true,
		Date: date, Visit: "WEEK 2"}
}

func baselineLab(seq int, test string, value, low, high float64, date clinical.Date) clinical.LabResult {
	l := lab(seq, test, value, low, high, date)
	l.Baseline, l.Visit = true, "BASELINE"
	return l
}

func labsInput(labs ...clinical.LabResult) Input {
	return Input{Subject: testSubject(), Labs: labs, HaveDoses: true, HaveEvents: true}
}

// only returns the signals of one rule.
func only(rule clinical.Rule, sigs []clinical.Signal) []clinical.Signal {
	var out []clinical.Signal
	for _, s := range sigs {
		if s.Rule == rule {
			out = append(out, s)
		}
	}
	return out
}

// keysOf lists the keys of rule's signals.
func keysOf(rule clinical.Rule, sigs []clinical.Signal) []string {
	var out []string
	for _, s := range only(rule, sigs) {
		out = append(out, s.Key)
	}
	return out
}

func wantOne(t *testing.T, rule clinical.Rule, sigs []clinical.Signal) clinical.Signal {
	t.Helper()
	got := only(rule, sigs)
	if len(got) != 1 {
		t.Fatalf("%s signals: got %d %v, want 1", rule, len(got), keysOf(rule, sigs))
	}
	return got[0]
}
