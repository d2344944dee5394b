package ctcae

import (
	"fmt"
	"math"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

// inputs are a record's value, limits and baseline in the scale's unit.
type inputs struct {
	v              float64
	uln, lln, base float64
	hasULN, hasLLN bool
	hasBase        bool
}

// gradeTerm grades lab by one term of the criteria.
func gradeTerm(t *criteria.Term, a *analyte, lab clinical.LabResult, bl *clinical.LabResult, o *options) Result {
	r := Result{Term: t.Name, TestCode: lab.TestCode, Direction: t.Dir, Value: lab.Value, Unit: lab.Unit}
	scales, worst, notGradable := t.Scales, t.Worst, t.NotGradable
	if t.Subgroups != nil {
		sg, why := subgroupFor(t, lab, o.subject)
		if why != "" {
			r.Reason = why
			return r
		}
		scales, worst, notGradable = sg.Scales, sg.Worst, sg.NotGradable
	}
	if notGradable != "" {
		r.Reason = notGradable
		return r
	}
	if !lab.HasValue {
		r.Reason = "no result (LBSTRESN)"
		return r
	}
	if a.corrected() && t.AlbuminCorrected {
		if r.Correction, r.Reason = correctCalcium(a, &lab, o.albumin); r.Reason != "" {
			return r
		}
	}
	if o.worstCase && worst != nil {
		scales = worst
	}
	s, f, why := scaleFor(t.Name, scales, a, lab.Unit)
	if why != "" {
		r.Reason = why
		return r
	}
	if t.Floor > 0 {
		if ff, ok := a.factor(lab.Unit, scales[0].Unit); ok && sig(lab.Value*ff) < t.Floor {
			r.Reason = fmt.Sprintf("%s: the criteria grade from %g %s; below it they give no grade", t.Name, t.Floor, scales[0].Unit)
			return r
		}
	}
	// A ULN of zero or less is a data error, and would make every value a
	// multiple of it; it counts as missing. An LLN of zero is real (nothing
	// is below it).
	in := inputs{v: lab.Value * f, uln: lab.High * f, lln: lab.Low * f, hasULN: lab.HasHigh && lab.High > 0, hasLLN: lab.HasLow}
	r.Value = in.v
	if s.Unit != "" && s.Norm() != criteria.NormUnit(lab.Unit) {
		r.Unit = s.Unit
	}
	if bl != nil && bl.HasValue {
		bf, ok := a.factor(bl.Unit, lab.Unit)
		if !ok {
			r.Reason = fmt.Sprintf("baseline unit %q cannot be compared with %q", bl.Unit, lab.Unit)
			return r
		}
		// Baseline multiples of a zero baseline would grade any value.
		in.base, in.hasBase = bl.Value*bf*f, bl.Value > 0
	}
	bands, why := bandsFor(t, s, bl, in)
	if why != "" {
		r.Reason = why
		return r
	}
	g, missing := gradeBands(bands, in)
	if len(missing) > 0 {
		r.Reason = strings.Join(missing, "; ")
		return r
	}
	r.Grade, r.Gradable = g, true
	return r
}

// scaleFor picks the thresholds in the record's unit when the criteria give
// them, else those of the first scale with the factor converting to its unit.
func scaleFor(name string, scales []criteria.Scale, a *analyte, unit string) (s *criteria.Scale, factor float64, why string) {
	u := criteria.NormUnit(unit)
	for i := range scales {
		if s := &scales[i]; s.Unit == "" || s.Norm() == u {
			return s, 1, ""
		}
	}
	s = &scales[0]
	if u == "" {
		return nil, 0, fmt.Sprintf("no unit (LBSTRESU); %s thresholds are in %s", name, s.Unit)
	}
	f, ok := a.factor(unit, s.Unit)
	if !ok {
		return nil, 0, fmt.Sprintf("unit %q cannot be converted to %s", unit, s.Unit)
	}
	return s, f, ""
}

// bandsFor chooses between the normal-baseline and abnormal-baseline
// thresholds (v6.0 tells a baseline above ULN from one below LLN). When the
// baseline's status is unknown the value is graded only if every choice
// gives it the same grade. Abnormal-baseline thresholds on the side the
// term grades lie beyond the baseline, itself beyond the limit, so a value
// the normal thresholds grade 0 is grade 0 either way.
func bandsFor(t *criteria.Term, s *criteria.Scale, bl *clinical.LabResult, in inputs) ([]criteria.Band, string) {
	if s.IfBaselineHigh == nil && s.IfBaselineLow == nil {
		return s.Bands, ""
	}
	high, highKnown := baselineHigh(bl, in)
	low, lowKnown := baselineLow(bl, in)
	switch {
	case s.IfBaselineHigh != nil && highKnown && high:
		return s.IfBaselineHigh, ""
	case s.IfBaselineLow != nil && lowKnown && low:
		return s.IfBaselineLow, ""
	case (s.IfBaselineHigh == nil || highKnown) && (s.IfBaselineLow == nil || lowKnown):
		return s.Bands, ""
	}
	g, missing := gradeBands(s.Bands, in)
	if len(missing) > 0 {
		return s.Bands, ""
	}
	same := true
	for _, alt := range []struct {
		bands []criteria.Band
		side  Direction
	}{{s.IfBaselineHigh, High}, {s.IfBaselineLow, Low}} {
		if alt.bands == nil || (alt.side == t.Dir && g == 0) {
			continue
		}
		if ga, m := gradeBands(alt.bands, in); len(m) > 0 || ga != g {
			same = false
		}
	}
	switch {
	case same:
		return s.Bands, ""
	case bl == nil || !bl.HasValue:
		return nil, "no baseline value; the criteria grade against the baseline when it was abnormal"
	case s.IfBaselineHigh != nil && !highKnown:
		return nil, "no ULN (LBSTNRHI) to tell whether the baseline was normal"
	}
	return nil, "no LLN (LBSTNRLO) to tell whether the baseline was normal"
}

// baselineHigh reports whether the baseline was above its own ULN, or
// above the record's ULN when the baseline record has none.
func baselineHigh(bl *clinical.LabResult, in inputs) (high, known bool) {
	switch {
	case bl == nil || !bl.HasValue:
		return false, false
	case bl.HasHigh && bl.High > 0:
		return sig(bl.Value) > sig(bl.High), true
	case in.hasULN:
		return sig(in.base) > sig(in.uln), true
	}
	return false, false
}

// baselineLow reports whether the baseline was below its own LLN, or below
// the record's LLN when the baseline record has none.
func baselineLow(bl *clinical.LabResult, in inputs) (low, known bool) {
	switch {
	case bl == nil || !bl.HasValue:
		return false, false
	case bl.HasLow:
		return sig(bl.Value) < sig(bl.Low), true
	case in.hasLLN:
		return sig(in.base) < sig(in.lln), true
	}
	return false, false
}

// gradeBands returns the highest grade whose threshold the value is past.
// missing lists what the record lacks to rule out a higher grade; the
// grade is only meaningful when missing is empty.
func gradeBands(bands []criteria.Band, in inputs) (grade int, missing []string) {
	for _, b := range bands {
		if t, ok := threshold(b, in); ok && b.Needs == "" && past(b, in.v, t) && b.Grade > grade {
			grade = b.Grade
		}
	}
	for _, b := range bands {
		if b.Grade <= grade || applies(b, in) {
			continue
		}
		if m := lacks(b); !contains(missing, m) {
			missing = append(missing, m)
		}
	}
	return grade, missing
}

// applies reports whether the band could be evaluated. A band needing
// what LB does not record cannot matter when the value does not reach it.
func applies(b criteria.Band, in inputs) bool {
	t, ok := threshold(b, in)
	if b.Needs != "" {
		return ok && !past(b, in.v, t)
	}
	return ok
}

// threshold is where the band starts; ok is false when the record lacks
// the limit or baseline it is measured from. A band that needs what LB does
// not record is never satisfied but still has a threshold.
func threshold(b criteria.Band, in inputs) (float64, bool) {
	switch b.Ref {
	case criteria.Abs:
		return b.K, true
	case criteria.ULN:
		return b.K * in.uln, in.hasULN
	case criteria.LLN:
		return b.K * in.lln, in.hasLLN
	case criteria.Base:
		return b.K * in.base, in.hasBase
	case criteria.ULNPlus:
		return in.uln + b.K, in.hasULN
	case criteria.BasePlus:
		return in.base + b.K, in.hasBase
	}
	panic(fmt.Sprintf("ctcae: unknown threshold reference %d", b.Ref))
}

func lacks(b criteria.Band) string {
	switch {
	case b.Needs != "":
		return b.Needs
	case b.Ref == criteria.ULN || b.Ref == criteria.ULNPlus:
		return "no ULN (LBSTNRHI)"
	case b.Ref == criteria.LLN:
		return "no LLN (LBSTNRLO)"
	}
	return "no baseline value"
}

// past compares after rounding both sides to 10 significant digits, so
// that 3 × 0.7 (2.0999999999999996 in binary) is exactly at 2.1.
func past(b criteria.Band, v, t float64) bool {
	v, t = sig(v), sig(t)
	switch b.Op {
	case criteria.GT:
		return v > t
	case criteria.GE:
		return v >= t
	case criteria.LE:
		return v <= t
	}
	return v < t
}

func sig(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	p := math.Pow(10, 9-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
