package liver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// MDISH: the subject's liver tests crossed the mDISH thresholds. A subject
// whose ALT or AST was already above the ULN at baseline (fatty liver,
// viral hepatitis, liver metastases) can sit in eDISH's right half with
// no drug effect at all, or hide a real rise below 3×ULN. mDISH (modified
// eDISH) plots the same peaks as multiples of the subject's own baseline
// instead. eDISH and its workflow: Merz et al., "Methodology to assess
// clinical liver safety data", Drug Saf 2014;37 Suppl 1:S33-S45
// (doi:10.1007/s40264-014-0184-5); multiples of baseline for subjects
// with abnormal baseline liver tests: Kullak-Ublick et al., Drug Saf
// 2014;37 Suppl 1:S57-S62 (doi:10.1007/s40264-014-0186-3) and Treem et
// al., Drug Saf 2021;44:133-165 (doi:10.1007/s40264-020-01014-2).
const MDISH clinical.Rule = "MDISH"

// The mDISH lines. 3× and 2× baseline are eDISH's 3× and 2× ULN lines
// moved to the baseline scale, as mDISH draws them (Merz et al. 2014).
// 3× baseline or 500 U/L is the stopping rule first proposed for NASH
// trials (Chalasani et al., Hepatology 2011;54:344-353, table 5: "AST
// and/or ALT > 3 times the baseline value OR > 500 IU/L"), kept by the
// DILI consensus for trial subjects with elevated baseline liver tests
// (Regev et al., Aliment Pharmacol Ther 2019;49:702-713, NASH; Treem et
// al. 2021, viral and cholestatic liver disease), which pair multiples of
// baseline with an absolute level past which a rise needs action
// whatever the baseline. The lines are met at equality (≥), as eDISH's
// are here, where the 2011 text says "more than". A study's DILI plan may set its own: these are the defaults
// a monitor starts from, not a protocol.
const (
	MDISHTransaminaseLine = 3   // ALT or AST ≥ 3× its baseline...
	MDISHCeilingUL        = 500 // ...or ≥ 500 U/L
	MDISHBilirubinLine    = 2   // total bilirubin ≥ 2× its baseline
)

// MDISHPoint is a subject's point on the mDISH plot: on-treatment peaks
// as multiples of the baseline value (by the study's baseline
// convention). A multiple is 0 and its Seq 0 where the test has no
// baseline or no on-treatment value.
type MDISHPoint struct {
	// BaselineALT, BaselineAST and BaselineBilirubin are the baseline
	// values ×ULN: why the subject is on this plot.
	BaselineALT       float64 `json:"baseline_alt_xuln"`
	BaselineAST       float64 `json:"baseline_ast_xuln"`
	BaselineBilirubin float64 `json:"baseline_bilirubin_xuln"`
	ALT               float64 `json:"alt_xbaseline"` // peak ×baseline
	AST               float64 `json:"ast_xbaseline"`
	ALTSeq            int     `json:"alt_lbseq,omitempty"`
	ASTSeq            int     `json:"ast_lbseq,omitempty"`
	// Transaminase is the higher of ALT and AST, the x coordinate.
	Transaminase float64 `json:"transaminase_xbaseline"`
	Bilirubin    float64 `json:"bilirubin_xbaseline"` // peak total bilirubin ×baseline, the y coordinate
	BilirubinSeq int     `json:"bilirubin_lbseq,omitempty"`
	// Ceiling: a transaminase reached 500 U/L, which puts the subject
	// right of the line whatever its multiple of baseline.
	Ceiling bool `json:"ceiling_reached"`
	// Quadrant is where the point lies on the plot, by its lines at 3×
	// (or 500 U/L) and 2× baseline. The MDISH finding reads a test whose
	// baseline was normal against eDISH's line instead (crossesMDISH), so
	// the two can differ for such a test.
	Quadrant Quadrant `json:"quadrant"`
}

// xBaseline is a draw as a multiple of its test's baseline value.
type xBaseline struct {
	lab   *clinical.LabResult
	ratio float64
}

// mdish places the subject on the mDISH plot; ok is false unless the
// baseline ALT or AST was above its ULN and a transaminase was measured
// on treatment.
func (lv *Tests) mdish() (MDISHPoint, bool) {
	if !lv.abnormalBaseline() || lv.peak.lab == nil {
		return MDISHPoint{}, false
	}
	var m MDISHPoint
	m.BaselineALT, m.BaselineAST, m.BaselineBilirubin = lv.baselineXULN(testALT), lv.baselineXULN(testAST), lv.baselineXULN(testBili)
	for _, d := range lv.transaminases {
		x := lv.xBaseline(d)
		switch d.lab.TestCode {
		case testALT:
			if x.ratio > m.ALT {
				m.ALT, m.ALTSeq = x.ratio, d.lab.Seq
			}
		case testAST:
			if x.ratio > m.AST {
				m.AST, m.ASTSeq = x.ratio, d.lab.Seq
			}
		}
		m.Ceiling = m.Ceiling || overCeiling(d.lab)
	}
	m.Transaminase = max(m.ALT, m.AST)
	for _, d := range lv.bili {
		if x := lv.xBaseline(d); x.ratio > m.Bilirubin {
			m.Bilirubin, m.BilirubinSeq = x.ratio, d.lab.Seq
		}
	}
	m.Quadrant = quadrantOf(subjectview.AtLeast(m.Transaminase, MDISHTransaminaseLine) || m.Ceiling, subjectview.AtLeast(m.Bilirubin, MDISHBilirubinLine))
	return m, true
}

// crossesMDISH reports whether draw d is past its mDISH line: 3× (total
// bilirubin 2×) its test's baseline where that baseline was above the
// ULN, as mDISH intends; where it was within the normal range, eDISH's
// line (3× or 2× ULN) stands, so a rise inside the normal range from a
// low baseline is not a finding. ALT and AST also cross at 500 U/L.
func (lv *Tests) crossesMDISH(d liverDraw) bool {
	k := float64(MDISHBilirubinLine)
	if d.lab.TestCode != testBili {
		k = MDISHTransaminaseLine
		if overCeiling(d.lab) {
			return true
		}
	}
	if b := lv.baseline[d.lab.TestCode]; b != nil && b.HasHigh && b.Value > b.High && b.Value > 0 {
		return subjectview.AtLeast(d.lab.Value/b.Value, k)
	}
	return subjectview.AtLeast(d.ratio, k)
}

// abnormalBaseline reports whether the baseline ALT or AST was above its
// ULN: the subjects eDISH misreads.
func (lv *Tests) abnormalBaseline() bool {
	for _, t := range []string{testALT, testAST} {
		if b := lv.baseline[t]; b != nil && b.HasHigh && b.High > 0 && b.Value > b.High && !subjectview.AtMost(b.Value/b.High, 1) {
			return true
		}
	}
	return false
}

func (lv *Tests) baselineXULN(test string) float64 {
	if b := lv.baseline[test]; b != nil && b.HasHigh && b.High > 0 {
		return b.Value / b.High
	}
	return 0
}

// xBaseline reads d against its test's baseline value; the ratio is 0
// without a positive baseline.
func (lv *Tests) xBaseline(d liverDraw) xBaseline {
	b := lv.baseline[d.lab.TestCode]
	if b == nil || b.Value <= 0 {
		return xBaseline{d.lab, 0}
	}
	return xBaseline{d.lab, d.lab.Value / b.Value}
}

// perUL converts the enzyme units LB uses for ALT and AST to U/L.
var perUL = map[string]float64{"U/L": 1, "IU/L": 1, "ukat/L": 60, "nkat/L": 0.06}

// overCeiling reports whether a transaminase draw reached MDISHCeilingUL;
// a unit not convertible to U/L never does.
func overCeiling(l *clinical.LabResult) bool {
	k, ok := perUL[l.Unit]
	return ok && subjectview.AtLeast(l.Value*k, MDISHCeilingUL)
}

// MDISHSignals raises one MDISH finding per subject whose draws crossed
// either mDISH line (3× baseline ALT/AST or 500 U/L; 2× baseline total
// bilirubin; × ULN for a test whose baseline was normal), keyed by the first on-treatment draw that crossed
// one (which later data does not move); its severity follows the
// quadrant as draws arrive: both lines critical, the transaminase line
// high, the bilirubin line medium.
func (lv *Tests) MDISHSignals() []clinical.Signal {
	m, ok := lv.mdish()
	if !ok {
		return nil
	}
	quadrant := quadrantOf(slices.ContainsFunc(lv.transaminases, lv.crossesMDISH), slices.ContainsFunc(lv.bili, lv.crossesMDISH))
	if quadrant == QuadrantNormal {
		return nil
	}
	// The first draw, in date order, past a line: where the finding began.
	var first liverDraw
	for _, d := range slices.Concat(lv.transaminases, lv.bili) {
		if lv.crossesMDISH(d) && (first.lab == nil || subjectview.Earlier(d.lab, first.lab)) {
			first = d
		}
	}
	ev := map[string]any{
		"quadrant": string(quadrant), "plot_quadrant": string(m.Quadrant), "baseline_convention": lv.v.BaselineConvention,
		"baseline_alt_xuln": subjectview.Round2(m.BaselineALT), "baseline_ast_xuln": subjectview.Round2(m.BaselineAST), "baseline_bili_xuln": subjectview.Round2(m.BaselineBilirubin),
		"peak_alt_xbaseline": subjectview.Round2(m.ALT), "peak_alt_lbseq": m.ALTSeq, "peak_ast_xbaseline": subjectview.Round2(m.AST), "peak_ast_lbseq": m.ASTSeq,
		"peak_bili_xbaseline": subjectview.Round2(m.Bilirubin), "peak_bili_lbseq": m.BilirubinSeq, "ceiling_reached": m.Ceiling,
		"transaminase_threshold_xbaseline": MDISHTransaminaseLine, "transaminase_ceiling_ul": MDISHCeilingUL, "bilirubin_threshold_xbaseline": MDISHBilirubinLine,
	}
	for _, t := range []string{testALT, testAST, testBili} {
		if b := lv.baseline[t]; b != nil {
			ev["baseline_"+strings.ToLower(t)+"_lbseq"] = b.Seq
		}
	}
	addDraw(ev, "onset", first)
	ev["onset_xbaseline"] = subjectview.Round2(lv.xBaseline(first).ratio)
	pattern := lv.addPattern(ev, first.lab)

	sev, what := clinical.SeverityMedium, "total bilirubin past its line with ALT/AST below theirs"
	switch quadrant {
	case QuadrantHysLaw:
		sev, what = clinical.SeverityCritical, "ALT/AST and total bilirubin past their lines: a potential Hy's law case by the subject's own baseline"
	case QuadrantTemplesCorollary:
		sev, what = clinical.SeverityHigh, "ALT/AST past their line with total bilirubin below its"
	}
	peakTest, peakSeq := testALT, m.ALTSeq
	if m.AST > m.ALT {
		peakTest, peakSeq = testAST, m.ASTSeq
	}
	sg := lv.v.Signal(MDISH, sev, "MDISH:"+drawKey(first), ev,
		fmt.Sprintf("mDISH (baseline ALT %.2f×ULN, AST %.2f×ULN): %s; peak %s %.2f× baseline (LB:%d), peak total bilirubin %.2f× baseline (LB:%d); %s at onset (%s %s). Evaluate against the subject's liver disease",
			m.BaselineALT, m.BaselineAST, what, peakTest, m.Transaminase, peakSeq, m.Bilirubin, m.BilirubinSeq, pattern, first.lab.TestCode, subjectview.DateText(first.lab.Date)))
	// The finding spans its onset to the latest of the peaks.
	var results []string
	sg.First, sg.Last = first.lab.Date, first.lab.Date
	for _, seq := range []int{first.lab.Seq, m.ALTSeq, m.ASTSeq, m.BilirubinSeq} {
		r := "LB:" + strconv.Itoa(seq)
		if seq == 0 || slices.Contains(results, r) {
			continue
		}
		results = append(results, r)
		for _, d := range slices.Concat(lv.transaminases, lv.bili) {
			if d.lab.Seq == seq && clinical.CompareDates(d.lab.Date, sg.Last) == clinical.OrderAfter {
				sg.Last = d.lab.Date
			}
		}
	}
	ev["results"] = results
	return []clinical.Signal{sg}
}

// LBSEQ, undated last.
