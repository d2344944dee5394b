package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
)

// Consecutive abnormal results of one test are one finding that grows as
// results arrive; a normal result ends it, and the next abnormal one
// starts another.
func TestEpisodes(t *testing.T) {
	labs := []clinical.LabResult{
		alt(1, 30, "2014-02-01"),
		alt(2, 50, "2014-02-08"),  // grade 1
		alt(3, 150, "2014-02-15"), // grade 2: the worst
		alt(4, 60, "2014-02-22"),  // grade 1
		alt(5, 30, "2014-03-01"),  // normal: ends the episode
		alt(6, 55, "2014-03-08"),  // a new episode
	}
	sigs := only(CTCAEGrade, Evaluate(v403, labsInput(labs...)))
	if got := keysOf(CTCAEGrade, sigs); !slices.Equal(got, []string{"ALT:high:LB:2", "ALT:high:LB:6"}) {
		t.Fatalf("keys %v, want two episodes", got)
	}
	e := sigs[0]
	if e.Severity != clinical.SeverityMedium || e.Evidence["grade"] != 2 || e.Evidence["lbseq"] != 3 || e.Evidence["count"] != 3 ||
		!slices.Equal(e.Evidence["results"].([]string), []string{"LB:2", "LB:3", "LB:4"}) || e.First != "2014-02-08" || e.Last != "2014-02-22" {
		t.Errorf("episode: severity %v evidence %v dates %s..%s", e.Severity, e.Evidence, e.First, e.Last)
	}

	// Results arriving later extend the same finding under the same key.
	grown := Evaluate(v403, labsInput(labs[:3]...))
	if got := keysOf(CTCAEGrade, grown); !slices.Equal(got, []string{"ALT:high:LB:2"}) {
		t.Errorf("before later results: keys %v", got)
	}
	// Input order does not matter: episodes follow the dates.
	rev := slices.Clone(labs)
	slices.Reverse(rev)
	if got := keysOf(CTCAEGrade, Evaluate(v403, labsInput(rev...))); !slices.Equal(got, []string{"ALT:high:LB:2", "ALT:high:LB:6"}) {
		t.Errorf("reversed input: keys %v", got)
	}
}

// Out-of-range noise control: within the tolerance of the limit nothing is
// raised; a result CTCAE grades is CTCAE_GRADE's unless graded_tests; the
// study's cut-offs set the severity; a differential fraction is read
// through its absolute count.
func TestOutOfRangeNoise(t *testing.T) {
	// Urea (BUN): a test no CTCAE version grades.
	urea := func(seq int, v float64, d clinical.Date) clinical.LabResult { return lab(seq, "BUN", v, 200, 400, d) }
	cases := []struct {
		name string
		cfg  Config
		labs []clinical.LabResult
		keys []string
		sev  clinical.Severity
	}{
		{"within 10% of the ULN", Config{}, []clinical.LabResult{urea(1, 440, "2014-02-01")}, nil, 0},
		{"past the tolerance", Config{}, []clinical.LabResult{urea(1, 441, "2014-02-01")}, []string{"BUN:high:LB:1"}, clinical.SeverityLow},
		{"within 10% of the LLN", Config{}, []clinical.LabResult{urea(1, 180, "2014-02-01")}, nil, 0},
		{"a study with no tolerance", withRange(func(r *RangeSettings) { r.Tolerance = 0 }), []clinical.LabResult{urea(1, 401, "2014-02-01")}, []string{"BUN:high:LB:1"}, clinical.SeverityLow},
		{"the study's cut-offs", withRange(func(r *RangeSettings) { r.High.Medium = 1.2 }), []clinical.LabResult{urea(1, 500, "2014-02-01")}, []string{"BUN:high:LB:1"}, clinical.SeverityMedium},
		{"graded by CTCAE: left to CTCAE_GRADE", v403, []clinical.LabResult{alt(1, 200, "2014-02-01")}, nil, 0},
		{"graded_tests: raised too", withRange(func(r *RangeSettings) { r.GradedTests = true; r.Tolerance = 0 }), []clinical.LabResult{alt(1, 42, "2014-02-01")}, []string{"ALT:high:LB:1"}, clinical.SeverityLow},
		{"a fraction alone is low at most", Config{}, []clinical.LabResult{lab(1, "BASOLE", 0.4, 0, 0.02, "2014-02-01")}, []string{"BASOLE:high:LB:1"}, clinical.SeverityLow},
		{"a fraction with its count that day is the count's", Config{}, []clinical.LabResult{
			lab(1, "BASOLE", 0.4, 0, 0.02, "2014-02-01T09:00"), lab(2, "BASO", 0.1, 0, 0.2, "2014-02-01T10:00")}, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sigs := only(clinical.RuleLabOutOfRange, Evaluate(c.cfg, labsInput(c.labs...)))
			if got := keysOf(clinical.RuleLabOutOfRange, sigs); !slices.Equal(got, c.keys) {
				t.Fatalf("keys %v, want %v", got, c.keys)
			}
			if len(sigs) > 0 && sigs[0].Severity != c.sev {
				t.Errorf("severity %v, want %v: %s", sigs[0].Severity, c.sev, sigs[0].Message)
			}
		})
	}
}

func withRange(f func(*RangeSettings)) Config {
	c := DefaultConfig()
	c.Criteria = v403.Criteria
	f(&c.OutOfRange)
	return c
}

// A rule the study turned off raises nothing and is not among the rules
// that ran, so its stored findings are left as they are.
func TestRuleSwitches(t *testing.T) {
	cfg := Config{Criteria: v403.Criteria, Rules: map[clinical.Rule]bool{CTCAEGrade: false, SAELate: true}}
	in := labsInput(alt(1, 300, "2014-02-01")) // grade 3
	a := Assess(cfg, in)
	if got := keysOf(CTCAEGrade, a.Signals); len(got) != 0 {
		t.Errorf("CTCAE_GRADE raised while off: %v", got)
	}
	if slices.Contains(a.Ran, CTCAEGrade) || !slices.Contains(a.Ran, ShiftFromBaseline) || !slices.Contains(a.Ran, SAELate) {
		t.Errorf("ran %v", a.Ran)
	}
	in.HaveEvents = false
	if a := Assess(Config{}, in); slices.Contains(a.Ran, SAELate) || slices.Contains(a.Ran, LabAEUnreconciled) {
		t.Errorf("rules needing AEs ran without them: %v", a.Ran)
	}
	if a.Graded != 1 || a.Severe != 1 {
		t.Errorf("graded %d, severe %d; want 1 and 1", a.Graded, a.Severe)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	ok.Baseline, ok.Rules = BaselineADaMLastPredose, map[clinical.Rule]bool{AEWithoutLab: false, liver.MDISH: false}
	if err := ok.Validate(); err != nil {
		t.Fatalf("ADaM baseline, new rules off: %v", err)
	}
	bad := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown rule", func(c *Config) { c.Rules = map[clinical.Rule]bool{"NOPE": true} }, "rules: unknown rule"},
		{"negative tolerance", func(c *Config) { c.OutOfRange.Tolerance = -0.1 }, "out_of_range.tolerance"},
		{"tolerance of 1", func(c *Config) { c.OutOfRange.Tolerance = 1 }, "out_of_range.tolerance"},
		{"cuts out of order", func(c *Config) { c.OutOfRange.High.High = 1.2 }, "out_of_range.high_xuln"},
		{"low cuts above 1", func(c *Config) { c.OutOfRange.Low.Medium = 1.5 }, "out_of_range.low_xlln"},
		{"unknown criteria", func(c *Config) { c.Criteria = "ctcae-v9" }, "ctcae:"},
		{"bad direction", func(c *Config) { c.AETerms = map[string][]string{"ALT:up": {"X"}} }, "ae_terms"},
		{"unknown baseline", func(c *Config) { c.Baseline = "adam" }, "baseline: unknown convention"},
	}
	for _, b := range bad {
		c := DefaultConfig()
		b.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error naming %q", b.name, err, b.want)
		}
	}
}
