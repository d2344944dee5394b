package criteria

// The criteria as CTCAE v4.03 (June 2010), v5.0 (November 2017) and v6.0
// (July 2025) write them. Each comment quotes the grade ranges the bands
// encode; grades that CTCAE defines only by clinical context are left out
// of the scales, and put in the worst-case scales where a number still
// bounds them (see package ctcae). Cross-checked against pharmaverse
// admiral's independent encoding (atoxgr_criteria_ctcv4, _ctcv5, _ctcv6;
// README, "Validation against admiral").

func over(g int, r Ref, k float64) Band  { return Band{Grade: g, Op: GT, Ref: r, K: k} }
func from(g int, r Ref, k float64) Band  { return Band{Grade: g, Op: GE, Ref: r, K: k} }
func under(g int, r Ref, k float64) Band { return Band{Grade: g, Op: LT, Ref: r, K: k} }

func upTo(g int, r Ref, k float64) Band { return Band{Grade: g, Op: LE, Ref: r, K: k} }

const fastingNeeded = "fasting status not recorded; below the non-fasting thresholds the criteria need a fasting sample"

func fasting(b Band) Band { b.Needs = fastingNeeded; return b }

// withWorst gives t the scales the worst-case reading grades by.
func withWorst(t Term, worst ...Scale) Term { t.Worst = worst; return t }

// overEach makes grades 1, 2, ... start above successive multiples of r.
func overEach(r Ref, ks ...float64) []Band {
	bs := make([]Band, len(ks))
	for i, k := range ks {
		bs[i] = over(i+1, r, k)
	}
	return bs
}

// belowLLNThen is the common "<LLN - a; <a - b; <b - c; <c" pattern:
// grade 1 below LLN, then grades 2, 3, ... below absolute values.
func belowLLNThen(ks ...float64) []Band {
	bs := []Band{under(1, LLN, 1)}
	for i, k := range ks {
		bs = append(bs, under(i+2, Abs, k))
	}
	return bs
}

// aboveULNThen is ">ULN - a; >a - b; >b - c; >c".
func aboveULNThen(ks ...float64) []Band {
	bs := []Band{over(1, ULN, 1)}
	for i, k := range ks {
		bs = append(bs, over(i+2, Abs, k))
	}
	return bs
}

func relative(bs ...Band) []Scale { return []Scale{{Bands: bs}} }

func in(unit string, bs []Band) Scale { return Scale{Unit: unit, Bands: bs} }

// Terms graded the same way by both versions.
var (
	// ">ULN - 2.5; >2.5 - 5; >5 - 10; >10 x ULN"
	cpkIncreased = Term{Name: "CPK increased", Dir: High, Scales: relative(overEach(ULN, 1, 2.5, 5, 10)...)}
	// "<LLN - 3 g/dL, <LLN - 30 g/L; <3 - 2 g/dL, <30 - 20 g/L; <2 g/dL, <20 g/L"
	hypoalbuminemia = Term{Name: "Hypoalbuminemia", Dir: Low, Scales: []Scale{
		in("g/L", belowLLNThen(30, 20)),
		in("g/dL", belowLLNThen(3, 2)),
	}}
	// "<LLN - 10.0 g/dL, 6.2 mmol/L, 100 g/L; <10.0 - 8.0 g/dL, <6.2 - 4.9
	// mmol/L, <100 - 80 g/L; <8.0 g/dL, <4.9 mmol/L, <80 g/L"
	anemia = Term{Name: "Anemia", Dir: Low, Scales: []Scale{
		in("g/L", belowLLNThen(100, 80)),
		in("g/dL", belowLLNThen(10, 8)),
		in("mmol/L", belowLLNThen(6.2, 4.9)),
	}}
	// "<LLN - 75.0; <75.0 - 50.0; <50.0 - 25.0; <25.0 x 10e9/L"
	plateletsDecreased = Term{Name: "Platelet count decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(75, 50, 25))}}
	// "<LLN - 3.0; <3.0 - 2.0; <2.0 - 1.0; <1.0 x 10e9/L"
	wbcDecreased = Term{Name: "White blood cell decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(3, 2, 1))}}
	// Grade 3 ">100,000/mm3"; grade 4 is leucostasis, grades 1-2 undefined.
	leukocytosis = Term{Name: "Leukocytosis", Dir: High, Scales: []Scale{in("10^9/L", []Band{over(3, Abs, 100)})}}
	// "<LLN - 1.5; <1.5 - 1.0; <1.0 - 0.5; <0.5 x 10e9/L"
	neutrophilsDecreased = Term{Name: "Neutrophil count decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(1.5, 1, 0.5))}}
	// "<LLN - 0.8; <0.8 - 0.5; <0.5 - 0.2; <0.2 x 10e9/L"
	lymphocytesDecreased = Term{Name: "Lymphocyte count decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(0.8, 0.5, 0.2))}}
	// Grade 2 ">4000/mm3 - 20,000/mm3", grade 3 ">20,000/mm3".
	lymphocytesIncreased = Term{Name: "Lymphocyte count increased", Dir: High, Scales: []Scale{in("10^9/L", []Band{over(2, Abs, 4), over(3, Abs, 20)})}}
	// "<LLN - 3.0 mmol/L; [grade 2:] Symptomatic with <LLN - 3.0 mmol/L;
	// intervention indicated; <3.0 - 2.5; <2.5". Worst case: symptomatic.
	hypokalemia = withWorst(Term{Name: "Hypokalemia", Dir: Low, Scales: []Scale{in("mmol/L", []Band{under(1, LLN, 1), under(3, Abs, 3), under(4, Abs, 2.5)})}},
		in("mmol/L", []Band{under(2, LLN, 1), under(3, Abs, 3), under(4, Abs, 2.5)}))
	// ">ULN - 5.5; >5.5 - 6.0; >6.0 - 7.0; >7.0 mmol/L"
	hyperkalemia = Term{Name: "Hyperkalemia", Dir: High, Scales: []Scale{in("mmol/L", aboveULNThen(5.5, 6, 7))}}
	// ">ULN - 150; >150 - 155; >155 - 160; >160 mmol/L"
	hypernatremia = Term{Name: "Hypernatremia", Dir: High, Scales: []Scale{in("mmol/L", aboveULNThen(150, 155, 160))}}
	// Corrected serum calcium "<LLN - 8.0 mg/dL, 2.0 mmol/L; <8.0 - 7.0
	// mg/dL, <2.0 - 1.75 mmol/L; <7.0 - 6.0 mg/dL, <1.75 - 1.5 mmol/L;
	// <6.0 mg/dL, <1.5 mmol/L"
	hypocalcemia = Term{Name: "Hypocalcemia", Dir: Low, AlbuminCorrected: true, Scales: []Scale{
		in("mmol/L", belowLLNThen(2, 1.75, 1.5)),
		in("mg/dL", belowLLNThen(8, 7, 6)),
	}}
	// Corrected serum calcium ">ULN - 11.5 mg/dL, 2.9 mmol/L; >11.5 - 12.5
	// mg/dL, >2.9 - 3.1 mmol/L; >12.5 - 13.5 mg/dL, >3.1 - 3.4 mmol/L;
	// >13.5 mg/dL, >3.4 mmol/L"
	hypercalcemia = Term{Name: "Hypercalcemia", Dir: High, AlbuminCorrected: true, Scales: []Scale{
		in("mmol/L", aboveULNThen(2.9, 3.1, 3.4)),
		in("mg/dL", aboveULNThen(11.5, 12.5, 13.5)),
	}}
	// Ionized calcium "<LLN - 1.0; <1.0 - 0.9; <0.9 - 0.8; <0.8 mmol/L"
	hypocalcemiaIonized = Term{Name: "Hypocalcemia", Dir: Low, Scales: []Scale{in("mmol/L", belowLLNThen(1, 0.9, 0.8))}}
	// Ionized calcium ">ULN - 1.5; >1.5 - 1.6; >1.6 - 1.8; >1.8 mmol/L"
	hypercalcemiaIonized = Term{Name: "Hypercalcemia", Dir: High, Scales: []Scale{in("mmol/L", aboveULNThen(1.5, 1.6, 1.8))}}
	// "<LLN - 1.2 mg/dL, 0.5 mmol/L; <1.2 - 0.9 mg/dL, <0.5 - 0.4 mmol/L;
	// <0.9 - 0.7 mg/dL, <0.4 - 0.3 mmol/L; <0.7 mg/dL, <0.3 mmol/L"
	hypomagnesemia = Term{Name: "Hypomagnesemia", Dir: Low, Scales: []Scale{
		in("mmol/L", belowLLNThen(0.5, 0.4, 0.3)),
		in("mg/dL", belowLLNThen(1.2, 0.9, 0.7)),
	}}
	// ">ULN - 3.0 mg/dL, 1.23 mmol/L; [no grade 2]; >3.0 - 8.0 mg/dL,
	// >1.23 - 3.30 mmol/L; >8.0 mg/dL, >3.30 mmol/L"
	hypermagnesemia = Term{Name: "Hypermagnesemia", Dir: High, Scales: []Scale{
		in("mmol/L", []Band{over(1, ULN, 1), over(3, Abs, 1.23), over(4, Abs, 3.3)}),
		in("mg/dL", []Band{over(1, ULN, 1), over(3, Abs, 3), over(4, Abs, 8)}),
	}}
	// "<LLN - 55 mg/dL, 3.0 mmol/L; <55 - 40 mg/dL, <3.0 - 2.2 mmol/L;
	// <40 - 30 mg/dL, <2.2 - 1.7 mmol/L; <30 mg/dL, <1.7 mmol/L"
	hypoglycemia = Term{Name: "Hypoglycemia", Dir: Low, Scales: []Scale{
		in("mmol/L", belowLLNThen(3, 2.2, 1.7)),
		in("mg/dL", belowLLNThen(55, 40, 30)),
	}}
	// ">ULN - 300 mg/dL, 7.75 mmol/L; >300 - 400 mg/dL, >7.75 - 10.34
	// mmol/L; >400 - 500 mg/dL, >10.34 - 12.92 mmol/L; >500 mg/dL, >12.92"
	cholesterolHigh = Term{Name: "Cholesterol high", Dir: High, Scales: []Scale{
		in("mmol/L", aboveULNThen(7.75, 10.34, 12.92)),
		in("mg/dL", aboveULNThen(300, 400, 500)),
	}}
	// "150 mg/dL - 300 mg/dL, 1.71 mmol/L - 3.42 mmol/L; >300 - 500 mg/dL,
	// >3.42 - 5.7 mmol/L; >500 - 1000 mg/dL, >5.7 - 11.4 mmol/L; >1000
	// mg/dL, >11.4 mmol/L". Grade 1 has no ">": 1.71 mmol/L itself is
	// grade 1 (admiral reads it as ">1.71").
	hypertriglyceridemia = Term{Name: "Hypertriglyceridemia", Dir: High, Scales: []Scale{
		in("mmol/L", []Band{from(1, Abs, 1.71), over(2, Abs, 3.42), over(3, Abs, 5.7), over(4, Abs, 11.4)}),
		in("mg/dL", []Band{from(1, Abs, 150), over(2, Abs, 300), over(3, Abs, 500), over(4, Abs, 1000)}),
	}}
	// v5.0 and v6.0: ">ULN without physiologic consequences; [no grade 2];
	// >ULN with physiologic consequences". Worst case: with consequences.
	hyperuricemia = withWorst(Term{Name: "Hyperuricemia", Dir: High, Scales: relative(over(1, ULN, 1))}, relative(over(3, ULN, 1))...)
	// v4.03: ">ULN - 1.5 x ULN; >1.5 - 2.5 x ULN; >2.5 x ULN; hemorrhage";
	// v5.0 and v6.0: ">ULN - 1.5 x ULN; >1.5 - 2.5 x ULN; >2.5 x ULN; bleeding"
	apttProlonged = Term{Name: "Activated partial thromboplastin time prolonged", Dir: High, Scales: relative(overEach(ULN, 1, 1.5, 2.5)...)}
	// v4.03, v5.0 and v6.0: "<LLN - 500/mm3; <LLN - 0.5 x 10e9 /L; <500 - 200/mm3;
	// <0.5 - 0.2 x 10e9 /L; <200 - 50/mm3; <0.2 x 0.05 - 10e9 /L; <50/mm3;
	// <0.05 x 10e9 /L"
	cd4Decreased = Term{Name: "CD4 lymphocytes decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(0.5, 0.2, 0.05))}}
	// v4.03, v5.0 and v6.0: "<LLN" (grade 1 only)
	haptoglobinDecreased = Term{Name: "Haptoglobin decreased", Dir: Low, Scales: relative(under(1, LLN, 1))}
	// v5.0 and v6.0: "<1.0 - 0.75 x LLN; if abnormal, <25% decrease from
	// baseline; <0.75 - 0.5 x LLN; if abnormal, 25 - <50% decrease from
	// baseline; <0.5 - 0.25 x LLN; if abnormal, 50 - <75% decrease from
	// baseline; <0.25 x LLN; if abnormal, 75% decrease from baseline;
	// absolute value <50 mg/dL". "If abnormal" is read as "if the baseline
	// was below LLN", as the liver terms say it: the decreases from baseline
	// grade instead of the LLN multiples. (admiral reads it as "if the value
	// is below LLN" and grades by both.)
	fibrinogenDecreased = Term{Name: "Fibrinogen decreased", Dir: Low, Scales: []Scale{{
		Unit:          "g/L",
		Bands:         []Band{under(1, LLN, 1), under(2, LLN, 0.75), under(3, LLN, 0.5), under(4, LLN, 0.25), under(4, Abs, 0.5)},
		IfBaselineLow: []Band{under(1, Base, 1), upTo(2, Base, 0.75), upTo(3, Base, 0.5), upTo(4, Base, 0.25), under(4, Abs, 0.5)},
	}}}
)

// v4.03's hyperuricemia and fibrinogen, which v5.0 rewrote.
var (
	// ">ULN - 10 mg/dL (0.59 mmol/L) without physiologic consequences;
	// [no grade 2]; >ULN - 10 mg/dL (0.59 mmol/L) with physiologic
	// consequences; >10 mg/dL; >0.59 mmol/L; life-threatening
	// consequences". CTCAE's semicolon is "or": above 0.59 mmol/L (10
	// mg/dL) is grade 4 by the number alone, as admiral grades it. Worst
	// case: with physiologic consequences.
	hyperuricemiaV4 = withWorst(Term{Name: "Hyperuricemia", Dir: High, Scales: []Scale{
		in("mmol/L", []Band{over(1, ULN, 1), over(4, Abs, 0.59)}),
		in("mg/dL", []Band{over(1, ULN, 1), over(4, Abs, 10)}),
	}}, in("mmol/L", []Band{over(3, ULN, 1), over(4, Abs, 0.59)}), in("mg/dL", []Band{over(3, ULN, 1), over(4, Abs, 10)}))
	// "<1.0 - 0.75 x LLN or <25% decrease from baseline; <0.75 - 0.5 x LLN
	// or 25 - <50% decrease from baseline; <0.5 - 0.25 x LLN or 50 - <75%
	// decrease from baseline; <0.25 x LLN or 75% decrease from baseline or
	// absolute value <50 mg/dL". "Or": the worse of the LLN multiple and
	// the decrease from baseline, whatever the baseline was, so any
	// decrease from baseline is at least grade 1 (admiral reads it the
	// same; v5.0 limited the decreases to an abnormal baseline). Without a
	// baseline only a grade no decrease can exceed is certain.
	fibrinogenDecreasedV4 = Term{Name: "Fibrinogen decreased", Dir: Low, Scales: []Scale{in("g/L", []Band{
		under(1, LLN, 1), under(1, Base, 1),
		under(2, LLN, 0.75), upTo(2, Base, 0.75),
		under(3, LLN, 0.5), upTo(3, Base, 0.5),
		under(4, LLN, 0.25), upTo(4, Base, 0.25), under(4, Abs, 0.5),
	})}}
)

// hemoglobinIncreased is "Increase in >0 - 2; >2 - 4; >4 g/dL". v4.03
// says "above ULN or above baseline if baseline is above ULN"; v5.0 only
// "Increase in", defining the term as hemoglobin "above normal", which
// (like admiral) is read as above ULN.
func hemoglobinIncreased(baselineRule bool) Term {
	t := Term{Name: "Hemoglobin increased", Dir: High, Scales: []Scale{
		in("g/L", []Band{over(1, ULNPlus, 0), over(2, ULNPlus, 20), over(3, ULNPlus, 40)}),
		in("g/dL", []Band{over(1, ULNPlus, 0), over(2, ULNPlus, 2), over(3, ULNPlus, 4)}),
	}}
	if baselineRule {
		t.Scales[0].IfBaselineHigh = []Band{over(1, BasePlus, 0), over(2, BasePlus, 20), over(3, BasePlus, 40)}
		t.Scales[1].IfBaselineHigh = []Band{over(1, BasePlus, 0), over(2, BasePlus, 2), over(3, BasePlus, 4)}
	}
	return t
}

// Hyperglycemia, v4.03 and v6.0: "Fasting glucose value >ULN - 160 mg/dL,
// >ULN - 8.9 mmol/L; Fasting glucose value >160 - 250 mg/dL, >8.9 - 13.9
// mmol/L; >250 - 500 mg/dL, >13.9 - 27.8 mmol/L; >500 mg/dL, >27.8 mmol/L".
var hyperglycemiaByValue = Term{Name: "Hyperglycemia", Dir: High, Scales: []Scale{
	in("mmol/L", []Band{fasting(over(1, ULN, 1)), fasting(over(2, Abs, 8.9)), over(3, Abs, 13.9), over(4, Abs, 27.8)}),
	in("mg/dL", []Band{fasting(over(1, ULN, 1)), fasting(over(2, Abs, 160)), over(3, Abs, 250), over(4, Abs, 500)}),
}}

// liverV6 is v6.0's "x ULN if baseline was normal or less than normal;
// x baseline if baseline was >ULN": ulnKs the multiples of ULN of grades
// 1-4, and above a high baseline grade 1 from 1.0 x baseline (inclusive),
// then grades 2-4 above the given multiples of it.
func liverV6(name string, ulnKs []float64, baseKs ...float64) Term {
	abnormal := []Band{from(1, Base, 1)}
	for i, k := range baseKs {
		abnormal = append(abnormal, over(i+2, Base, k))
	}
	return Term{Name: name, Dir: High, Scales: []Scale{{Bands: overEach(ULN, ulnKs...), IfBaselineHigh: abnormal}}}
}

// liverV5 is v5.0's "x ULN if baseline was normal; x baseline if baseline
// was abnormal", with ks the multiples of grades 1-4 and baseG1 the
// abnormal-baseline grade 1 band, whose bound differs per test.
func liverV5(name string, baseG1 Band, ks ...float64) Term {
	abnormal := []Band{baseG1}
	for i, k := range ks[1:] {
		abnormal = append(abnormal, over(i+2, Base, k))
	}
	return Term{Name: name, Dir: High, Scales: []Scale{{Bands: overEach(ULN, ks...), IfBaselineHigh: abnormal}}}
}

var (
	// v5.0 and v6.0 (v6.0 writes "125 - <130"): "<LLN - 130; 125-129
	// mmol/L and asymptomatic; 125-129 symptomatic, 120-124 regardless of
	// symptoms; <120 mmol/L". Worst case: symptomatic.
	hyponatremiaV5 = withWorst(Term{Name: "Hyponatremia", Dir: Low, Scales: []Scale{in("mmol/L", []Band{under(1, LLN, 1), under(2, Abs, 130), under(3, Abs, 125), under(4, Abs, 120)})}},
		in("mmol/L", []Band{under(1, LLN, 1), under(3, Abs, 130), under(4, Abs, 120)}))
	// v5.0 and v6.0: ">1.2 - 1.5; >1 - 1.5 x baseline if on anticoagulation;
	// >1.5 - 2.5; >1.5 - 2.5 x baseline if on anticoagulation; >2.5; >2.5
	// x baseline if on anticoagulation" (a ratio). Worst case: on
	// anticoagulation.
	inrV5 = withWorst(Term{Name: "INR increased", Dir: High, Scales: relative(over(1, Abs, 1.2), over(2, Abs, 1.5), over(3, Abs, 2.5))},
		relative(over(1, Abs, 1.2), over(2, Abs, 1.5), over(3, Abs, 2.5), over(1, Base, 1), over(2, Base, 1.5), over(3, Base, 2.5))...)
)

// pancreaticEnzyme is lipase and amylase of v5.0 and v6.0: grade 1 above
// ULN, grade 2 above 1.5 x ULN, then grade 3 above asymptomatic3 x ULN
// when asymptomatic, or above symptomatic3 x ULN with grade 4 above
// symptomatic4 x ULN with signs or symptoms (the worst case).
func pancreaticEnzyme(name string, asymptomatic3, symptomatic3, symptomatic4 float64) Term {
	return withWorst(Term{Name: name, Dir: High, Scales: relative(overEach(ULN, 1, 1.5, asymptomatic3)...)},
		relative(overEach(ULN, 1, 1.5, symptomatic3, symptomatic4)...)...)
}

const (
	hyperglycemiaV5 = "CTCAE v5.0 grades hyperglycemia by the change in glucose management it needs, not by glucose value"
	hypophosV5      = "CTCAE v5.0 grades hypophosphatemia by the intervention it needs, not by phosphate value"
)

// V403 is CTCAE v4.03 (June 2010): the terms of each analyte, low before high.
var V403 = map[string][]Term{
	// ">ULN - 3.0; >3.0 - 5.0; >5.0 - 20.0; >20.0 x ULN"
	"ALT": {{Name: "Alanine aminotransferase increased", Dir: High, Scales: relative(overEach(ULN, 1, 3, 5, 20)...)}},
	"AST": {{Name: "Aspartate aminotransferase increased", Dir: High, Scales: relative(overEach(ULN, 1, 3, 5, 20)...)}},
	// ">ULN - 2.5; >2.5 - 5.0; >5.0 - 20.0; >20.0 x ULN"
	"ALP": {{Name: "Alkaline phosphatase increased", Dir: High, Scales: relative(overEach(ULN, 1, 2.5, 5, 20)...)}},
	"GGT": {{Name: "GGT increased", Dir: High, Scales: relative(overEach(ULN, 1, 2.5, 5, 20)...)}},
	// ">ULN - 1.5; >1.5 - 3.0; >3.0 - 10.0; >10.0 x ULN"
	"BILI": {{Name: "Blood bilirubin increased", Dir: High, Scales: relative(overEach(ULN, 1, 1.5, 3, 10)...)}},
	// ">1 - 1.5 x baseline, >ULN - 1.5 x ULN; >1.5 - 3.0 x baseline,
	// >1.5 - 3.0 x ULN; >3.0 x baseline, >3.0 - 6.0 x ULN; >6.0 x ULN"
	"CREAT": {{Name: "Creatinine increased", Dir: High, Scales: relative(
		over(1, ULN, 1), over(1, Base, 1), over(2, ULN, 1.5), over(2, Base, 1.5),
		over(3, ULN, 3), over(3, Base, 3), over(4, ULN, 6))}},
	"CK":     {cpkIncreased},
	"ALB":    {hypoalbuminemia},
	"HGB":    {anemia, hemoglobinIncreased(true)},
	"PLAT":   {plateletsDecreased},
	"WBC":    {wbcDecreased, leukocytosis},
	"NEUT":   {neutrophilsDecreased},
	"LYM":    {lymphocytesDecreased, lymphocytesIncreased},
	"K":      {hypokalemia, hyperkalemia},
	"CA":     {hypocalcemia, hypercalcemia},
	"CACORR": {hypocalcemia, hypercalcemia},
	"CAION":  {hypocalcemiaIonized, hypercalcemiaIonized},
	"MG":     {hypomagnesemia, hypermagnesemia},
	// "<LLN - 130; [no grade 2]; <130 - 120; <120 mmol/L"
	"SODIUM": {{Name: "Hyponatremia", Dir: Low, Scales: []Scale{in("mmol/L", []Band{under(1, LLN, 1), under(3, Abs, 130), under(4, Abs, 120)})}}, hypernatremia},
	// Hyperglycemia: "Fasting glucose value >ULN - 160 mg/dL, >ULN - 8.9
	// mmol/L; Fasting glucose value >160 - 250 mg/dL, >8.9 - 13.9 mmol/L;
	// >250 - 500 mg/dL, >13.9 - 27.8 mmol/L; >500 mg/dL, >27.8 mmol/L".
	"GLUC": {hypoglycemia, hyperglycemiaByValue},
	// "<LLN - 2.5 mg/dL, 0.8 mmol/L; <2.5 - 2.0 mg/dL, <0.8 - 0.6 mmol/L;
	// <2.0 - 1.0 mg/dL, <0.6 - 0.3 mmol/L; <1.0 mg/dL, <0.3 mmol/L"
	"PHOS": {{Name: "Hypophosphatemia", Dir: Low, Scales: []Scale{
		in("mmol/L", belowLLNThen(0.8, 0.6, 0.3)),
		in("mg/dL", belowLLNThen(2.5, 2, 1)),
	}}},
	"CHOL": {cholesterolHigh},
	"TRIG": {hypertriglyceridemia},
	// ">ULN - 1.5; >1.5 - 2.0; >2.0 - 5.0; >5.0 x ULN"
	"LIPASE":  {{Name: "Lipase increased", Dir: High, Scales: relative(overEach(ULN, 1, 1.5, 2, 5)...)}},
	"AMYLASE": {{Name: "Serum amylase increased", Dir: High, Scales: relative(overEach(ULN, 1, 1.5, 2, 5)...)}},
	// ">1 - 1.5 x ULN; >1 - 1.5 times above baseline if on
	// anticoagulation; >1.5 - 2.5; >2.5". LB does not say whether the
	// subject is on anticoagulation; the worst case assumes so.
	"INR": {withWorst(Term{Name: "INR increased", Dir: High, Scales: relative(overEach(ULN, 1, 1.5, 2.5)...)},
		relative(append(overEach(ULN, 1, 1.5, 2.5), overEach(Base, 1, 1.5, 2.5)...)...)...)},
	"URATE":   {hyperuricemiaV4},
	"APTT":    {apttProlonged},
	"CD4":     {cd4Decreased},
	"FIBRINO": {fibrinogenDecreasedV4},
	"HAPTOG":  {haptoglobinDecreased},
}

// V50 is CTCAE v5.0 (November 2017).
var V50 = map[string][]Term{
	// ">ULN - 3.0 x ULN if baseline was normal; 1.5 - 3.0 x baseline if
	// baseline was abnormal; >3.0 - 5.0; >5.0 - 20.0; >20.0"
	"ALT": {liverV5("Alanine aminotransferase increased", from(1, Base, 1.5), 1, 3, 5, 20)},
	"AST": {liverV5("Aspartate aminotransferase increased", from(1, Base, 1.5), 1, 3, 5, 20)},
	// ">ULN - 2.5 x ULN if normal; 2.0 - 2.5 x baseline if abnormal;
	// >2.5 - 5.0; >5.0 - 20.0; >20.0"
	"ALP": {liverV5("Alkaline phosphatase increased", from(1, Base, 2), 1, 2.5, 5, 20)},
	"GGT": {liverV5("GGT increased", from(1, Base, 2), 1, 2.5, 5, 20)},
	// ">ULN - 1.5 x ULN if normal; >1.0 - 1.5 x baseline if abnormal;
	// >1.5 - 3.0; >3.0 - 10.0; >10.0"
	"BILI": {liverV5("Blood bilirubin increased", over(1, Base, 1), 1, 1.5, 3, 10)},
	// ">ULN - 1.5 x ULN; >1.5 - 3.0 x baseline, >1.5 - 3.0 x ULN;
	// >3.0 x baseline, >3.0 - 6.0 x ULN; >6.0 x ULN"
	"CREAT": {{Name: "Creatinine increased", Dir: High, Scales: relative(
		over(1, ULN, 1), over(2, ULN, 1.5), over(2, Base, 1.5),
		over(3, ULN, 3), over(3, Base, 3), over(4, ULN, 6))}},
	"CK":     {cpkIncreased},
	"ALB":    {hypoalbuminemia},
	"HGB":    {anemia, hemoglobinIncreased(false)},
	"PLAT":   {plateletsDecreased},
	"WBC":    {wbcDecreased, leukocytosis},
	"NEUT":   {neutrophilsDecreased},
	"LYM":    {lymphocytesDecreased, lymphocytesIncreased},
	"K":      {hypokalemia, hyperkalemia},
	"CA":     {hypocalcemia, hypercalcemia},
	"CACORR": {hypocalcemia, hypercalcemia},
	"CAION":  {hypocalcemiaIonized, hypercalcemiaIonized},
	"MG":     {hypomagnesemia, hypermagnesemia},
	// "<LLN - 130; 125-129 mmol/L and asymptomatic; 125-129 symptomatic,
	// 120-124 regardless of symptoms; <120 mmol/L"
	"SODIUM": {hyponatremiaV5, hypernatremia},
	"GLUC":   {hypoglycemia, {Name: "Hyperglycemia", Dir: High, NotGradable: hyperglycemiaV5}},
	"PHOS":   {{Name: "Hypophosphatemia", Dir: Low, NotGradable: hypophosV5}},
	"CHOL":   {cholesterolHigh},
	"TRIG":   {hypertriglyceridemia},
	// ">ULN - 1.5; >1.5 - 2.0, >2.0 - 5.0 x ULN and asymptomatic; >2.0 -
	// 5.0 x ULN with signs or symptoms, >5.0 x ULN and asymptomatic;
	// >5.0 x ULN and with signs or symptoms". Asymptomatic, grade 3
	// starts above 5 x ULN; with symptoms above 2 x ULN.
	"LIPASE":  {pancreaticEnzyme("Lipase increased", 5, 2, 5)},
	"AMYLASE": {pancreaticEnzyme("Serum amylase increased", 5, 2, 5)},
	"INR":     {inrV5},
	"URATE":   {hyperuricemia},
	"APTT":    {apttProlonged},
	"CD4":     {cd4Decreased},
	"FIBRINO": {fibrinogenDecreased},
	"HAPTOG":  {haptoglobinDecreased},
}

// V60 is CTCAE v6.0 (July 2025).
//
// v6.0 drops CPK increased and lymphocyte count decreased, renames
// platelet count decreased to thrombocytopenia, adds LDH, creatinine
// clearance, HDL and LDL terms, grades hyperglycemia by value again, and
// grades the liver tests and creatinine against an abnormal baseline
// separately for a baseline above ULN and below LLN. The quotes are
// the grade text of admiral's v6.0 metadata (ncictcaev6.json), the source
// at hand; hypophosphatemia is not graded, as that metadata has no such
// term.
var V60 = map[string][]Term{
	// ">ULN - 3.0 x ULN if baseline was normal or less than normal; 1.0
	// - 1.5 x baseline if baseline was >ULN; >3.0 - 5.0 x ULN ...; >1.5 -
	// 2.0 x baseline ...; >5.0 - 20.0 x ULN ...; >2.0 - 4.0 x baseline if
	// baseline was >ULN up to 5 x ULN; >20.0 x ULN ...; >4.0 x baseline"
	// ("up to 5 x ULN" is not applied; admiral does not either).
	"ALT": {liverV6("Alanine aminotransferase increased", []float64{1, 3, 5, 20}, 1.5, 2, 4)},
	"AST": {liverV6("Aspartate aminotransferase increased", []float64{1, 3, 5, 20}, 1.5, 2, 4)},
	// ">Baseline and ULN" (grade 1 only): above both, that is above the
	// baseline when it was above ULN, else above ULN.
	"ALP": {{Name: "Alkaline phosphatase increased", Dir: High, Scales: []Scale{{Bands: []Band{over(1, ULN, 1)}, IfBaselineHigh: []Band{over(1, Base, 1)}}}}},
	// ">ULN - 2.5 x ULN if baseline was normal or less than normal; 1.0 -
	// 1.5 x baseline if baseline was >ULN; >2.5 - 5.0 x ULN; >1.5 - 3.0
	// x baseline; >5.0 - 20.0 x ULN; >3.0 - 10.0 x baseline; >20.0 x
	// ULN; >10.0 x baseline"
	"GGT": {liverV6("GGT increased", []float64{1, 2.5, 5, 20}, 1.5, 3, 10)},
	// ">ULN - 1.5 x ULN if baseline was normal or less than normal; 1.0 -
	// 1.5 x baseline if baseline was >ULN; >1.5 - 3.0 x ULN; >1.5 - 2.5 x
	// baseline; >3.0 - 10.0 x ULN; >2.5 - 10.0 x baseline; >10.0 x ULN;
	// >10.0 x baseline"
	"BILI": {liverV6("Blood bilirubin increased", []float64{1, 1.5, 3, 10}, 1.5, 2.5, 10)},
	// ">ULN - 1.5 x ULN; >1.5 - 3.0 x if baseline is below LLN; >1.5 -
	// 3.0 x ULN; >3.0 x if baseline is below LLN; >3.0 - 6.0 x ULN; >6.0
	// x ULN"
	"CREAT": {{Name: "Creatinine increased", Dir: High, Scales: []Scale{{
		Bands:         overEach(ULN, 1, 1.5, 3, 6),
		IfBaselineLow: append(overEach(ULN, 1, 1.5, 3, 6), over(2, Base, 1.5), over(3, Base, 3)),
	}}}},
	// "26 - 49 ml/min; 10 - 25 ml/min" (grades 2 and 3; none given
	// below 10 ml/min)
	"CREATCLR": {{Name: "Creatinine clearance decreased", Dir: Low, Floor: 10,
		Scales: []Scale{in("mL/min", []Band{upTo(2, Abs, 49), upTo(3, Abs, 25)})}}},
	// ">ULN" (grade 1 only)
	"LDH": {{Name: "Blood lactate dehydrogenase increased", Dir: High, Scales: relative(over(1, ULN, 1))}},
	// "<LLN" (grade 1 only)
	"HDL": {{Name: "HDL decreased", Dir: Low, Scales: relative(under(1, LLN, 1))}},
	// ">ULN" (grade 1 only)
	"LDL": {{Name: "LDL increased", Dir: High, Scales: relative(over(1, ULN, 1))}},
	"ALB": {hypoalbuminemia},
	"HGB": {anemia, hemoglobinIncreased(false)},
	// "<LLN - 75,000/mm3; <LLN - 75.0 x 10^9/L; <75.0 - 50.0 x 10^9/L;
	// <50.0 - 10.0 x 10^9/L; transfusion indicated; <10.0 x 10^9/L"
	"PLAT": {{Name: "Thrombocytopenia", Dir: Low, Scales: []Scale{in("10^9/L", belowLLNThen(75, 50, 10))}}},
	"WBC":  {wbcDecreased, leukocytosis},
	// "<1.5 - 1.0 x 10^9/L; <1.0 - 0.5; <0.5 - 0.1; <0.1 x 10^9/L" (no
	// grade below LLN only)
	"NEUT":   {{Name: "Neutrophil count decreased", Dir: Low, Scales: []Scale{in("10^9/L", []Band{under(1, Abs, 1.5), under(2, Abs, 1), under(3, Abs, 0.5), under(4, Abs, 0.1)})}}},
	"LYM":    {lymphocytesIncreased},
	"K":      {hypokalemia, hyperkalemia},
	"SODIUM": {hyponatremiaV5, hypernatremia},
	"CA":     {hypocalcemia, hypercalcemia},
	"CACORR": {hypocalcemia, hypercalcemia},
	"CAION":  {hypocalcemiaIonized, hypercalcemiaIonized},
	"MG":     {hypomagnesemia, hypermagnesemia},
	"GLUC":   {hypoglycemia, hyperglycemiaByValue},
	"CHOL":   {cholesterolHigh},
	"TRIG":   {hypertriglyceridemia},
	// ">ULN - 1.5 x ULN; >1.5 - 3.0 x ULN; >3.0 - 5.0 x ULN and
	// asymptomatic; >3.0 - 5.0 x ULN with signs or symptoms; >5.0 x ULN
	// and asymptomatic; >5.0 x ULN and with signs or symptoms"
	"LIPASE": {pancreaticEnzyme("Lipase increased", 5, 3, 5)},
	// ">ULN - 1.5 x ULN; >1.5 - 2.0 x ULN; >2.0 - 5.0 x ULN and
	// asymptomatic or with mild signs or symptoms; >2.0 - 5.0 x ULN with
	// moderate or severe signs or symptoms; >5.0 x ULN and asymptomatic;
	// >5.0 x ULN and with signs or symptoms"
	"AMYLASE": {pancreaticEnzyme("Serum amylase increased", 5, 2, 5)},
	"INR":     {inrV5},
	"URATE":   {hyperuricemia},
	"APTT":    {apttProlonged},
	"CD4":     {cd4Decreased},
	"FIBRINO": {fibrinogenDecreased},
	"HAPTOG":  {haptoglobinDecreased},
}

func init() {
	for _, byAnalyte := range []map[string][]Term{V403, V50, V60, DAIDS21} {
		for _, terms := range byAnalyte {
			for i := range terms {
				t := &terms[i]
				normScales(t.Scales, t.Worst)
				for j := range t.Subgroups {
					normScales(t.Subgroups[j].Scales, t.Subgroups[j].Worst)
				}
			}
		}
	}
}

func normScales(lists ...[]Scale) {
	for _, scales := range lists {
		for i := range scales {
			scales[i].norm = NormUnit(scales[i].Unit)
		}
	}
}
