package liver

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/rulestest"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

var (
	lab         = rulestest.Lab
	baselineLab = rulestest.BaselineLab
	alt         = rulestest.ALT
	ast         = rulestest.AST
	bili        = rulestest.Bili
	alp         = rulestest.ALP
	only        = rulestest.Only
	keysOf      = rulestest.KeysOf
	wantOne     = rulestest.WantOne
)

// assessment is what the liver rules make of the fixtures' subject.
type assessment struct {
	Point    EDISHPoint
	HasPoint bool
	Signals  []clinical.Signal
}

// assess reads labs of the fixtures' subject, baselines by SDTM's
// convention, as clinical/rules does with its default settings.
func assess(labs ...clinical.LabResult) assessment {
	subj := rulestest.Subject()
	baselines := ctcae.FindBaselines(labs, map[string]clinical.Date{subj.USUBJID: subj.FirstDose})
	lv := Read(subjectview.New(&subj, labs, baselines, "sdtm"))
	p, ok := lv.Point()
	return assessment{p, ok, append(lv.Signals(), lv.MDISHSignals()...)}
}

func evaluate(labs ...clinical.LabResult) []clinical.Signal { return assess(labs...).Signals }

// point places the fixtures' subject on the eDISH plot.
func point(labs ...clinical.LabResult) (EDISHPoint, bool) {
	a := assess(labs...)
	return a.Point, a.HasPoint
}

func TestLiverRules(t *testing.T) {
	const day = "2014-02-01T09:00"
	tests := []struct {
		name   string
		labs   []clinical.LabResult
		rule   clinical.Rule // the one liver signal expected; "" for none
		key    string
		reason string // HYS_LAW_QUADRANT's evidence "reason"
	}{
		{"exactly 3×ULN ALT and 2×ULN bilirubin on one draw", []clinical.LabResult{alt(1, 120, day), bili(2, 40, day), alp(3, 100, day)},
			HysLaw, "LB:1+LB:2", ""},
		{"AST counts as ALT", []clinical.LabResult{alt(1, 60, day), ast(2, 120, day), bili(3, 40, day)},
			HysLaw, "LB:2+LB:3", ""},
		{"ALT just under 3×ULN", []clinical.LabResult{alt(1, 119.9, day), bili(2, 40, day)},
			Hyperbilirubinemia, "LB:2", ""},
		{"bilirubin just under 2×ULN", []clinical.LabResult{alt(1, 120, day), bili(2, 39.9, day)},
			TemplesCorollary, "LB:1", ""},
		{"bilirubin 14 days after", []clinical.LabResult{alt(1, 200, "2014-02-01"), bili(2, 10, "2014-02-01"), bili(3, 50, "2014-02-15")},
			HysLaw, "LB:1+LB:3", ""},
		{"bilirubin 14 days after by the calendar, late in the day", []clinical.LabResult{alt(1, 200, "2014-02-01T07:00"), bili(3, 50, "2014-02-15T23:00")},
			HysLaw, "LB:1+LB:3", ""},
		{"bilirubin 15 days after", []clinical.LabResult{alt(1, 200, "2014-02-01"), bili(2, 10, "2014-02-01"), bili(3, 50, "2014-02-16")},
			HysLawQuadrant, "LB:1", "timing"},
		{"bilirubin the day before", []clinical.LabResult{bili(1, 50, "2014-01-31"), alt(2, 200, "2014-02-01"), bili(3, 10, "2014-02-01")},
			HysLawQuadrant, "LB:2", "timing"},
		{"the first transaminase rise paired within 14 days wins", []clinical.LabResult{alt(1, 200, "2014-02-01"), alt(2, 150, "2014-02-10"), bili(3, 50, "2014-02-20")},
			HysLaw, "LB:2+LB:3", ""},
		{"ALP exactly 2×ULN is cholestatic", []clinical.LabResult{alt(1, 120, day), bili(2, 40, day), alp(3, 200, day)},
			HysLawQuadrant, "LB:1", "alp"},
		{"ALP just under 2×ULN", []clinical.LabResult{alt(1, 120, day), bili(2, 40, day), alp(3, 199.9, day)},
			HysLaw, "LB:1+LB:2", ""},
		{"ALP not measured", []clinical.LabResult{alt(1, 120, day), bili(2, 40, day)},
			HysLaw, "LB:1+LB:2", ""},
		{"ALP read on the transaminase day, not the bilirubin day", []clinical.LabResult{
			alt(1, 120, "2014-02-01"), alp(2, 150, "2014-02-01"), bili(3, 40, "2014-02-05"), alp(4, 300, "2014-02-05")},
			HysLaw, "LB:1+LB:3", ""},
		{"ALP of the same draw beats another draw that day", []clinical.LabResult{
			alt(1, 120, "2014-02-01T09:00"), alp(2, 150, "2014-02-01T09:00"), alp(3, 300, "2014-02-01T17:00"), bili(4, 40, "2014-02-01T09:00")},
			HysLaw, "LB:1+LB:4", ""},
		{"an earlier cholestatic draw does not hide a later hepatocellular one", []clinical.LabResult{
			alt(1, 120, "2014-02-01"), alp(2, 250, "2014-02-01"), bili(3, 40, "2014-02-03"),
			alt(4, 130, "2014-02-05"), alp(5, 150, "2014-02-05"), bili(6, 45, "2014-02-06")},
			HysLaw, "LB:4+LB:6", ""},
		{"decimal ULN at exactly 3× and 2×", []clinical.LabResult{
			{Seq: 1, TestCode: "ALT", Value: 3.6, HasValue: true, Unit: "ukat/L", High: 1.2, HasHigh: true, Date: day},
			{Seq: 2, TestCode: "BILI", Value: 0.6, HasValue: true, Unit: "mg/dL", High: 0.3, HasHigh: true, Date: day}},
			HysLaw, "LB:1+LB:2", ""},
		{"partial bilirubin date that may fall in the window", []clinical.LabResult{alt(1, 200, "2014-02-20"), bili(2, 50, "2014-02")},
			HysLaw, "LB:1+LB:2", ""},
		{"pre-dose values are what the subject brought in", []clinical.LabResult{alt(1, 200, "2014-01-05"), bili(2, 50, "2014-01-05"), alt(3, 20, day), bili(4, 10, day)},
			"", "", ""},
		{"the baseline record is not on treatment", []clinical.LabResult{baselineLab(1, "ALT", 200, 7, 40, "2014-01-10"), bili(2, 50, "2014-01-10"), alt(3, 20, "2014-01-10")},
			Hyperbilirubinemia, "LB:2", ""},
		{"normal", []clinical.LabResult{alt(1, 119, day), bili(2, 39, day)}, "", "", ""},
		{"no bilirubin: no eDISH point", []clinical.LabResult{alt(1, 500, day)}, "", "", ""},
	}
	liverRules := []clinical.Rule{HysLaw, HysLawQuadrant, TemplesCorollary, Hyperbilirubinemia}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := evaluate(tt.labs...)
			var got []clinical.Signal
			for _, r := range liverRules {
				got = append(got, only(r, sigs)...)
			}
			if tt.rule == "" {
				if len(got) != 0 {
					t.Fatalf("got %s %s: %s, want no liver signal", got[0].Rule, got[0].Key, got[0].Message)
				}
				return
			}
			// A Hy's law case is keyed by its episode's first draw ≥ 3×ULN;
			// tt.key names the pair of draws that qualified.
			key := tt.key
			if tt.rule == HysLaw && len(got) == 1 {
				key = fmt.Sprintf("LB:%v+LB:%v", got[0].Evidence["transaminase_lbseq"], got[0].Evidence["bilirubin_lbseq"])
				if want := "HYS:LB:" + fmt.Sprint(got[0].Evidence["onset_lbseq"]); got[0].Key != want {
					t.Errorf("key %s, want %s", got[0].Key, want)
				}
			}
			if len(got) != 1 || got[0].Rule != tt.rule || key != tt.key {
				for _, s := range got {
					t.Logf("got %s %s: %s", s.Rule, s.Key, s.Message)
				}
				t.Fatalf("want exactly one %s %s", tt.rule, tt.key)
			}
			if r := got[0].Evidence["reason"]; tt.rule == HysLawQuadrant && r != tt.reason {
				t.Errorf("reason %v, want %s", r, tt.reason)
			}
			wantSev := map[clinical.Rule]clinical.Severity{HysLaw: clinical.SeverityCritical, HysLawQuadrant: clinical.SeverityHigh,
				TemplesCorollary: clinical.SeverityHigh, Hyperbilirubinemia: clinical.SeverityMedium}[tt.rule]
			if got[0].Severity != wantSev {
				t.Errorf("severity %v, want %v", got[0].Severity, wantSev)
			}
		})
	}
}

func TestHysLawEvidence(t *testing.T) {
	sigs := evaluate(alt(7, 200, "2014-02-01"), alp(8, 150, "2014-02-01"), bili(9, 60, "2014-02-04"))
	s := wantOne(t, HysLaw, sigs)
	for k, want := range map[string]any{
		"transaminase_lbseq": 7, "transaminase_xuln": 5.0, "bilirubin_lbseq": 9, "bilirubin_xuln": 3.0,
		"alp_lbseq": 8, "alp_xuln": 1.5, "days_apart": 3, "qualifying_draws": 1, "quadrant": "hys-law",
	} {
		if s.Evidence[k] != want {
			t.Errorf("evidence %s = %v (%T), want %v", k, s.Evidence[k], s.Evidence[k], want)
		}
	}
	const msg = "Potential Hy's law: ALT 5.00×ULN on 2014-02-01 with total bilirubin 3.00×ULN on 2014-02-04 (3 days later), ALP 1.50×ULN; Mixed injury (R = 3.3, nR = 3.3)."
	if len(s.Message) < len(msg) || s.Message[:len(msg)] != msg {
		t.Errorf("message %q, want it to start %q", s.Message, msg)
	}

	s = wantOne(t, HysLaw, evaluate(alt(1, 200, "2014-02-01"), bili(2, 60, "2014-02-01")))
	if _, ok := s.Evidence["alp_xuln"]; ok {
		t.Error("evidence has an ALP that was never measured")
	}
}

// A case is keyed by where it began, so later draws update it in place.
func TestLiverKeysSurviveLaterDraws(t *testing.T) {
	early := []clinical.LabResult{alt(1, 130, "2014-02-01"), bili(2, 10, "2014-02-01")}
	later := append(slices.Clone(early), alt(3, 400, "2014-03-01"), bili(4, 15, "2014-03-01"))
	a := wantOne(t, TemplesCorollary, evaluate(early...))
	b := wantOne(t, TemplesCorollary, evaluate(later...))
	if a.Key != b.Key || a.Key != "LB:1" {
		t.Errorf("keys %s then %s, want LB:1 both times", a.Key, b.Key)
	}
	if b.Evidence["peak_alt_xuln"] != 10.0 || b.Evidence["peak_alt_lbseq"] != 3 {
		t.Errorf("peak not refreshed: %v", b.Evidence)
	}

	hy := append(slices.Clone(early), bili(5, 45, "2014-02-03"))
	more := append(slices.Clone(hy), alt(6, 300, "2014-02-10"), bili(7, 80, "2014-02-11"))
	c := wantOne(t, HysLaw, evaluate(hy...))
	d := wantOne(t, HysLaw, evaluate(more...))
	if c.Key != d.Key || c.Key != "HYS:LB:1" || d.Evidence["qualifying_draws"] != 2 {
		t.Errorf("keys %s then %s (%v draws), want HYS:LB:1 both times and 2 draws", c.Key, d.Key, d.Evidence["qualifying_draws"])
	}

	// A second qualifying bilirubin in the same episode is more evidence
	// for the one case, not a second case (the pilot's LB:11+LB:23 and
	// LB:11+LB:33).
	second := append(slices.Clone(hy), bili(8, 50, "2014-02-04"))
	if sigs := only(HysLaw, evaluate(second...)); len(sigs) != 1 || sigs[0].Key != "HYS:LB:1" {
		t.Errorf("with a second bilirubin: %v, want one HYS:LB:1", keysOf(HysLaw, sigs))
	}
	// A new episode after the transaminases came down is a new case.
	again := append(slices.Clone(hy), alt(9, 30, "2014-04-01"), alt(10, 200, "2014-05-01"), bili(11, 50, "2014-05-02"))
	if got := keysOf(HysLaw, evaluate(again...)); !slices.Equal(got, []string{"HYS:LB:1", "HYS:LB:10"}) {
		t.Errorf("two episodes: keys %v, want [HYS:LB:1 HYS:LB:10]", got)
	}
}

// The R ratio classes the injury; Temple's corollary says which.
func TestLiverPattern(t *testing.T) {
	for _, tt := range []struct {
		alp   float64
		class string
	}{{50, "hepatocellular"}, {150, "mixed"}, {250, "cholestatic"}} {
		// ALT 5×ULN; ALP ULN 100: R = 5 / (alp/100).
		s := wantOne(t, TemplesCorollary, evaluate(alt(1, 200, "2014-02-01"), alp(2, tt.alp, "2014-02-01"), bili(3, 10, "2014-02-01")))
		if s.Evidence["r_class"] != tt.class || !strings.Contains(s.Message, strings.ToUpper(tt.class[:1])+tt.class[1:]+" injury") {
			t.Errorf("ALP %g: class %v, message %q; want %s", tt.alp, s.Evidence["r_class"], s.Message, tt.class)
		}
	}
}

func TestEDISH(t *testing.T) {
	subj := rulestest.Subject()
	p, ok := point(
		alt(1, 80, "2014-02-01"), ast(2, 100, "2014-02-01"), bili(3, 30, "2014-02-01"),
		alt(4, 160, "2014-03-01"), ast(5, 60, "2014-03-01"), bili(6, 20, "2014-03-01"),
		alt(7, 400, "2014-01-03"), // screening: not on treatment
	)
	// The screening ALT of 10×ULN is the baseline: the subject is on the
	// mDISH plot too, its peak ALT 0.4× that baseline.
	wantMDISH := MDISHPoint{BaselineALT: 10, ALT: 0.4, ALTSeq: 4, Transaminase: 0.4, Quadrant: QuadrantNormal}
	want := EDISHPoint{Study: subj.Study, Site: subj.Site, USUBJID: subj.USUBJID, Arm: subj.Arm,
		ALT: 4, ALTSeq: 4, ALTDate: "2014-03-01", AST: 2.5, ASTSeq: 2, ASTDate: "2014-02-01", Transaminase: 4,
		Bilirubin: 1.5, BilirubinSeq: 3, BilirubinDate: "2014-02-01", Quadrant: QuadrantTemplesCorollary}
	if !ok || p.MDISH == nil || *p.MDISH != wantMDISH {
		t.Errorf("mDISH = %+v, want %+v", p.MDISH, wantMDISH)
	}
	if p.MDISH = nil; !ok || p != want {
		t.Errorf("EDISH = %+v, %v\nwant %+v", p, ok, want)
	}

	quadrants := []struct {
		alt, bili float64
		want      Quadrant
	}{
		{119.9, 39.9, QuadrantNormal},
		{120, 39.9, QuadrantTemplesCorollary},
		{119.9, 40, QuadrantHyperbilirubinemia},
		{120, 40, QuadrantHysLaw},
	}
	for _, q := range quadrants {
		p, ok := point(alt(1, q.alt, "2014-02-01"), bili(2, q.bili, "2014-02-01"))
		if !ok || p.Quadrant != q.want {
			t.Errorf("ALT %g, bilirubin %g: quadrant %s (%v), want %s", q.alt, q.bili, p.Quadrant, ok, q.want)
		}
	}

	if _, ok := point(alt(1, 80, "2014-02-01")); ok {
		t.Error("a point without bilirubin")
	}
	noULN := bili(2, 30, "2014-02-01")
	noULN.HasHigh = false
	if _, ok := point(alt(1, 80, "2014-02-01"), noULN); ok {
		t.Error("a point from a bilirubin without ULN")
	}
}

// nR takes the higher of ALT and AST: an injury where AST leads is
// cholestatic by R and hepatocellular by nR.
func TestLiverPatternNR(t *testing.T) {
	s := wantOne(t, TemplesCorollary, evaluate(
		alt(1, 80, "2014-02-01"), ast(2, 240, "2014-02-01"), alp(3, 100, "2014-02-01"), bili(4, 10, "2014-02-01")))
	for k, want := range map[string]any{"r_ratio": 2.0, "r_class": "cholestatic", "r_test": "ALT", "nr_ratio": 6.0, "nr_class": "hepatocellular"} {
		if s.Evidence[k] != want {
			t.Errorf("evidence %s = %v, want %v", k, s.Evidence[k], want)
		}
	}
	if !strings.Contains(s.Message, "Cholestatic injury by R = 2.0, hepatocellular by nR = 6.0") {
		t.Errorf("message %q does not give both classes", s.Message)
	}
	// Hyperbilirubinemia names the pattern at its onset too.
	s = wantOne(t, Hyperbilirubinemia, evaluate(
		alt(1, 60, "2014-02-01"), alp(2, 300, "2014-02-01"), bili(3, 50, "2014-02-01")))
	if s.Evidence["r_class"] != "cholestatic" || s.Evidence["nr_ratio"] != 0.5 {
		t.Errorf("hyperbilirubinemia pattern %v, nR %v; want cholestatic, 0.5", s.Evidence["r_class"], s.Evidence["nr_ratio"])
	}
}

// A Hy's law case shows the INR and direct bilirubin measured near it,
// and the nearest ALP when its transaminase day had none.
func TestHysLawEvidenceNear(t *testing.T) {
	inr := func(seq int, v float64, d clinical.Date) clinical.LabResult {
		return clinical.LabResult{Study: "STUDY1", USUBJID: "STUDY1-101-001", Seq: seq, TestCode: "INR", Value: v, HasValue: true, Date: d}
	}
	dbili := func(seq int, v float64, d clinical.Date) clinical.LabResult { return lab(seq, "BILDIR", v, 0, 5, d) }
	labs := []clinical.LabResult{
		alt(1, 200, "2014-02-01"), bili(2, 60, "2014-02-04"),
		alp(3, 150, "2014-02-06"),  // two days after the bilirubin: near
		inr(4, 1.3, "2014-01-20"),  // 12 days before the case: not near
		inr(5, 1.8, "2014-02-10"),  // 6 days after the bilirubin
		inr(6, 1.6, "2014-02-05"),  // near, but lower
		dbili(7, 40, "2014-02-04"), // 8×ULN
		inr(8, 2.5, "2014-02-12"),  // 8 days after the bilirubin: not near
	}
	s := wantOne(t, HysLaw, evaluate(labs...))
	for k, want := range map[string]any{
		"inr_lbseq": 5, "inr_value": 1.8, "inr_date": "2014-02-10", "direct_bilirubin_lbseq": 7, "direct_bilirubin_xuln": 8.0,
		"alp_near_lbseq": 3, "alp_near_xuln": 1.5,
	} {
		if s.Evidence[k] != want {
			t.Errorf("evidence %s = %v, want %v", k, s.Evidence[k], want)
		}
	}
	if _, ok := s.Evidence["inr_xuln"]; ok {
		t.Error("an INR without ULN has a ×ULN")
	}
	if _, ok := s.Evidence["alp_lbseq"]; ok {
		t.Error("the near ALP is reported as the transaminase day's")
	}
	if !strings.Contains(s.Message, "within 7 days of the case: ALP 1.50×ULN on 2014-02-06, INR 1.8 on 2014-02-10, direct bilirubin 8.00×ULN on 2014-02-04") {
		t.Errorf("message %q", s.Message)
	}
	if res := fmt.Sprint(s.Evidence["results"]); !strings.Contains(res, "LB:5") || !strings.Contains(res, "LB:7") || !strings.Contains(res, "LB:3") {
		t.Errorf("results %s lack the near draws", res)
	}
	s = wantOne(t, HysLaw, evaluate(labs[:2]...))
	if !strings.Contains(s.Message, "INR not measured, direct bilirubin not measured") {
		t.Errorf("message %q does not say INR and direct bilirubin were not measured", s.Message)
	}
}

// eDISH points carry ALP, the peaks' dates and the arm.
func TestEDISHPointDetail(t *testing.T) {
	p, ok := point(
		alt(1, 80, "2014-02-01"), alp(2, 150, "2014-02-01"), bili(3, 30, "2014-02-01"), alp(4, 250, "2014-03-01T10:00+02:00"),
	)
	if !ok || p.ALP != 2.5 || p.ALPSeq != 4 || p.ALPDate != "2014-03-01T10:00+02:00" || p.ALTDate != "2014-02-01" || p.Arm != "Xanomeline High Dose" {
		t.Errorf("EDISH = %+v", p)
	}
}

// mDISH reads subjects whose baseline ALT or AST was above the ULN
// against that baseline.
func TestMDISH(t *testing.T) {
	const bday, day = "2014-01-08", "2014-02-01"
	// Baseline ALT 80 (2×ULN); bilirubin ULN 20.
	abnormal := func(labs ...clinical.LabResult) []clinical.LabResult {
		return append([]clinical.LabResult{baselineLab(1, "ALT", 80, 7, 40, bday), baselineLab(2, "BILI", 30, 3, 20, bday)}, labs...)
	}
	tests := []struct {
		name     string
		labs     []clinical.LabResult
		quadrant Quadrant // "" for no mDISH point
		key      string   // "" for no finding
		sev      clinical.Severity
	}{
		{"normal baseline: no mDISH", []clinical.LabResult{alt(1, 30, bday), alt(2, 300, day), bili(3, 50, day)}, "", "", 0},
		{"just under 3× baseline, though 5.9×ULN", abnormal(alt(3, 239.9, day), bili(4, 30, day)), QuadrantNormal, "", 0},
		{"3× baseline", abnormal(alt(3, 240, day), bili(4, 30, day)), QuadrantTemplesCorollary, "MDISH:LB:3", clinical.SeverityHigh},
		{"500 U/L whatever the baseline", abnormal(ast(3, 500, day), bili(4, 30, day)), QuadrantTemplesCorollary, "MDISH:LB:3", clinical.SeverityHigh},
		{"bilirubin 2× an abnormal baseline", abnormal(alt(3, 100, day), bili(4, 60, day)), QuadrantHyperbilirubinemia, "MDISH:LB:4", clinical.SeverityMedium},
		{"both lines, keyed by the first crossing", abnormal(bili(3, 60, day), alt(4, 250, "2014-02-05"), bili(5, 70, "2014-02-05")),
			QuadrantHysLaw, "MDISH:LB:3", clinical.SeverityCritical},
		// A bilirubin baseline within the normal range keeps eDISH's line
		// for the finding: tripling 5 to 15 µmol/L is past the plot's 2×
		// baseline line but no finding.
		{"normal bilirubin baseline: 2×ULN", []clinical.LabResult{baselineLab(1, "ALT", 80, 7, 40, bday), baselineLab(2, "BILI", 5, 3, 20, bday),
			alt(3, 100, day), bili(4, 15, day)}, QuadrantHyperbilirubinemia, "", 0},
		{"normal ALT baseline, abnormal AST: ALT keeps 3×ULN", []clinical.LabResult{baselineLab(1, "AST", 80, 7, 40, bday), baselineLab(2, "ALT", 10, 7, 40, bday),
			alt(3, 119, day), ast(4, 100, day), bili(5, 10, day)}, QuadrantTemplesCorollary, "", 0},
		{"normal ALT baseline, abnormal AST: ALT at 3×ULN", []clinical.LabResult{baselineLab(1, "AST", 80, 7, 40, bday), baselineLab(2, "ALT", 10, 7, 40, bday),
			alt(3, 120, day), ast(4, 100, day), bili(5, 10, day)}, QuadrantTemplesCorollary, "MDISH:LB:3", clinical.SeverityHigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := assess(tt.labs...)
			if (a.Point.MDISH == nil) != (tt.quadrant == "") || a.Point.MDISH != nil && a.Point.MDISH.Quadrant != tt.quadrant {
				t.Fatalf("mDISH point %+v, want quadrant %q", a.Point.MDISH, tt.quadrant)
			}
			got := only(MDISH, a.Signals)
			if tt.key == "" {
				if len(got) != 0 {
					t.Fatalf("MDISH %s: %s, want none", got[0].Key, got[0].Message)
				}
				return
			}
			if len(got) != 1 || got[0].Key != tt.key || got[0].Severity != tt.sev {
				t.Fatalf("MDISH %v (%v), want one %s %v", keysOf(MDISH, a.Signals), got, tt.key, tt.sev)
			}
		})
	}
	// The values are multiples of the baseline value.
	a := assess(abnormal(alt(3, 240, day), bili(4, 45, day))...)
	if m := a.Point.MDISH; m.BaselineALT != 2 || m.ALT != 3 || m.BaselineBilirubin != 1.5 || m.Bilirubin != 1.5 || m.BilirubinSeq != 4 {
		t.Errorf("mDISH point %+v", m)
	}
	sg := wantOne(t, MDISH, a.Signals)
	if sg.Evidence["baseline_alt_lbseq"] != 1 || sg.Evidence["peak_alt_xbaseline"] != 3.0 || sg.Evidence["onset_xbaseline"] != 3.0 {
		t.Errorf("evidence %v", sg.Evidence)
	}
}
