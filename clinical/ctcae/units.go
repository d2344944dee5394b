package ctcae

import (
	"strings"

	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

// analyte is one measured quantity and the LBTESTCD codes that name it.
// The first code is the CDISC Controlled Terminology one; the rest are
// synonyms seen in legacy and vendor data.
type analyte struct {
	id    string
	codes []string
	// units maps each known unit (normalised) to the factor that converts
	// a value in it to the analyte's first-listed unit. Only these units
	// are ever converted.
	units map[string]float64
}

// corrected reports whether a is graded after correction for the albumin
// of the same draw (calcium.go): total calcium.
func (a *analyte) corrected() bool { return a.id == "CA" }

// Factors convert conventional (US) units to the SI ones, from the molar
// masses of the analytes (IUPAC standard atomic weights) and unit ratios;
// they are the factors of the AMA Manual of Style's SI conversion table
// (creatinine 88.4, bilirubin 17.1, glucose 0.0555, calcium 0.2495,
// magnesium 0.4114, phosphorus 0.3229, cholesterol 0.02586, triglycerides
// 0.01129, uric acid 59.48, lactate 0.111, enzymes 0.0167 µkat/L per U/L).
// A unit not in an analyte's table is never converted: the result is not
// gradable, and the reason names the unit.
var (
	enzymeUnits = map[string]float64{"u/l": 1, "ukat/l": 60} // 1 µkat/L = 60 U/L
	cellUnits   = map[string]float64{"10^9/l": 1, "/ul": 0.001}
	// Hemoglobin in mmol/L counts the iron-bearing monomer (16.11 g/mmol).
	hemoglobinUnits = map[string]float64{"g/l": 1, "g/dl": 10, "mg/dl": 0.01, "mmol/l": 16.11}
	albuminUnits    = map[string]float64{"g/l": 1, "g/dl": 10, "mg/dl": 0.01}
	// Glucose 180.16 g/mol: 1 mmol/L = 18.016 mg/dL.
	glucoseUnits = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 18.016, "g/l": 1 / 0.18016}
	// Calcium 40.08 g/mol, divalent (2 mEq per mmol).
	calciumUnits = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 4.008, "meq/l": 0.5}
	// Magnesium 24.305 g/mol, divalent.
	magnesiumUnits = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 2.4305, "meq/l": 0.5}
	// Phosphate is reported as phosphorus, 30.97 g/mol.
	phosphateUnits = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 3.097}
	// Cholesterol 386.65 g/mol; triglycerides as triolein, 885.7 g/mol.
	cholesterolUnits   = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 38.67}
	triglycerideUnits  = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 88.57}
	monovalentIonUnits = map[string]float64{"mmol/l": 1, "meq/l": 1}
	// Creatinine 113.12 g/mol; bilirubin 584.66 g/mol.
	creatinineUnits = map[string]float64{"umol/l": 1, "mg/dl": 88.42, "mmol/l": 1000}
	bilirubinUnits  = map[string]float64{"umol/l": 1, "mg/dl": 17.1}
	// INR is a ratio; LBSTRESU is usually empty.
	ratioUnits = map[string]float64{"": 1, "ratio": 1, "1": 1}
	// Uric acid 168.11 g/mol: 1 mg/dL = 59.48 umol/L.
	urateUnits = map[string]float64{"umol/l": 1, "mg/dl": 59.48, "mmol/l": 1000}
	// Fibrinogen and haptoglobin by mass.
	proteinUnits = map[string]float64{"g/l": 1, "g/dl": 10, "mg/dl": 0.01, "mg/l": 0.001}
	// Clearance: 1 mL/s = 60 mL/min; an eGFR is per 1.73 m2 of body surface.
	clearanceUnits = map[string]float64{"ml/min": 1, "ml/s": 60}
	gfrUnits       = map[string]float64{"ml/min/1.73m2": 1, "ml/s/1.73m2": 60}
	// Clotting times in seconds.
	secondUnits = map[string]float64{"s": 1, "sec": 1}
	// Lactate 90.08 g/mol: 1 mmol/L = 9.008 mg/dL.
	lactateUnits = map[string]float64{"mmol/l": 1, "mg/dl": 1 / 9.008}
	// Methemoglobin as a percentage of hemoglobin.
	percentUnits = map[string]float64{"%": 1, "fraction": 100}
)

var analytes = []analyte{
	{"ALT", []string{"ALT", "SGPT"}, enzymeUnits},
	{"AST", []string{"AST", "SGOT"}, enzymeUnits},
	{"ALP", []string{"ALP", "ALKPHOS"}, enzymeUnits},
	{"BILI", []string{"BILI", "TBILI"}, bilirubinUnits},
	{"GGT", []string{"GGT"}, enzymeUnits},
	{"CREAT", []string{"CREAT", "CREA"}, creatinineUnits},
	{"CK", []string{"CK", "CPK"}, enzymeUnits},
	{"ALB", []string{"ALB"}, albuminUnits},
	{"HGB", []string{"HGB", "HB"}, hemoglobinUnits},
	{"PLAT", []string{"PLAT", "PLT"}, cellUnits},
	{"WBC", []string{"WBC", "LEUK"}, cellUnits},
	{"NEUT", []string{"NEUT", "ANC", "NEUTSG"}, cellUnits},
	{"LYM", []string{"LYM", "LYMPH"}, cellUnits},
	{"K", []string{"K", "POTASSIUM"}, monovalentIonUnits},
	{"SODIUM", []string{"SODIUM", "NA"}, monovalentIonUnits},
	{"CA", []string{"CA", "CALCIUM"}, calciumUnits},
	{"CACORR", []string{"CACORR"}, calciumUnits},
	{"CAION", []string{"CAION", "ICA"}, calciumUnits},
	{"MG", []string{"MG", "MAGNES"}, magnesiumUnits},
	{"GLUC", []string{"GLUC", "GLUCOSE"}, glucoseUnits},
	{"PHOS", []string{"PHOS", "PHOSPHAT", "PO4"}, phosphateUnits},
	{"CHOL", []string{"CHOL"}, cholesterolUnits},
	{"TRIG", []string{"TRIG", "TG"}, triglycerideUnits},
	{"LIPASE", []string{"LIPASE"}, enzymeUnits},
	{"AMYLASE", []string{"AMYLASE"}, enzymeUnits},
	{"INR", []string{"INR"}, ratioUnits},
	{"URATE", []string{"URATE", "URICACID"}, urateUnits},
	{"APTT", []string{"APTT", "PTT"}, secondUnits},
	{"CD4", []string{"CD4"}, cellUnits},
	{"FIBRINO", []string{"FIBRINO", "FIBRINOG"}, proteinUnits},
	{"HAPTOG", []string{"HAPTOG"}, proteinUnits},
	{"LDH", []string{"LDH"}, enzymeUnits},
	{"HDL", []string{"HDL"}, cholesterolUnits},
	{"LDL", []string{"LDL"}, cholesterolUnits},
	{"CREATCLR", []string{"CREATCLR", "CRCL"}, clearanceUnits},
	// eGFR: LBTESTCD EGFR, or GFR (the estimating equation in LBMETHOD).
	{"EGFR", []string{"EGFR", "GFR"}, gfrUnits},
	{"BILDIR", []string{"BILDIR", "DBILI"}, bilirubinUnits},
	{"BICARB", []string{"BICARB", "HCO3"}, monovalentIonUnits},
	{"LACTICAC", []string{"LACTICAC", "LACTATE"}, lactateUnits},
	{"METHB", []string{"METHB", "METHGB"}, percentUnits},
	{"PT", []string{"PT"}, secondUnits},
}

var analyteByCode = func() map[string]*analyte {
	m := map[string]*analyte{}
	for i := range analytes {
		for _, c := range analytes[i].codes {
			if _, dup := m[c]; dup {
				panic("ctcae: test code " + c + " names two analytes")
			}
			m[c] = &analytes[i]
		}
	}
	return m
}()

func analyteOf(code string) (*analyte, bool) {
	a, ok := analyteByCode[strings.ToUpper(strings.TrimSpace(code))]
	return a, ok
}

// factor converts a value of analyte a from unit `from` to unit `to`.
// Equal units need no table; otherwise both must be known for a.
func (a *analyte) factor(from, to string) (float64, bool) {
	f, t := criteria.NormUnit(from), criteria.NormUnit(to)
	if f == t {
		return 1, true
	}
	ff, ok1 := a.units[f]
	tf, ok2 := a.units[t]
	if !ok1 || !ok2 {
		return 0, false
	}
	return ff / tf, true
}
