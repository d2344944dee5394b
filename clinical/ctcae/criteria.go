package ctcae

// The criteria as CTCAE v4.03 (June 2010), v5.0 (November 2017) and v6.0
// (July 2025) write them. Each comment quotes the grade ranges the bands
// encode; grades that CTCAE defines only by clinical context are left out
// of the scales, and put in the worst-case scales where a number still
// bounds them (see the package comment). Cross-checked against pharmaverse
// admiral's independent encoding (atoxgr_criteria_ctcv4, _ctcv5, _ctcv6;
// README, "Validation against admiral").

func over(g int, r ref, k float64) band  { return band{grade: g, op: opGT, ref: r, k: k} }
func from(g int, r ref, k float64) band  { return band{grade: g, op: opGE, ref: r, k: k} }
func under(g int, r ref, k float64) band { return band{grade: g, op: opLT, ref: r, k: k} }

func upTo(g int, r ref, k float64) band { return band{grade: g, op: opLE, ref: r, k: k} }

const fastingNeeded = "fasting status not recorded; below the non-fasting thresholds the criteria need a fasting sample"

func fasting(b band) band { b.needs = fastingNeeded; return b }

// withWorst gives t the scales WorstCase grades by.
func withWorst(t term, worst ...scale) term { t.worst = worst; return t }

// overEach makes grades 1, 2, ... start above successive multiples of r.
func overEach(r ref, ks ...float64) []band {
	bs := make([]band, len(ks))
	for i, k := range ks {
		bs[i] = over(i+1, r, k)
	}
	return bs
}

// belowLLNThen is the common "<LLN - a; <a - b; <b - c; <c" pattern:
// grade 1 below LLN, then grades 2, 3, ... below absolute values.
func belowLLNThen(ks ...float64) []band {
	bs := []band{under(1, lln, 1)}
	for i, k := range ks {
		bs = append(bs, under(i+2, abs, k))
	}
	return bs
}

// aboveULNThen is ">ULN - a; >a - b; >b - c; >c".
func aboveULNThen(ks ...float64) []band {
	bs := []band{over(1, uln, 1)}
	for i, k := range ks {
		bs = append(bs, over(i+2, abs, k))
	}
	return bs
}

func relative(bs ...band) []scale { return []scale{{bands: bs}} }

func in(unit string, bs []band) scale { return scale{unit: unit, bands: bs} }

// Terms graded the same way by both versions.
var (
	// ">ULN - 2.5; >2.5 - 5; >5 - 10; >10 x ULN"
	cpkIncreased = term{name: "CPK increased", dir: High, scales: relative(overEach(uln, 1, 2.5, 5, 10)...)}
	// "<LLN - 3 g/dL, <LLN - 30 g/L; <3 - 2 g/dL, <30 - 20 g/L; <2 g/dL, <20 g/L"
	hypoalbuminemia = term{name: "Hypoalbuminemia", dir: Low, scales: []scale{
		in("g/L", belowLLNThen(30, 20)),
		in("g/dL", belowLLNThen(3, 2)),
	}}
	// "<LLN - 10.0 g/dL, 6.2 mmol/L, 100 g/L; <10.0 - 8.0 g/dL, <6.2 - 4.9
	// mmol/L, <100 - 80 g/L; <8.0 g/dL, <4.9 mmol/L, <80 g/L"
	anemia = term{name: "Anemia", dir: Low, scales: []scale{
		in("g/L", belowLLNThen(100, 80)),
		in("g/dL", belowLLNThen(10, 8)),
		in("mmol/L", belowLLNThen(6.2, 4.9)),
	}}
	// "<LLN - 75.0; <75.0 - 50.0; <50.0 - 25.0; <25.0 x 10e9/L"
	plateletsDecreased = term{name: "Platelet count decreased", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(75, 50, 25))}}
	// "<LLN - 3.0; <3.0 - 2.0; <2.0 - 1.0; <1.0 x 10e9/L"
	wbcDecreased = term{name: "White blood cell decreased", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(3, 2, 1))}}
	// Grade 3 ">100,000/mm3"; grade 4 is leucostasis, grades 1-2 undefined.
	leukocytosis = term{name: "Leukocytosis", dir: High, scales: []scale{in("10^9/L", []band{over(3, abs, 100)})}}
	// "<LLN - 1.5; <1.5 - 1.0; <1.0 - 0.5; <0.5 x 10e9/L"
	neutrophilsDecreased = term{name: "Neutrophil count decreased", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(1.5, 1, 0.5))}}
	// "<LLN - 0.8; <0.8 - 0.5; <0.5 - 0.2; <0.2 x 10e9/L"
	lymphocytesDecreased = term{name: "Lymphocyte count decreased", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(0.8, 0.5, 0.2))}}
	// Grade 2 ">4000/mm3 - 20,000/mm3", grade 3 ">20,000/mm3".
	lymphocytesIncreased = term{name: "Lymphocyte count increased", dir: High, scales: []scale{in("10^9/L", []band{over(2, abs, 4), over(3, abs, 20)})}}
	// "<LLN - 3.0 mmol/L; [grade 2:] Symptomatic with <LLN - 3.0 mmol/L;
	// intervention indicated; <3.0 - 2.5; <2.5". Worst case: symptomatic.
	hypokalemia = withWorst(term{name: "Hypokalemia", dir: Low, scales: []scale{in("mmol/L", []band{under(1, lln, 1), under(3, abs, 3), under(4, abs, 2.5)})}},
		in("mmol/L", []band{under(2, lln, 1), under(3, abs, 3), under(4, abs, 2.5)}))
	// ">ULN - 5.5; >5.5 - 6.0; >6.0 - 7.0; >7.0 mmol/L"
	hyperkalemia = term{name: "Hyperkalemia", dir: High, scales: []scale{in("mmol/L", aboveULNThen(5.5, 6, 7))}}
	// ">ULN - 150; >150 - 155; >155 - 160; >160 mmol/L"
	hypernatremia = term{name: "Hypernatremia", dir: High, scales: []scale{in("mmol/L", aboveULNThen(150, 155, 160))}}
	// Corrected serum calcium "<LLN - 8.0 mg/dL, 2.0 mmol/L; <8.0 - 7.0
	// mg/dL, <2.0 - 1.75 mmol/L; <7.0 - 6.0 mg/dL, <1.75 - 1.5 mmol/L;
	// <6.0 mg/dL, <1.5 mmol/L"
	hypocalcemia = term{name: "Hypocalcemia", dir: Low, albuminCorrected: true, scales: []scale{
		in("mmol/L", belowLLNThen(2, 1.75, 1.5)),
		in("mg/dL", belowLLNThen(8, 7, 6)),
	}}
	// Corrected serum calcium ">ULN - 11.5 mg/dL, 2.9 mmol/L; >11.5 - 12.5
	// mg/dL, >2.9 - 3.1 mmol/L; >12.5 - 13.5 mg/dL, >3.1 - 3.4 mmol/L;
	// >13.5 mg/dL, >3.4 mmol/L"
	hypercalcemia = term{name: "Hypercalcemia", dir: High, albuminCorrected: true, scales: []scale{
		in("mmol/L", aboveULNThen(2.9, 3.1, 3.4)),
		in("mg/dL", aboveULNThen(11.5, 12.5, 13.5)),
	}}
	// Ionized calcium "<LLN - 1.0; <1.0 - 0.9; <0.9 - 0.8; <0.8 mmol/L"
	hypocalcemiaIonized = term{name: "Hypocalcemia", dir: Low, scales: []scale{in("mmol/L", belowLLNThen(1, 0.9, 0.8))}}
	// Ionized calcium ">ULN - 1.5; >1.5 - 1.6; >1.6 - 1.8; >1.8 mmol/L"
	hypercalcemiaIonized = term{name: "Hypercalcemia", dir: High, scales: []scale{in("mmol/L", aboveULNThen(1.5, 1.6, 1.8))}}
	// "<LLN - 1.2 mg/dL, 0.5 mmol/L; <1.2 - 0.9 mg/dL, <0.5 - 0.4 mmol/L;
	// <0.9 - 0.7 mg/dL, <0.4 - 0.3 mmol/L; <0.7 mg/dL, <0.3 mmol/L"
	hypomagnesemia = term{name: "Hypomagnesemia", dir: Low, scales: []scale{
		in("mmol/L", belowLLNThen(0.5, 0.4, 0.3)),
		in("mg/dL", belowLLNThen(1.2, 0.9, 0.7)),
	}}
	// ">ULN - 3.0 mg/dL, 1.23 mmol/L; [no grade 2]; >3.0 - 8.0 mg/dL,
	// >1.23 - 3.30 mmol/L; >8.0 mg/dL, >3.30 mmol/L"
	hypermagnesemia = term{name: "Hypermagnesemia", dir: High, scales: []scale{
		in("mmol/L", []band{over(1, uln, 1), over(3, abs, 1.23), over(4, abs, 3.3)}),
		in("mg/dL", []band{over(1, uln, 1), over(3, abs, 3), over(4, abs, 8)}),
	}}
	// "<LLN - 55 mg/dL, 3.0 mmol/L; <55 - 40 mg/dL, <3.0 - 2.2 mmol/L;
	// <40 - 30 mg/dL, <2.2 - 1.7 mmol/L; <30 mg/dL, <1.7 mmol/L"
	hypoglycemia = term{name: "Hypoglycemia", dir: Low, scales: []scale{
		in("mmol/L", belowLLNThen(3, 2.2, 1.7)),
		in("mg/dL", belowLLNThen(55, 40, 30)),
	}}
	// ">ULN - 300 mg/dL, 7.75 mmol/L; >300 - 400 mg/dL, >7.75 - 10.34
	// mmol/L; >400 - 500 mg/dL, >10.34 - 12.92 mmol/L; >500 mg/dL, >12.92"
	cholesterolHigh = term{name: "Cholesterol high", dir: High, scales: []scale{
		in("mmol/L", aboveULNThen(7.75, 10.34, 12.92)),
		in("mg/dL", aboveULNThen(300, 400, 500)),
	}}
	// "150 mg/dL - 300 mg/dL, 1.71 mmol/L - 3.42 mmol/L; >300 - 500 mg/dL,
	// >3.42 - 5.7 mmol/L; >500 - 1000 mg/dL, >5.7 - 11.4 mmol/L; >1000
	// mg/dL, >11.4 mmol/L". Grade 1 has no ">": 1.71 mmol/L itself is
	// grade 1 (admiral reads it as ">1.71").
	hypertriglyceridemia = term{name: "Hypertriglyceridemia", dir: High, scales: []scale{
		in("mmol/L", []band{from(1, abs, 1.71), over(2, abs, 3.42), over(3, abs, 5.7), over(4, abs, 11.4)}),
		in("mg/dL", []band{from(1, abs, 150), over(2, abs, 300), over(3, abs, 500), over(4, abs, 1000)}),
	}}
	// v5.0 and v6.0: ">ULN without physiologic consequences; [no grade 2];
	// >ULN with physiologic consequences". Worst case: with consequences.
	hyperuricemia = withWorst(term{name: "Hyperuricemia", dir: High, scales: relative(over(1, uln, 1))}, relative(over(3, uln, 1))...)
	// v4.03: ">ULN - 1.5 x ULN; >1.5 - 2.5 x ULN; >2.5 x ULN; hemorrhage";
	// v5.0 and v6.0: ">ULN - 1.5 x ULN; >1.5 - 2.5 x ULN; >2.5 x ULN; bleeding"
	apttProlonged = term{name: "Activated partial thromboplastin time prolonged", dir: High, scales: relative(overEach(uln, 1, 1.5, 2.5)...)}
	// v4.03, v5.0 and v6.0: "<LLN - 500/mm3; <LLN - 0.5 x 10e9 /L; <500 - 200/mm3;
	// <0.5 - 0.2 x 10e9 /L; <200 - 50/mm3; <0.2 x 0.05 - 10e9 /L; <50/mm3;
	// <0.05 x 10e9 /L"
	cd4Decreased = term{name: "CD4 lymphocytes decreased", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(0.5, 0.2, 0.05))}}
	// v4.03, v5.0 and v6.0: "<LLN" (grade 1 only)
	haptoglobinDecreased = term{name: "Haptoglobin decreased", dir: Low, scales: relative(under(1, lln, 1))}
	// v5.0 and v6.0: "<1.0 - 0.75 x LLN; if abnormal, <25% decrease from
	// baseline; <0.75 - 0.5 x LLN; if abnormal, 25 - <50% decrease from
	// baseline; <0.5 - 0.25 x LLN; if abnormal, 50 - <75% decrease from
	// baseline; <0.25 x LLN; if abnormal, 75% decrease from baseline;
	// absolute value <50 mg/dL". "If abnormal" is read as "if the baseline
	// was below LLN", as the liver terms say it: the decreases from baseline
	// grade instead of the LLN multiples. (admiral reads it as "if the value
	// is below LLN" and grades by both.)
	fibrinogenDecreased = term{name: "Fibrinogen decreased", dir: Low, scales: []scale{{
		unit:          "g/L",
		bands:         []band{under(1, lln, 1), under(2, lln, 0.75), under(3, lln, 0.5), under(4, lln, 0.25), under(4, abs, 0.5)},
		ifBaselineLow: []band{under(1, base, 1), upTo(2, base, 0.75), upTo(3, base, 0.5), upTo(4, base, 0.25), under(4, abs, 0.5)},
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
	hyperuricemiaV4 = withWorst(term{name: "Hyperuricemia", dir: High, scales: []scale{
		in("mmol/L", []band{over(1, uln, 1), over(4, abs, 0.59)}),
		in("mg/dL", []band{over(1, uln, 1), over(4, abs, 10)}),
	}}, in("mmol/L", []band{over(3, uln, 1), over(4, abs, 0.59)}), in("mg/dL", []band{over(3, uln, 1), over(4, abs, 10)}))
	// "<1.0 - 0.75 x LLN or <25% decrease from baseline; <0.75 - 0.5 x LLN
	// or 25 - <50% decrease from baseline; <0.5 - 0.25 x LLN or 50 - <75%
	// decrease from baseline; <0.25 x LLN or 75% decrease from baseline or
	// absolute value <50 mg/dL". "Or": the worse of the LLN multiple and
	// the decrease from baseline, whatever the baseline was, so any
	// decrease from baseline is at least grade 1 (admiral reads it the
	// same; v5.0 limited the decreases to an abnormal baseline). Without a
	// baseline only a grade no decrease can exceed is certain.
	fibrinogenDecreasedV4 = term{name: "Fibrinogen decreased", dir: Low, scales: []scale{in("g/L", []band{
		under(1, lln, 1), under(1, base, 1),
		under(2, lln, 0.75), upTo(2, base, 0.75),
		under(3, lln, 0.5), upTo(3, base, 0.5),
		under(4, lln, 0.25), upTo(4, base, 0.25), under(4, abs, 0.5),
	})}}
)

// hemoglobinIncreased is "Increase in >0 - 2; >2 - 4; >4 g/dL". v4.03
// says "above ULN or above baseline if baseline is above ULN"; v5.0 only
// "Increase in", defining the term as hemoglobin "above normal", which
// (like admiral) is read as above ULN.
func hemoglobinIncreased(baselineRule bool) term {
	t := term{name: "Hemoglobin increased", dir: High, scales: []scale{
		in("g/L", []band{over(1, ulnPlus, 0), over(2, ulnPlus, 20), over(3, ulnPlus, 40)}),
		in("g/dL", []band{over(1, ulnPlus, 0), over(2, ulnPlus, 2), over(3, ulnPlus, 4)}),
	}}
	if baselineRule {
		t.scales[0].ifBaselineHigh = []band{over(1, basePlus, 0), over(2, basePlus, 20), over(3, basePlus, 40)}
		t.scales[1].ifBaselineHigh = []band{over(1, basePlus, 0), over(2, basePlus, 2), over(3, basePlus, 4)}
	}
	return t
}

// Hyperglycemia, v4.03 and v6.0: "Fasting glucose value >ULN - 160 mg/dL,
// >ULN - 8.9 mmol/L; Fasting glucose value >160 - 250 mg/dL, >8.9 - 13.9
// mmol/L; >250 - 500 mg/dL, >13.9 - 27.8 mmol/L; >500 mg/dL, >27.8 mmol/L".
var hyperglycemiaByValue = term{name: "Hyperglycemia", dir: High, scales: []scale{
	in("mmol/L", []band{fasting(over(1, uln, 1)), fasting(over(2, abs, 8.9)), over(3, abs, 13.9), over(4, abs, 27.8)}),
	in("mg/dL", []band{fasting(over(1, uln, 1)), fasting(over(2, abs, 160)), over(3, abs, 250), over(4, abs, 500)}),
}}

// liverV6 is v6.0's "x ULN if baseline was normal or less than normal;
// x baseline if baseline was >ULN": ulnKs the multiples of ULN of grades
// 1-4, and above a high baseline grade 1 from 1.0 x baseline (inclusive),
// then grades 2-4 above the given multiples of it.
func liverV6(name string, ulnKs []float64, baseKs ...float64) term {
	abnormal := []band{from(1, base, 1)}
	for i, k := range baseKs {
		abnormal = append(abnormal, over(i+2, base, k))
	}
	return term{name: name, dir: High, scales: []scale{{bands: overEach(uln, ulnKs...), ifBaselineHigh: abnormal}}}
}

// liverV5 is v5.0's "x ULN if baseline was normal; x baseline if baseline
// was abnormal", with ks the multiples of grades 1-4 and baseG1 the
// abnormal-baseline grade 1 band, whose bound differs per test.
func liverV5(name string, baseG1 band, ks ...float64) term {
	abnormal := []band{baseG1}
	for i, k := range ks[1:] {
		abnormal = append(abnormal, over(i+2, base, k))
	}
	return term{name: name, dir: High, scales: []scale{{bands: overEach(uln, ks...), ifBaselineHigh: abnormal}}}
}

var (
	// v5.0 and v6.0 (v6.0 writes "125 - <130"): "<LLN - 130; 125-129
	// mmol/L and asymptomatic; 125-129 symptomatic, 120-124 regardless of
	// symptoms; <120 mmol/L". Worst case: symptomatic.
	hyponatremiaV5 = withWorst(term{name: "Hyponatremia", dir: Low, scales: []scale{in("mmol/L", []band{under(1, lln, 1), under(2, abs, 130), under(3, abs, 125), under(4, abs, 120)})}},
		in("mmol/L", []band{under(1, lln, 1), under(3, abs, 130), under(4, abs, 120)}))
	// v5.0 and v6.0: ">1.2 - 1.5; >1 - 1.5 x baseline if on anticoagulation;
	// >1.5 - 2.5; >1.5 - 2.5 x baseline if on anticoagulation; >2.5; >2.5
	// x baseline if on anticoagulation" (a ratio). Worst case: on
	// anticoagulation.
	inrV5 = withWorst(term{name: "INR increased", dir: High, scales: relative(over(1, abs, 1.2), over(2, abs, 1.5), over(3, abs, 2.5))},
		relative(over(1, abs, 1.2), over(2, abs, 1.5), over(3, abs, 2.5), over(1, base, 1), over(2, base, 1.5), over(3, base, 2.5))...)
)

// pancreaticEnzyme is lipase and amylase of v5.0 and v6.0: grade 1 above
// ULN, grade 2 above 1.5 x ULN, then grade 3 above asymptomatic3 x ULN
// when asymptomatic, or above symptomatic3 x ULN with grade 4 above
// symptomatic4 x ULN with signs or symptoms (the worst case).
func pancreaticEnzyme(name string, asymptomatic3, symptomatic3, symptomatic4 float64) term {
	return withWorst(term{name: name, dir: High, scales: relative(overEach(uln, 1, 1.5, asymptomatic3)...)},
		relative(overEach(uln, 1, 1.5, symptomatic3, symptomatic4)...)...)
}

const (
	hyperglycemiaV5 = "CTCAE v5.0 grades hyperglycemia by the change in glucose management it needs, not by glucose value"
	hypophosV5      = "CTCAE v5.0 grades hypophosphatemia by the intervention it needs, not by phosphate value"
)

// criteria maps each version to the terms of each analyte, low before high.
var criteria = map[Criteria]map[string][]term{
	V403: {
		// ">ULN - 3.0; >3.0 - 5.0; >5.0 - 20.0; >20.0 x ULN"
		"ALT": {{name: "Alanine aminotransferase increased", dir: High, scales: relative(overEach(uln, 1, 3, 5, 20)...)}},
		"AST": {{name: "Aspartate aminotransferase increased", dir: High, scales: relative(overEach(uln, 1, 3, 5, 20)...)}},
		// ">ULN - 2.5; >2.5 - 5.0; >5.0 - 20.0; >20.0 x ULN"
		"ALP": {{name: "Alkaline phosphatase increased", dir: High, scales: relative(overEach(uln, 1, 2.5, 5, 20)...)}},
		"GGT": {{name: "GGT increased", dir: High, scales: relative(overEach(uln, 1, 2.5, 5, 20)...)}},
		// ">ULN - 1.5; >1.5 - 3.0; >3.0 - 10.0; >10.0 x ULN"
		"BILI": {{name: "Blood bilirubin increased", dir: High, scales: relative(overEach(uln, 1, 1.5, 3, 10)...)}},
		// ">1 - 1.5 x baseline, >ULN - 1.5 x ULN; >1.5 - 3.0 x baseline,
		// >1.5 - 3.0 x ULN; >3.0 x baseline, >3.0 - 6.0 x ULN; >6.0 x ULN"
		"CREAT": {{name: "Creatinine increased", dir: High, scales: relative(
			over(1, uln, 1), over(1, base, 1), over(2, uln, 1.5), over(2, base, 1.5),
			over(3, uln, 3), over(3, base, 3), over(4, uln, 6))}},
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
		"SODIUM": {{name: "Hyponatremia", dir: Low, scales: []scale{in("mmol/L", []band{under(1, lln, 1), under(3, abs, 130), under(4, abs, 120)})}}, hypernatremia},
		// Hyperglycemia: "Fasting glucose value >ULN - 160 mg/dL, >ULN - 8.9
		// mmol/L; Fasting glucose value >160 - 250 mg/dL, >8.9 - 13.9 mmol/L;
		// >250 - 500 mg/dL, >13.9 - 27.8 mmol/L; >500 mg/dL, >27.8 mmol/L".
		"GLUC": {hypoglycemia, hyperglycemiaByValue},
		// "<LLN - 2.5 mg/dL, 0.8 mmol/L; <2.5 - 2.0 mg/dL, <0.8 - 0.6 mmol/L;
		// <2.0 - 1.0 mg/dL, <0.6 - 0.3 mmol/L; <1.0 mg/dL, <0.3 mmol/L"
		"PHOS": {{name: "Hypophosphatemia", dir: Low, scales: []scale{
			in("mmol/L", belowLLNThen(0.8, 0.6, 0.3)),
			in("mg/dL", belowLLNThen(2.5, 2, 1)),
		}}},
		"CHOL": {cholesterolHigh},
		"TRIG": {hypertriglyceridemia},
		// ">ULN - 1.5; >1.5 - 2.0; >2.0 - 5.0; >5.0 x ULN"
		"LIPASE":  {{name: "Lipase increased", dir: High, scales: relative(overEach(uln, 1, 1.5, 2, 5)...)}},
		"AMYLASE": {{name: "Serum amylase increased", dir: High, scales: relative(overEach(uln, 1, 1.5, 2, 5)...)}},
		// ">1 - 1.5 x ULN; >1 - 1.5 times above baseline if on
		// anticoagulation; >1.5 - 2.5; >2.5". LB does not say whether the
		// subject is on anticoagulation; the worst case assumes so.
		"INR": {withWorst(term{name: "INR increased", dir: High, scales: relative(overEach(uln, 1, 1.5, 2.5)...)},
			relative(append(overEach(uln, 1, 1.5, 2.5), overEach(base, 1, 1.5, 2.5)...)...)...)},
		"URATE":   {hyperuricemiaV4},
		"APTT":    {apttProlonged},
		"CD4":     {cd4Decreased},
		"FIBRINO": {fibrinogenDecreasedV4},
		"HAPTOG":  {haptoglobinDecreased},
	},
	V50: {
		// ">ULN - 3.0 x ULN if baseline was normal; 1.5 - 3.0 x baseline if
		// baseline was abnormal; >3.0 - 5.0; >5.0 - 20.0; >20.0"
		"ALT": {liverV5("Alanine aminotransferase increased", from(1, base, 1.5), 1, 3, 5, 20)},
		"AST": {liverV5("Aspartate aminotransferase increased", from(1, base, 1.5), 1, 3, 5, 20)},
		// ">ULN - 2.5 x ULN if normal; 2.0 - 2.5 x baseline if abnormal;
		// >2.5 - 5.0; >5.0 - 20.0; >20.0"
		"ALP": {liverV5("Alkaline phosphatase increased", from(1, base, 2), 1, 2.5, 5, 20)},
		"GGT": {liverV5("GGT increased", from(1, base, 2), 1, 2.5, 5, 20)},
		// ">ULN - 1.5 x ULN if normal; >1.0 - 1.5 x baseline if abnormal;
		// >1.5 - 3.0; >3.0 - 10.0; >10.0"
		"BILI": {liverV5("Blood bilirubin increased", over(1, base, 1), 1, 1.5, 3, 10)},
		// ">ULN - 1.5 x ULN; >1.5 - 3.0 x baseline, >1.5 - 3.0 x ULN;
		// >3.0 x baseline, >3.0 - 6.0 x ULN; >6.0 x ULN"
		"CREAT": {{name: "Creatinine increased", dir: High, scales: relative(
			over(1, uln, 1), over(2, uln, 1.5), over(2, base, 1.5),
			over(3, uln, 3), over(3, base, 3), over(4, uln, 6))}},
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
		"GLUC":   {hypoglycemia, {name: "Hyperglycemia", dir: High, notGradable: hyperglycemiaV5}},
		"PHOS":   {{name: "Hypophosphatemia", dir: Low, notGradable: hypophosV5}},
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
	},
	// v6.0 drops CPK increased and lymphocyte count decreased, renames
	// platelet count decreased to thrombocytopenia, adds LDH, creatinine
	// clearance, HDL and LDL terms, grades hyperglycemia by value again, and
	// grades the liver tests and creatinine against an abnormal baseline
	// separately for a baseline above ULN and below LLN. The quotes are
	// the grade text of admiral's v6.0 metadata (ncictcaev6.json), the source
	// at hand; hypophosphatemia is not graded, as that metadata has no such
	// term.
	V60: {
		// ">ULN - 3.0 x ULN if baseline was normal or less than normal; 1.0
		// - 1.5 x baseline if baseline was >ULN; >3.0 - 5.0 x ULN ...; >1.5 -
		// 2.0 x baseline ...; >5.0 - 20.0 x ULN ...; >2.0 - 4.0 x baseline if
		// baseline was >ULN up to 5 x ULN; >20.0 x ULN ...; >4.0 x baseline"
		// ("up to 5 x ULN" is not applied; admiral does not either).
		"ALT": {liverV6("Alanine aminotransferase increased", []float64{1, 3, 5, 20}, 1.5, 2, 4)},
		"AST": {liverV6("Aspartate aminotransferase increased", []float64{1, 3, 5, 20}, 1.5, 2, 4)},
		// ">Baseline and ULN" (grade 1 only): above both, that is above the
		// baseline when it was above ULN, else above ULN.
		"ALP": {{name: "Alkaline phosphatase increased", dir: High, scales: []scale{{bands: []band{over(1, uln, 1)}, ifBaselineHigh: []band{over(1, base, 1)}}}}},
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
		"CREAT": {{name: "Creatinine increased", dir: High, scales: []scale{{
			bands:         overEach(uln, 1, 1.5, 3, 6),
			ifBaselineLow: append(overEach(uln, 1, 1.5, 3, 6), over(2, base, 1.5), over(3, base, 3)),
		}}}},
		// "26 - 49 ml/min; 10 - 25 ml/min" (grades 2 and 3; none given
		// below 10 ml/min)
		"CREATCLR": {{name: "Creatinine clearance decreased", dir: Low, floor: 10,
			scales: []scale{in("mL/min", []band{upTo(2, abs, 49), upTo(3, abs, 25)})}}},
		// ">ULN" (grade 1 only)
		"LDH": {{name: "Blood lactate dehydrogenase increased", dir: High, scales: relative(over(1, uln, 1))}},
		// "<LLN" (grade 1 only)
		"HDL": {{name: "HDL decreased", dir: Low, scales: relative(under(1, lln, 1))}},
		// ">ULN" (grade 1 only)
		"LDL": {{name: "LDL increased", dir: High, scales: relative(over(1, uln, 1))}},
		"ALB": {hypoalbuminemia},
		"HGB": {anemia, hemoglobinIncreased(false)},
		// "<LLN - 75,000/mm3; <LLN - 75.0 x 10^9/L; <75.0 - 50.0 x 10^9/L;
		// <50.0 - 10.0 x 10^9/L; transfusion indicated; <10.0 x 10^9/L"
		"PLAT": {{name: "Thrombocytopenia", dir: Low, scales: []scale{in("10^9/L", belowLLNThen(75, 50, 10))}}},
		"WBC":  {wbcDecreased, leukocytosis},
		// "<1.5 - 1.0 x 10^9/L; <1.0 - 0.5; <0.5 - 0.1; <0.1 x 10^9/L" (no
		// grade below LLN only)
		"NEUT":   {{name: "Neutrophil count decreased", dir: Low, scales: []scale{in("10^9/L", []band{under(1, abs, 1.5), under(2, abs, 1), under(3, abs, 0.5), under(4, abs, 0.1)})}}},
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
	},
	DAIDS21: daidsV21,
}

func init() {
	for _, byAnalyte := range criteria {
		for _, terms := range byAnalyte {
			for i := range terms {
				t := &terms[i]
				normScales(t.scales, t.worst)
				for j := range t.subgroups {
					normScales(t.subgroups[j].scales, t.subgroups[j].worst)
				}
			}
		}
	}
}

func normScales(lists ...[]scale) {
	for _, scales := range lists {
		for i := range scales {
			scales[i].norm = normUnit(scales[i].unit)
		}
	}
}
