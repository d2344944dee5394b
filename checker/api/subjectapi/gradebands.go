package subjectapi

import (
	"math"
	"strconv"

	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// gradeBands finds, per test with CTCAE criteria, the value at which each
// grade starts for the test's last record with a value. It asks
// ctcae.Grade itself, with probe values in place of the record's (a
// bisection per grade): the thresholds are the grader's by construction,
// in the record's unit, with its reference range and baseline.
func gradeBands(grade func(clinical.LabResult) []ctcae.Result, labs []clinical.LabResult) []wire.GradeBand {
	last := map[string]int{}
	var order []string
	for i, l := range labs {
		if !l.HasValue {
			continue
		}
		if _, seen := last[l.TestCode]; !seen {
			order = append(order, l.TestCode)
		}
		last[l.TestCode] = i // labs come in date order
	}
	out := []wire.GradeBand{}
	for _, code := range order {
		rec := labs[last[code]]
		results := grade(rec)
		for t, r := range results {
			if r.Term == "" {
				continue
			}
			b := wire.GradeBand{TestCode: code, Term: r.Term, Direction: r.Direction, Unit: rec.Unit, Seq: rec.Seq, Limits: []wire.GradeLimit{}}
			atLeast := func(g int) func(v float64) bool {
				return func(v float64) bool {
					probe := rec
					probe.Value = v
					rs := grade(probe)
					return t < len(rs) && rs[t].Gradable && rs[t].Grade >= g
				}
			}
			for g := 1; g <= 4; g++ {
				v, ok := threshold(atLeast(g), r.Direction, rec)
				if !ok {
					continue
				}
				b.Limits = append(b.Limits, wire.GradeLimit{Grade: g, Value: v})
			}
			if len(b.Limits) > 0 {
				out = append(out, b)
			}
		}
	}
	return out
}

// threshold finds where past turns true: the least value for a "high"
// term, the greatest for a "low" one; ok is false when no value in
// reach does.
func threshold(past func(float64) bool, dir ctcae.Direction, rec clinical.LabResult) (float64, bool) {
	scale := math.Max(math.Max(math.Abs(rec.Value), rec.High), math.Max(rec.Low, 1))
	lo, hi := 0.0, scale
	if dir == ctcae.Low {
		if !past(0) {
			return 0, false
		}
		for past(hi) { // the greatest value still past lies below hi
			if hi *= 2; hi > 1e9 {
				return 0, false
			}
		}
		for range 48 {
			mid := (lo + hi) / 2
			if past(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return round4(lo), true
	}
	if past(0) {
		return 0, false // graded at any value: no band to draw
	}
	for !past(hi) {
		if hi *= 2; hi > 1e9 {
			return 0, false
		}
	}
	for range 48 {
		mid := (lo + hi) / 2
		if past(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return round4(hi), true
}

// round4 keeps four significant digits: thresholds are multiples of
// limits that have fewer.
func round4(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return f
}
