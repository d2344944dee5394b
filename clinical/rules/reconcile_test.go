package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

func TestLabAEReconciliation(t *testing.T) {
	// Haemoglobin 75 g/L is CTCAE v4.03 grade 3 anemia (<80 g/L).
	const day = "2014-02-10T09:00"
	anemia := lab(4, "HGB", 75, 120, 160, day)
	ae := func(term, decoded string, start, end clinical.Date) clinical.AdverseEvent {
		return clinical.AdverseEvent{Seq: 1, Term: term, Decoded: decoded, Start: start, End: end}
	}
	tests := []struct {
		name   string
		cfg    Config
		lab    clinical.LabResult
		events []clinical.AdverseEvent
		query  bool
	}{
		{"no AE", v403, anemia, nil, true},
		{"MedDRA PT on the day", v403, anemia, []clinical.AdverseEvent{ae("LOW HB", "ANAEMIA", "2014-02-10", "")}, false},
		{"American spelling, verbatim term only", v403, anemia, []clinical.AdverseEvent{ae("anemia", "", "2014-02-10", "")}, false},
		{"onset 7 days after", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-17", "")}, false},
		{"onset 8 days after", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-18", "")}, true},
		{"resolved 7 days before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-01-20", "2014-02-03")}, false},
		{"resolved 8 days before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-01-20", "2014-02-02")}, true},
		{"ongoing since long before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2013-11-01", "")}, false},
		{"onset 7 days before, still going", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-03", "2014-02-04")}, false},
		{"partial onset that may be in the window", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02", "")}, false},
		{"partial onset certainly after the window", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-03", "")}, true},
		{"no onset date", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "", "")}, false},
		{"other term", v403, anemia, []clinical.AdverseEvent{ae("NAUSEA", "NAUSEA", "2014-02-10", "")}, true},
		{"term of the other direction", v403, anemia, []clinical.AdverseEvent{ae("POLYCYTHAEMIA", "POLYCYTHAEMIA", "2014-02-10", "")}, true},
		{"study mapping for the direction", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"HGB:low": {"Blood loss anaemia"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANEMIA", "", "2014-02-10", "")}, false},
		{"study mapping for both directions", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"hgb": {"BLOOD LOSS ANAEMIA"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANAEMIA", "", "2014-02-10", "")}, false},
		{"study mapping for the other direction", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"HGB:high": {"BLOOD LOSS ANAEMIA"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANAEMIA", "", "2014-02-10", "")}, true},
		{"grade 2 needs no AE", v403, lab(4, "HGB", 85, 120, 160, day), nil, false},
		{"pre-dose abnormality is medical history", v403, lab(4, "HGB", 75, 120, 160, "2014-01-05"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := labsInput(tt.lab)
			in.Events = tt.events
			got := only(LabAEUnreconciled, Evaluate(tt.cfg, in))
			if !tt.query {
				if len(got) != 0 {
					t.Fatalf("unexpected query: %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d queries, want 1", len(got))
			}
			if got[0].Key != "HGB:low:LB:4" || got[0].Severity != clinical.SeverityMedium {
				t.Errorf("key %s severity %v, want HGB:low:LB:4 medium", got[0].Key, got[0].Severity)
			}
		})
	}
}

func TestReconciliationNeedsEvents(t *testing.T) {
	in := labsInput(lab(4, "HGB", 75, 120, 160, "2014-02-10"))
	in.HaveEvents = false
	sigs := Evaluate(v403, in)
	if n := len(only(LabAEUnreconciled, sigs)); n != 0 {
		t.Errorf("%d queries raised while the AE source is down", n)
	}
	if n := len(only(CTCAEGrade, sigs)); n != 1 {
		t.Errorf("%d grade signals, want 1: the lab rules do not need AEs", n)
	}
}

// The reverse: an AE that names a lab abnormality needs a result showing
// it within 7 days of the AE.
func TestAEWithoutLab(t *testing.T) {
	ae := func(term string, start, end clinical.Date) clinical.AdverseEvent {
		return clinical.AdverseEvent{Seq: 3, Term: strings.ToLower(term), Decoded: term, Start: start, End: end}
	}
	const onset = "2014-02-10"
	tests := []struct {
		name  string
		ae    clinical.AdverseEvent
		labs  []clinical.LabResult
		query bool
	}{
		{"ALT above the ULN on the onset day", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 60, onset)}, false},
		{"ALT normal throughout", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 30, onset), alt(2, 35, "2014-02-18")}, true},
		{"ALT high 7 days before onset", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 60, "2014-02-03")}, false},
		{"ALT high 8 days before onset", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 60, "2014-02-02")}, true},
		{"ALT high 7 days after the end", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 60, "2014-02-27")}, false},
		{"ALT high 8 days after the end", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20"), []clinical.LabResult{alt(1, 60, "2014-02-28")}, true},
		{"ongoing: a later result counts", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, ""), []clinical.LabResult{alt(1, 60, "2014-05-01")}, false},
		{"the other enzyme does not show an ALT rise", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, ""), []clinical.LabResult{alt(1, 30, onset), ast(2, 90, onset)}, true},
		{"either enzyme shows raised transaminases", ae("TRANSAMINASES INCREASED", onset, ""), []clinical.LabResult{alt(1, 30, onset), ast(2, 90, onset)}, false},
		{"American spelling, verbatim term only", clinical.AdverseEvent{Seq: 3, Term: "Hyperbilirubinemia", Start: onset}, []clinical.LabResult{bili(1, 15, onset)}, true},
		{"the wrong direction does not support it", ae("ANAEMIA", onset, ""), []clinical.LabResult{lab(1, "HGB", 170, 120, 160, onset)}, true},
		{"a low haemoglobin does", ae("ANAEMIA", onset, ""), []clinical.LabResult{lab(1, "HGB", 110, 120, 160, onset)}, false},
		// v5.0 grades INR by absolute cut-offs (> 1.2 is grade 1): a result
		// with no reference range is abnormal by its grade.
		{"a CTCAE grade counts as abnormal", ae("INTERNATIONAL NORMALISED RATIO INCREASED", onset, ""),
			[]clinical.LabResult{{Seq: 1, TestCode: "INR", Value: 1.3, HasValue: true, Unit: "RATIO", Date: onset}}, false},
		{"below the grade 1 cut-off, no range", ae("INTERNATIONAL NORMALISED RATIO INCREASED", onset, ""),
			[]clinical.LabResult{{Seq: 1, TestCode: "INR", Value: 1.1, HasValue: true, Unit: "RATIO", Date: onset}}, true},
		{"a partial lab date that may fall in the window", ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-12"), []clinical.LabResult{alt(1, 30, onset), alt(2, 60, "2014-02")}, false},
		{"no onset date: nothing to compare", ae("ALANINE AMINOTRANSFERASE INCREASED", "", ""), []clinical.LabResult{alt(1, 30, onset)}, false},
		{"the test never measured for the subject", ae("NEUTROPHIL COUNT INCREASED", onset, ""), []clinical.LabResult{alt(1, 30, onset)}, false},
		{"measured, but not near the AE", ae("HYPONATRAEMIA", onset, "2014-02-12"), []clinical.LabResult{lab(1, "SODIUM", 130, 135, 145, "2014-04-01")}, true},
		{"a clinical diagnosis implies no result", ae("HEPATITIS", onset, ""), []clinical.LabResult{alt(1, 30, onset)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := labsInput(tt.labs...)
			in.Events = []clinical.AdverseEvent{tt.ae}
			got := only(AEWithoutLab, Evaluate(Config{}, in))
			if !tt.query {
				if len(got) != 0 {
					t.Fatalf("unexpected query: %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 || got[0].Key != "AE:3" || got[0].Severity != clinical.SeverityLow || got[0].First != tt.ae.Start {
				t.Fatalf("queries %+v, want one AE:3, low, from %s", got, tt.ae.Start)
			}
		})
	}

	// The evidence lists the results looked at; a study turns the rule off.
	in := labsInput(alt(1, 30, onset), alt(2, 35, "2014-02-18"))
	in.Events = []clinical.AdverseEvent{ae("ALANINE AMINOTRANSFERASE INCREASED", onset, "2014-02-20")}
	sg := wantOne(t, AEWithoutLab, Evaluate(Config{}, in))
	if got := fmt.Sprint(sg.Evidence["results"], sg.Evidence["implies"]); got != "[AE:3 LB:1 LB:2] [ALT:high]" {
		t.Errorf("evidence %s", got)
	}
	if !strings.Contains(sg.Message, "implies ALT high, but 2 result(s) within the window, none abnormal that way: ALT 30 U/L on 2014-02-10; ALT 35 U/L on 2014-02-18") {
		t.Errorf("message %q", sg.Message)
	}
	if got := only(AEWithoutLab, Evaluate(Config{Rules: map[clinical.Rule]bool{AEWithoutLab: false}}, in)); len(got) != 0 {
		t.Errorf("raised with the rule off: %v", got)
	}
	// Without the AE source, the rule cannot run.
	in.HaveEvents = false
	if a := Assess(Config{}, in); slices.Contains(a.Ran, AEWithoutLab) {
		t.Error("ran without the AE source")
	}
	// A supporting result arriving withdraws it: the check no longer
	// raises the finding of a rule that ran.
	in.HaveEvents = true
	in.Labs = append(in.Labs, alt(3, 61, "2014-02-19"))
	if a := Assess(Config{}, in); len(only(AEWithoutLab, a.Signals)) != 0 || !slices.Contains(a.Ran, AEWithoutLab) {
		t.Errorf("after a high ALT arrived: %v (ran %v)", only(AEWithoutLab, a.Signals), a.Ran)
	}
}
