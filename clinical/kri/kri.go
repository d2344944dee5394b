// Package kri computes site key risk indicators (KRIs), the site risk
// score and study-level quality tolerance limits (QTLs) the way Gilead's
// open-source gsm packages do (gsm.core's Analyze_NormalApprox, Flag and
// Analyze_NormalApprox_PredictBounds; gsm.kri's metric specs kri0001 …
// kri0015 and CalculateRiskScore). It is pure code: per-subject study data
// in, per-site results, funnel bounds, risk scores and QTL results out.
package kri

import (
	"math"
	"slices"
)

// Model is how a KRI's score is computed from its per-site counts.
type Model string

const (
	// Rate: events per unit of exposure (e.g. AEs per day on study), a
	// normal approximation of the Poisson distribution.
	Rate Model = "rate"
	// Binary: a proportion (e.g. discontinued of enrolled), a normal
	// approximation of the binomial distribution.
	Binary Model = "binary"
	// Identity: the score is the numerator itself (a count, e.g. deaths).
	Identity Model = "identity"
)

// Spec is one KRI as gsm.kri's metric YAML defines it.
type Spec struct {
	ID          string `json:"kri"`
	Name        string `json:"name"`
	Numerator   string `json:"numerator"`
	Denominator string `json:"denominator"`
	Model       Model  `json:"model"`
	// Thresholds are the score cut-offs, ascending; a score s gets
	// Flags[i] where i is how many thresholds are ≤ s (gsm's Flag: cut
	// with right = FALSE).
	Thresholds []float64 `json:"thresholds"`
	Flags      []int     `json:"flags"`
	// Weights are the risk-score weights of each flag, in Flags' order.
	Weights []float64 `json:"weights"`
	// MinDenominator: a site whose denominator is below it gets no score
	// and no flag (gsm's nAccrualThreshold on the Denominator).
	MinDenominator float64 `json:"min_denominator"`
}

// The KRI ids trialwatch computes. gsm.kri's ids keep gsm's meaning; the
// tw ids are trialwatch's own.
const (
	AERate             = "kri0001"
	SAERate            = "kri0002"
	LabGrade3Rate      = "kri0005"
	StudyDiscontinued  = "kri0006"
	TreatDiscontinued  = "kri0007"
	DataEntryLate      = "kri0010"
	ScreenFailure      = "kri0012"
	EarlyDeath         = "kri0015"
	LateSAE            = "tw0001"
	UnreconciledLab    = "tw0002"
	FindingsOpen30Days = "tw0003"
)

var (
	twoSided   = []int{-2, -1, 0, 1, 2}
	upperOnly  = []int{0, 1, 2}
	upperZ     = []float64{2, 3}
	smallUpper = []float64{0, 1, 2} // weights 0 / amber 1 / red 2
)

// specs are the defaults, in report order: gsm.kri's thresholds, flags,
// minimum denominators and risk-score weights (articles/SiteRiskScore)
// where gsm has the KRI.
var specs = []Spec{
	{ID: AERate, Name: "Adverse event rate", Numerator: "adverse events (AE records)", Denominator: "days on study (RFENDTC − RFSTDTC + 1)",
		Model: Rate, Thresholds: []float64{-2, -1, 2, 3}, Flags: twoSided, Weights: []float64{32, 16, 0, 1, 2}, MinDenominator: 30},
	{ID: SAERate, Name: "Serious adverse event rate", Numerator: "serious adverse events (AESER = Y)", Denominator: "days on study (RFENDTC − RFSTDTC + 1)",
		Model: Rate, Thresholds: []float64{-2, -1, 2, 3}, Flags: twoSided, Weights: []float64{8, 0, 0, 4, 8}, MinDenominator: 30},
	{ID: LabGrade3Rate, Name: "Grade 3+ lab abnormality rate", Numerator: "lab results of CTCAE grade 3 or 4", Denominator: "lab results graded 0–4",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: smallUpper, MinDenominator: 30},
	{ID: StudyDiscontinued, Name: "Study discontinuation rate", Numerator: "enrolled subjects with a DS disposition event other than COMPLETED", Denominator: "enrolled (randomized) subjects",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: []float64{0, 16, 32}, MinDenominator: 3},
	{ID: TreatDiscontinued, Name: "Treatment discontinuation rate", Numerator: "enrolled subjects whose treatment-epoch disposition event is not COMPLETED", Denominator: "enrolled (randomized) subjects",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: []float64{0, 16, 32}, MinDenominator: 3},
	{ID: DataEntryLate, Name: "Delayed data entry rate", Numerator: "AE and LB records first stored more than 10 days after their date", Denominator: "AE and LB records with a full date",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: smallUpper, MinDenominator: 30},
	{ID: ScreenFailure, Name: "Screen failure rate", Numerator: "screened subjects never randomized", Denominator: "screened subjects (DM)",
		Model: Binary, Thresholds: []float64{-3, -2, 2, 3}, Flags: twoSided, Weights: []float64{0, 0, 0, 8, 16}, MinDenominator: 3},
	{ID: EarlyDeath, Name: "Deaths within 90 days of randomization", Numerator: "enrolled subjects who died (DTHDTC) within 90 days of randomization", Denominator: "enrolled (randomized) subjects",
		Model: Identity, Thresholds: []float64{1, 2}, Flags: upperOnly, Weights: []float64{0, 8, 16}, MinDenominator: 1},
	{ID: LateSAE, Name: "Late SAE report rate", Numerator: "SAE_LATE findings", Denominator: "serious adverse events (AESER = Y)",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: []float64{0, 4, 8}, MinDenominator: 3},
	{ID: UnreconciledLab, Name: "Unreconciled grade 3+ lab rate", Numerator: "LAB_AE_UNRECONCILED findings", Denominator: "lab results of CTCAE grade 3 or 4",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: smallUpper, MinDenominator: 3},
	{ID: FindingsOpen30Days, Name: "Findings open over 30 days", Numerator: "subject findings new or acknowledged and raised more than 30 days ago", Denominator: "subject findings raised",
		Model: Binary, Thresholds: upperZ, Flags: upperOnly, Weights: smallUpper, MinDenominator: 10},
}

// Specs lists the KRIs trialwatch computes with their defaults, in report
// order. The caller may change the copies it gets.
func Specs() []Spec {
	out := make([]Spec, len(specs))
	for i, s := range specs {
		out[i] = s.clone()
	}
	return out
}

// SpecFor returns the default spec of KRI id.
func SpecFor(id string) (Spec, bool) {
	for _, s := range specs {
		if s.ID == id {
			return s.clone(), true
		}
	}
	return Spec{}, false
}

func (s Spec) clone() Spec {
	s.Thresholds = slices.Clone(s.Thresholds)
	s.Flags = slices.Clone(s.Flags)
	s.Weights = slices.Clone(s.Weights)
	return s
}

// FlagOf is the flag of score under s's thresholds: Flags[i], i the number
// of thresholds at or below the score, as gsm's Flag (cut(breaks =
// c(-Inf, vThreshold, Inf), right = FALSE)).
func (s Spec) FlagOf(score float64) int {
	i := 0
	for _, t := range s.Thresholds {
		if t <= score {
			i++
		}
	}
	return s.Flags[i]
}

// WeightOf is the risk-score weight of flag, 0 for a flag s has not.
func (s Spec) WeightOf(flag int) float64 {
	if i := slices.Index(s.Flags, flag); i >= 0 && i < len(s.Weights) {
		return s.Weights[i]
	}
	return 0
}

// MaxWeight is the largest weight any flag of s has (gsm's WeightMax).
func (s Spec) MaxWeight() float64 {
	if len(s.Weights) == 0 {
		return 0
	}
	return slices.Max(s.Weights)
}

// Count is one site's numerator and denominator of a KRI.
type Count struct {
	Site        string
	Numerator   float64
	Denominator float64
}

// SiteResult is one site's KRI: its counts, metric (numerator ÷
// denominator), and, unless the site has too little data, its score and
// flag.
type SiteResult struct {
	Site        string
	Numerator   float64
	Denominator float64
	Metric      float64 // 0 when the denominator is 0
	// Scored is false when the site's denominator is below the minimum
	// (or 0): Score and Flag are then blank, as gsm leaves them NA.
	Scored bool
	Score  float64
	Flag   int
}

// Analysis is one KRI over all sites of a study.
type Analysis struct {
	Spec Spec
	// Overall is the study's metric: all numerators over all
	// denominators (gsm's OverallMetric, vMu).
	Overall float64
	// Factor is the over-dispersion φ (gsm's Factor); 0 for Identity.
	Factor float64
	Sites  []SiteResult // ordered by site
}

// Analyze scores every site of one KRI: gsm.core's Analyze_NormalApprox
// (or Analyze_Identity) then Flag with the minimum denominator.
//
// Normal approximation, over the sites with a denominator above 0:
//
//	μ    = Σ numerator / Σ denominator
//	z₀ᵢ  = (metricᵢ − μ) / √(v(μ) / denominatorᵢ)     v(μ) = μ(1−μ) binary, μ rate
//	φ    = mean(z₀ᵢ²)
//	zᵢ   = (metricᵢ − μ) / √(φ · v(μ) / denominatorᵢ)
//
// with z = 0 where v(μ) or φ is 0, as gsm sets it. gsm would give every
// site NaN if one site had a denominator of 0; such a site is left out of
// μ and φ here and reported without a score.
func Analyze(spec Spec, counts []Count) Analysis {
	a := Analysis{Spec: spec, Sites: make([]SiteResult, len(counts))}
	var num, den float64
	for i, c := range counts {
		r := SiteResult{Site: c.Site, Numerator: c.Numerator, Denominator: c.Denominator}
		if c.Denominator > 0 {
			r.Metric = c.Numerator / c.Denominator
			num += c.Numerator
			den += c.Denominator
		}
		a.Sites[i] = r
	}
	slices.SortFunc(a.Sites, func(x, y SiteResult) int { return CompareSites(x.Site, y.Site) })
	if den > 0 {
		a.Overall = num / den
	}
	switch spec.Model {
	case Identity:
		for i := range a.Sites {
			a.Sites[i].Score = a.Sites[i].Numerator
		}
	default:
		v := variance(spec.Model, a.Overall)
		n, sum := 0, 0.0
		for _, r := range a.Sites {
			if r.Denominator > 0 && v > 0 {
				z0 := (r.Metric - a.Overall) / math.Sqrt(v/r.Denominator)
				sum += z0 * z0
			}
			if r.Denominator > 0 {
				n++
			}
		}
		if n > 0 {
			a.Factor = sum / float64(n)
		}
		for i, r := range a.Sites {
			if r.Denominator > 0 && v > 0 && a.Factor > 0 {
				a.Sites[i].Score = (r.Metric - a.Overall) / math.Sqrt(a.Factor*v/r.Denominator)
			}
		}
	}
	for i, r := range a.Sites {
		if r.Denominator > 0 && r.Denominator >= spec.MinDenominator {
			a.Sites[i].Scored = true
			a.Sites[i].Flag = spec.FlagOf(r.Score)
		} else {
			a.Sites[i].Score = 0
		}
	}
	return a
}

// variance is v(μ): the variance of one unit of denominator.
func variance(m Model, mu float64) float64 {
	if m == Binary {
		return mu * (1 - mu)
	}
	return mu
}

// Bound is the funnel plot at one denominator: the expected metric and
// the metric at each threshold's score.
type Bound struct {
	Denominator float64
	Expected    float64
	Limits      []Limit // one per threshold, in the spec's order
}

// Limit is the metric a site of that denominator would have at the score
// Threshold. OK is false where that metric would be below 0, which gsm
// leaves out ("only positive percentages are meaningful bounds").
type Limit struct {
	Threshold float64
	Metric    float64
	OK        bool
}

// Bounds is gsm.core's Analyze_NormalApprox_PredictBounds at the given
// denominators (e.g. those of the sites seen):
//
//	metric(t, n) = μ + t · √(φ · v(μ) / n)
//
// An Identity KRI has no funnel: Bounds is nil.
func (a Analysis) Bounds(denominators []float64) []Bound {
	if a.Spec.Model == Identity {
		return nil
	}
	v := variance(a.Spec.Model, a.Overall)
	var out []Bound
	for _, n := range denominators {
		if n <= 0 {
			continue
		}
		b := Bound{Denominator: n, Expected: a.Overall, Limits: make([]Limit, len(a.Spec.Thresholds))}
		for i, t := range a.Spec.Thresholds {
			m := a.Overall + t*math.Sqrt(a.Factor*v/n)
			b.Limits[i] = Limit{Threshold: t, Metric: m, OK: m >= 0}
		}
		out = append(out, b)
	}
	return out
}

// Denominators lists the distinct denominators above 0 of a's sites,
// ascending: where the funnel is drawn.
func (a Analysis) Denominators() []float64 {
	var out []float64
	for _, r := range a.Sites {
		if r.Denominator > 0 {
			out = append(out, r.Denominator)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CompareSites orders site ids numerically when both are numbers ("98"
// before "701"), else as text: the order of every list of sites here.
func CompareSites(a, b string) int {
	if len(a) != len(b) && allDigits(a) && allDigits(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
