package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

var v403 = Config{Criteria: ctcae.V403}

// CTCAE v4.03 ALT increased: grade 1 >ULN-3.0×ULN, 2 >3.0-5.0, 3 >5.0-20.0,
// 4 >20.0 (ULN 40 U/L here).
func TestCTCAEGradeSignals(t *testing.T) {
	tests := []struct {
		value float64
		grade int // 0: no signal
		sev   clinical.Severity
	}{
		{40, 0, 0},
		{41, 1, clinical.SeverityLow},
		{120, 1, clinical.SeverityLow}, // exactly 3×ULN is still grade 1
		{121, 2, clinical.SeverityMedium},
		{201, 3, clinical.SeverityHigh},
		{801, 4, clinical.SeverityCritical},
	}
	for _, tt := range tests {
		sigs := only(CTCAEGrade, Evaluate(v403, labsInput(alt(5, tt.value, "2014-02-01"))))
		if tt.grade == 0 {
			if len(sigs) != 0 {
				t.Errorf("ALT %g: %d signals, want none", tt.value, len(sigs))
			}
			continue
		}
		if len(sigs) != 1 {
			t.Fatalf("ALT %g: %d signals, want 1", tt.value, len(sigs))
		}
		s := sigs[0]
		if s.Key != "ALT:high:LB:5" || s.Severity != tt.sev || s.Evidence["grade"] != tt.grade {
			t.Errorf("ALT %g: key %s severity %v grade %v; want ALT:high:LB:5 %v %d", tt.value, s.Key, s.Severity, s.Evidence["grade"], tt.sev, tt.grade)
		}
		if !strings.HasPrefix(s.Message, "CTCAE grade ") || !strings.Contains(s.Message, "ALT ") || !strings.Contains(s.Message, "on 2014-02-01") {
			t.Errorf("message %q", s.Message)
		}
	}
}

// A test graded both ways gives one finding per direction, so the keys
// carry the direction.
func TestCTCAEGradeKeyHasDirection(t *testing.T) {
	k := lab(3, "K", 2.9, 3.5, 5.0, "2014-02-01") // hypokalemia
	sigs := Evaluate(v403, labsInput(k))
	if got := keysOf(CTCAEGrade, sigs); !slices.Equal(got, []string{"K:low:LB:3"}) {
		t.Errorf("keys %v, want [K:low:LB:3]", got)
	}
}

func TestBaselines(t *testing.T) {
	// First dose 2014-01-10.
	tests := []struct {
		name string
		labs []clinical.LabResult
		want int // index of the last record's baseline, -1 for none
	}{
		{"flagged record wins over a later pre-dose one", []clinical.LabResult{
			baselineLab(1, "ALT", 30, 7, 40, "2014-01-03"), alt(2, 35, "2014-01-08"), alt(3, 90, "2014-01-20")}, 0},
		{"last value before the first dose", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), alt(2, 35, "2014-01-08"), alt(3, 90, "2014-01-20")}, 1},
		{"input order does not matter", []clinical.LabResult{
			alt(2, 35, "2014-01-08"), alt(1, 30, "2014-01-03"), alt(3, 90, "2014-01-20")}, 0},
		{"drawn on the first-dose day counts as pre-dose", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), alt(2, 35, "2014-01-10T08:00"), alt(3, 90, "2014-01-20")}, 1},
		{"a record without a value is not a baseline", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), {Seq: 2, TestCode: "ALT", Date: "2014-01-08"}, alt(3, 90, "2014-01-20")}, 0},
		{"only on-treatment values", []clinical.LabResult{alt(1, 30, "2014-01-11"), alt(3, 90, "2014-01-20")}, -1},
	}
	for _, tt := range tests {
		in := labsInput(tt.labs...)
		got := baselineIndexes(BaselineSDTM, &in)
		if last := got[len(got)-1]; last != tt.want {
			t.Errorf("%s: baseline %d, want %d", tt.name, last, tt.want)
		}
	}
	in := labsInput(alt(1, 30, "2014-01-03"))
	in.Subject.FirstDose = ""
	if got := baselineIndexes(BaselineSDTM, &in); got[0] != -1 {
		t.Errorf("baseline %d for a subject never dosed", got[0])
	}
}

// ADaM's BASE is the last non-missing value on or before the first dose,
// whatever LBBLFL says; the first dose is the earliest EXSTDTC.
func TestBaselineADaMLastPredose(t *testing.T) {
	dose := func(seq int, start clinical.Date) clinical.Dose {
		return clinical.Dose{Study: "STUDY1", USUBJID: "STUDY1-101-001", Seq: seq, Start: start}
	}
	tests := []struct {
		name  string
		labs  []clinical.LabResult
		doses []clinical.Dose
		sdtm  int // index of the last record's baseline by each convention, -1 for none
		adam  int
	}{
		{"the last pre-dose value, not the flagged screening one", []clinical.LabResult{
			baselineLab(1, "ALT", 30, 7, 40, "2014-01-03"), alt(2, 35, "2014-01-08"), alt(3, 90, "2014-01-20")}, nil, 0, 1},
		{"a value missing before dosing is skipped", []clinical.LabResult{
			baselineLab(1, "ALT", 30, 7, 40, "2014-01-03"), {Seq: 2, TestCode: "ALT", Date: "2014-01-08"}, alt(3, 90, "2014-01-20")}, nil, 0, 0},
		{"a flagged record after the first dose is not ADaM's baseline", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), baselineLab(2, "ALT", 35, 7, 40, "2014-01-12"), alt(3, 90, "2014-01-20")}, nil, 1, 0},
		// EX says dosing began on the 5th, before RFXSTDTC's 10th: the
		// draw of the 8th is on treatment.
		{"the first dose is the earliest EXSTDTC", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), alt(2, 35, "2014-01-08"), alt(3, 90, "2014-01-20")},
			[]clinical.Dose{dose(2, "2014-01-12"), dose(1, "2014-01-05")}, 1, 0},
		{"drawn before the dose, both with a time", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), alt(2, 35, "2014-01-05T07:30+01:00"), alt(3, 90, "2014-01-20")},
			[]clinical.Dose{dose(1, "2014-01-05T07:00Z")}, 1, 1},
		{"drawn after the dose, both with a time", []clinical.LabResult{
			alt(1, 30, "2014-01-03"), alt(2, 35, "2014-01-05T08:30+01:00"), alt(3, 90, "2014-01-20")},
			[]clinical.Dose{dose(1, "2014-01-05T07:00Z")}, 1, 0},
	}
	for _, tt := range tests {
		in := labsInput(tt.labs...)
		in.Doses = tt.doses
		for convention, want := range map[Baseline]int{BaselineSDTM: tt.sdtm, BaselineADaMLastPredose: tt.adam} {
			if got := baselineIndexes(convention, &in); got[len(got)-1] != want {
				t.Errorf("%s: %s baseline %d, want %d", tt.name, convention, got[len(got)-1], want)
			}
		}
	}
}

// The convention reaches the grades: v5.0 grades ALT against the
// baseline when it is abnormal. 250 U/L (6.25×ULN) is grade 3 against the
// flagged normal 30 (> 5.0-20.0×ULN) but grade 2 against the last
// pre-dose value, 80 (> 3.0-5.0× baseline).
func TestBaselineConventionChangesGrades(t *testing.T) {
	labs := []clinical.LabResult{baselineLab(1, "ALT", 30, 7, 40, "2014-01-03"), alt(2, 80, "2014-01-08"), alt(3, 250, "2014-01-20")}
	for b, want := range map[Baseline]int{BaselineSDTM: 3, BaselineADaMLastPredose: 2} {
		sg := wantOne(t, CTCAEGrade, Evaluate(Config{Criteria: ctcae.V50, Baseline: b}, labsInput(labs...)))
		if sg.Evidence["grade"] != want || sg.Evidence["baseline_lbseq"] != map[Baseline]int{BaselineSDTM: 1, BaselineADaMLastPredose: 2}[b] {
			t.Errorf("%s: grade %v against LB:%v, want %d", b, sg.Evidence["grade"], sg.Evidence["baseline_lbseq"], want)
		}
	}
}

func TestShiftFromBaseline(t *testing.T) {
	const bday, day = "2014-01-08", "2014-02-01"
	tests := []struct {
		name     string
		cfg      Config
		labs     []clinical.LabResult
		keys     []string
		baseline int // expected baseline_grade evidence
	}{
		{"normal to grade 2", v403, []clinical.LabResult{baselineLab(1, "ALT", 30, 7, 40, bday), alt(2, 121, day)}, []string{"ALT:high:LB:2"}, 0},
		{"normal to grade 1", v403, []clinical.LabResult{baselineLab(1, "ALT", 30, 7, 40, bday), alt(2, 120, day)}, nil, 0},
		{"grade 1 to grade 3", v403, []clinical.LabResult{baselineLab(1, "ALT", 50, 7, 40, bday), alt(2, 201, day)}, []string{"ALT:high:LB:2"}, 1},
		{"grade 1 to grade 2", v403, []clinical.LabResult{baselineLab(1, "ALT", 50, 7, 40, bday), alt(2, 200, day)}, nil, 0},
		{"unflagged pre-dose baseline", v403, []clinical.LabResult{alt(1, 30, bday), alt(2, 121, day)}, []string{"ALT:high:LB:2"}, 0},
		{"a screening value before the baseline is no shift", v403, []clinical.LabResult{
			alt(1, 201, "2014-01-02"), baselineLab(2, "ALT", 30, 7, 40, bday), alt(3, 30, day)}, nil, 0},
		{"no baseline, no shift", v403, []clinical.LabResult{alt(1, 201, day)}, nil, 0},
		{"the other direction has its own baseline grade", v403, []clinical.LabResult{
			baselineLab(1, "K", 2.9, 3.5, 5.0, bday), lab(2, "K", 6.1, 3.5, 5.0, day)}, []string{"K:high:LB:2"}, 0},
		// v5.0 grades ALT against an abnormal baseline: 250 is 3.1× the
		// baseline of 80, grade 2, and the baseline is grade 0 against itself.
		{"v5.0 abnormal baseline", Config{Criteria: ctcae.V50}, []clinical.LabResult{
			baselineLab(1, "ALT", 80, 7, 40, bday), alt(2, 250, day), alt(3, 230, day)}, []string{"ALT:high:LB:2"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := Evaluate(tt.cfg, labsInput(tt.labs...))
			got := keysOf(ShiftFromBaseline, sigs)
			if !slices.Equal(got, tt.keys) {
				t.Fatalf("shift keys %v, want %v", got, tt.keys)
			}
			if len(got) > 0 {
				if s := only(ShiftFromBaseline, sigs)[0]; s.Evidence["baseline_grade"] != tt.baseline {
					t.Errorf("baseline grade %v, want %d", s.Evidence["baseline_grade"], tt.baseline)
				}
			}
		})
	}
}

// A total calcium graded after Payne's correction says so, in its message
// and evidence, with the value it was corrected from: a monitor comparing
// the finding with the lab report must not see a value the lab never sent.
func TestCTCAEGradeSaysCalciumWasCorrected(t *testing.T) {
	ca := lab(7, "CA", 1.9, 2.1, 2.6, "2014-02-01T08:00")
	ca.Unit = "mmol/L"
	alb := lab(8, "ALB", 40, 35, 50, "2014-02-01T08:00")
	alb.Unit = "g/L"
	sigs := only(CTCAEGrade, Evaluate(Config{}, labsInput(ca, alb)))
	if len(sigs) != 1 {
		t.Fatalf("%d CTCAE_GRADE findings, want 1: %v", len(sigs), sigs)
	}
	s := sigs[0]
	// 1.9 + 0.02 × (40 − 40) = 1.9: grade 2 ("<2.0 - 1.75 mmol/L").
	const corrected = "corrected for albumin (Payne) from 1.9 mmol/L, albumin 40 g/L"
	if !strings.Contains(s.Message, "CA 1.9 mmol/L "+corrected) {
		t.Errorf("message %q, want it to say %q", s.Message, "CA 1.9 mmol/L "+corrected)
	}
	if s.Evidence["correction"] != corrected || s.Evidence["grade"] != 2 {
		t.Errorf("evidence correction %v grade %v, want %q and 2", s.Evidence["correction"], s.Evidence["grade"], corrected)
	}

	// Albumin 30 g/L (LLN 25, no hypoalbuminemia) lifts total calcium 2.4
	// to 2.6 mmol/L, above ULN 2.5: hypercalcemia grade 1, shown as 2.6.
	alb.Value, alb.Low = 30, 25
	ca.Value, ca.High = 2.4, 2.5
	sigs = only(CTCAEGrade, Evaluate(Config{}, labsInput(ca, alb)))
	if len(sigs) != 1 || !strings.Contains(sigs[0].Message, "CA 2.6 mmol/L corrected for albumin (Payne) from 2.4 mmol/L, albumin 30 g/L (1.04×ULN)") {
		t.Errorf("findings %v, want one saying CA 2.6 mmol/L corrected from 2.4 (1.04×ULN)", sigs)
	}
}

// baselineIndexes gives, for each lab of in, the index of its baseline
// record by convention, or -1: what the rules grade against.
func baselineIndexes(convention Baseline, in *Input) []int {
	return newSubject(Config{Baseline: convention}, in).Baseline
}
