package ctcae

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

// le: "10.0 to 10.9 g/dL" for low terms: `at` itself is still the worse grade.
func le(at float64, milder, worse int) edge { return edge{at, worse, worse, milder} }

// daidsCase is an edge case of a subject of the given AGE (years at
// RFSTDTC, the collection day) and SEX.
type daidsCase struct {
	edgeCase
	age int
	sex string
}

func adult(tc edgeCase) daidsCase                     { return daidsCase{tc, 30, "M"} }
func aged(age int, sex string, tc edgeCase) daidsCase { return daidsCase{tc, age, sex} }

func d(name, code, unit string, lim limits, dir Direction, edges ...edge) edgeCase {
	return edgeCase{name: name, versions: []Criteria{DAIDS21}, code: code, unit: unit, lim: lim, dir: dir, edges: edges}
}

func withBaseline(tc edgeCase, b float64) edgeCase { tc.baseline = &b; return tc }

const ng = notGradable

// The DAIDS v2.1 table, written from the text (see criteria/daids.go) at every
// boundary, in SI and conventional units.
var daidsCases = []daidsCase{
	// Baseline 120 mL/min: a decrease of 10, 30, 50% (108, 84, 60) grades
	// before the absolute 90, 60, 30.
	adult(withBaseline(d("creatinine clearance, normal baseline", "CREATCLR", "mL/min", lo(90), Low, []edge{{108, 2, 2, 0}, {84, 3, 3, 2}, {60, 4, 4, 3}}...), 120)),
	// Baseline 50: already grade 3; 45, 35, 25 are its 10, 30, 50% decreases.
	adult(withBaseline(d("creatinine clearance, low baseline", "CREATCLR", "mL/min", lo(90), Low, []edge{{60, 3, 2, 2}, {35, 3, 3, 3}, {30, 4, 3, 3}, {25, 4, 4, 4}}...), 50)),
	adult(withBaseline(d("creatinine clearance mL/s", "CREATCLR", "mL/s", lo(1.5), Low, []edge{{1.8, 2, 2, 0}, {1.4, 3, 3, 2}}...), 2)),
	adult(d("creatinine clearance without baseline: only grade 4 is certain", "CREATCLR", "mL/min", lo(90), Low, []edge{{30, 4, ng, ng}, {100, ng, ng, ng}}...)),
	adult(withBaseline(d("eGFR", "EGFR", "mL/min/1.73 m2", lo(90), Low, []edge{{90, 2, 0, 0}, {66.5, 3, 3, 2}, {47.5, 4, 4, 3}, {30, 4, 4, 4}}...), 95)),
	adult(withBaseline(d("eGFR mL/s", "EGFR", "mL/s/1.73m2", lo(1.5), Low, []edge{{1.5, 2, 0, 0}, {1.12, 3, 3, 2}}...), 1.6)),
	aged(8, "F", withBaseline(d("eGFR of a child, per 1.73 m^2", "GFR", "mL/min/1.73m^2", lo(90), Low, []edge{{60, 3, 2, 2}}...), 80)),
	adult(d("albumin g/L", "ALB", "g/L", lo(35), Low, lt(35, 0, 1), lt(30, 1, 2), lt(20, 2, 3))),
	adult(d("albumin g/dL", "ALB", "g/dL", lo(3.5), Low, lt(3.5, 0, 1), lt(3, 1, 2), lt(2, 2, 3))),
	adult(d("ALP", "ALP", "U/L", hi(100), High, ge(125, 0, 1), ge(250, 1, 2), ge(500, 2, 3), ge(1000, 3, 4))),
	adult(d("ALT", "ALT", "U/L", hi(40), High, ge(50, 0, 1), ge(100, 1, 2), ge(200, 2, 3), ge(400, 3, 4))),
	adult(d("AST ukat/L", "AST", "ukat/L", hi(0.6), High, ge(0.75, 0, 1), ge(1.5, 1, 2), ge(3, 2, 3), ge(6, 3, 4))),
	adult(d("amylase", "AMYLASE", "U/L", hi(100), High, ge(110, 0, 1), ge(150, 1, 2), ge(300, 2, 3), ge(500, 3, 4))),
	adult(d("lipase", "LIPASE", "U/L", hi(60), High, ge(66, 0, 1), ge(90, 1, 2), ge(180, 2, 3), ge(300, 3, 4))),
	adult(d("bicarbonate", "BICARB", "mmol/L", lo(22), Low, lt(22, 0, 1), lt(16, 1, 2), lt(11, 2, 3), lt(8, 3, 4))),
	adult(d("bicarbonate mEq/L", "HCO3", "mEq/L", lo(22), Low, lt(16, 1, 2))),
	// After 28 days of age grades 3-4 need signs of hepatotoxicity.
	adult(d("direct bilirubin > 28 days", "BILDIR", "umol/L", hi(5), High, gt(5, 0, ng))),
	adult(d("total bilirubin", "BILI", "umol/L", hi(20), High, ge(22, 0, 1), ge(32, 1, 2), ge(52, 2, 3), ge(100, 3, 4))),
	adult(d("total bilirubin mg/dL", "BILI", "mg/dL", hi(1.2), High, ge(1.32, 0, 1), ge(6, 3, 4))),
	adult(d("calcium low mmol/L (not corrected)", "CA", "mmol/L", lohi(2.1, 2.6), Low, lt(2.1, 0, 1), lt(1.95, 1, 2), lt(1.75, 2, 3), lt(1.53, 3, 4))),
	adult(d("calcium low mg/dL", "CA", "mg/dL", lohi(8.4, 10.4), Low, lt(8.4, 0, 1), lt(7.8, 1, 2), lt(7, 2, 3), lt(6.1, 3, 4))),
	adult(d("calcium high mmol/L", "CA", "mmol/L", lohi(2.1, 2.6), High, ge(2.65, 0, 1), ge(2.88, 1, 2), ge(3.13, 2, 3), ge(3.38, 3, 4))),
	adult(d("calcium high mg/dL", "CA", "mg/dL", lohi(8.4, 10.4), High, ge(10.6, 0, 1), ge(11.5, 1, 2), ge(12.5, 2, 3), ge(13.5, 3, 4))),
	adult(d("ionized calcium low", "CAION", "mmol/L", lohi(1.12, 1.32), Low, lt(1.12, 0, 1), lt(1, 1, 2), lt(0.9, 2, 3), lt(0.8, 3, 4))),
	adult(d("ionized calcium low mg/dL", "CAION", "mg/dL", lohi(4.5, 5.3), Low, lt(4.5, 0, 1), lt(4, 1, 2), lt(3.6, 2, 3), lt(3.2, 3, 4))),
	adult(d("ionized calcium high", "CAION", "mmol/L", lohi(1.12, 1.32), High, gt(1.32, 0, 1), ge(1.5, 1, 2), ge(1.6, 2, 3), ge(1.8, 3, 4))),
	adult(d("ionized calcium high mg/dL", "CAION", "mg/dL", lohi(4.5, 5.3), High, gt(5.3, 0, 1), ge(6, 1, 2), ge(6.4, 2, 3), ge(7.2, 3, 4))),
	adult(d("CK", "CK", "U/L", hi(200), High, ge(600, 0, 1), ge(1200, 1, 2), ge(2000, 2, 3), ge(4000, 3, 4))),
	// Baseline 90: 1.3, 1.5 and 2 x baseline (117, 135, 180) bite before 1.3, 1.8, 3.5 x ULN.
	adult(withBaseline(d("creatinine, baseline 90", "CREAT", "umol/L", hi(100), High, ge(110, 0, 1), ge(117, 1, 2), ge(135, 2, 3), ge(180, 3, 4)), 90)),
	adult(withBaseline(d("creatinine, baseline 50", "CREAT", "umol/L", hi(100), High, ge(65, 0, 2), ge(75, 2, 3), ge(100, 3, 4)), 50)),
	adult(withBaseline(d("creatinine mg/dL, high baseline", "CREAT", "mg/dL", hi(1), High, ge(1.1, 0, 1), gt(1.3, 1, 2), gt(1.8, 2, 3), ge(3.5, 3, 4)), 3)),
	adult(d("creatinine without baseline", "CREAT", "umol/L", hi(100), High, ge(350, ng, 4))),
	adult(d("glucose low mmol/L", "GLUC", "mmol/L", lohi(3.9, 5.6), Low, lt(3.55, 0, 1), lt(3.05, 1, 2), lt(2.22, 2, 3), lt(1.67, 3, 4))),
	adult(d("glucose low mg/dL", "GLUC", "mg/dL", lohi(70, 100), Low, le(64, 0, 1), lt(55, 1, 2), lt(40, 2, 3), lt(30, 3, 4))),
	// Fasting unknown: only the nonfasting grades are certain.
	adult(d("glucose high mmol/L", "GLUC", "mmol/L", lohi(3.9, 5.6), High, edge{6.11, 0, ng, ng}, ge(6.44, ng, 1), edge{6.95, 1, ng, ng}, ge(8.89, ng, 2), ge(13.89, 2, 3), ge(27.75, 3, 4))),
	adult(d("glucose high mg/dL", "GLUC", "mg/dL", lohi(70, 100), High, edge{110, 0, ng, ng}, ge(116, ng, 1), edge{125, 1, 1, ng}, gt(160, ng, 2), gt(250, 2, 3), ge(500, 3, 4))),
	adult(d("lactate", "LACTICAC", "mmol/L", hi(2.2), High, ge(2.2, 0, 1), ge(4.4, 1, 2))),
	adult(d("cholesterol, fasting, adult", "CHOL", "mmol/L", hi(5.2), High, edge{5.18, 0, ng, ng}, edge{7.77, ng, ng, ng})),
	adult(d("cholesterol, fasting, adult mg/dL", "CHOL", "mg/dL", hi(200), High, edge{200, 0, ng, ng})),
	aged(10, "F", d("cholesterol, fasting, child", "CHOL", "mmol/L", hi(5.2), High, edge{4.4, 0, ng, ng})),
	adult(d("LDL, fasting, adult", "LDL", "mmol/L", hi(3.4), High, edge{3.37, 0, ng, ng})),
	aged(10, "M", d("LDL, fasting, child", "LDL", "mg/dL", hi(130), High, edge{110, 0, ng, ng})),
	aged(2, "M", d("LDL up to 2 years: no criteria", "LDL", "mmol/L", hi(3.4), High, edge{2, ng, ng, ng})),
	adult(d("triglycerides, fasting", "TRIG", "mmol/L", hi(1.7), High, edge{1.71, 0, ng, ng})),
	adult(d("magnesium mmol/L", "MG", "mmol/L", lohi(0.66, 1.07), Low, lt(0.7, 0, 1), lt(0.6, 1, 2), lt(0.45, 2, 3), lt(0.3, 3, 4))),
	adult(d("magnesium mEq/L", "MG", "mEq/L", lohi(1.3, 2.1), Low, lt(1.4, 0, 1), lt(1.2, 1, 2), lt(0.9, 2, 3), lt(0.6, 3, 4))),
	adult(d("phosphate, adult", "PHOS", "mmol/L", lohi(0.87, 1.45), Low, lt(0.87, 0, 1), lt(0.65, 1, 2), lt(0.45, 2, 3), lt(0.32, 3, 4))),
	adult(d("phosphate, adult mg/dL", "PHOS", "mg/dL", lohi(2.7, 4.5), Low, lt(2.7, 0, 1), lt(2, 1, 2), lt(1.4, 2, 3), lt(1, 3, 4))),
	aged(10, "F", d("phosphate, 1 to 14 years", "PHOS", "mmol/L", lohi(1.0, 1.8), Low, lt(1.13, 0, 1), lt(0.97, 1, 2), lt(0.81, 2, 3), lt(0.48, 3, 4))),
	adult(d("potassium low", "K", "mmol/L", lohi(3.5, 5.1), Low, lt(3.4, 0, 1), lt(3, 1, 2), lt(2.5, 2, 3), lt(2, 3, 4))),
	adult(d("potassium high", "K", "mEq/L", lohi(3.5, 5.1), High, ge(5.6, 0, 1), ge(6, 1, 2), ge(6.5, 2, 3), ge(7, 3, 4))),
	adult(d("sodium low", "SODIUM", "mmol/L", lohi(135, 145), Low, lt(135, 0, 1), lt(130, 1, 2), lt(125, 2, 3), le(120, 3, 4))),
	adult(d("sodium high", "SODIUM", "mmol/L", lohi(135, 145), High, ge(146, 0, 1), ge(150, 1, 2), ge(154, 2, 3), ge(160, 3, 4))),
	adult(d("uric acid umol/L", "URATE", "umol/L", hi(420), High, ge(450, 0, 1), ge(590, 1, 2), ge(710, 2, 3), ge(890, 3, 4))),
	adult(d("uric acid mg/dL", "URATE", "mg/dL", hi(7), High, ge(7.5, 0, 1), ge(10, 1, 2), ge(12, 2, 3), ge(15, 3, 4))),
	adult(d("CD4", "CD4", "10^9/L", lo(0.5), Low, lt(0.4, 0, 1), lt(0.3, 1, 2), lt(0.2, 2, 3), lt(0.1, 3, 4))),
	adult(d("CD4 per mm3", "CD4", "/mm3", lo(500), Low, lt(400, 0, 1), lt(100, 3, 4))),
	aged(4, "F", d("CD4 up to 5 years: no criteria", "CD4", "10^9/L", lo(0.5), Low, edge{0.1, ng, ng, ng})),
	adult(d("lymphocytes", "LYM", "GI/L", lo(1), Low, lt(0.65, 0, 1), lt(0.6, 1, 2), lt(0.5, 2, 3), lt(0.35, 3, 4))),
	aged(4, "M", d("lymphocytes up to 5 years: no criteria", "LYM", "GI/L", lo(1), Low, edge{0.3, ng, ng, ng})),
	adult(d("ANC", "NEUT", "10^9/L", lo(1.8), Low, le(1, 0, 1), lt(0.8, 1, 2), lt(0.6, 2, 3), lt(0.4, 3, 4))),
	adult(d("ANC per mm3", "ANC", "/mm3", lo(1800), Low, le(1000, 0, 1), lt(400, 3, 4))),
	adult(d("fibrinogen, absolute cut-offs first", "FIBRINO", "g/L", lo(1.2), Low, lt(2, 0, 1), lt(1, 1, 2), lt(0.75, 2, 3), lt(0.5, 3, 4))),
	adult(d("fibrinogen, LLN multiples first", "FIBRINO", "g/L", lo(3), Low, lt(3, 0, 1), lt(2.25, 1, 2), lt(1.5, 2, 3), lt(0.75, 3, 4))),
	adult(d("fibrinogen mg/dL", "FIBRINO", "mg/dL", lo(120), Low, lt(200, 0, 1), lt(100, 1, 2), lt(75, 2, 3), lt(50, 3, 4))),
	adult(d("hemoglobin, adult male g/L", "HGB", "g/L", lo(130), Low, le(109, 0, 1), lt(100, 1, 2), lt(90, 2, 3), lt(70, 3, 4))),
	adult(d("hemoglobin, adult male mmol/L", "HGB", "mmol/L", lo(8.1), Low, le(6.76, 0, 1), lt(6.19, 1, 2), lt(5.57, 2, 3), lt(4.34, 3, 4))),
	aged(30, "F", d("hemoglobin, adult female g/dL", "HGB", "g/dL", lo(12), Low, le(10.4, 0, 1), lt(9.5, 1, 2), lt(8.5, 2, 3), lt(6.5, 3, 4))),
	aged(30, "F", d("hemoglobin, adult female mmol/L", "HGB", "mmol/L", lo(7.4), Low, le(6.48, 0, 1), lt(5.88, 1, 2), lt(5.25, 2, 3), lt(4.03, 3, 4))),
	aged(10, "M", d("hemoglobin, child", "HGB", "g/L", lo(115), Low, le(104, 0, 1), lt(95, 1, 2), lt(85, 2, 3), lt(65, 3, 4))),
	aged(30, "", d("hemoglobin, adult of unknown sex", "HGB", "g/L", lo(120), Low, edge{100, ng, ng, ng})),
	aged(12, "", d("hemoglobin at 12 to 13 years, sex unknown", "HGB", "g/L", lo(120), Low, le(104, 0, 1))),
	adult(d("INR", "INR", "", hi(1.2), High, ge(1.32, 0, 1), ge(1.8, 1, 2), ge(2.4, 2, 3), ge(3.6, 3, 4))),
	adult(d("methemoglobin %", "METHB", "%", hi(1.5), High, ge(5, 0, 1), ge(10, 1, 2), ge(15, 2, 3), ge(20, 3, 4))),
	adult(d("methemoglobin fraction", "METHB", "FRACTION", hi(0.015), High, ge(0.05, 0, 1), ge(0.2, 3, 4))),
	adult(d("PTT", "APTT", "sec", hi(35), High, ge(38.5, 0, 1), ge(58.1, 1, 2), ge(81.55, 2, 3), ge(105, 3, 4))),
	adult(d("platelets", "PLAT", "GI/L", lo(150), Low, lt(125, 0, 1), lt(100, 1, 2), lt(50, 2, 3), lt(25, 3, 4))),
	adult(d("platelets per mm3", "PLT", "/mm3", lo(150000), Low, lt(125000, 0, 1), lt(25000, 3, 4))),
	adult(d("PT", "PT", "s", hi(13), High, ge(14.3, 0, 1), ge(16.25, 1, 2), ge(19.5, 2, 3), ge(39, 3, 4))),
	adult(d("WBC", "WBC", "GI/L", lo(3.8), Low, lt(2.5, 0, 1), lt(2, 1, 2), lt(1.5, 2, 3), lt(1, 3, 4))),
}

// Worst case: the grade DAIDS gives with life-threatening consequences.
var daidsWorstCases = []daidsCase{
	adult(d("direct bilirubin > 28 days, worst case", "BILDIR", "umol/L", hi(5), High, gt(5, 0, 4))),
}

func TestDAIDSBoundaries(t *testing.T) {
	run := func(cases []daidsCase, opts ...Option) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				subj := &clinical.Subject{USUBJID: "S1", Age: tc.age, Sex: tc.sex, RefStart: "2014-01-02"}
				for _, e := range tc.edges {
					eps := max(e.at*1e-6, 1e-9)
					for _, p := range []struct {
						v    float64
						want int
					}{{e.at - eps, e.below}, {e.at, e.atIt}, {e.at + eps, e.above}} {
						lab := tc.lab(p.v)
						lab.Date = "2014-01-02"
						var bl *clinical.LabResult
						if tc.baseline != nil {
							b := tc.lab(*tc.baseline)
							bl = &b
						}
						r := pick(t, Grade(DAIDS21, lab, bl, append(opts, WithSubject(subj))...), tc.dir)
						if got := gradeOf(r); got != p.want {
							t.Errorf("%s %v %s: grade %s, want %s (reason %q)", tc.code, p.v, tc.unit, show(got), show(p.want), r.Reason)
						}
					}
				}
			})
		}
	}
	run(daidsCases)
	run(daidsWorstCases, WithContext(WorstCase))
}

// Every DAIDS term has boundary cases (TestCriteriaTablesAreConsistent
// checks the tables of every subgroup).
func TestEveryDAIDSTermHasBoundaryCases(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range daidsCases {
		a, _ := analyteOf(tc.code)
		covered[fmt.Sprint(a.id, tc.dir)] = true
	}
	for id, terms := range tables[DAIDS21] {
		for _, term := range terms {
			if !covered[fmt.Sprint(id, term.Dir)] {
				t.Errorf("%s (%s, %s): no boundary cases", term.Name, id, term.Dir)
			}
		}
	}
}

// The subgroups of the first weeks of life cannot be told apart from AGE
// in whole years; their tables are checked here directly.
func TestDAIDSNeonatalSubgroups(t *testing.T) {
	for _, tt := range []struct {
		code, subgroup, unit string
		dir                  Direction
		lim                  limits
		edges                []edge
	}{
		{"BILDIR", "≤ 28 days of age", "mg/dL", High, hi(0.3), []edge{ge(0.3, 0, 1), gt(1, 1, 2), gt(1.5, 2, 3), gt(2, 3, 4)}},
		{"BILDIR", "≤ 28 days of age", "umol/L", High, hi(5), []edge{gt(17.1, 1, 2), gt(34.2, 3, 4)}},
		{"CA", "< 7 days of age", "mmol/L", Low, lo(2), []edge{lt(1.88, 0, 1), lt(1.63, 1, 2), lt(1.5, 2, 3), lt(1.38, 3, 4)}},
		{"CA", "< 7 days of age", "mg/dL", High, hi(10), []edge{ge(11.5, 0, 1), ge(12.4, 1, 2), ge(12.9, 2, 3), ge(13.5, 3, 4)}},
		{"GLUC", "< 1 month of age", "mmol/L", Low, lo(3), []edge{lt(3, 0, 1), lt(2.78, 1, 2), lt(2.22, 2, 3), lt(1.67, 3, 4)}},
		{"GLUC", "< 1 month of age", "mg/dL", Low, lo(50), []edge{le(54, 0, 1), lt(50, 1, 2)}},
		{"PHOS", "< 1 year of age", "mmol/L", Low, lo(1.2), []edge{lt(1.45, 0, 1), lt(1.13, 1, 2), lt(0.81, 2, 3), lt(0.48, 3, 4)}},
		{"NEUT", "2 to 7 days of age", "10^9/L", Low, lo(2), []edge{le(1.5, 0, 1), lt(1.25, 1, 2), lt(1, 2, 3), lt(0.75, 3, 4)}},
		{"NEUT", "≤ 1 day of age", "10^9/L", Low, lo(6), []edge{le(5, 0, 1), lt(4, 1, 2), lt(3, 2, 3), lt(1.5, 3, 4)}},
		{"HGB", "36 to 56 days of age", "g/L", Low, lo(100), []edge{le(96, 0, 1), lt(85, 1, 2), lt(70, 2, 3), lt(60, 3, 4)}},
		{"HGB", "22 to 35 days of age", "mmol/L", Low, lo(7), []edge{le(6.86, 0, 1), lt(5.88, 1, 2), lt(4.94, 2, 3), lt(4.15, 3, 4)}},
		{"HGB", "8 to 21 days of age", "g/dL", Low, lo(14), []edge{le(13, 0, 1), lt(11, 1, 2), lt(9, 2, 3), lt(8, 3, 4)}},
		{"HGB", "≤ 7 days of age", "g/L", Low, lo(150), []edge{le(140, 0, 1), lt(130, 1, 2), lt(100, 2, 3), lt(90, 3, 4)}},
		{"WBC", "≤ 7 days of age", "10^9/L", Low, lo(9), []edge{lt(7, 0, 1), lt(5.5, 1, 2), lt(4, 2, 3), lt(2.5, 3, 4)}},
		{"BILI", "≤ 28 days of age", "umol/L", High, hi(20), []edge{{100, ng, ng, ng}}},
	} {
		t.Run(tt.code+" "+tt.subgroup+" "+tt.unit, func(t *testing.T) {
			a, _ := analyteOf(tt.code)
			var sub *criteria.Term
			for _, tm := range tables[DAIDS21][a.id] {
				for _, g := range tm.Subgroups {
					if tm.Dir == tt.dir && g.Name == tt.subgroup {
						sub = &criteria.Term{Name: tm.Name, Dir: tm.Dir, Scales: g.Scales, NotGradable: g.NotGradable}
					}
				}
			}
			if sub == nil {
				t.Fatalf("no %s subgroup %q", tt.dir, tt.subgroup)
			}
			for _, e := range tt.edges {
				for _, p := range []struct {
					v    float64
					want int
				}{{e.at - e.at*1e-6, e.below}, {e.at, e.atIt}, {e.at + e.at*1e-6, e.above}} {
					lab := edgeCase{code: tt.code, unit: tt.unit, lim: tt.lim}.lab(p.v)
					if got := gradeOf(gradeTerm(sub, a, lab, nil, &options{})); got != p.want {
						t.Errorf("%v %s: grade %s, want %s", p.v, tt.unit, show(got), show(p.want))
					}
				}
			}
		})
	}
}

// Age-dependent terms say why they cannot be graded; the others need no
// subject.
func TestDAIDSSubjectReasons(t *testing.T) {
	hgb := clinical.LabResult{USUBJID: "S1", TestCode: "HGB", Value: 100, HasValue: true, Unit: "g/L", Low: 120, HasLow: true, Date: "2014-03-01"}
	for _, tt := range []struct {
		name   string
		lab    clinical.LabResult
		subj   *clinical.Subject
		reason string
	}{
		{"no subject", hgb, nil, "the subject (DM) is not known"},
		{"no AGE", hgb, &clinical.Subject{Sex: "F", RefStart: "2014-01-02"}, "AGE is not recorded"},
		{"no RFSTDTC", hgb, &clinical.Subject{Sex: "F", Age: 40}, "RFSTDTC is not recorded"},
		{"no LBDTC", func() clinical.LabResult { l := hgb; l.Date = ""; return l }(), &clinical.Subject{Sex: "F", Age: 40, RefStart: "2014-01-02"}, "no collection date"},
		{"unknown sex", hgb, &clinical.Subject{Sex: "U", Age: 40, RefStart: "2014-01-02"}, `SEX is "U"`},
		// 17 at RFSTDTC and half a year on: 17.5 to 18.5 years.
		{"an age range across two subgroups", func() clinical.LabResult {
			return clinical.LabResult{TestCode: "CHOL", Value: 3, HasValue: true, Unit: "mmol/L", Date: "2014-07-02"}
		}(), &clinical.Subject{Age: 17, RefStart: "2014-01-02"}, `spans the criteria's subgroups "≥ 18 years of age" and "< 18 years of age"`},
		{"a subgroup by sex in the age range", func() clinical.LabResult { l := hgb; l.Date = "2014-07-02"; return l }(), &clinical.Subject{Age: 12, RefStart: "2014-01-02"}, `SEX is ""`},
		// 12 at RFSTDTC and two years on: 14 to 15, past 13 whatever the
		// birthday: a man's 99 g/L is grade 2 (a child's would be 1).
		{"age moves on from RFSTDTC", func() clinical.LabResult { l := hgb; l.Value = 99; l.Date = "2016-01-03"; return l }(), &clinical.Subject{Sex: "M", Age: 12, RefStart: "2014-01-02"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := Grade(DAIDS21, tt.lab, nil, WithSubject(tt.subj))
			r := rs[0]
			if tt.reason == "" {
				if !r.Gradable || r.Grade != 2 {
					t.Errorf("got %+v, want grade 2", r)
				}
				return
			}
			if r.Gradable || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got %+v, want not gradable because %q", r, tt.reason)
			}
		})
	}
	alt := clinical.LabResult{TestCode: "ALT", Value: 100, HasValue: true, High: 40, HasHigh: true}
	if r := Grade(DAIDS21, alt, nil)[0]; !r.Gradable || r.Grade != 2 {
		t.Errorf("ALT without a subject: %+v, want grade 2", r)
	}
}

// With a birth date (BRTHDTC) the age at collection is known to the day,
// so the neonatal subgroups are reached and a birthday is a boundary.
func TestDAIDSAgeFromBirthDate(t *testing.T) {
	grade := func(code string, v float64, unit string, lim limits, date clinical.Date, s *clinical.Subject, dir Direction) Result {
		l := edgeCase{code: code, unit: unit, lim: lim}.lab(v)
		l.Date = date
		return pick(t, Grade(DAIDS21, l, nil, WithSubject(s)), dir)
	}
	born := &clinical.Subject{Sex: "F", BirthDate: "2014-01-01"}
	for _, tt := range []struct {
		name   string
		code   string
		v      float64
		unit   string
		lim    limits
		date   clinical.Date
		subj   *clinical.Subject
		dir    Direction
		want   int
		reason string // for not gradable
	}{
		// Day 6: "< 7 days of age", 1.6 mmol/L is grade 2 (1.50 to < 1.63).
		{"calcium on day 6", "CA", 1.6, "mmol/L", lo(2.1), "2014-01-07T10:00", born, Low, 2, ""},
		// Day 7: "≥ 7 days of age", 1.6 mmol/L is grade 3 (1.53 to < 1.75).
		{"calcium on day 7", "CA", 1.6, "mmol/L", lo(2.1), "2014-01-08", born, Low, 3, ""},
		// Day 28 and day 29: direct bilirubin by value, then by hepatotoxicity.
		{"direct bilirubin on day 28", "BILDIR", 1.2, "mg/dL", hi(0.3), "2014-01-29", born, High, 2, ""},
		{"direct bilirubin on day 29", "BILDIR", 1.2, "mg/dL", hi(0.3), "2014-01-30", born, High, ng, "hepatotoxicity"},
		// The 13th birthday: the day before, a child's table (no SEX
		// needed: 100 g/L is grade 1, 9.5 to < 10.4 g/dL); from that day
		// the tables by sex, which a subject without SEX cannot be graded by.
		{"the day before the 13th birthday", "HGB", 100, "g/L", lo(120), "2027-01-01", &clinical.Subject{BirthDate: "2014-01-02"}, Low, 1, ""},
		{"the 13th birthday", "HGB", 100, "g/L", lo(120), "2027-01-02", &clinical.Subject{BirthDate: "2014-01-02"}, Low, ng, `SEX is ""`},
		// A birth month: 2014-01 is born 0 to 31 days before 2014-02-01,
		// across the 7-day calcium subgroups.
		{"a partial birth date", "CA", 1.6, "mmol/L", lo(2.1), "2014-02-01", &clinical.Subject{BirthDate: "2014-01"}, Low, ng, `(BRTHDTC) spans the criteria's subgroups`},
		// Born in July 2001, collected 2014-07-15: 12.96 to 13.04 years,
		// across 13; AGE 13 at RFSTDTC 2014-07-10 says 13 or more: a
		// man's table, 100 g/L grade 1 (10.0 to 10.9 g/dL).
		{"a birth month alone", "HGB", 100, "g/L", lo(120), "2014-07-15", &clinical.Subject{Sex: "M", BirthDate: "2001-07"}, Low, ng, `(BRTHDTC) spans`},
		{"a birth month with AGE", "HGB", 100, "g/L", lo(120), "2014-07-15", &clinical.Subject{Sex: "M", Age: 13, RefStart: "2014-07-10", BirthDate: "2001-07"}, Low, 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := grade(tt.code, tt.v, tt.unit, tt.lim, tt.date, tt.subj, tt.dir)
			if got := gradeOf(r); got != tt.want || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("grade %s (reason %q), want %s (reason containing %q)", show(got), r.Reason, show(tt.want), tt.reason)
			}
		})
	}
}
