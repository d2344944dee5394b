package ctcae

import (
	"fmt"
	"math"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
)

// ref is what a threshold is measured from.
type ref uint8

const (
	abs      ref = iota // k itself, in the scale's unit
	uln                 // k × ULN
	lln                 // k × LLN
	base                // k × baseline
	ulnPlus             // ULN + k, k in the scale's unit
	basePlus            // baseline + k
)

// op says on which side of its threshold a band lies.
type op uint8

const (
	opGT op = iota // ">3.0 x ULN"
	opGE           // "1.5 - 3.0 x baseline": the threshold itself belongs to the band
	opLT           // "<LLN", "<100 g/L"
	opLE           // "26 - 49 ml/min", "25 - <50% decrease": the threshold itself belongs to the low band
)

// band is where one grade starts. A value is at least grade g when it is
// past the threshold of any band of grade g; it gets the highest such g.
type band struct {
	grade int
	op    op
	ref   ref
	k     float64
	// needs, when set, is what the band needs beyond the record (a fasting
	// sample; signs or symptoms), which LB does not record: the band is
	// never applied, and a value past it is not gradable, with needs as
	// the reason.
	needs string
}

// scale is a term's thresholds in one unit.
type scale struct {
	unit string // as CTCAE writes it; "" when only relative to the record's own limits, or unitless
	norm string // normUnit(unit), filled in at init
	// bands grade a subject whose baseline was normal (or for terms that do
	// not depend on baseline status).
	bands []band
	// ifBaselineHigh, when set, grades instead a subject whose baseline was
	// above ULN (v5.0 and v6.0 liver tests, v4.03 hemoglobin increased).
	ifBaselineHigh []band
	// ifBaselineLow, when set, grades instead a subject whose baseline was
	// below LLN (v6.0 creatinine, fibrinogen).
	ifBaselineLow []band
}

// term is one CTCAE term in one direction.
type term struct {
	name   string
	dir    Direction
	scales []scale // the first is the one values in other units convert to
	// worst, when set, are the scales of WorstCase: the grades the criteria
	// give with symptoms, physiologic consequences or anticoagulation.
	worst []scale
	// floor, when above zero, is the lowest value the criteria grade (in
	// the first scale's unit); below it the result is not gradable.
	floor float64
	// albuminCorrected terms are written for albumin-corrected calcium:
	// total calcium is corrected before it is graded (calcium.go).
	albuminCorrected bool
	// subgroups, when set, replace scales, worst and notGradable: the
	// criteria differ by age at collection and sex (DAIDS).
	subgroups []subgroup
	// notGradable, when set, says why CTCAE cannot grade this term from a
	// lab value at all.
	notGradable string
}

// inputs are a record's value, limits and baseline in the scale's unit.
type inputs struct {
	v              float64
	uln, lln, base float64
	hasULN, hasLLN bool
	hasBase        bool
}

func (t *term) grade(a *analyte, lab clinical.LabResult, bl *clinical.LabResult, o *options) Result {
	r := Result{Term: t.name, TestCode: lab.TestCode, Direction: t.dir, Value: lab.Value, Unit: lab.Unit}
	scales, worst, notGradable := t.scales, t.worst, t.notGradable
	if t.subgroups != nil {
		sg, why := t.subgroupFor(lab, o.subject)
		if why != "" {
			r.Reason = why
			return r
		}
		scales, worst, notGradable = sg.scales, sg.worst, sg.notGradable
	}
	if notGradable != "" {
		r.Reason = notGradable
		return r
	}
	if !lab.HasValue {
		r.Reason = "no result (LBSTRESN)"
		return r
	}
	if a.corrected() && t.albuminCorrected {
		if r.Correction, r.Reason = correctCalcium(a, &lab, o.albumin); r.Reason != "" {
			return r
		}
	}
	if o.worstCase && worst != nil {
		scales = worst
	}
	s, f, why := scaleFor(t.name, scales, a, lab.Unit)
	if why != "" {
		r.Reason = why
		return r
	}
	if t.floor > 0 {
		if ff, ok := a.factor(lab.Unit, scales[0].unit); ok && sig(lab.Value*ff) < t.floor {
			r.Reason = fmt.Sprintf("%s: the criteria grade from %g %s; below it they give no grade", t.name, t.floor, scales[0].unit)
			return r
		}
	}
	// A ULN of zero or less is a data error, and would make every value a
	// multiple of it; it counts as missing. An LLN of zero is real (nothing
	// is below it).
	in := inputs{v: lab.Value * f, uln: lab.High * f, lln: lab.Low * f, hasULN: lab.HasHigh && lab.High > 0, hasLLN: lab.HasLow}
	r.Value = in.v
	if s.unit != "" && s.norm != normUnit(lab.Unit) {
		r.Unit = s.unit
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
	bands, why := t.bandsFor(s, bl, in)
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
func scaleFor(name string, scales []scale, a *analyte, unit string) (s *scale, factor float64, why string) {
	u := normUnit(unit)
	for i := range scales {
		if s := &scales[i]; s.unit == "" || s.norm == u {
			return s, 1, ""
		}
	}
	s = &scales[0]
	if u == "" {
		return nil, 0, fmt.Sprintf("no unit (LBSTRESU); %s thresholds are in %s", name, s.unit)
	}
	f, ok := a.factor(unit, s.unit)
	if !ok {
		return nil, 0, fmt.Sprintf("unit %q cannot be converted to %s", unit, s.unit)
	}
	return s, f, ""
}

// bandsFor chooses between the normal-baseline and abnormal-baseline
// thresholds (v6.0 tells a baseline above ULN from one below LLN). When the
// baseline's status is unknown the value is graded only if every choice
// gives it the same grade. Abnormal-baseline thresholds on the side the
// term grades lie beyond the baseline, itself beyond the limit, so a value
// the normal thresholds grade 0 is grade 0 either way.
func (t *term) bandsFor(s *scale, bl *clinical.LabResult, in inputs) ([]band, string) {
	if s.ifBaselineHigh == nil && s.ifBaselineLow == nil {
		return s.bands, ""
	}
	high, highKnown := baselineHigh(bl, in)
	low, lowKnown := baselineLow(bl, in)
	switch {
	case s.ifBaselineHigh != nil && highKnown && high:
		return s.ifBaselineHigh, ""
	case s.ifBaselineLow != nil && lowKnown && low:
		return s.ifBaselineLow, ""
	case (s.ifBaselineHigh == nil || highKnown) && (s.ifBaselineLow == nil || lowKnown):
		return s.bands, ""
	}
	g, missing := gradeBands(s.bands, in)
	if len(missing) > 0 {
		return s.bands, ""
	}
	same := true
	for _, alt := range []struct {
		bands []band
		side  Direction
	}{{s.ifBaselineHigh, High}, {s.ifBaselineLow, Low}} {
		if alt.bands == nil || (alt.side == t.dir && g == 0) {
			continue
		}
		if ga, m := gradeBands(alt.bands, in); len(m) > 0 || ga != g {
			same = false
		}
	}
	switch {
	case same:
		return s.bands, ""
	case bl == nil || !bl.HasValue:
		return nil, "no baseline value; the criteria grade against the baseline when it was abnormal"
	case s.ifBaselineHigh != nil && !highKnown:
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
func gradeBands(bands []band, in inputs) (grade int, missing []string) {
	for _, b := range bands {
		if t, ok := b.threshold(in); ok && b.needs == "" && b.past(in.v, t) && b.grade > grade {
			grade = b.grade
		}
	}
	for _, b := range bands {
		if b.grade <= grade || b.applies(in) {
			continue
		}
		if m := b.lacks(); !contains(missing, m) {
			missing = append(missing, m)
		}
	}
	return grade, missing
}

// applies reports whether the band could be evaluated. A band needing
// what LB does not record cannot matter when the value does not reach it.
func (b band) applies(in inputs) bool {
	t, ok := b.threshold(in)
	if b.needs != "" {
		return ok && !b.past(in.v, t)
	}
	return ok
}

// threshold is where the band starts; ok is false when the record lacks
// the limit or baseline it is measured from. A band that needs what LB does
// not record is never satisfied but still has a threshold.
func (b band) threshold(in inputs) (float64, bool) {
	switch b.ref {
	case abs:
		return b.k, true
	case uln:
		return b.k * in.uln, in.hasULN
	case lln:
		return b.k * in.lln, in.hasLLN
	case base:
		return b.k * in.base, in.hasBase
	case ulnPlus:
		return in.uln + b.k, in.hasULN
	case basePlus:
		return in.base + b.k, in.hasBase
	}
	panic(fmt.Sprintf("ctcae: unknown threshold reference %d", b.ref))
}

func (b band) lacks() string {
	switch {
	case b.needs != "":
		return b.needs
	case b.ref == uln || b.ref == ulnPlus:
		return "no ULN (LBSTNRHI)"
	case b.ref == lln:
		return "no LLN (LBSTNRLO)"
	}
	return "no baseline value"
}

// past compares after rounding both sides to 10 significant digits, so
// that 3 × 0.7 (2.0999999999999996 in binary) is exactly at 2.1.
func (b band) past(v, t float64) bool {
	v, t = sig(v), sig(t)
	switch b.op {
	case opGT:
		return v > t
	case opGE:
		return v >= t
	case opLE:
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
