package ctcae

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// notGradable stands for "Gradable is false" where a grade is expected.
const notGradable = -1

// edge is one threshold and the grades just below it, at it, and just
// above it. The expectations are written from the CTCAE text, not from
// the tables, so that a wrong table entry shows up here.
type edge struct {
	at                 float64
	below, atIt, above int
}

// gt: ">at" starts the higher grade, so `at` itself is still the lower one.
func gt(at float64, lower, higher int) edge { return edge{at, lower, lower, higher} }

// ge: "at - x" (no ">") includes `at` in the higher grade.
func ge(at float64, lower, higher int) edge { return edge{at, lower, higher, higher} }

// lt: "<at" for low terms: `at` itself is still the milder grade.
func lt(at float64, milder, worse int) edge { return edge{at, worse, milder, milder} }

type limits struct {
	low, high       float64
	hasLow, hasHigh bool
}

func lohi(lo, hi float64) limits { return limits{lo, hi, true, true} }
func hi(h float64) limits        { return limits{high: h, hasHigh: true} }
func lo(l float64) limits        { return limits{low: l, hasLow: true} }

type edgeCase struct {
	name     string
	versions []Criteria
	code     string
	unit     string
	lim      limits
	baseline *float64 // in unit; nil for none
	dir      Direction
	edges    []edge
}

var (
	all  = []Criteria{V403, V50, V60}
	both = []Criteria{V403, V50}
	v4   = []Criteria{V403}
	v5   = []Criteria{V50}
	v6   = []Criteria{V60}
	v56  = []Criteria{V50, V60}
	v46  = []Criteria{V403, V60}
)

func ptr(f float64) *float64 { return &f }

var edgeCases = []edgeCase{
	{"ALT v4.03", v4, "ALT", "U/L", hi(40), nil, High, []edge{gt(40, 0, 1), gt(120, 1, 2), gt(200, 2, 3), gt(800, 3, 4)}},
	{"ALT v4.03 ignores an abnormal baseline", v4, "ALT", "U/L", hi(40), ptr(60), High, []edge{gt(40, 0, 1), gt(120, 1, 2)}},
	{"ALT v5.0 normal baseline", v5, "ALT", "U/L", hi(40), ptr(30), High, []edge{gt(40, 0, 1), gt(120, 1, 2), gt(200, 2, 3), gt(800, 3, 4)}},
	{"ALT v5.0 abnormal baseline", v5, "ALT", "U/L", hi(40), ptr(60), High, []edge{gt(50, 0, 0), ge(90, 0, 1), gt(180, 1, 2), gt(300, 2, 3), gt(1200, 3, 4)}},
	{"ALT v5.0 no baseline", v5, "ALT", "U/L", hi(40), nil, High, []edge{gt(40, 0, notGradable)}},
	{"AST v4.03", v4, "AST", "U/L", hi(34), nil, High, []edge{gt(34, 0, 1), gt(102, 1, 2), gt(170, 2, 3), gt(680, 3, 4)}},
	{"AST v5.0 normal baseline", v5, "AST", "U/L", hi(34), ptr(34), High, []edge{gt(34, 0, 1), gt(102, 1, 2), gt(170, 2, 3), gt(680, 3, 4)}},
	{"AST v5.0 abnormal baseline", v5, "AST", "U/L", hi(34), ptr(40), High, []edge{ge(60, 0, 1), gt(120, 1, 2), gt(200, 2, 3), gt(800, 3, 4)}},
	{"ALP v4.03", v4, "ALP", "U/L", hi(115), nil, High, []edge{gt(115, 0, 1), gt(287.5, 1, 2), gt(575, 2, 3), gt(2300, 3, 4)}},
	{"ALP v5.0 normal baseline", v5, "ALP", "U/L", hi(115), ptr(100), High, []edge{gt(115, 0, 1), gt(287.5, 1, 2), gt(575, 2, 3), gt(2300, 3, 4)}},
	{"ALP v5.0 abnormal baseline", v5, "ALP", "U/L", hi(115), ptr(200), High, []edge{gt(300, 0, 0), ge(400, 0, 1), gt(500, 1, 2), gt(1000, 2, 3), gt(4000, 3, 4)}},
	{"GGT v4.03", v4, "GGT", "U/L", hi(50), nil, High, []edge{gt(50, 0, 1), gt(125, 1, 2), gt(250, 2, 3), gt(1000, 3, 4)}},
	{"GGT v5.0 normal baseline", v5, "GGT", "U/L", hi(50), ptr(20), High, []edge{gt(50, 0, 1), gt(125, 1, 2), gt(250, 2, 3), gt(1000, 3, 4)}},
	{"GGT v5.0 abnormal baseline", v5, "GGT", "U/L", hi(50), ptr(80), High, []edge{ge(160, 0, 1), gt(200, 1, 2), gt(400, 2, 3), gt(1600, 3, 4)}},
	{"bilirubin v4.03", v4, "BILI", "umol/L", hi(21), nil, High, []edge{gt(21, 0, 1), gt(31.5, 1, 2), gt(63, 2, 3), gt(210, 3, 4)}},
	{"bilirubin v5.0 normal baseline", v5, "BILI", "umol/L", hi(21), ptr(10), High, []edge{gt(21, 0, 1), gt(31.5, 1, 2), gt(63, 2, 3), gt(210, 3, 4)}},
	{"bilirubin v5.0 abnormal baseline", v5, "BILI", "umol/L", hi(21), ptr(30), High, []edge{gt(30, 0, 1), gt(45, 1, 2), gt(90, 2, 3), gt(300, 3, 4)}},
	// Against ULN 124 and baseline 60 the baseline multiples bite first.
	{"creatinine v4.03 low baseline", v4, "CREAT", "umol/L", hi(124), ptr(60), High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(180, 2, 3), gt(744, 3, 4)}},
	// v5.0 has no "x baseline" grade 1: up to 1.5 x baseline and ULN is 0.
	{"creatinine v5.0 low baseline", v5, "CREAT", "umol/L", hi(124), ptr(60), High, []edge{gt(90, 0, 2), gt(180, 2, 3), gt(744, 3, 4)}},
	{"creatinine v5.0 high-normal baseline", v5, "CREAT", "umol/L", hi(124), ptr(100), High, []edge{gt(124, 0, 1), gt(150, 1, 2), gt(300, 2, 3), gt(744, 3, 4)}},
	// Without a baseline, only a grade no "x baseline" band can exceed is
	// certain: above 3 x ULN (grade 3, the highest baseline grade).
	{"creatinine without baseline", all, "CREAT", "umol/L", hi(124), nil, High, []edge{gt(372, notGradable, 3), gt(744, 3, 4)}},
	{"CPK", both, "CK", "U/L", hi(169), nil, High, []edge{gt(169, 0, 1), gt(422.5, 1, 2), gt(845, 2, 3), gt(1690, 3, 4)}},
	{"albumin g/L", all, "ALB", "g/L", lo(35), nil, Low, []edge{lt(35, 0, 1), lt(30, 1, 2), lt(20, 2, 3)}},
	{"albumin g/dL", all, "ALB", "g/dL", lo(3.5), nil, Low, []edge{lt(3.5, 0, 1), lt(3, 1, 2), lt(2, 2, 3)}},
	{"anemia g/L", all, "HGB", "g/L", lohi(120, 160), nil, Low, []edge{lt(120, 0, 1), lt(100, 1, 2), lt(80, 2, 3)}},
	{"anemia g/dL", all, "HGB", "g/dL", lohi(12, 16), nil, Low, []edge{lt(12, 0, 1), lt(10, 1, 2), lt(8, 2, 3)}},
	{"anemia mmol/L uses CTCAE's mmol/L cut-offs", all, "HGB", "mmol/L", lohi(7.14, 9.81), nil, Low, []edge{lt(7.14, 0, 1), lt(6.2, 1, 2), lt(4.9, 2, 3)}},
	{"hemoglobin increased g/L", v56, "HGB", "g/L", lohi(120, 160), ptr(170), High, []edge{gt(160, 0, 1), gt(180, 1, 2), gt(200, 2, 3)}},
	{"hemoglobin increased g/dL", all, "HGB", "g/dL", lohi(12, 16), ptr(14), High, []edge{gt(16, 0, 1), gt(18, 1, 2), gt(20, 2, 3)}},
	{"hemoglobin increased mmol/L converts", all, "HGB", "mmol/L", lohi(7.14, 9.81), ptr(9), High, []edge{gt(9.81, 0, 1), gt(9.81+20/16.11, 1, 2), gt(9.81+40/16.11, 2, 3)}},
	{"hemoglobin increased v4.03 above a high baseline", v4, "HGB", "g/L", lohi(120, 160), ptr(170), High, []edge{gt(165, 0, 0), gt(170, 0, 1), gt(190, 1, 2), gt(210, 2, 3)}},
	{"hemoglobin increased v4.03 no baseline", v4, "HGB", "g/L", lohi(120, 160), nil, High, []edge{gt(160, 0, notGradable)}},
	{"platelets", both, "PLAT", "10^9/L", lo(140), nil, Low, []edge{lt(140, 0, 1), lt(75, 1, 2), lt(50, 2, 3), lt(25, 3, 4)}},
	{"platelets per mm3", both, "PLT", "/mm3", lo(140000), nil, Low, []edge{lt(140000, 0, 1), lt(75000, 1, 2), lt(50000, 2, 3), lt(25000, 3, 4)}},
	{"WBC decreased", all, "WBC", "GI/L", lohi(3.8, 10.7), nil, Low, []edge{lt(3.8, 0, 1), lt(3, 1, 2), lt(2, 2, 3), lt(1, 3, 4)}},
	{"leukocytosis", all, "WBC", "GI/L", lohi(3.8, 10.7), nil, High, []edge{gt(10.7, 0, 0), gt(100, 0, 3)}},
	{"neutrophils", both, "NEUT", "10^9/L", lo(1.8), nil, Low, []edge{lt(1.8, 0, 1), lt(1.5, 1, 2), lt(1, 2, 3), lt(0.5, 3, 4)}},
	{"lymphocytes decreased", both, "LYM", "GI/L", lohi(1, 3), nil, Low, []edge{lt(1, 0, 1), lt(0.8, 1, 2), lt(0.5, 2, 3), lt(0.2, 3, 4)}},
	{"lymphocytes increased", all, "LYMPH", "GI/L", lohi(1, 3), nil, High, []edge{gt(3, 0, 0), gt(4, 0, 2), gt(20, 2, 3)}},
	{"hypokalemia", all, "K", "mmol/L", lohi(3.4, 5.4), nil, Low, []edge{lt(3.4, 0, 1), lt(3, 1, 3), lt(2.5, 3, 4)}},
	{"hyperkalemia", all, "K", "mEq/L", lohi(3.4, 5.4), nil, High, []edge{gt(5.4, 0, 1), gt(5.5, 1, 2), gt(6, 2, 3), gt(7, 3, 4)}},
	{"hyponatremia v4.03", v4, "SODIUM", "mmol/L", lohi(135, 145), nil, Low, []edge{lt(135, 0, 1), lt(130, 1, 3), lt(120, 3, 4)}},
	{"hyponatremia v5.0", v56, "SODIUM", "mmol/L", lohi(135, 145), nil, Low, []edge{lt(135, 0, 1), lt(130, 1, 2), lt(125, 2, 3), lt(120, 3, 4)}},
	{"hypernatremia", all, "SODIUM", "mmol/L", lohi(135, 145), nil, High, []edge{gt(145, 0, 1), gt(150, 1, 2), gt(155, 2, 3), gt(160, 3, 4)}},
	{"hypocalcemia mmol/L", all, "CACORR", "mmol/L", lohi(2.1, 2.57), nil, Low, []edge{lt(2.1, 0, 1), lt(2, 1, 2), lt(1.75, 2, 3), lt(1.5, 3, 4)}},
	{"hypocalcemia mg/dL", all, "CACORR", "mg/dL", lohi(8.5, 10.5), nil, Low, []edge{lt(8.5, 0, 1), lt(8, 1, 2), lt(7, 2, 3), lt(6, 3, 4)}},
	{"hypercalcemia mmol/L", all, "CACORR", "mmol/L", lohi(2.1, 2.57), nil, High, []edge{gt(2.57, 0, 1), gt(2.9, 1, 2), gt(3.1, 2, 3), gt(3.4, 3, 4)}},
	{"hypercalcemia mg/dL", all, "CACORR", "mg/dL", lohi(8.5, 10.5), nil, High, []edge{gt(10.5, 0, 1), gt(11.5, 1, 2), gt(12.5, 2, 3), gt(13.5, 3, 4)}},
	{"hypocalcemia ionized", all, "CAION", "mmol/L", lohi(1.12, 1.32), nil, Low, []edge{lt(1.12, 0, 1), lt(1, 1, 2), lt(0.9, 2, 3), lt(0.8, 3, 4)}},
	{"hypercalcemia ionized", all, "CAION", "mmol/L", lohi(1.12, 1.32), nil, High, []edge{gt(1.32, 0, 1), gt(1.5, 1, 2), gt(1.6, 2, 3), gt(1.8, 3, 4)}},
	{"hypomagnesemia mmol/L", all, "MG", "mmol/L", lohi(0.66, 1.07), nil, Low, []edge{lt(0.66, 0, 1), lt(0.5, 1, 2), lt(0.4, 2, 3), lt(0.3, 3, 4)}},
	{"hypomagnesemia mg/dL", all, "MG", "mg/dL", lohi(1.6, 2.6), nil, Low, []edge{lt(1.6, 0, 1), lt(1.2, 1, 2), lt(0.9, 2, 3), lt(0.7, 3, 4)}},
	{"hypermagnesemia mmol/L", all, "MG", "mmol/L", lohi(0.66, 1.07), nil, High, []edge{gt(1.07, 0, 1), gt(1.23, 1, 3), gt(3.3, 3, 4)}},
	{"hypermagnesemia mg/dL", all, "MG", "mg/dL", lohi(1.6, 2.6), nil, High, []edge{gt(2.6, 0, 1), gt(3, 1, 3), gt(8, 3, 4)}},
	{"hypoglycemia mmol/L", all, "GLUC", "mmol/L", lohi(3.9, 5.6), nil, Low, []edge{lt(3.9, 0, 1), lt(3, 1, 2), lt(2.2, 2, 3), lt(1.7, 3, 4)}},
	{"hypoglycemia mg/dL", all, "GLUC", "mg/dL", lohi(70, 100), nil, Low, []edge{lt(70, 0, 1), lt(55, 1, 2), lt(40, 2, 3), lt(30, 3, 4)}},
	// Grades 1-2 need a fasting sample, which LB does not identify.
	{"hyperglycemia by value mmol/L", v46, "GLUC", "mmol/L", lohi(3.9, 5.6), nil, High, []edge{gt(5.6, 0, notGradable), gt(13.9, notGradable, 3), gt(27.8, 3, 4)}},
	{"hyperglycemia by value mg/dL", v46, "GLUC", "mg/dL", lohi(70, 100), nil, High, []edge{gt(100, 0, notGradable), gt(250, notGradable, 3), gt(500, 3, 4)}},
	{"hyperglycemia v5.0 is not graded by value", v5, "GLUC", "mmol/L", lohi(3.9, 5.6), nil, High, []edge{gt(5.6, notGradable, notGradable), gt(30, notGradable, notGradable)}},
	{"hypophosphatemia v4.03 mmol/L", v4, "PHOS", "mmol/L", lohi(0.87, 1.45), nil, Low, []edge{lt(0.87, 0, 1), lt(0.8, 1, 2), lt(0.6, 2, 3), lt(0.3, 3, 4)}},
	{"hypophosphatemia v4.03 mg/dL", v4, "PHOS", "mg/dL", lohi(2.7, 4.5), nil, Low, []edge{lt(2.7, 0, 1), lt(2.5, 1, 2), lt(2, 2, 3), lt(1, 3, 4)}},
	{"hypophosphatemia v5.0 is not graded by value", v5, "PHOS", "mmol/L", lohi(0.87, 1.45), nil, Low, []edge{lt(0.3, notGradable, notGradable)}},
	{"cholesterol mmol/L", all, "CHOL", "mmol/L", hi(5.2), nil, High, []edge{gt(5.2, 0, 1), gt(7.75, 1, 2), gt(10.34, 2, 3), gt(12.92, 3, 4)}},
	{"cholesterol mg/dL", all, "CHOL", "mg/dL", hi(200), nil, High, []edge{gt(200, 0, 1), gt(300, 1, 2), gt(400, 2, 3), gt(500, 3, 4)}},
	{"triglycerides mmol/L", all, "TRIG", "mmol/L", hi(1.7), nil, High, []edge{ge(1.71, 0, 1), gt(3.42, 1, 2), gt(5.7, 2, 3), gt(11.4, 3, 4)}},
	{"triglycerides mg/dL", all, "TRIG", "mg/dL", hi(150), nil, High, []edge{ge(150, 0, 1), gt(300, 1, 2), gt(500, 2, 3), gt(1000, 3, 4)}},
	{"lipase v4.03", v4, "LIPASE", "U/L", hi(60), nil, High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(120, 2, 3), gt(300, 3, 4)}},
	{"lipase v5.0 asymptomatic", v5, "LIPASE", "U/L", hi(60), nil, High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(120, 2, 2), gt(300, 2, 3)}},
	{"amylase v4.03", v4, "AMYLASE", "U/L", hi(100), nil, High, []edge{gt(100, 0, 1), gt(150, 1, 2), gt(200, 2, 3), gt(500, 3, 4)}},
	{"amylase v5.0 asymptomatic", v5, "AMYLASE", "U/L", hi(100), nil, High, []edge{gt(100, 0, 1), gt(150, 1, 2), gt(200, 2, 2), gt(500, 2, 3)}},
	// 1.5 x 1.1 is 1.6500000000000001 in binary; 1.65 must still be grade 1.
	{"INR v4.03", v4, "INR", "", hi(1.1), nil, High, []edge{gt(1.1, 0, 1), gt(1.65, 1, 2), gt(2.75, 2, 3)}},
	{"INR v5.0 absolute", v56, "INR", "RATIO", hi(1.1), nil, High, []edge{gt(1.1, 0, 0), gt(1.2, 0, 1), gt(1.5, 1, 2), gt(2.5, 2, 3)}},

	// Terms admiral's v4 and v5.0 metadata grade that trialwatch lacked.
	{"hyperuricemia v4.03 without consequences", v4, "URATE", "umol/L", lohi(150, 420), nil, High, []edge{gt(420, 0, 1), gt(590, 1, 4)}},
	{"hyperuricemia v4.03 mmol/L", v4, "URATE", "mmol/L", lohi(0.15, 0.42), nil, High, []edge{gt(0.42, 0, 1), gt(0.59, 1, 4)}},
	{"hyperuricemia v4.03 mg/dL", v4, "URATE", "mg/dL", lohi(2.5, 7), nil, High, []edge{gt(7, 0, 1), gt(10, 1, 4)}},
	{"hyperuricemia without consequences", v56, "URATE", "umol/L", lohi(150, 420), nil, High, []edge{gt(420, 0, 1), gt(1000, 1, 1)}},
	{"hyperuricemia mg/dL", v56, "URATE", "mg/dL", lohi(2.5, 7), nil, High, []edge{gt(7, 0, 1)}},
	{"aPTT", all, "APTT", "sec", lohi(25, 35), nil, High, []edge{gt(35, 0, 1), gt(52.5, 1, 2), gt(87.5, 2, 3)}},
	{"CD4 10^9/L", all, "CD4", "10^9/L", lo(0.6), nil, Low, []edge{lt(0.6, 0, 1), lt(0.5, 1, 2), lt(0.2, 2, 3), lt(0.05, 3, 4)}},
	{"CD4 per mm3", all, "CD4", "/mm3", lo(600), nil, Low, []edge{lt(600, 0, 1), lt(500, 1, 2), lt(200, 2, 3), lt(50, 3, 4)}},
	{"haptoglobin", all, "HAPTOG", "g/L", lohi(0.3, 2), nil, Low, []edge{lt(0.3, 0, 1), lt(0.01, 1, 1)}},
	{"fibrinogen g/L normal baseline", v56, "FIBRINO", "g/L", lohi(2.4, 4), ptr(3), Low, []edge{lt(2.4, 0, 1), lt(1.8, 1, 2), lt(1.2, 2, 3), lt(0.6, 3, 4)}},
	// LLN 1.6 g/L: 0.25 x LLN is 0.4, below the absolute 0.5 g/L (50 mg/dL).
	{"fibrinogen mg/dL absolute grade 4", v56, "FIBRINO", "mg/dL", lohi(160, 400), ptr(300), Low, []edge{lt(80, 2, 3), lt(50, 3, 4)}},
	// Baseline 2.0 below LLN 2.4: any decrease, then decreases of 25, 50
	// and 75% from it, instead of the LLN multiples.
	{"fibrinogen g/L low baseline", v56, "FIBRINO", "g/L", lohi(2.4, 4), ptr(2), Low, []edge{lt(2, 0, 1), {1.5, 2, 2, 1}, {1, 3, 3, 2}, {0.5, 4, 4, 3}}},
	{"fibrinogen no baseline, within limits", v56, "FIBRINO", "g/L", lohi(2.4, 4), nil, Low, []edge{{2.4, notGradable, 0, 0}}},
	// v4.03: the LLN multiples (2.4, 1.8, 1.2, 0.6) or the decrease from
	// baseline 3.0 (any, 25, 50, 75%: 3, 2.25, 1.5, 0.75), whichever is worse.
	{"fibrinogen v4.03 decrease from a normal baseline", v4, "FIBRINO", "g/L", lohi(2.4, 4), ptr(3), Low, []edge{{3, 1, 0, 0}, {2.25, 2, 2, 1}, {1.5, 3, 3, 2}, {0.75, 4, 4, 3}}},
	{"fibrinogen v4.03 mg/dL", v4, "FIBRINO", "mg/dL", lohi(200, 400), ptr(300), Low, []edge{{300, 1, 0, 0}, {225, 2, 2, 1}, {150, 3, 3, 2}, {75, 4, 4, 3}}},
	// No baseline, LLN 1.6: below 0.5 g/L (50 mg/dL) is grade 4 whatever
	// the decrease; above it a decrease could make it worse.
	{"fibrinogen v4.03 no baseline", v4, "FIBRINO", "g/L", lohi(1.6, 4), nil, Low, []edge{{0.5, 4, notGradable, notGradable}, {2, notGradable, notGradable, notGradable}}},

	// v6.0
	{"ALT v6.0 normal baseline", v6, "ALT", "U/L", hi(40), ptr(30), High, []edge{gt(40, 0, 1), gt(120, 1, 2), gt(200, 2, 3), gt(800, 3, 4)}},
	{"ALT v6.0 low baseline grades as normal", v6, "ALT", "U/L", lohi(7, 40), ptr(5), High, []edge{gt(40, 0, 1), gt(120, 1, 2)}},
	// Baseline 60 above ULN 40: grade 1 from the baseline itself.
	{"ALT v6.0 high baseline", v6, "ALT", "U/L", hi(40), ptr(60), High, []edge{ge(60, 0, 1), gt(90, 1, 2), gt(120, 2, 3), gt(240, 3, 4)}},
	{"ALT v6.0 no baseline", v6, "ALT", "U/L", hi(40), nil, High, []edge{gt(40, 0, notGradable)}},
	{"AST v6.0 high baseline", v6, "AST", "U/L", hi(34), ptr(40), High, []edge{ge(40, 0, 1), gt(60, 1, 2), gt(80, 2, 3), gt(160, 3, 4)}},
	{"AST v6.0 normal baseline", v6, "AST", "U/L", hi(34), ptr(20), High, []edge{gt(34, 0, 1), gt(102, 1, 2), gt(170, 2, 3), gt(680, 3, 4)}},
	{"ALP v6.0 normal baseline", v6, "ALP", "U/L", hi(115), ptr(100), High, []edge{gt(115, 0, 1), gt(5000, 1, 1)}},
	{"ALP v6.0 high baseline", v6, "ALP", "U/L", hi(115), ptr(200), High, []edge{gt(115, 0, 0), gt(200, 0, 1)}},
	{"GGT v6.0 normal baseline", v6, "GGT", "U/L", hi(50), ptr(20), High, []edge{gt(50, 0, 1), gt(125, 1, 2), gt(250, 2, 3), gt(1000, 3, 4)}},
	{"GGT v6.0 high baseline", v6, "GGT", "U/L", hi(50), ptr(80), High, []edge{ge(80, 0, 1), gt(120, 1, 2), gt(240, 2, 3), gt(800, 3, 4)}},
	{"bilirubin v6.0 normal baseline", v6, "BILI", "umol/L", hi(21), ptr(10), High, []edge{gt(21, 0, 1), gt(31.5, 1, 2), gt(63, 2, 3), gt(210, 3, 4)}},
	{"bilirubin v6.0 high baseline", v6, "BILI", "umol/L", hi(21), ptr(30), High, []edge{ge(30, 0, 1), gt(45, 1, 2), gt(75, 2, 3), gt(300, 3, 4)}},
	{"bilirubin v6.0 mg/dL", v6, "BILI", "mg/dL", hi(1.2), ptr(0.5), High, []edge{gt(1.2, 0, 1), gt(1.8, 1, 2), gt(3.6, 2, 3), gt(12, 3, 4)}},
	// Baseline 40 below LLN 53: 1.5 and 3 x baseline (60, 120) bite before ULN multiples.
	{"creatinine v6.0 low baseline", v6, "CREAT", "umol/L", lohi(53, 124), ptr(40), High, []edge{gt(60, 0, 2), gt(120, 2, 3), gt(124, 3, 3), gt(744, 3, 4)}},
	{"creatinine v6.0 normal baseline", v6, "CREAT", "umol/L", lohi(53, 124), ptr(60), High, []edge{gt(124, 0, 1), gt(186, 1, 2), gt(372, 2, 3), gt(744, 3, 4)}},
	{"creatinine v6.0 mg/dL", v6, "CREAT", "mg/dL", lohi(0.6, 1.4), ptr(1), High, []edge{gt(1.4, 0, 1), gt(2.1, 1, 2), gt(4.2, 2, 3), gt(8.4, 3, 4)}},
	{"creatinine clearance mL/min", v6, "CREATCLR", "mL/min", lo(90), nil, Low, []edge{{49, 2, 2, 0}, {25, 3, 3, 2}, {10, notGradable, 3, 3}}},
	{"creatinine clearance mL/s", v6, "CREATCLR", "mL/s", lo(1.5), nil, Low, []edge{{49.0 / 60, 2, 2, 0}, {25.0 / 60, 3, 3, 2}}},
	{"LDH", v6, "LDH", "U/L", lohi(120, 250), nil, High, []edge{gt(250, 0, 1), gt(5000, 1, 1)}},
	{"LDH ukat/L", v6, "LDH", "ukat/L", lohi(2, 4.2), nil, High, []edge{gt(4.2, 0, 1)}},
	{"HDL", v6, "HDL", "mmol/L", lo(1.0), nil, Low, []edge{lt(1, 0, 1), lt(0.1, 1, 1)}},
	{"HDL mg/dL", v6, "HDL", "mg/dL", lo(40), nil, Low, []edge{lt(40, 0, 1)}},
	{"LDL", v6, "LDL", "mmol/L", hi(3.4), nil, High, []edge{gt(3.4, 0, 1), gt(10, 1, 1)}},
	{"LDL mg/dL", v6, "LDL", "mg/dL", hi(130), nil, High, []edge{gt(130, 0, 1)}},
	{"thrombocytopenia", v6, "PLAT", "10^9/L", lo(140), nil, Low, []edge{lt(140, 0, 1), lt(75, 1, 2), lt(50, 2, 3), lt(10, 3, 4)}},
	{"thrombocytopenia per mm3", v6, "PLT", "/mm3", lo(140000), nil, Low, []edge{lt(140000, 0, 1), lt(75000, 1, 2), lt(50000, 2, 3), lt(10000, 3, 4)}},
	{"neutrophils v6.0 (no LLN band)", v6, "NEUT", "10^9/L", lo(1.8), nil, Low, []edge{lt(1.8, 0, 0), lt(1.5, 0, 1), lt(1, 1, 2), lt(0.5, 2, 3), lt(0.1, 3, 4)}},
	{"neutrophils v6.0 per mm3", v6, "ANC", "/mm3", lo(1800), nil, Low, []edge{lt(1500, 0, 1), lt(1000, 1, 2), lt(500, 2, 3), lt(100, 3, 4)}},
	{"lipase v6.0 asymptomatic", v6, "LIPASE", "U/L", hi(60), nil, High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(180, 2, 2), gt(300, 2, 3)}},
	{"amylase v6.0 asymptomatic", v6, "AMYLASE", "U/L", hi(100), nil, High, []edge{gt(100, 0, 1), gt(150, 1, 2), gt(200, 2, 2), gt(500, 2, 3)}},
}

// worstCases are graded WithContext(WorstCase): the grades CTCAE gives with
// symptoms, physiologic consequences or anticoagulation.
var worstCases = []edgeCase{
	{"hypokalemia symptomatic", all, "K", "mmol/L", lohi(3.4, 5.4), nil, Low, []edge{lt(3.4, 0, 2), lt(3, 2, 3), lt(2.5, 3, 4)}},
	{"hyponatremia symptomatic", v56, "SODIUM", "mmol/L", lohi(135, 145), nil, Low, []edge{lt(135, 0, 1), lt(130, 1, 3), lt(125, 3, 3), lt(120, 3, 4)}},
	{"hyperuricemia v4.03 with consequences", v4, "URATE", "umol/L", lohi(150, 420), nil, High, []edge{gt(420, 0, 3), gt(590, 3, 4)}},
	{"hyperuricemia with consequences", v56, "URATE", "umol/L", lohi(150, 420), nil, High, []edge{gt(420, 0, 3)}},
	{"lipase v5.0 symptomatic", v5, "LIPASE", "U/L", hi(60), nil, High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(120, 2, 3), gt(300, 3, 4)}},
	{"lipase v6.0 symptomatic", v6, "LIPASE", "U/L", hi(60), nil, High, []edge{gt(60, 0, 1), gt(90, 1, 2), gt(180, 2, 3), gt(300, 3, 4)}},
	{"amylase symptomatic", v56, "AMYLASE", "U/L", hi(100), nil, High, []edge{gt(100, 0, 1), gt(150, 1, 2), gt(200, 2, 3), gt(500, 3, 4)}},
	// On anticoagulation, baseline 1.0: x baseline bands (1.0, 1.5, 2.5) join the absolute ones.
	{"INR on anticoagulation", v56, "INR", "", hi(1.1), ptr(1), High, []edge{gt(1, 0, 1), gt(1.5, 1, 2), gt(2.5, 2, 3)}},
	// Baseline 0.8: 1.5 and 2.5 x baseline (1.2, 2.0) bite before 1.5 and 2.5.
	{"INR on anticoagulation, low baseline", v56, "INR", "", hi(1.1), ptr(0.8), High, []edge{gt(0.8, 0, 1), gt(1.2, 1, 2), gt(2, 2, 3)}},
	{"INR v4.03 on anticoagulation", v4, "INR", "", hi(1.1), ptr(1.5), High, []edge{gt(1.1, 0, 1), gt(1.65, 1, 2), gt(2.25, 2, 2), gt(2.75, 2, 3)}},
	{"INR without baseline: only grade 3 is certain", v56, "INR", "", hi(1.1), nil, High, []edge{gt(2.5, notGradable, 3)}},
}

func TestGradeBoundaries(t *testing.T) {
	runEdgeCases(t, edgeCases)
}

func TestGradeBoundariesWorstCase(t *testing.T) {
	runEdgeCases(t, worstCases, WithContext(WorstCase))
}

func runEdgeCases(t *testing.T, cases []edgeCase, opts ...Option) {
	for _, tc := range cases {
		for _, c := range tc.versions {
			t.Run(tc.name+"/"+string(c), func(t *testing.T) {
				for _, e := range tc.edges {
					eps := math.Max(math.Abs(e.at)*1e-6, 1e-9)
					for _, p := range []struct {
						v    float64
						want int
					}{{e.at - eps, e.below}, {e.at, e.atIt}, {e.at + eps, e.above}} {
						lab := tc.lab(p.v)
						var bl *clinical.LabResult
						if tc.baseline != nil {
							b := tc.lab(*tc.baseline)
							bl = &b
						}
						r := pick(t, Grade(c, lab, bl, opts...), tc.dir)
						if got := gradeOf(r); got != p.want {
							t.Errorf("%s %v %s: grade %s, want %s (reason %q)", tc.code, p.v, tc.unit, show(got), show(p.want), r.Reason)
						}
					}
				}
			})
		}
	}
}

func (tc edgeCase) lab(v float64) clinical.LabResult {
	return clinical.LabResult{USUBJID: "S1", TestCode: tc.code, Value: v, HasValue: true, Unit: tc.unit,
		Low: tc.lim.low, HasLow: tc.lim.hasLow, High: tc.lim.high, HasHigh: tc.lim.hasHigh}
}

func pick(t *testing.T, rs []Result, d Direction) Result {
	t.Helper()
	for _, r := range rs {
		if r.Direction == d {
			return r
		}
	}
	t.Fatalf("no %s result in %+v", d, rs)
	return Result{}
}

func gradeOf(r Result) int {
	if !r.Gradable {
		if r.Grade != 0 {
			return -100 // a not-gradable result must not carry a grade
		}
		return notGradable
	}
	return r.Grade
}

func show(g int) string {
	if g == notGradable {
		return "not gradable"
	}
	return fmt.Sprint(g)
}

// Every analyte graded in both versions must have edge cases in both, so
// a term added to the tables without boundary tests fails here.
func TestEveryTermHasBoundaryCases(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range edgeCases {
		a, ok := analyteOf(tc.code)
		if !ok {
			t.Fatalf("%s: unknown test code %s", tc.name, tc.code)
		}
		for _, c := range tc.versions {
			covered[fmt.Sprint(c, a.id, tc.dir)] = true
		}
	}
	worst := map[string]bool{}
	for _, tc := range worstCases {
		a, _ := analyteOf(tc.code)
		for _, c := range tc.versions {
			worst[fmt.Sprint(c, a.id, tc.dir)] = true
		}
	}
	for c, byAnalyte := range tables {
		if c == DAIDS21 {
			continue // TestEveryDAIDSTermHasBoundaryCases
		}
		for id, terms := range byAnalyte {
			for _, term := range terms {
				k := fmt.Sprint(c, id, term.Dir)
				if !covered[k] && (id != "CA" || !covered[fmt.Sprint(c, "CACORR", term.Dir)]) {
					t.Errorf("%s %s (%s, %s): no boundary cases", c, term.Name, id, term.Dir)
				}
				if term.Worst != nil && !worst[k] {
					t.Errorf("%s %s (%s, %s): no worst-case boundary cases", c, term.Name, id, term.Dir)
				}
			}
		}
	}
}

// daidsOnly are analytes trialwatch grades by DAIDS only: CTCAE grades
// them by clinical context, or not at all.
var daidsOnly = []string{"BILDIR", "BICARB", "LACTICAC", "METHB", "PT"}

func init() {
	for _, c := range []Criteria{V403, V50, V60} {
		for _, id := range daidsOnly {
			absent[c][id] = "graded by DAIDS only"
		}
	}
}

const noCTCAEeGFR = "CTCAE grades creatinine clearance, not eGFR"

// absent lists the analytes a version has no terms for, and why.
var absent = map[Criteria]map[string]string{
	DAIDS21: {"GGT": "no DAIDS term", "CACORR": "no DAIDS term", "HAPTOG": "no DAIDS term", "LDH": "no DAIDS term",
		"HDL": "no DAIDS term"},
	V403: {
		"LDH": "new in v6.0", "HDL": "new in v6.0", "LDL": "new in v6.0", "CREATCLR": "new in v6.0", "EGFR": noCTCAEeGFR,
	},
	V50: {"LDH": "new in v6.0", "HDL": "new in v6.0", "LDL": "new in v6.0", "CREATCLR": "new in v6.0", "EGFR": noCTCAEeGFR},
	V60: {"CK": "v6.0 dropped CPK increased", "PHOS": "no v6.0 hypophosphatemia in the metadata checked", "EGFR": noCTCAEeGFR},
}

// The tables are data; these are the invariants the grader relies on.
func TestCriteriaTablesAreConsistent(t *testing.T) {
	for _, c := range Versions {
		byAnalyte, ok := tables[c]
		if !ok {
			t.Fatalf("no criteria for %s", c)
		}
		for _, a := range analytes {
			_, skip := absent[c][a.id]
			if has := len(byAnalyte[a.id]) > 0; has == skip {
				t.Errorf("%s: analyte %s has terms: %v, want %v", c, a.id, has, !skip)
			}
		}
		for id, terms := range byAnalyte {
			a, ok := analyteOf(id)
			if !ok || a.id != id {
				t.Errorf("%s: terms for %s, which is no analyte id", c, id)
				continue
			}
			for _, term := range terms {
				checkTerm(t, c, a, term)
			}
		}
	}
}

func checkTerm(t *testing.T, c Criteria, a *analyte, term criteria.Term) {
	t.Helper()
	if term.Subgroups != nil {
		if len(term.Scales) > 0 || term.Worst != nil || term.NotGradable != "" {
			t.Errorf("%s %s: subgroups and thresholds of its own", c, term.Name)
		}
		for _, g := range term.Subgroups {
			sub := term
			sub.Scales, sub.Worst, sub.NotGradable, sub.Subgroups = g.Scales, g.Worst, g.NotGradable, nil
			checkTerm(t, c, a, sub)
		}
		return
	}
	if term.NotGradable != "" {
		if len(term.Scales) > 0 {
			t.Errorf("%s %s: not gradable yet has thresholds", c, term.Name)
		}
		return
	}
	if len(term.Scales) == 0 {
		t.Errorf("%s %s: no thresholds", c, term.Name)
		return
	}
	if u := term.Scales[0].Unit; u != "" {
		if _, ok := a.units[criteria.NormUnit(u)]; !ok {
			t.Errorf("%s %s: other units cannot convert to %s", c, term.Name, u)
		}
	}
	for _, s := range append(append([]criteria.Scale(nil), term.Scales...), term.Worst...) {
		for _, b := range append(append(append([]criteria.Band(nil), s.Bands...), s.IfBaselineHigh...), s.IfBaselineLow...) {
			if b.Grade < 1 || b.Grade > 4 {
				t.Errorf("%s %s: band of grade %d", c, term.Name, b.Grade)
			}
			if (b.Op == criteria.LT || b.Op == criteria.LE) != (term.Dir == Low) {
				t.Errorf("%s %s: band %+v points the wrong way for a %s term", c, term.Name, b, term.Dir)
			}
			if s.Unit == "" && (b.Ref == criteria.ULNPlus || b.Ref == criteria.BasePlus) {
				t.Errorf("%s %s: an additive threshold needs a unit", c, term.Name)
			}
		}
		// Without a baseline, grade 0 under the normal-baseline bands is
		// taken as final; that holds only if abnormal-baseline thresholds
		// are never below the baseline.
		// The same holds on the low side for a low term.
		if term.Dir == High {
			for _, b := range s.IfBaselineHigh {
				if (b.Ref == criteria.Base && b.K < 1) || (b.Ref == criteria.BasePlus && b.K < 0) || (b.Ref != criteria.Base && b.Ref != criteria.BasePlus) {
					t.Errorf("%s %s: abnormal-baseline band %+v is not at or above the baseline", c, term.Name, b)
				}
			}
		}
		if term.Dir == Low {
			for _, b := range s.IfBaselineLow {
				if (b.Ref == criteria.Base && b.K > 1) || (b.Ref != criteria.Base && !slices.Contains(s.Bands, b)) {
					t.Errorf("%s %s: abnormal-baseline band %+v is not at or below the baseline", c, term.Name, b)
				}
			}
		}
	}
}

func TestGradeReasons(t *testing.T) {
	lab := func(code string, v float64, unit string, lim limits) clinical.LabResult {
		return edgeCase{code: code, unit: unit, lim: lim}.lab(v)
	}
	noValue := lab("K", 0, "mmol/L", lohi(3.4, 5.4))
	noValue.HasValue = false
	tests := []struct {
		name     string
		c        Criteria
		lab      clinical.LabResult
		baseline *clinical.LabResult
		dir      Direction
		want     int
		reason   string // substring; "" for none
	}{
		{"missing value", V50, noValue, nil, Low, notGradable, "no result"},
		{"missing value, other direction too", V50, noValue, nil, High, notGradable, "no result"},
		{"missing ULN", V403, lab("ALT", 50, "U/L", limits{}), nil, High, notGradable, "no ULN"},
		{"zero ULN counts as missing", V403, lab("ALT", 50, "U/L", hi(0)), nil, High, notGradable, "no ULN"},
		{"zero baseline counts as missing", V50, lab("CREAT", 100, "umol/L", hi(124)), labp("CREAT", 0, "umol/L", hi(124)), High, notGradable, "no baseline"},
		{"missing LLN, value could be grade 1", V50, lab("PLAT", 100, "10^9/L", limits{}), nil, Low, notGradable, "no LLN"},
		{"missing LLN, absolute grade is certain", V50, lab("PLAT", 20, "10^9/L", limits{}), nil, Low, 4, ""},
		{"missing ULN, absolute grade is certain", V50, lab("K", 7.5, "mmol/L", lo(3.4)), nil, High, 4, ""},
		{"missing ULN, below the absolute cut-off", V50, lab("K", 5, "mmol/L", lo(3.4)), nil, High, notGradable, "no ULN"},
		{"unknown unit", V50, lab("HGB", 130, "mg/mL", lohi(120, 160)), nil, Low, notGradable, `unit "mg/mL" cannot be converted to g/L`},
		{"no unit for absolute thresholds", V50, lab("GLUC", 2, "", lohi(3.9, 5.6)), nil, Low, notGradable, "no unit"},
		{"no unit is fine for ULN multiples", V50, lab("CK", 2000, "", hi(169)), nil, High, 4, ""},
		{"converted unit: glucose g/L to mmol/L", V50, lab("GLUC", 0.5, "g/L", lohi(0.7, 1)), nil, Low, 2, ""},
		{"baseline in another known unit", V50, lab("CREAT", 100, "umol/L", hi(124)), labp("CREAT", 0.6, "mg/dL", hi(1.4)), High, 2, ""},
		{"baseline in an unknown unit", V50, lab("CREAT", 100, "umol/L", hi(124)), labp("CREAT", 0.6, "mg%", hi(1.4)), High, notGradable, "baseline unit"},
		{"micro sign spellings are one unit", V50, lab("CREAT", 100, "µmol/L", hi(124)), labp("CREAT", 60, "umol/L", hi(124)), High, 2, ""},
		{"baseline of another test", V50, lab("ALT", 50, "U/L", hi(40)), labp("AST", 30, "U/L", hi(34)), "", notGradable, "baseline is a AST record"},
		{"baseline without a value", V50, lab("ALT", 50, "U/L", hi(40)), func() *clinical.LabResult { b := lab("ALT", 0, "U/L", hi(40)); b.HasValue = false; return &b }(), High, notGradable, "no baseline"},
		{"baseline ULN decides abnormality", V50, lab("ALT", 60, "U/L", hi(40)), labp("ALT", 45, "U/L", hi(50)), High, 1, ""},
		{"unknown criteria", Criteria("ctcae-v7.0"), lab("ALT", 50, "U/L", hi(40)), nil, "", notGradable, "unknown grading criteria"},
		{"zero criteria is v5.0", "", lab("SODIUM", 128, "mmol/L", lohi(135, 145)), nil, Low, 2, ""},
		{"synonym and lower case", V50, lab("sgpt", 130, "U/L", hi(40)), labp("ALT", 30, "U/L", hi(40)), High, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := Grade(tt.c, tt.lab, tt.baseline)
			var r Result
			if tt.dir == "" {
				if len(rs) != 1 {
					t.Fatalf("got %d results, want 1: %+v", len(rs), rs)
				}
				r = rs[0]
			} else {
				r = pick(t, rs, tt.dir)
			}
			if got := gradeOf(r); got != tt.want {
				t.Errorf("grade %s, want %s (reason %q)", show(got), show(tt.want), r.Reason)
			}
			if !strings.Contains(r.Reason, tt.reason) || (tt.reason == "" && r.Reason != "") {
				t.Errorf("reason %q, want it to contain %q", r.Reason, tt.reason)
			}
		})
	}
}

func labp(code string, v float64, unit string, lim limits) *clinical.LabResult {
	l := edgeCase{code: code, unit: unit, lim: lim}.lab(v)
	return &l
}

func TestGradeReportsTheUnitGraded(t *testing.T) {
	hgb := edgeCase{code: "HGB", unit: "mmol/L", lim: lohi(7.14, 9.81)}.lab(10.5)
	rs := Grade(V50, hgb, nil)
	if len(rs) != 2 || rs[0].Term != "Anemia" || rs[1].Term != "Hemoglobin increased" {
		t.Fatalf("want Anemia then Hemoglobin increased, got %+v", rs)
	}
	// Anemia has mmol/L thresholds of its own; hemoglobin increased only
	// g/dL ones, so the value is converted (×16.11 g/L per mmol/L).
	if rs[0].Unit != "mmol/L" || rs[0].Value != 10.5 {
		t.Errorf("anemia graded %v %s, want 10.5 mmol/L", rs[0].Value, rs[0].Unit)
	}
	if rs[1].Unit != "g/L" || math.Abs(rs[1].Value-169.155) > 1e-9 {
		t.Errorf("hemoglobin increased graded %v %s, want 169.155 g/L", rs[1].Value, rs[1].Unit)
	}
	if rs[1].Grade != 1 || rs[1].TestCode != "HGB" || rs[1].Direction != High {
		t.Errorf("got %+v, want grade 1 high for HGB", rs[1])
	}
}

func TestGradeIgnoresTestsWithoutCriteria(t *testing.T) {
	for _, code := range []string{"MCV", "BUN", "COLOR", ""} {
		if rs := Grade(V50, clinical.LabResult{TestCode: code, Value: 1, HasValue: true}, nil); rs != nil {
			t.Errorf("%q: got %+v, want nil", code, rs)
		}
	}
}

func TestParseCriteria(t *testing.T) {
	for in, want := range map[string]Criteria{
		"ctcae-v5.0": V50, "CTCAE-V4.03": V403, "v5": V50, "5.0": V50, "4.03": V403, "": V50, " ctcae v5.0 ": V50,
		"ctcae-v6.0": V60, "v6": V60, "6.0": V60,
	} {
		if got, err := ParseCriteria(in); err != nil || got != want {
			t.Errorf("ParseCriteria(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"v7", "ctcae-v4", "daids-v3"} {
		_, err := ParseCriteria(in)
		if err == nil {
			t.Errorf("ParseCriteria(%q) accepted", in)
			continue
		}
		for _, name := range Names() {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ParseCriteria(%q): %v does not list %s", in, err, name)
			}
		}
	}
}

func TestSeverity(t *testing.T) {
	want := []clinical.Severity{clinical.SeverityInfo, clinical.SeverityLow, clinical.SeverityMedium,
		clinical.SeverityHigh, clinical.SeverityCritical, clinical.SeverityCritical}
	for g, w := range want {
		if got := Severity(g); got != w {
			t.Errorf("Severity(%d) = %v, want %v", g, got, w)
		}
	}
}

func TestTestCodesIncludesSynonyms(t *testing.T) {
	codes := strings.Join(TestCodes(V50), " ")
	for _, c := range []string{"PLAT", "PLT", "NEUT", "ANC", "LYM", "LYMPH", "K", "SODIUM", "INR"} {
		if !strings.Contains(" "+codes+" ", " "+c+" ") {
			t.Errorf("TestCodes lacks %s: %s", c, codes)
		}
	}
}

func TestParseContext(t *testing.T) {
	for in, want := range map[string]Context{"": NumberOnly, "number-only": NumberOnly, " Worst-Case ": WorstCase} {
		if got, err := ParseContext(in); err != nil || got != want {
			t.Errorf("ParseContext(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseContext("symptomatic"); err == nil || !strings.Contains(err.Error(), "number-only or worst-case") {
		t.Errorf("ParseContext(symptomatic): %v, want an error naming both contexts", err)
	}
}

// Total calcium is graded after Payne's correction for the albumin of its
// draw, and only then.
func TestCorrectedCalcium(t *testing.T) {
	ca := func(v float64, unit string, lim limits) clinical.LabResult {
		l := edgeCase{code: "CA", unit: unit, lim: lim}.lab(v)
		l.Date = "2014-01-02"
		return l
	}
	alb := func(v float64, unit string) *clinical.LabResult {
		l := edgeCase{code: "ALB", unit: unit}.lab(v)
		l.Date = "2014-01-02"
		return &l
	}
	tests := []struct {
		name    string
		lab     clinical.LabResult
		albumin *clinical.LabResult
		dir     Direction
		want    int
		value   float64 // the corrected value, in the record's unit
		reason  string
		// correction is what a monitor is told was done to the value.
		correction string
	}{
		// 2.0 + 0.02 x (40 - 30) = 2.2: within 2.1-2.6, where uncorrected 2.0 would be grade 2.
		{"low albumin lifts calcium", ca(2.0, "mmol/L", lohi(2.1, 2.6)), alb(30, "g/L"), Low, 0, 2.2, "", "corrected for albumin (Payne) from 2 mmol/L, albumin 30 g/L"},
		// 2.6 + 0.02 x (40 - 20) = 3.0: above 2.9, grade 2.
		{"high corrected calcium", ca(2.6, "mmol/L", lohi(2.1, 2.6)), alb(20, "g/L"), High, 2, 3.0, "", "corrected for albumin (Payne) from 2.6 mmol/L, albumin 20 g/L"},
		// 2.3 + 0.02 x (40 - 50) = 2.1, at the grade-2 cut-off 2.0? no: above it, below LLN 2.15: grade 1.
		{"high albumin lowers calcium", ca(2.3, "mmol/L", lohi(2.15, 2.6)), alb(50, "g/L"), Low, 1, 2.1, "", "corrected for albumin (Payne) from 2.3 mmol/L, albumin 50 g/L"},
		// Conventional units: 8.0 + 0.8 x (4 - 3) = 8.8 mg/dL.
		{"mg/dL and g/dL", ca(8.0, "mg/dL", lohi(8.5, 10.5)), alb(3, "g/dL"), Low, 0, 8.0 + 0.02*10*4.008, "", "corrected for albumin (Payne) from 8 mg/dL, albumin 3 g/dL"},
		{"no albumin", ca(2.0, "mmol/L", lohi(2.1, 2.6)), nil, Low, notGradable, 2.0, "without an albumin of the same draw", ""},
		{"albumin in an unknown unit", ca(2.0, "mmol/L", lohi(2.1, 2.6)), alb(30, "umol/L"), Low, notGradable, 2.0, "albumin unit", ""},
		{"calcium in an unknown unit", ca(2.0, "mg/L", lohi(2.1, 2.6)), alb(30, "g/L"), Low, notGradable, 2.0, "to correct calcium", ""},
		// Corrected calcium (CACORR) is graded as it is, with nothing to say.
		{"CACORR is not corrected again", edgeCase{code: "CACORR", unit: "mmol/L", lim: lohi(2.1, 2.6)}.lab(1.9), alb(30, "g/L"), Low, 2, 1.9, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pick(t, Grade(V50, tt.lab, nil, WithAlbumin(tt.albumin)), tt.dir)
			if got := gradeOf(r); got != tt.want {
				t.Errorf("grade %s, want %s (reason %q)", show(got), show(tt.want), r.Reason)
			}
			if math.Abs(r.Value-tt.value) > 1e-9 {
				t.Errorf("value %v, want %v", r.Value, tt.value)
			}
			if r.Correction != tt.correction {
				t.Errorf("correction %q, want %q", r.Correction, tt.correction)
			}
			if !strings.Contains(r.Reason, tt.reason) || (tt.reason == "" && r.Reason != "") {
				t.Errorf("reason %q, want it to contain %q", r.Reason, tt.reason)
			}
			if r.Correction != tt.correction {
				t.Errorf("correction %q, want %q", r.Correction, tt.correction)
			}
		})
	}
	if got := CorrectedCalcium(2.0, 30); math.Abs(got-2.2) > 1e-12 {
		t.Errorf("CorrectedCalcium(2.0, 30) = %v, want 2.2", got)
	}
}

// FindDraws pairs total calcium with the albumin of the same subject and
// LBDTC, and with nothing else.
func TestFindDraws(t *testing.T) {
	rec := func(subj, code, date string, v float64) clinical.LabResult {
		return clinical.LabResult{USUBJID: subj, TestCode: code, Date: clinical.Date(date), Value: v, HasValue: true}
	}
	labs := []clinical.LabResult{
		rec("A", "ALB", "2014-01-02T08:00", 30),
		rec("A", "ALB", "2014-01-02T08:00", 31), // a second albumin of the draw: the first wins
		rec("A", "CA", "2014-01-02T08:00", 2.0),
		rec("A", "CA", "2014-01-02T09:00", 2.0), // another draw
		rec("B", "CA", "2014-01-02T08:00", 2.0), // another subject
		rec("A", "CAION", "2014-01-02T08:00", 1.1),
		rec("A", "ALB", "", 30),
		rec("A", "CA", "", 2.0), // undated: no draw
	}
	d := FindDraws(labs)
	for i, want := range []float64{0, 0, 30, 0, 0, 0, 0, 0} {
		got := d.Albumin(labs[i])
		switch {
		case want == 0 && got != nil:
			t.Errorf("record %d: albumin %+v, want none", i, *got)
		case want != 0 && (got == nil || got.Value != want):
			t.Errorf("record %d: albumin %+v, want %v", i, got, want)
		}
	}
}
