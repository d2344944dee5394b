package ctcae

import (
	"fmt"
	"strconv"

	"github.com/trialwatch/trialwatch/clinical"
)

// CTCAE writes its calcium terms for "corrected serum calcium" or
// ionised calcium; SDTM CA is total calcium. Total calcium is corrected
// for albumin by Payne's formula (Payne RB, Little AJ, Williams RB, Milner
// JR. Interpretation of serum calcium in patients with abnormal serum
// proteins. BMJ 1973;4:643-6), in SI units:
//
//	Ca_corr (mmol/L) = Ca (mmol/L) + 0.02 × (40 − albumin (g/L))
//
// (in conventional units Ca + 0.8 × (4 − albumin g/dL) mg/dL, the same
// formula). The correction needs an albumin of the same draw; without one
// total calcium is not graded. The record's own reference range (that of
// total calcium) stays the range of the corrected value: laboratories
// quote the same adult range for both.
const (
	payneSlope   = 0.02 // mmol/L of calcium per g/L of albumin
	payneAlbumin = 40   // g/L, the albumin the correction refers to
)

// correctCalcium replaces lab's total calcium with the albumin-corrected
// value, in lab's unit, and says what it corrected (for Result.Correction);
// or says why it cannot (why).
func correctCalcium(a *analyte, lab *clinical.LabResult, alb *clinical.LabResult) (correction, why string) {
	if alb == nil || !alb.HasValue {
		return "", "total calcium without an albumin of the same draw: the criteria are for albumin-corrected or ionised calcium"
	}
	albumin, _ := analyteOf("ALB")
	fa, ok := albumin.factor(alb.Unit, "g/L")
	if !ok {
		return "", fmt.Sprintf("albumin unit %q cannot be converted to g/L to correct calcium", alb.Unit)
	}
	fc, ok := a.factor(lab.Unit, "mmol/L")
	if !ok {
		return "", fmt.Sprintf("unit %q cannot be converted to mmol/L to correct calcium for albumin", lab.Unit)
	}
	correction = fmt.Sprintf("corrected for albumin (Payne) from %s %s, albumin %s %s", num(lab.Value), lab.Unit, num(alb.Value), alb.Unit)
	// Rounded as the grader compares (sig), so 2.12 + 0.2 reads 2.32.
	lab.Value = sig(lab.Value + payneSlope*(payneAlbumin-alb.Value*fa)/fc)
	return correction, ""
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// CorrectedCalcium is total calcium ca (mmol/L) corrected for albumin
// (g/L) by Payne's formula.
func CorrectedCalcium(ca, albumin float64) float64 {
	return ca + payneSlope*(payneAlbumin-albumin)
}

// Draws knows each subject's albumin per draw, to correct the total
// calcium of the same draw. A draw is a subject's samples of one
// collection date and time (LBDTC, as written).
type Draws struct {
	albumin map[drawKey]*clinical.LabResult
}

type drawKey struct {
	subject string
	date    clinical.Date
}

// FindDraws indexes the albumin records of labs (the first with a value,
// if a draw has several). Undated records belong to no draw.
func FindDraws(labs []clinical.LabResult) *Draws {
	d := &Draws{albumin: map[drawKey]*clinical.LabResult{}}
	for i := range labs {
		l := &labs[i]
		if a, ok := analyteOf(l.TestCode); !ok || a.id != "ALB" || !l.HasValue || l.Date == "" {
			continue
		}
		if k := (drawKey{l.USUBJID, l.Date}); d.albumin[k] == nil {
			d.albumin[k] = l
		}
	}
	return d
}

// Albumin returns the albumin of lab's draw when lab is total calcium,
// for WithAlbumin; nil otherwise.
func (d *Draws) Albumin(lab clinical.LabResult) *clinical.LabResult {
	if a, ok := analyteOf(lab.TestCode); !ok || !a.corrected() || lab.Date == "" {
		return nil
	}
	return d.albumin[drawKey{lab.USUBJID, lab.Date}]
}
