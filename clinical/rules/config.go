package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// Config is what a study sets: the criteria its labs are graded with, and
// how loud each rule is. The zero Config means the defaults
// (DefaultConfig); settings documents are read into a copy of
// DefaultConfig, so a field a document leaves out keeps its default.
type Config struct {
	// Criteria is the grading criteria (a CTCAE version); empty means
	// ctcae.Default.
	Criteria ctcae.Criteria `json:"ctcae"`
	// GradingContext is how grades the criteria define by symptoms or
	// other clinical context are read from a number alone: number-only
	// (the default) or worst-case (as admiral); empty means number-only.
	GradingContext ctcae.Context `json:"grading_context"`
	// AETerms adds AE terms (MedDRA PT or verbatim, any case) that report
	// a lab abnormality, to those of aeterms.Default. The key is an LBTESTCD
	// for both directions ("ALT") or an LBTESTCD and direction ("HGB:low").
	AETerms map[string][]string `json:"ae_terms"`
	// Rules turns rules on (true) or off (false); a rule not named is on.
	Rules map[clinical.Rule]bool `json:"rules"`
	// OutOfRange sets when LAB_OUT_OF_RANGE is raised and how severe.
	OutOfRange RangeSettings `json:"out_of_range"`
	// Baseline is which result a later one is compared with, for
	// baseline-relative grades and shifts; empty means BaselineSDTM.
	Baseline Baseline `json:"baseline"`
}

// Baseline is a convention for a subject's baseline result of a test.
type Baseline string

const (
	// BaselineSDTM is the record SDTM flags (LBBLFL = Y), else the last
	// value on or before the first dose (RFXSTDTC).
	BaselineSDTM Baseline = "sdtm"
	// BaselineADaMLastPredose is ADaM's BASE as sponsors derive it: the
	// last non-missing value on or before the first dose, whatever LBBLFL
	// says. The first dose is the earliest EXSTDTC (ADaM's TRTSDTM), or
	// RFXSTDTC when exposure is unknown.
	BaselineADaMLastPredose Baseline = "adam-last-predose"
)

// Baselines lists the conventions a study can choose.
var Baselines = []Baseline{BaselineSDTM, BaselineADaMLastPredose}

// RangeSettings is the noise control of LAB_OUT_OF_RANGE.
type RangeSettings struct {
	// Tolerance is how far past a reference limit a value may lie without
	// a finding unless CTCAE grades it: 0.1 raises nothing up to 1.1×ULN
	// or down to 0.9×LLN. A limit is a population's 95% interval, so one
	// healthy result in twenty lies just outside it.
	Tolerance float64 `json:"tolerance"`
	// High are the ×ULN multiples from which a high value is medium, high
	// and critical (below the first it is low).
	High SeverityCuts `json:"high_xuln"`
	// Low are the ×LLN fractions below which a low value is medium, high
	// and critical.
	Low SeverityCuts `json:"low_xlln"`
	// GradedTests raises LAB_OUT_OF_RANGE also for results CTCAE grades in
	// that direction. Off by default: their CTCAE_GRADE finding says the
	// same with a grade, and two findings of one abnormality make a
	// monitor review it twice.
	GradedTests bool `json:"graded_tests"`
}

// SeverityCuts are the three cut-offs between the four severities a
// range finding can have.
type SeverityCuts struct {
	Medium   float64 `json:"medium"`
	High     float64 `json:"high"`
	Critical float64 `json:"critical"`
}

// DefaultConfig is what a study that set nothing runs with. The ×ULN
// cut-offs follow the multiples CTCAE uses for most chemistry terms (1.5×,
// 3×, 5× ULN); low values have no multiples in common use, and quarters of
// the LLN give the same four steps.
func DefaultConfig() Config {
	return Config{
		Criteria:       ctcae.Default,
		GradingContext: ctcae.NumberOnly,
		OutOfRange: RangeSettings{
			Tolerance: 0.1,
			High:      SeverityCuts{Medium: 1.5, High: 3, Critical: 5},
			Low:       SeverityCuts{Medium: 0.75, High: 0.5, Critical: 0.25},
		},
		Baseline: BaselineSDTM,
	}
}

// withDefaults fills what the zero Config leaves unset.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Criteria == "" {
		c.Criteria = d.Criteria
	}
	if c.GradingContext == "" {
		c.GradingContext = d.GradingContext
	}
	if c.OutOfRange == (RangeSettings{}) {
		c.OutOfRange = d.OutOfRange
	}
	if c.Baseline == "" {
		c.Baseline = d.Baseline
	}
	return c
}

// Settable lists the rules a study can turn on and off: every rule
// Evaluate raises, and the site-level ones.
var Settable = append(slices.Clip(Rules), clinical.RuleSiteKRIFlag, clinical.RuleQTLExceeded)

// Enabled reports whether the study runs rule.
func (c Config) Enabled(rule clinical.Rule) bool {
	on, named := c.Rules[rule]
	return on || !named
}

// Validate says what is wrong with c, naming the field as a settings
// document spells it.
func (c Config) Validate() error {
	if _, err := ctcae.ParseCriteria(string(c.Criteria)); err != nil {
		return fmt.Errorf("ctcae: %w", err)
	}
	if c.Baseline != "" && !slices.Contains(Baselines, c.Baseline) {
		return fmt.Errorf("baseline: unknown convention %q (want %s or %s)", c.Baseline, BaselineSDTM, BaselineADaMLastPredose)
	}
	if _, err := ctcae.ParseContext(string(c.GradingContext)); err != nil {
		return fmt.Errorf("grading_context: %w", err)
	}
	for rule := range c.Rules {
		if !slices.Contains(Settable, rule) {
			names := make([]string, len(Settable))
			for i, r := range Settable {
				names[i] = string(r)
			}
			return fmt.Errorf("rules: unknown rule %q (want one of %s)", rule, strings.Join(names, ", "))
		}
	}
	for key, terms := range c.AETerms {
		test, dir, hasDir := strings.Cut(key, ":")
		if strings.TrimSpace(test) == "" {
			return fmt.Errorf("ae_terms: key %q names no LBTESTCD", key)
		}
		if hasDir && !strings.EqualFold(dir, string(ctcae.High)) && !strings.EqualFold(dir, string(ctcae.Low)) {
			return fmt.Errorf("ae_terms: key %q: direction must be high or low", key)
		}
		for i, t := range terms {
			if strings.TrimSpace(t) == "" {
				return fmt.Errorf("ae_terms[%q][%d]: empty term", key, i)
			}
		}
	}
	r := c.OutOfRange
	if err := finite("out_of_range.tolerance", r.Tolerance); err != nil {
		return err
	}
	if r.Tolerance >= 1 {
		return fmt.Errorf("out_of_range.tolerance: %g must be below 1 (0.1 means 10%% past the limit)", r.Tolerance)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"out_of_range.high_xuln.medium", r.High.Medium}, {"out_of_range.high_xuln.high", r.High.High}, {"out_of_range.high_xuln.critical", r.High.Critical},
		{"out_of_range.low_xlln.medium", r.Low.Medium}, {"out_of_range.low_xlln.high", r.Low.High}, {"out_of_range.low_xlln.critical", r.Low.Critical}} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	if !(1 <= r.High.Medium && r.High.Medium <= r.High.High && r.High.High <= r.High.Critical) {
		return fmt.Errorf("out_of_range.high_xuln: want 1 ≤ medium ≤ high ≤ critical, got %g, %g, %g", r.High.Medium, r.High.High, r.High.Critical)
	}
	if !(1 >= r.Low.Medium && r.Low.Medium >= r.Low.High && r.Low.High >= r.Low.Critical) {
		return fmt.Errorf("out_of_range.low_xlln: want 1 ≥ medium ≥ high ≥ critical, got %g, %g, %g", r.Low.Medium, r.Low.High, r.Low.Critical)
	}
	return nil
}

// finite refuses NaN, infinities and negative numbers.
func finite(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s: %g is not a finite number ≥ 0", name, v)
	}
	return nil
}
