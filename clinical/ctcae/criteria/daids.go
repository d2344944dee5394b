package criteria

func ageRange(name string, from, to float64) Subgroup {
	return Subgroup{Name: name, From: from, To: to}
}

func (g Subgroup) with(scales ...Scale) Subgroup { g.Scales = scales; return g }

func (g Subgroup) male() Subgroup   { g.Sex = "M"; return g }
func (g Subgroup) female() Subgroup { g.Sex = "F"; return g }

func (g Subgroup) none(why string) Subgroup { g.NotGradable = why; return g }

// fromEach makes grades 1, 2, ... start at successive multiples of r,
// inclusive: DAIDS's "1.25 to < 2.5 x ULN; 2.5 to < 5.0 x ULN; ...".
func fromEach(r Ref, ks ...float64) []Band {
	bs := make([]Band, len(ks))
	for i, k := range ks {
		bs[i] = from(i+1, r, k)
	}
	return bs
}

// belowEach makes grades 1, 2, ... start below successive absolute values:
// "3.0 to < 3.4; 2.5 to < 3.0; ...".
func belowEach(ks ...float64) []Band {
	bs := make([]Band, len(ks))
	for i, k := range ks {
		bs[i] = under(i+1, Abs, k)
	}
	return bs
}

// upToThenBelow is grade 1 at or below g1 ("10.0 to 10.9 g/dL"), then
// grades 2, 3, ... below the rest.
func upToThenBelow(g1 float64, ks ...float64) []Band {
	bs := []Band{upTo(1, Abs, g1)}
	for i, k := range ks {
		bs = append(bs, under(i+2, Abs, k))
	}
	return bs
}

// renalFunctionLow is "Creatinine Clearance or eGFR, Low (report only
// one)": "[grade 1] N/A; < 90 to 60 ml/min or ml/min/1.73 m2 OR 10 to <
// 30% decrease from participant's baseline; < 60 to 30 ml/min or
// ml/min/1.73 m2 OR 30 to < 50% decrease from participant's baseline; <
// 30 ml/min or ml/min/1.73 m2 OR ≥ 50% decrease from participant's
// baseline or dialysis needed", in unit: ml/min for a creatinine clearance
// (CREATCLR), ml/min/1.73 m2 for an eGFR (EGFR), the same numbers. The
// worse of the absolute value and the decrease grades; without a baseline
// only grade 4 (below 30) is certain. Both tests are graded where LB has
// both; "report only one" is for the AE report.
func renalFunctionLow(unit string) Term {
	return Term{Name: "Creatinine Clearance or eGFR, Low", Dir: Low, Scales: []Scale{in(unit, []Band{
		under(2, Abs, 90), upTo(2, Base, 0.9),
		under(3, Abs, 60), upTo(3, Base, 0.7),
		under(4, Abs, 30), upTo(4, Base, 0.5),
	})}}
}

const (
	fastingOnly      = "fasting status not recorded; DAIDS grades this test on fasting samples only"
	hepatotoxicity   = "DAIDS grades direct bilirubin above ULN after 28 days of age by signs of hepatotoxicity or liver failure, not by value"
	noNeonatalTable  = "DAIDS grades total bilirubin in the first 28 days of life on a separate nomogram, which is not encoded"
	noCriteriaForAge = "DAIDS gives no criteria for this age"
)

// fastingFrom is fasting-only grades 1, 2, ... from the values ks.
func fastingFrom(ks ...float64) []Band {
	bs := fromEach(Abs, ks...)
	for i := range bs {
		bs[i].Needs = fastingOnly
	}
	return bs
}

// DAIDS21 is the Division of AIDS Table for Grading the Severity of
// Adult and Pediatric Adverse Events, corrected version 2.1 (July 2017),
// quoted as pharmaverse admiral's metadata transcribes it
// (data-raw/adlb_grading/DAIDS.json, the source at hand). Most ranges
// are closed below, and some terms differ by age and sex (Subgroups);
// ctcae.DAIDS21 says how the grader reads it.
var DAIDS21 = map[string][]Term{
	// "3.0 g/dL to < LLN, 30 g/L to < LLN; ≥ 2.0 to < 3.0 g/dL, ≥ 20 to < 30
	// g/L; < 2.0 g/dL, < 20 g/L"
	"ALB": {{Name: "Albumin, Low", Dir: Low, Scales: []Scale{in("g/L", belowLLNThen(30, 20)), in("g/dL", belowLLNThen(3, 2))}}},
	// "1.25 to < 2.5 x ULN; 2.5 to < 5.0 x ULN; 5.0 to < 10.0 x ULN; ≥ 10.0 x ULN"
	"ALP": {{Name: "Alkaline Phosphatase, High", Dir: High, Scales: relative(fromEach(ULN, 1.25, 2.5, 5, 10)...)}},
	"ALT": {{Name: "ALT, High", Dir: High, Scales: relative(fromEach(ULN, 1.25, 2.5, 5, 10)...)}},
	"AST": {{Name: "AST, High", Dir: High, Scales: relative(fromEach(ULN, 1.25, 2.5, 5, 10)...)}},
	// "1.1 to < 1.5 x ULN; 1.5 to < 3.0 x ULN; 3.0 to < 5.0 x ULN; ≥ 5.0 x ULN"
	"AMYLASE": {{Name: "Amylase, High", Dir: High, Scales: relative(fromEach(ULN, 1.1, 1.5, 3, 5)...)}},
	"LIPASE":  {{Name: "Lipase, High", Dir: High, Scales: relative(fromEach(ULN, 1.1, 1.5, 3, 5)...)}},
	// "16.0 mEq/L to < LLN; 11.0 to < 16.0; 8.0 to < 11.0; < 8.0" (mEq/L =
	// mmol/L)
	"BICARB": {{Name: "Bicarbonate, Low", Dir: Low, Scales: []Scale{in("mmol/L", belowLLNThen(16, 11, 8))}}},
	// ≤ 28 days: "ULN to ≤ 1 mg/dL; > 1 to ≤ 1.5 mg/dL; > 1.5 to ≤ 2 mg/dL;
	// > 2 mg/dL". > 28 days: grades 3 "> ULN with other signs and symptoms
	// of hepatotoxicity" and 4 "> ULN with life-threatening consequences".
	"BILDIR": {{Name: "Direct Bilirubin, High", Dir: High, Subgroups: []Subgroup{
		ageRange("> 28 days of age", 29*Day, 0).with(Scale{Bands: []Band{{Grade: 3, Op: GT, Ref: ULN, K: 1, Needs: hepatotoxicity}}}).worstCase(relative(over(4, ULN, 1))...),
		ageRange("≤ 28 days of age", 0, 29*Day).with(in("mg/dL", []Band{from(1, ULN, 1), over(2, Abs, 1), over(3, Abs, 1.5), over(4, Abs, 2)})),
	}}},
	// > 28 days: "1.1 to < 1.6 x ULN; 1.6 to < 2.6 x ULN; 2.6 to < 5.0 x
	// ULN; ≥ 5.0 x ULN"; ≤ 28 days: a nomogram.
	"BILI": {{Name: "Total Bilirubin, High", Dir: High, Subgroups: []Subgroup{
		ageRange("> 28 days of age", 29*Day, 0).with(relative(fromEach(ULN, 1.1, 1.6, 2.6, 5)...)...),
		ageRange("≤ 28 days of age", 0, 29*Day).none(noNeonatalTable),
	}}},
	// ≥ 7 days: "10.6 to < 11.5 mg/dL, 2.65 to < 2.88 mmol/L; 11.5 to <
	// 12.5 mg/dL, 2.88 to < 3.13 mmol/L; 12.5 to < 13.5 mg/dL, 3.13 to <
	// 3.38 mmol/L; ≥ 13.5 mg/dL, ≥ 3.38 mmol/L"; < 7 days: "11.5 to < 12.4
	// mg/dL, 2.88 to < 3.10 mmol/L; 12.4 to < 12.9 mg/dL, 3.10 to < 3.23
	// mmol/L; 12.9 to < 13.5 mg/dL, 3.23 to < 3.38 mmol/L; ≥ 13.5 mg/dL, ≥
	// 3.38 mmol/L".
	// Low, ≥ 7 days: "7.8 to < 8.4 mg/dL, 1.95 to < 2.10 mmol/L; 7.0 to <
	// 7.8 mg/dL, 1.75 to < 1.95 mmol/L; 6.1 to < 7.0 mg/dL, 1.53 to < 1.75
	// mmol/L; < 6.1 mg/dL, < 1.53 mmol/L"; < 7 days: "6.5 to < 7.5 mg/dL,
	// 1.63 to < 1.88 mmol/L; 6.0 to < 6.5 mg/dL, 1.50 to < 1.63 mmol/L; 5.50
	// to < 6.0 mg/dL, 1.38 to < 1.50 mmol/L; < 5.50 mg/dL, < 1.38 mmol/L".
	"CA": {
		{Name: "Calcium, Low", Dir: Low, Subgroups: []Subgroup{
			ageRange("≥ 7 days of age", 7*Day, 0).with(in("mmol/L", belowEach(2.1, 1.95, 1.75, 1.53)), in("mg/dL", belowEach(8.4, 7.8, 7, 6.1))),
			ageRange("< 7 days of age", 0, 7*Day).with(in("mmol/L", belowEach(1.88, 1.63, 1.5, 1.38)), in("mg/dL", belowEach(7.5, 6.5, 6, 5.5))),
		}},
		{Name: "Calcium, High", Dir: High, Subgroups: []Subgroup{
			ageRange("≥ 7 days of age", 7*Day, 0).with(in("mmol/L", fromEach(Abs, 2.65, 2.88, 3.13, 3.38)), in("mg/dL", fromEach(Abs, 10.6, 11.5, 12.5, 13.5))),
			ageRange("< 7 days of age", 0, 7*Day).with(in("mmol/L", fromEach(Abs, 2.88, 3.1, 3.23, 3.38)), in("mg/dL", fromEach(Abs, 11.5, 12.4, 12.9, 13.5))),
		}},
	},
	// "< LLN to 4.0 mg/dL, < LLN to 1.0 mmol/L; 3.6 to < 4.0 mg/dL, 0.9 to <
	// 1.0 mmol/L; 3.2 to < 3.6 mg/dL, 0.8 to < 0.9 mmol/L; < 3.2 mg/dL, <
	// 0.8 mmol/L"; High: "> ULN to < 6.0 mg/dL, > ULN to < 1.5 mmol/L; 6.0
	// to < 6.4 mg/dL, 1.5 to < 1.6 mmol/L; 6.4 to < 7.2 mg/dL, 1.6 to < 1.8
	// mmol/L; ≥ 7.2 mg/dL, ≥ 1.8 mmol/L"
	"CAION": {
		{Name: "Calcium (Ionized), Low", Dir: Low, Scales: []Scale{in("mmol/L", belowLLNThen(1, 0.9, 0.8)), in("mg/dL", belowLLNThen(4, 3.6, 3.2))}},
		{Name: "Calcium (Ionized), High", Dir: High, Scales: []Scale{
			in("mmol/L", []Band{over(1, ULN, 1), from(2, Abs, 1.5), from(3, Abs, 1.6), from(4, Abs, 1.8)}),
			in("mg/dL", []Band{over(1, ULN, 1), from(2, Abs, 6), from(3, Abs, 6.4), from(4, Abs, 7.2)}),
		}},
	},
	// "3 to < 6 x ULN; 6 to < 10 x ULN; 10 to < 20 x ULN; ≥ 20 x ULN"
	"CK": {{Name: "Creatine Kinase, High", Dir: High, Scales: relative(fromEach(ULN, 3, 6, 10, 20)...)}},
	// "1.1 to 1.3 x ULN; > 1.3 to 1.8 x ULN or increase to 1.3 to < 1.5 x
	// participant's baseline; > 1.8 to < 3.5 x ULN or increase to 1.5 to <
	// 2.0 x participant's baseline; ≥ 3.5 x ULN or increase of ≥ 2.0 x
	// participant's baseline"
	"CREAT": {{Name: "Creatinine, High", Dir: High, Scales: relative(
		from(1, ULN, 1.1), over(2, ULN, 1.3), from(2, Base, 1.3), over(3, ULN, 1.8), from(3, Base, 1.5), from(4, ULN, 3.5), from(4, Base, 2))}},
	// Nonfasting: "116 to 160 mg/dL, 6.44 to < 8.89 mmol/L; > 160 to 250
	// mg/dL, 8.89 to < 13.89 mmol/L; > 250 to 500 mg/dL, 13.89 to < 27.75
	// mmol/L; ≥ 500 mg/dL, ≥ 27.75 mmol/L". Fasting: "110 to 125 mg/dL,
	// 6.11 to < 6.95 mmol/L; > 125 to 250 mg/dL, 6.95 to < 13.89 mmol/L;
	// [grades 3 and 4 as nonfasting]". LB does not say which: the
	// nonfasting grades are certain, the lower fasting cut-offs need a
	// fasting sample. Low, ≥ 1 month: "55 to 64 mg/dL, 3.05 to < 3.55
	// mmol/L; 40 to < 55 mg/dL, 2.22 to < 3.05 mmol/L; 30 to < 40 mg/dL,
	// 1.67 to < 2.22 mmol/L; < 30 mg/dL, < 1.67 mmol/L"; < 1 month: "50 to
	// 54 mg/dL, 2.78 to < 3.00 mmol/L; 40 to < 50 mg/dL, 2.22 to < 2.78
	// mmol/L; [grades 3 and 4 the same]".
	"GLUC": {
		{Name: "Glucose, Low", Dir: Low, Subgroups: []Subgroup{
			ageRange("≥ 1 month of age", 1*Month, 0).with(in("mmol/L", belowEach(3.55, 3.05, 2.22, 1.67)), in("mg/dL", upToThenBelow(64, 55, 40, 30))),
			ageRange("< 1 month of age", 0, 1*Month).with(in("mmol/L", belowEach(3, 2.78, 2.22, 1.67)), in("mg/dL", upToThenBelow(54, 50, 40, 30))),
		}},
		{Name: "Glucose, High", Dir: High, Scales: []Scale{
			in("mmol/L", append(fromEach(Abs, 6.44, 8.89, 13.89, 27.75), fasting(from(1, Abs, 6.11)), fasting(from(2, Abs, 6.95)))),
			in("mg/dL", append([]Band{from(1, Abs, 116), over(2, Abs, 160), over(3, Abs, 250), from(4, Abs, 500)}, fasting(from(1, Abs, 110)), fasting(over(2, Abs, 125)))),
		}},
	},
	// "ULN to < 2.0 x ULN without acidosis; ≥ 2.0 x ULN without acidosis"
	// (grades 3 and 4 need a pH < 7.3, which the record does not carry)
	"LACTICAC": {{Name: "Lactate, High", Dir: High, Scales: relative(fromEach(ULN, 1, 2)...)}},
	// ≥ 18 years: "200 to < 240 mg/dL, 5.18 to < 6.19 mmol/L; 240 to < 300
	// mg/dL, 6.19 to < 7.77 mmol/L; ≥ 300 mg/dL, ≥ 7.77 mmol/L"; < 18
	// years: "170 to < 200 mg/dL, 4.40 to < 5.15 mmol/L; 200 to < 300
	// mg/dL, 5.15 to < 7.77 mmol/L; ≥ 300 mg/dL, ≥ 7.77 mmol/L" (fasting)
	"CHOL": {{Name: "Cholesterol, Fasting, High", Dir: High, Subgroups: []Subgroup{
		ageRange("≥ 18 years of age", 18*Year, 0).with(in("mmol/L", fastingFrom(5.18, 6.19, 7.77)), in("mg/dL", fastingFrom(200, 240, 300))),
		ageRange("< 18 years of age", 0, 18*Year).with(in("mmol/L", fastingFrom(4.4, 5.15, 7.77)), in("mg/dL", fastingFrom(170, 200, 300))),
	}}},
	// ≥ 18 years: "130 to < 160 mg/dL, 3.37 to < 4.12 mmol/L; 160 to < 190
	// mg/dL, 4.12 to < 4.90 mmol/L; ≥ 190 mg/dL, ≥ 4.90 mmol/L"; > 2 to <
	// 18 years: "110 to < 130 mg/dL, 2.85 to < 3.34 mmol/L; 130 to < 190
	// mg/dL, 3.34 to < 4.90 mmol/L; ≥ 190 mg/dL, ≥ 4.90 mmol/L" (fasting;
	// none given up to 2 years)
	"LDL": {{Name: "LDL, Fasting, High", Dir: High, Subgroups: []Subgroup{
		ageRange("≥ 18 years of age", 18*Year, 0).with(in("mmol/L", fastingFrom(3.37, 4.12, 4.9)), in("mg/dL", fastingFrom(130, 160, 190))),
		ageRange("> 2 to < 18 years of age", 3*Year, 18*Year).with(in("mmol/L", fastingFrom(2.85, 3.34, 4.9)), in("mg/dL", fastingFrom(110, 130, 190))),
		ageRange("≤ 2 years of age", 0, 3*Year).none(noCriteriaForAge),
	}}},
	// "150 to 300 mg/dL, 1.71 to 3.42 mmol/L; > 300 to 500 mg/dL, > 3.42 to
	// 5.7 mmol/L; > 500 to < 1,000 mg/dL, > 5.7 to 11.4 mmol/L; > 1,000
	// mg/dL, > 11.4 mmol/L" (fasting)
	"TRIG": {{Name: "Triglycerides, Fasting, High", Dir: High, Scales: []Scale{
		in("mmol/L", []Band{fasting(from(1, Abs, 1.71)), fasting(over(2, Abs, 3.42)), fasting(over(3, Abs, 5.7)), fasting(over(4, Abs, 11.4))}),
		in("mg/dL", []Band{fasting(from(1, Abs, 150)), fasting(over(2, Abs, 300)), fasting(over(3, Abs, 500)), fasting(over(4, Abs, 1000))}),
	}}},
	// "1.2 to < 1.4 mEq/L, 0.60 to < 0.70 mmol/L; 0.9 to < 1.2 mEq/L, 0.45 to
	// < 0.60 mmol/L; 0.6 to < 0.9 mEq/L, 0.30 to < 0.45 mmol/L; < 0.6 mEq/L,
	// < 0.30 mmol/L"
	"MG": {{Name: "Magnesium, Low", Dir: Low, Scales: []Scale{in("mmol/L", belowEach(0.7, 0.6, 0.45, 0.3)), in("mEq/L", belowEach(1.4, 1.2, 0.9, 0.6))}}},
	// > 14 years: "2.0 mg/dL to < LLN, 0.65 mmol/L to < LLN; 1.4 to < 2.0
	// mg/dL, 0.45 to < 0.65 mmol/L; 1.0 to < 1.4 mg/dL, 0.32 to < 0.45
	// mmol/L; < 1.0 mg/dL, < 0.32 mmol/L"; 1 to 14 years: "3.0 to < 3.5
	// mg/dL, 0.97 to < 1.13 mmol/L; 2.5 to < 3.0 mg/dL, 0.81 to < 0.97
	// mmol/L; 1.5 to < 2.5 mg/dL, 0.48 to < 0.81 mmol/L; < 1.5 mg/dL, < 0.48
	// mmol/L"; < 1 year: "3.5 to < 4.5 mg/dL, 1.13 to < 1.45 mmol/L; 2.5 to
	// < 3.5 mg/dL, 0.81 to < 1.13 mmol/L; [grades 3 and 4 as 1 to 14]".
	// "1 to 14 years" is read as up to the 15th birthday.
	"PHOS": {{Name: "Phosphate, Low", Dir: Low, Subgroups: []Subgroup{
		ageRange("> 14 years of age", 15*Year, 0).with(in("mmol/L", belowLLNThen(0.65, 0.45, 0.32)), in("mg/dL", belowLLNThen(2, 1.4, 1))),
		ageRange("1 to 14 years of age", 1*Year, 15*Year).with(in("mmol/L", belowEach(1.13, 0.97, 0.81, 0.48)), in("mg/dL", belowEach(3.5, 3, 2.5, 1.5))),
		ageRange("< 1 year of age", 0, 1*Year).with(in("mmol/L", belowEach(1.45, 1.13, 0.81, 0.48)), in("mg/dL", belowEach(4.5, 3.5, 2.5, 1.5))),
	}}},
	// Low: "3.0 to < 3.4 mmol/L; 2.5 to < 3.0; 2.0 to < 2.5; < 2.0";
	// High: "5.6 to < 6.0 mmol/L; 6.0 to < 6.5; 6.5 to < 7.0; ≥ 7.0"
	"K": {
		{Name: "Potassium, Low", Dir: Low, Scales: []Scale{in("mmol/L", belowEach(3.4, 3, 2.5, 2))}},
		{Name: "Potassium, High", Dir: High, Scales: []Scale{in("mmol/L", fromEach(Abs, 5.6, 6, 6.5, 7))}},
	},
	// Low: "130 to < 135 mmol/L; 125 to < 130; 121 to < 125; ≤ 120";
	// High: "146 to < 150 mmol/L; 150 to < 154; 154 to < 160; ≥ 160"
	"SODIUM": {
		{Name: "Sodium, Low", Dir: Low, Scales: []Scale{in("mmol/L", []Band{under(1, Abs, 135), under(2, Abs, 130), under(3, Abs, 125), upTo(4, Abs, 120)})}},
		{Name: "Sodium, High", Dir: High, Scales: []Scale{in("mmol/L", fromEach(Abs, 146, 150, 154, 160))}},
	},
	// "7.5 to < 10.0 mg/dL, 0.45 to < 0.59 mmol/L; 10.0 to < 12.0 mg/dL,
	// 0.59 to < 0.71 mmol/L; 12.0 to < 15.0 mg/dL, 0.71 to < 0.89 mmol/L; ≥
	// 15.0 mg/dL, ≥ 0.89 mmol/L"
	"URATE": {{Name: "Uric Acid, High", Dir: High, Scales: []Scale{in("umol/L", fromEach(Abs, 450, 590, 710, 890)), in("mg/dL", fromEach(Abs, 7.5, 10, 12, 15))}}},
	// > 5 years, not HIV infected: "300 to < 400/mm3, 0.30 to < 0.40 x
	// 10^9/L; 200 to < 300/mm3; 100 to < 200/mm3; < 100/mm3" (none given
	// up to 5 years)
	"CD4": {{Name: "Absolute CD4+ Count, Low", Dir: Low, Subgroups: []Subgroup{
		ageRange("> 5 years of age", 6*Year, 0).with(in("10^9/L", belowEach(0.4, 0.3, 0.2, 0.1))),
		ageRange("≤ 5 years of age", 0, 6*Year).none(noCriteriaForAge),
	}}},
	// > 5 years, not HIV infected: "600 to < 650/mm3, 0.600 to < 0.650 x
	// 10^9/L; 500 to < 600/mm3; 350 to < 500/mm3; < 350/mm3"
	"LYM": {{Name: "Absolute Lymphocyte Count, Low", Dir: Low, Subgroups: []Subgroup{
		ageRange("> 5 years of age", 6*Year, 0).with(in("10^9/L", belowEach(0.65, 0.6, 0.5, 0.35))),
		ageRange("≤ 5 years of age", 0, 6*Year).none(noCriteriaForAge),
	}}},
	// > 7 days: "800 to 1,000/mm3, 0.800 to 1.000 x 10^9/L; 600 to
	// 799/mm3; 400 to 599/mm3; < 400/mm3"; 2 to 7 days: "1,250 to
	// 1,500/mm3; 1,000 to 1,249/mm3; 750 to 999/mm3; < 750/mm3"; ≤ 1 day:
	// "4,000 to 5,000/mm3; 3,000 to 3,999/mm3; 1,500 to 2,999/mm3; <
	// 1,500/mm3"
	"NEUT": {{Name: "Absolute Neutrophil Count (ANC), Low", Dir: Low, Subgroups: []Subgroup{
		ageRange("> 7 days of age", 8*Day, 0).with(in("10^9/L", upToThenBelow(1, 0.8, 0.6, 0.4))),
		ageRange("2 to 7 days of age", 2*Day, 8*Day).with(in("10^9/L", upToThenBelow(1.5, 1.25, 1, 0.75))),
		ageRange("≤ 1 day of age", 0, 2*Day).with(in("10^9/L", upToThenBelow(5, 4, 3, 1.5))),
	}}},
	// "100 to < 200 mg/dL, 1.00 to < 2.00 g/L or 0.75 to < 1.00 x LLN; 75 to
	// < 100 mg/dL, 0.75 to < 1.00 g/L or ≥ 0.50 to < 0.75 x LLN; 50 to < 75
	// mg/dL, 0.50 to < 0.75 g/L or 0.25 to < 0.50 x LLN; < 50 mg/dL, < 0.50
	// g/L or < 0.25 x LLN or associated with gross bleeding"
	"FIBRINO": {{Name: "Fibrinogen Decreased", Dir: Low, Scales: []Scale{in("g/L", append(belowEach(2, 1, 0.75, 0.5),
		under(1, LLN, 1), under(2, LLN, 0.75), under(3, LLN, 0.5), under(4, LLN, 0.25)))}}},
	"HGB": {hemoglobinLowDAIDS},
	// "1.1 to < 1.5 x ULN; 1.5 to < 2.0 x ULN; 2.0 to < 3.0 x ULN; ≥ 3.0 x
	// ULN" (not on anticoagulation therapy)
	"INR": {{Name: "INR, High", Dir: High, Scales: relative(fromEach(ULN, 1.1, 1.5, 2, 3)...)}},
	// "5.0 to < 10.0%; 10.0 to < 15.0%; 15.0 to < 20.0%; ≥ 20.0%"
	"METHB": {{Name: "Methemoglobin", Dir: High, Scales: []Scale{in("%", fromEach(Abs, 5, 10, 15, 20))}}},
	// "1.1 to < 1.66 x ULN; 1.66 to < 2.33 x ULN; 2.33 to < 3.00 x ULN; ≥
	// 3.00 x ULN" (not on anticoagulation therapy)
	"CREATCLR": {renalFunctionLow("mL/min")},
	"EGFR":     {renalFunctionLow("mL/min/1.73m2")},
	"APTT":     {{Name: "PTT, High", Dir: High, Scales: relative(fromEach(ULN, 1.1, 1.66, 2.33, 3)...)}},
	// "100,000 to < 125,000/mm3, 100.000 to < 125.000 x 10^9/L; 50,000 to <
	// 100,000/mm3; 25,000 to < 50,000/mm3; < 25,000/mm3"
	"PLAT": {{Name: "Platelets, Decreased", Dir: Low, Scales: []Scale{in("10^9/L", belowEach(125, 100, 50, 25))}}},
	// "1.1 to < 1.25 x ULN; 1.25 to < 1.50 x ULN; 1.50 to < 3.00 x ULN; ≥
	// 3.00 x ULN" (not on anticoagulation therapy)
	"PT": {{Name: "PT, High", Dir: High, Scales: relative(fromEach(ULN, 1.1, 1.25, 1.5, 3)...)}},
	// > 7 days: "2,000 to 2,499/mm3, 2.000 to 2.499 x 10^9/L; 1,500 to
	// 1,999/mm3; 1,000 to 1,499/mm3; < 1,000/mm3"; ≤ 7 days: "5,500 to
	// 6,999/mm3; 4,000 to 5,499/mm3; 2,500 to 3,999/mm3; < 2,500/mm3"
	"WBC": {{Name: "WBC, Decreased", Dir: Low, Subgroups: []Subgroup{
		ageRange("> 7 days of age", 8*Day, 0).with(in("10^9/L", belowEach(2.5, 2, 1.5, 1))),
		ageRange("≤ 7 days of age", 0, 8*Day).with(in("10^9/L", belowEach(7, 5.5, 4, 2.5))),
	}}},
}

// Hemoglobin, Low, by age at collection and (from 13 years) sex. DAIDS
// gives g/dL and mmol/L cut-offs of its own; g/L are the g/dL ones x 10.
// ≥ 13 years, male: "10.0 to 10.9 g/dL, 6.19 to 6.76 mmol/L; 9.0 to < 10.0
// g/dL, 5.57 to < 6.19 mmol/L; 7.0 to < 9.0 g/dL, 4.34 to < 5.57 mmol/L; <
// 7.0 g/dL, < 4.34 mmol/L". ≥ 13 years, female, and 57 days to < 13 years:
// "9.5 to 10.4 g/dL, 5.88 to 6.48 mmol/L; 8.5 to < 9.5 g/dL, 5.25 to < 5.88
// mmol/L; 6.5 to < 8.5 g/dL, 4.03 to < 5.25 mmol/L; < 6.5 g/dL, < 4.03
// mmol/L". 36 to 56 days: "8.5 to 9.6 g/dL, 5.26 to 5.99 mmol/L; 7.0 to <
// 8.5 g/dL, 4.32 to < 5.26 mmol/L; 6.0 to < 7.0 g/dL, 3.72 to < 4.32 mmol/L;
// < 6.0 g/dL, < 3.72 mmol/L". 22 to 35 days: "9.5 to 11.0 g/dL, 5.88 to
// 6.86 mmol/L; 8.0 to < 9.5 g/dL, 4.94 to < 5.88 mmol/L; 6.7 to < 8.0 g/dL,
// 4.15 to < 4.94 mmol/L; < 6.7 g/dL, < 4.15 mmol/L". 8 to 21 days: "11.0 to
// 13.0 g/dL, 6.81 to 8.10 mmol/L; 9.0 to < 11.0 g/dL, 5.57 to < 6.81
// mmol/L; 8.0 to < 9.0 g/dL, 4.96 to < 5.57 mmol/L; < 8.0 g/dL, < 4.96
// mmol/L". ≤ 7 days: "13.0 to 14.0 g/dL, 8.05 to 8.72 mmol/L; 10.0 to <
// 13.0 g/dL, 6.19 to < 8.05 mmol/L; 9.0 to < 10.0 g/dL, 5.59 to < 6.19
// mmol/L; < 9.0 g/dL, < 5.59 mmol/L".
var hemoglobinLowDAIDS = Term{Name: "Hemoglobin, Low", Dir: Low, Subgroups: []Subgroup{
	ageRange("≥ 13 years of age (male only)", 13*Year, 0).male().with(hgbDAIDS(10.9, 10, 9, 7, 6.76, 6.19, 5.57, 4.34)...),
	ageRange("≥ 13 years of age (female only)", 13*Year, 0).female().with(hgbDAIDS(10.4, 9.5, 8.5, 6.5, 6.48, 5.88, 5.25, 4.03)...),
	ageRange("57 days of age to < 13 years of age", 57*Day, 13*Year).with(hgbDAIDS(10.4, 9.5, 8.5, 6.5, 6.48, 5.88, 5.25, 4.03)...),
	ageRange("36 to 56 days of age", 36*Day, 57*Day).with(hgbDAIDS(9.6, 8.5, 7, 6, 5.99, 5.26, 4.32, 3.72)...),
	ageRange("22 to 35 days of age", 22*Day, 36*Day).with(hgbDAIDS(11, 9.5, 8, 6.7, 6.86, 5.88, 4.94, 4.15)...),
	ageRange("8 to 21 days of age", 8*Day, 22*Day).with(hgbDAIDS(13, 11, 9, 8, 8.1, 6.81, 5.57, 4.96)...),
	ageRange("≤ 7 days of age", 0, 8*Day).with(hgbDAIDS(14, 13, 10, 9, 8.72, 8.05, 6.19, 5.59)...),
}}

// hgbDAIDS is one hemoglobin subgroup: grade 1 at or below g1, grades 2-4
// below the next cut-offs, in g/dL (and g/L) and in DAIDS's own mmol/L.
func hgbDAIDS(g1, g2, g3, g4, m1, m2, m3, m4 float64) []Scale {
	return []Scale{
		in("g/L", upToThenBelow(g1*10, g2*10, g3*10, g4*10)),
		in("g/dL", upToThenBelow(g1, g2, g3, g4)),
		in("mmol/L", upToThenBelow(m1, m2, m3, m4)),
	}
}

func (g Subgroup) worstCase(scales ...Scale) Subgroup { g.Worst = scales; return g }
