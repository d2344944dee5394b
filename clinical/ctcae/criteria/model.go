// Package criteria is the lab grading criteria as data: CTCAE v4.03
// (V403), v5.0 (V50) and v6.0 (V60), and the DAIDS table v2.1 (DAIDS21).
// For each analyte (keyed by its CDISC LBTESTCD), each term's thresholds
// of each grade as the criteria write them, in each unit they give, with
// the boundary semantics of the text (">3.0 - 5.0 x ULN" is grade 2, so
// exactly 3.0 x ULN is still grade 1), and the source text quoted beside
// every term. Package ctcae grades a lab result by these tables; nothing
// here reads a record.
package criteria

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Direction is the side of normal a term grades.
type Direction string

const (
	Low  Direction = "low"
	High Direction = "high"
)

// Ref is what a threshold is measured from.
type Ref uint8

const (
	Abs      Ref = iota // K itself, in the scale's unit
	ULN                 // K × ULN
	LLN                 // K × LLN
	Base                // K × baseline
	ULNPlus             // ULN + K, K in the scale's unit
	BasePlus            // baseline + K
)

// Op says on which side of its threshold a band lies.
type Op uint8

const (
	GT Op = iota // ">3.0 x ULN"
	GE           // "1.5 - 3.0 x baseline": the threshold itself belongs to the band
	LT           // "<LLN", "<100 g/L"
	LE           // "26 - 49 ml/min", "25 - <50% decrease": the threshold itself belongs to the low band
)

// Band is where one grade starts. A value is at least grade g when it is
// past the threshold of any band of grade g; it gets the highest such g.
type Band struct {
	Grade int
	Op    Op
	Ref   Ref
	K     float64
	// Needs, when set, is what the band needs beyond the record (a fasting
	// sample; signs or symptoms), which LB does not record: the band is
	// never applied, and a value past it is not gradable, with Needs as
	// the reason.
	Needs string
}

// Scale is a term's thresholds in one unit.
type Scale struct {
	Unit string // as the criteria write it; "" when only relative to the record's own limits, or unitless
	norm string // NormUnit(Unit), filled in at init
	// Bands grade a subject whose baseline was normal (or for terms that do
	// not depend on baseline status).
	Bands []Band
	// IfBaselineHigh, when set, grades instead a subject whose baseline was
	// above ULN (v5.0 and v6.0 liver tests, v4.03 hemoglobin increased).
	IfBaselineHigh []Band
	// IfBaselineLow, when set, grades instead a subject whose baseline was
	// below LLN (v6.0 creatinine, fibrinogen).
	IfBaselineLow []Band
}

// Norm is the scale's unit as NormUnit folds it, to compare with a
// record's.
func (s *Scale) Norm() string { return s.norm }

// Term is one term of the criteria in one direction.
type Term struct {
	Name   string
	Dir    Direction
	Scales []Scale // the first is the one values in other units convert to
	// Worst, when set, are the scales of the worst-case reading: the
	// grades the criteria give with symptoms, physiologic consequences or
	// anticoagulation.
	Worst []Scale
	// Floor, when above zero, is the lowest value the criteria grade (in
	// the first scale's unit); below it the result is not gradable.
	Floor float64
	// AlbuminCorrected terms are written for albumin-corrected calcium:
	// total calcium is corrected before it is graded.
	AlbuminCorrected bool
	// Subgroups, when set, replace Scales, Worst and NotGradable: the
	// criteria differ by age at collection and sex (DAIDS).
	Subgroups []Subgroup
	// NotGradable, when set, says why the criteria cannot grade this term
	// from a lab value at all.
	NotGradable string
}

// Ages are in days: a year is 365.25 days, a month 30.4375.
const (
	Day   = 1.0
	Month = 30.4375
	Year  = 365.25
)

// Subgroup is the criteria of a term for one age range (and sex), as
// DAIDS splits its tables.
type Subgroup struct {
	Name string // as the criteria write it, e.g. "≥ 13 years of age (male only)"
	// From ≤ age at collection < To, in days; To 0 is no upper bound.
	From, To float64
	Sex      string // "M" or "F"; "" for both
	Scales   []Scale
	Worst    []Scale
	// NotGradable, when set, says why the criteria grade nothing for
	// this subgroup.
	NotGradable string
}

// Overlaps reports whether an age from lo to hi days may fall in g.
func (g *Subgroup) Overlaps(lo, hi float64) bool { return g.From < hi && (g.To == 0 || lo < g.To) }

// unitAliases maps spellings of one unit to the form the tables use.
var unitAliases = map[string]string{
	"gi/l": "10^9/l", "10*9/l": "10^9/l", "10e9/l": "10^9/l", "x10^9/l": "10^9/l", "x10e9/l": "10^9/l",
	"10^3/ul": "10^9/l", "10*3/ul": "10^9/l", "x10^3/ul": "10^9/l", "k/ul": "10^9/l", "10^3/mm3": "10^9/l", "/nl": "10^9/l",
	"/mm3": "/ul", "cells/ul": "/ul", "cells/mm3": "/ul",
	"iu/l":    "u/l",
	"g/100ml": "g/dl", "mg/100ml": "mg/dl",
	"mcmol/l":        "umol/l",
	"ml/min/1.73m^2": "ml/min/1.73m2", "ml/min/1.73m²": "ml/min/1.73m2", "ml/min/{1.73_m2}": "ml/min/1.73m2",
}

var unitFolder = strings.NewReplacer("µ", "u", "μ", "u", " ", "")

// NormUnit folds case, blanks and the micro sign so that "µmol/L" and
// "umol/L" are one unit.
func NormUnit(u string) string {
	if n, ok := normCache.Load(u); ok {
		return n.(string)
	}
	n := unitFolder.Replace(strings.ToLower(strings.TrimSpace(u)))
	if a, ok := unitAliases[n]; ok {
		n = a
	}
	// A study uses a few dozen units; the bound only guards against a
	// caller feeding arbitrary text.
	if normCacheSize.Add(1) <= 4096 {
		normCache.Store(u, n)
	}
	return n
}

// normCache saves grading a large LB from folding the same units again
// for every record.
var (
	normCache     sync.Map // raw unit → NormUnit
	normCacheSize atomic.Int64
)
