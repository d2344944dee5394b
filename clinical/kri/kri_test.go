package kri

import (
	"math"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Nine sites of 10 AEs in 100 days and one of 40: μ = 130/1000 = 0.13,
// z₀ = −0.03/√(0.13/100) = −0.83205 (nine times) and 0.27/0.036056 =
// 7.48845, φ = (9·0.692308 + 56.076923)/10 = 6.230769; z = (m−μ)/√(φ·μ/100)
// = (m−μ)/0.09: −0.3333 and exactly 3.
func TestAnalyzeRateByHand(t *testing.T) {
	sp, _ := SpecFor(AERate)
	var counts []Count
	for _, s := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		counts = append(counts, Count{Site: s, Numerator: 10, Denominator: 100})
	}
	counts = append(counts, Count{Site: "10", Numerator: 40, Denominator: 100})
	a := Analyze(sp, counts)
	if !near(a.Overall, 0.13) || !near(a.Factor, 6.2307692) {
		t.Fatalf("μ = %g, φ = %g; want 0.13, 6.2307692", a.Overall, a.Factor)
	}
	if a.Sites[9].Site != "10" {
		t.Fatalf("sites not in numeric order: last is %q", a.Sites[9].Site)
	}
	out := a.Sites[9]
	if !out.Scored || !near(out.Score, 3) || out.Flag != 2 || !near(out.Metric, 0.4) {
		t.Errorf("outlier: %+v; want metric 0.4, score 3, flag 2 (a score equal to a threshold takes the flag above)", out)
	}
	if in := a.Sites[0]; !in.Scored || !near(in.Score, -1.0/3) || in.Flag != 0 {
		t.Errorf("typical site: %+v; want score −1/3, flag 0", in)
	}
	// The funnel at 100 days: μ + t·0.09 for t = −2, −1, 2, 3; the −2
	// bound is below 0 and left out.
	b := a.Bounds(a.Denominators())
	if len(b) != 1 || b[0].Denominator != 100 {
		t.Fatalf("bounds at %+v; want one at 100", b)
	}
	want := []float64{-0.05, 0.04, 0.31, 0.40}
	for i, l := range b[0].Limits {
		if !near(l.Metric, want[i]) || l.OK != (want[i] >= 0) || l.Threshold != sp.Thresholds[i] {
			t.Errorf("limit %d: %+v; want %g at threshold %g", i, l, want[i], sp.Thresholds[i])
		}
	}
}

// Two sites, 1 of 10 and 5 of 10: μ = 0.3, v = 0.21, z₀ = ±0.2/√0.021 =
// ±1.380131, φ = 1.904762, z = ±0.2/√(1.904762·0.021) = ±1.
func TestAnalyzeBinaryByHand(t *testing.T) {
	sp, _ := SpecFor(StudyDiscontinued)
	a := Analyze(sp, []Count{{"B", 5, 10}, {"A", 1, 10}})
	if !near(a.Overall, 0.3) || !near(a.Factor, 1.9047619) {
		t.Fatalf("μ = %g, φ = %g", a.Overall, a.Factor)
	}
	if a.Sites[0].Site != "A" || !near(a.Sites[0].Score, -1) || !near(a.Sites[1].Score, 1) {
		t.Errorf("sites %+v; want A at −1, B at +1", a.Sites)
	}
	// kri0006 flags upwards only, from 2: both are 0.
	if a.Sites[0].Flag != 0 || a.Sites[1].Flag != 0 {
		t.Errorf("flags %d, %d; want 0, 0", a.Sites[0].Flag, a.Sites[1].Flag)
	}
}

// A site below the minimum denominator counts in μ and φ but has no score
// or flag; a site with no denominator at all is left out of both.
func TestMinimumDenominatorBlanksScoreAndFlag(t *testing.T) {
	sp, _ := SpecFor(StudyDiscontinued) // minimum 3 subjects
	a := Analyze(sp, []Count{{"A", 1, 10}, {"B", 5, 10}, {"C", 2, 2}, {"D", 0, 0}})
	// μ = 8/22; C's z₀ enters φ.
	mu := 8.0 / 22
	v := mu * (1 - mu)
	z := func(m, n float64) float64 { return (m - mu) / math.Sqrt(v/n) }
	phi := (z(0.1, 10)*z(0.1, 10) + z(0.5, 10)*z(0.5, 10) + z(1, 2)*z(1, 2)) / 3
	if !near(a.Overall, mu) || !near(a.Factor, phi) {
		t.Fatalf("μ = %g, φ = %g; want %g, %g", a.Overall, a.Factor, mu, phi)
	}
	for _, r := range a.Sites {
		switch r.Site {
		case "A", "B":
			if !r.Scored {
				t.Errorf("site %s: not scored", r.Site)
			}
		case "C", "D":
			if r.Scored || r.Score != 0 || r.Flag != 0 {
				t.Errorf("site %s below the minimum: %+v; want no score, no flag", r.Site, r)
			}
		}
	}
	if a.Sites[3].Metric != 0 {
		t.Errorf("site D with no denominator: metric %g, want 0", a.Sites[3].Metric)
	}
}

func TestNoVariationScoresZero(t *testing.T) {
	sp, _ := SpecFor(DataEntryLate)
	a := Analyze(sp, []Count{{"A", 40, 40}, {"B", 50, 50}}) // all late: μ = 1
	for _, r := range a.Sites {
		if !r.Scored || r.Score != 0 || r.Flag != 0 {
			t.Errorf("site %s: %+v; want score 0 flag 0 where μ = 1, as gsm", r.Site, r)
		}
	}
	if a.Bounds(a.Denominators())[0].Limits[0].Metric != 1 {
		t.Errorf("bounds with φ = 0 should collapse on μ")
	}
}

func TestIdentityFlagsTheCount(t *testing.T) {
	sp, _ := SpecFor(EarlyDeath) // thresholds 1, 2; minimum 1 enrolled
	a := Analyze(sp, []Count{{"A", 0, 5}, {"B", 1, 5}, {"C", 2, 5}, {"D", 0, 0}})
	want := map[string]int{"A": 0, "B": 1, "C": 2}
	for _, r := range a.Sites {
		if r.Site == "D" {
			if r.Scored {
				t.Errorf("site D without enrolled subjects was scored")
			}
			continue
		}
		if !r.Scored || r.Score != r.Numerator || r.Flag != want[r.Site] {
			t.Errorf("site %s: %+v; want score %g flag %d", r.Site, r, r.Numerator, want[r.Site])
		}
	}
	if a.Bounds([]float64{5}) != nil {
		t.Errorf("an identity KRI has no funnel")
	}
}

func TestFlagCutsAsGsm(t *testing.T) {
	sp, _ := SpecFor(AERate) // −2, −1, 2, 3
	for score, want := range map[float64]int{-2.01: -2, -2: -1, -1.5: -1, -1: 0, 1.99: 0, 2: 1, 2.99: 1, 3: 2, 7: 2} {
		if got := sp.FlagOf(score); got != want {
			t.Errorf("FlagOf(%g) = %d, want %d", score, got, want)
		}
	}
}

// Site 1 has kri0001 at +2 (weight 2 of 32) and kri0006 at 1 (16 of 32):
// 18 of 64, 28.125. Site 2 has kri0001 at −2 (32) and kri0006 blank:
// 32 of 32, 100.
func TestRiskScoreAsCalculateRiskScore(t *testing.T) {
	ae, _ := SpecFor(AERate)
	disc, _ := SpecFor(StudyDiscontinued)
	rs := RiskScores([]Analysis{
		{Spec: ae, Sites: []SiteResult{{Site: "1", Scored: true, Flag: 2}, {Site: "2", Scored: true, Flag: -2}}},
		{Spec: disc, Sites: []SiteResult{{Site: "1", Scored: true, Flag: 1}, {Site: "2"}}},
	})
	if len(rs) != 2 {
		t.Fatalf("%d risk scores, want 2", len(rs))
	}
	if r := rs[0]; r.Raw != 18 || r.Max != 64 || !near(r.Score, 28.125) || r.Red != 1 || r.Amber != 1 {
		t.Errorf("site 1: %+v; want 18 of 64 = 28.125, 1 red, 1 amber", r)
	}
	if r := rs[1]; r.Raw != 32 || r.Max != 32 || r.Score != 100 || r.Red != 1 {
		t.Errorf("site 2: %+v; want 32 of 32 = 100", r)
	}
}

func TestSettingsValidation(t *testing.T) {
	neg := -1.0
	cases := []struct {
		s    Settings
		want string // "" when valid
	}{
		{Settings{}, ""},
		{Settings{KRIs: map[string]KRISettings{AERate: {Thresholds: []float64{-3, -2, 2, 4}}}, QTLs: map[string]float64{TreatDiscontinued: 0.2}}, ""},
		{Settings{KRIs: map[string]KRISettings{"kri9999": {}}}, `kris: unknown KRI "kri9999"`},
		{Settings{QTLs: map[string]float64{"qtl0001": 0.1}}, `qtls: unknown QTL "qtl0001"`},
		{Settings{KRIs: map[string]KRISettings{StudyDiscontinued: {Thresholds: []float64{-1, 3}}}}, "kris.kri0006.thresholds[0]: -1 is negative"},
		{Settings{KRIs: map[string]KRISettings{AERate: {Thresholds: []float64{-2, 1, 2, 3}}}}, "kris.kri0001.thresholds[1]: 1 is positive"},
		{Settings{KRIs: map[string]KRISettings{AERate: {Thresholds: []float64{-2, -1, 3, 2}}}}, "kris.kri0001.thresholds[3]: thresholds must ascend"},
		{Settings{KRIs: map[string]KRISettings{AERate: {Thresholds: []float64{2, 3}}}}, "kris.kri0001.thresholds: want 4 thresholds"},
		{Settings{KRIs: map[string]KRISettings{AERate: {Thresholds: []float64{-2, -1, 2, math.Inf(1)}}}}, "kris.kri0001.thresholds[3]: +Inf is not a finite number"},
		{Settings{KRIs: map[string]KRISettings{SAERate: {MinDenominator: &neg}}}, "kris.kri0002.min_denominator: -1 is not a finite number ≥ 0"},
		{Settings{QTLs: map[string]float64{StudyDiscontinued: math.NaN()}}, "qtls.kri0006: NaN"},
		{Settings{QTLs: map[string]float64{StudyDiscontinued: 1.5}}, "qtls.kri0006: 1.5 is above 1"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v; want valid", c.s, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v; want an error containing %q", c.s, err, c.want)
		}
	}
	min := 50.0
	s := Settings{KRIs: map[string]KRISettings{AERate: {MinDenominator: &min}}}
	if sp, _ := s.Spec(AERate); sp.MinDenominator != 50 || len(sp.Thresholds) != 4 {
		t.Errorf("override of the minimum only: %+v", sp)
	}
}

// A small study: site 1 has three subjects (one a screen failure), site 2
// two. Counts are read straight off the records.
func TestCountsMapTheStudy(t *testing.T) {
	subj := func(id, site, start, end, death string) clinical.Subject {
		return clinical.Subject{USUBJID: id, Site: site, RefStart: clinical.Date(start), RefEnd: clinical.Date(end), DeathDate: clinical.Date(death)}
	}
	ds := func(id, decod, cat, start string) clinical.Disposition {
		return clinical.Disposition{USUBJID: id, Decoded: decod, Category: cat, Start: clinical.Date(start)}
	}
	in := Inputs{
		Subjects: []clinical.Subject{
			subj("a1", "1", "2020-01-01", "2020-01-10", ""),                 // 10 days
			subj("a2", "1", "2020-01-01T08:00", "2020-03-31", "2020-03-31"), // 91 days; died on day 91
			subj("a3", "1", "", "", ""),                                     // screen failure
			subj("b1", "2", "2020-02-01", "2020-02-29", "2020-02-29"),       // 29 days; died on day 29
			subj("b2", "2", "2020-02-01", "", ""),                           // no end: 0 days
		},
		Dispositions: []clinical.Disposition{
			ds("a1", "RANDOMIZED", "PROTOCOL MILESTONE", "2020-01-01"), ds("a1", "COMPLETED", "DISPOSITION EVENT", "2020-01-10"),
			ds("a2", "RANDOMIZED", "PROTOCOL MILESTONE", "2020-01-01"), ds("a2", "DEATH", "DISPOSITION EVENT", "2020-03-31"),
			ds("a3", "SCREEN FAILURE", "DISPOSITION EVENT", "2019-12-20"),
			ds("b1", "RANDOMIZED", "PROTOCOL MILESTONE", "2020-02-01"), ds("b1", "ADVERSE EVENT", "DISPOSITION EVENT", "2020-02-29"),
			ds("b2", "RANDOMIZED", "PROTOCOL MILESTONE", "2020-02-01"),
		},
		Events: []clinical.AdverseEvent{
			{USUBJID: "a1", Serious: true, EntryLag: 12, HasEntryLag: true},
			{USUBJID: "a1", EntryLag: 3, HasEntryLag: true},
			{USUBJID: "a3", Serious: true, EntryLag: 30, HasEntryLag: true}, // not enrolled: not counted
			{USUBJID: "b1"},
		},
		LabGrades: map[string]LabGrades{"a1": {Graded: 20, Grade3Plus: 2}, "b1": {Graded: 10}, "a3": {Graded: 5, Grade3Plus: 5}},
		LabLags:   map[string]EntryLags{"a1": {Late: 1, Dated: 20}, "b2": {Dated: 4}},
		Findings:  map[string]Findings{"a1": {LateSAE: 1, Unreconciled: 3, Open30Days: 2, Total: 5}},
	}
	got := Counts(in)
	want := map[string][]Count{
		AERate:             {{"1", 2, 101}, {"2", 1, 29}},
		SAERate:            {{"1", 1, 101}, {"2", 0, 29}},
		LabGrade3Rate:      {{"1", 2, 20}, {"2", 0, 10}},
		StudyDiscontinued:  {{"1", 1, 2}, {"2", 1, 2}},
		TreatDiscontinued:  {{"1", 1, 2}, {"2", 1, 2}}, // no treatment epoch: the study's
		DataEntryLate:      {{"1", 2, 22}, {"2", 0, 4}},
		ScreenFailure:      {{"1", 1, 3}, {"2", 0, 2}},
		EarlyDeath:         {{"1", 0, 2}, {"2", 1, 2}},
		LateSAE:            {{"1", 1, 1}, {"2", 0, 0}},
		UnreconciledLab:    {{"1", 2, 2}, {"2", 0, 0}}, // 3 findings, 2 grade ≥ 3 results
		FindingsOpen30Days: {{"1", 2, 5}, {"2", 0, 0}},
	}
	for id, w := range want {
		g := got[id]
		if len(g) != len(w) {
			t.Errorf("%s: %+v, want %+v", id, g, w)
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%s: %+v, want %+v", id, g, w)
				break
			}
		}
	}
}

// With a treatment epoch, a subject who stops treatment early but
// completes the study is a treatment discontinuation only.
func TestTreatmentEpochSeparatesTheTwoDiscontinuations(t *testing.T) {
	in := Inputs{
		Subjects: []clinical.Subject{{USUBJID: "a", Site: "1"}, {USUBJID: "b", Site: "1"}},
		Dispositions: []clinical.Disposition{
			{USUBJID: "a", Decoded: "RANDOMIZED", Category: "PROTOCOL MILESTONE"},
			{USUBJID: "a", Decoded: "ADVERSE EVENT", Category: "DISPOSITION EVENT", Epoch: "TREATMENT"},
			{USUBJID: "a", Decoded: "COMPLETED", Category: "DISPOSITION EVENT", Epoch: "FOLLOW-UP"},
			{USUBJID: "b", Decoded: "RANDOMIZED", Category: "PROTOCOL MILESTONE"},
			{USUBJID: "b", Decoded: "COMPLETED", Category: "DISPOSITION EVENT", Epoch: "TREATMENT"},
			{USUBJID: "b", Decoded: "LOST TO FOLLOW-UP", Category: "DISPOSITION EVENT", Epoch: "FOLLOW-UP"},
		},
	}
	c := Counts(in)
	if got := c[TreatDiscontinued][0]; got.Numerator != 1 || got.Denominator != 2 {
		t.Errorf("treatment discontinuation %+v, want 1 of 2 (a)", got)
	}
	if got := c[StudyDiscontinued][0]; got.Numerator != 1 || got.Denominator != 2 {
		t.Errorf("study discontinuation %+v, want 1 of 2 (b)", got)
	}
}

func TestComputeRaisesQTL(t *testing.T) {
	in := Inputs{Subjects: []clinical.Subject{{USUBJID: "a", Site: "1"}, {USUBJID: "b", Site: "2"}, {USUBJID: "c", Site: "2"}}}
	for _, id := range []string{"a", "b", "c"} {
		in.Dispositions = append(in.Dispositions, clinical.Disposition{USUBJID: id, Decoded: "RANDOMIZED"})
	}
	in.Dispositions = append(in.Dispositions, clinical.Disposition{USUBJID: "b", Decoded: "WITHDRAWAL BY SUBJECT", Category: "DISPOSITION EVENT"})
	r := Compute(Settings{}, in)
	if len(r.QTLs) != 1 || r.QTLs[0].ID != StudyDiscontinued || !r.QTLs[0].Exceeded || !near(r.QTLs[0].Metric, 1.0/3) {
		t.Errorf("QTLs %+v; want kri0006 at 1/3, over its 0.30 limit", r.QTLs)
	}
	r = Compute(Settings{QTLs: map[string]float64{StudyDiscontinued: 0.5}}, in)
	if r.QTLs[0].Exceeded {
		t.Errorf("1/3 is within a limit of 0.5: %+v", r.QTLs[0])
	}
	if len(r.KRIs) != len(Specs()) || len(r.RiskScores) != 2 {
		t.Errorf("%d KRIs and %d risk scores; want every KRI and both sites", len(r.KRIs), len(r.RiskScores))
	}
}

// Days on study and days to death count UTC calendar days: a date with a
// time zone offset counts on its UTC day, not on the day its text shows.
func TestDaysCountUTCDays(t *testing.T) {
	for _, c := range []struct {
		start, end clinical.Date
		want       int
	}{
		{"2014-01-01", "2014-01-10", 10},
		// 2014-01-01T23:30-02:00 is 2014-01-02T01:30Z: day 1 is the 2nd.
		{"2014-01-01T23:30-02:00", "2014-01-10", 9},
		// 2014-01-10T00:30+01:00 is 2014-01-09T23:30Z.
		{"2014-01-01", "2014-01-10T00:30+01:00", 9},
		{"2014-01", "2014-01-10", 0},
	} {
		if got := DaysOnStudy(clinical.Subject{RefStart: c.start, RefEnd: c.end}); got != c.want {
			t.Errorf("DaysOnStudy(%s, %s) = %d, want %d", c.start, c.end, got, c.want)
		}
	}
	// Randomized 2014-01-01; died on day 91 by UTC (2014-04-01T01:00Z),
	// day 90 by the text: not an early death.
	in := Inputs{Subjects: []clinical.Subject{{USUBJID: "a", Site: "1", DeathDate: "2014-03-31T23:00-02:00"}},
		Dispositions: []clinical.Disposition{{USUBJID: "a", Decoded: "RANDOMIZED", Start: "2014-01-01"}}}
	if got := Counts(in)[EarlyDeath][0]; got.Numerator != 0 || got.Denominator != 1 {
		t.Errorf("early death %+v, want 0 of 1: day 91 in UTC", got)
	}
}
