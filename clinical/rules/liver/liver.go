// Package liver raises the liver findings of one subject: potential
// Hy's law (FDA DILI guidance, 2009), the eDISH quadrants around it
// (Temple's corollary, hyperbilirubinemia), mDISH for subjects whose
// baseline ALT or AST was already high, and the R and nR ratios that
// class each injury; and places the subject on the eDISH and mDISH plots.
// Like the other rules (clinical/rules, which runs these in its table),
// it is pure code: a subject's labs in, signals out.
package liver

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// The rules this package raises, besides MDISH.
const (
	HysLaw clinical.Rule = "HYS_LAW"
	// HysLawQuadrant: the subject's peaks fall in eDISH's Hy's law
	// quadrant but no draw meets Hy's law (ALP ≥ 2×ULN, or the bilirubin
	// rise is not within 14 days of the transaminase rise). Still a liver
	// injury a monitor must see, just not a potential Hy's law case.
	HysLawQuadrant     clinical.Rule = "HYS_LAW_QUADRANT"
	TemplesCorollary   clinical.Rule = "TEMPLES_COROLLARY"
	Hyperbilirubinemia clinical.Rule = "HYPERBILIRUBINEMIA"
)

// Hy's law (FDA guidance "Drug-Induced Liver Injury: Premarketing Clinical
// Evaluation", 2009) and the eDISH plot built on it.
const (
	transaminaseULN = 3  // ALT or AST ≥ 3×ULN: hepatocellular injury
	bilirubinULN    = 2  // total bilirubin ≥ 2×ULN: impaired liver function
	alpULN          = 2  // ALP ≥ 2×ULN points to cholestasis, which explains the bilirubin
	bilirubinDays   = 14 // bilirubin typically peaks days after the transaminases
)

// LBTESTCD is controlled terminology in SDTM, so the liver rules look for
// the CDISC codes only.
const (
	testALT  = "ALT"
	testAST  = "AST"
	testBili = "BILI"
	testALP  = "ALP"
	testINR  = "INR"
	// testDirectBili is direct (conjugated) bilirubin: a total rise that
	// is mostly direct points to the liver, mostly indirect to haemolysis
	// or Gilbert's syndrome.
	testDirectBili = "BILDIR"
)

// Quadrant is a subject's place on the eDISH plot: peak transaminase
// (×ULN) across, peak total bilirubin (×ULN) up.
type Quadrant string

const (
	QuadrantNormal             Quadrant = "normal"
	QuadrantHysLaw             Quadrant = "hys-law"            // upper right
	QuadrantTemplesCorollary   Quadrant = "temples-corollary"  // lower right
	QuadrantHyperbilirubinemia Quadrant = "hyperbilirubinemia" // upper left: Gilbert's, cholestasis, haemolysis
)

// EDISHPoint is one subject's point on the eDISH plot. Peaks are over
// on-treatment draws: eDISH asks what the drug did, and a screening value
// says what the subject brought in. A peak is 0, its Seq 0 and its date
// empty when the test was never measured on treatment.
type EDISHPoint struct {
	Study, Site, USUBJID string
	Arm                  string  // DM ARM, for plotting by treatment
	ALT, AST             float64 // peak ×ULN
	ALTSeq, ASTSeq       int     // LBSEQ of each peak
	ALTDate, ASTDate     clinical.Date
	// Transaminase is the higher of ALT and AST, the x coordinate: the
	// liver rules count either enzyme, so the plot does too.
	Transaminase  float64
	Bilirubin     float64 // peak total bilirubin ×ULN, the y coordinate
	BilirubinSeq  int
	BilirubinDate clinical.Date
	// ALP is the peak ALP ×ULN, which tells a cholestatic injury from a
	// hepatocellular one.
	ALP      float64
	ALPSeq   int
	ALPDate  clinical.Date
	Quadrant Quadrant
	// MDISH is the subject's point on the mDISH plot, nil unless the
	// baseline ALT or AST was above its ULN.
	MDISH *MDISHPoint
}

// liverDraw is one liver test result as a multiple of its ULN.
type liverDraw struct {
	lab   *clinical.LabResult
	ratio float64
}

// Tests holds a subject's on-treatment liver tests, each in date order,
// and the baseline records of those mDISH compares with.
type Tests struct {
	v                      *subjectview.View
	transaminases, bili    []liverDraw
	alp                    []liverDraw
	peakALT, peakAST, peak liverDraw // peak: the higher transaminase
	peakBili, peakALP      liverDraw
	// inr and directBili are evidence, not criteria: their ratio is 0
	// when the draw has no ULN (INR often has none).
	inr, directBili []liverDraw
	// baseline holds the baseline record of ALT, AST and BILI, by the
	// study's convention, when it has a value.
	baseline map[string]*clinical.LabResult
}

// Read reads the subject's liver tests, once for the liver rules and the
// eDISH point.
func Read(v *subjectview.View) *Tests {
	lv := &Tests{v: v, baseline: map[string]*clinical.LabResult{}}
	for _, i := range v.ByDate {
		l := &v.Labs[i]
		switch l.TestCode {
		case testALT, testAST, testBili:
			if b := v.BaselineOf(i); b != nil && b.HasValue {
				lv.baseline[l.TestCode] = b
			}
		case testINR, testDirectBili:
			if l.HasValue && v.OnTreatment(l) {
				d := liverDraw{lab: l}
				if l.HasHigh && l.High > 0 {
					d.ratio = l.Value / l.High
				}
				if l.TestCode == testINR {
					lv.inr = append(lv.inr, d)
				} else {
					lv.directBili = append(lv.directBili, d)
				}
			}
			continue
		}
		if !l.HasValue || !l.HasHigh || l.High <= 0 || !v.OnTreatment(l) {
			continue
		}
		d := liverDraw{l, l.Value / l.High}
		switch l.TestCode {
		case testALT:
			lv.transaminases = append(lv.transaminases, d)
			lv.peakALT = higher(lv.peakALT, d)
		case testAST:
			lv.transaminases = append(lv.transaminases, d)
			lv.peakAST = higher(lv.peakAST, d)
		case testBili:
			lv.bili = append(lv.bili, d)
			lv.peakBili = higher(lv.peakBili, d)
		case testALP:
			lv.alp = append(lv.alp, d)
			lv.peakALP = higher(lv.peakALP, d)
		}
	}
	lv.peak = higher(lv.peakALT, lv.peakAST)
	return lv
}

// higher keeps the earlier draw on ties, so the peak's LBSEQ is stable as
// later equal values arrive.
func higher(a, b liverDraw) liverDraw {
	if a.lab == nil || b.ratio > a.ratio {
		return b
	}
	return a
}

// Point places the subject on the eDISH plot. ok is false when the
// subject has no on-treatment transaminase or no bilirubin with a ULN.
func (lv *Tests) Point() (EDISHPoint, bool) {
	if lv.peak.lab == nil || lv.peakBili.lab == nil {
		return EDISHPoint{}, false
	}
	p := EDISHPoint{
		Study: lv.v.Subject.Study, Site: lv.v.Subject.Site, USUBJID: lv.v.Subject.USUBJID, Arm: lv.v.Subject.Arm,
		ALT: lv.peakALT.ratio, ALTSeq: seqOf(lv.peakALT), ALTDate: dateOf(lv.peakALT),
		AST: lv.peakAST.ratio, ASTSeq: seqOf(lv.peakAST), ASTDate: dateOf(lv.peakAST),
		Transaminase: lv.peak.ratio, Bilirubin: lv.peakBili.ratio, BilirubinSeq: seqOf(lv.peakBili), BilirubinDate: dateOf(lv.peakBili),
		ALP: lv.peakALP.ratio, ALPSeq: seqOf(lv.peakALP), ALPDate: dateOf(lv.peakALP),
		Quadrant: quadrantOf(subjectview.AtLeast(lv.peak.ratio, transaminaseULN), subjectview.AtLeast(lv.peakBili.ratio, bilirubinULN)),
	}
	if m, ok := lv.mdish(); ok {
		p.MDISH = &m
	}
	return p, true
}

// quadrantOf names the quadrant of a point past the transaminase line
// (injured) or the bilirubin line (jaundiced), on either plot.
func quadrantOf(injured, jaundiced bool) Quadrant {
	switch {
	case injured && jaundiced:
		return QuadrantHysLaw
	case injured:
		return QuadrantTemplesCorollary
	case jaundiced:
		return QuadrantHyperbilirubinemia
	}
	return QuadrantNormal
}

func dateOf(d liverDraw) clinical.Date {
	if d.lab == nil {
		return ""
	}
	return d.lab.Date
}

func seqOf(d liverDraw) int {
	if d.lab == nil {
		return 0
	}
	return d.lab.Seq
}

// hysLawCase is a transaminase draw with its bilirubin and ALP.
type hysLawCase struct {
	amino, bili liverDraw
	days        int // bilirubin draw minus transaminase draw, days (lower bound)
	alp         liverDraw
	alpMeasured bool
}

// hysLawCases returns the draws ≥ 3×ULN among draws followed within
// bilirubinDays (same draw included) by a bilirubin ≥ 2×ULN: those with
// ALP < 2×ULN qualify, those with ALP ≥ 2×ULN are cholestatic.
//
// ALP is read on the transaminase draw's day (the draw itself if it has
// one): the guidance asks whether the injury was hepatocellular when it
// began, and a later ALP rise is common as jaundice develops. A day with
// no ALP measured qualifies: missing data must not hide a potential Hy's
// law case, and the evidence says ALP was not measured.
func (lv *Tests) hysLawCases(draws []liverDraw) (qualifying, cholestatic []hysLawCase) {
	for _, a := range draws {
		if !subjectview.AtLeast(a.ratio, transaminaseULN) {
			continue
		}
		c, ok := lv.bilirubinAfter(a)
		if !ok {
			continue
		}
		c.alp, c.alpMeasured = lv.alpOn(a.lab)
		if c.alpMeasured && subjectview.AtLeast(c.alp.ratio, alpULN) {
			cholestatic = append(cholestatic, c)
		} else {
			qualifying = append(qualifying, c)
		}
	}
	return qualifying, cholestatic
}

// bilirubinAfter finds the first bilirubin ≥ 2×ULN from a's day to
// bilirubinDays after it. Partial dates pair when they may be in window:
// the rule errs toward raising a potential Hy's law case.
func (lv *Tests) bilirubinAfter(a liverDraw) (hysLawCase, bool) {
	for _, b := range lv.bili {
		if !subjectview.AtLeast(b.ratio, bilirubinULN) {
			continue
		}
		if within, _ := clinical.MayBeWithin(a.lab.Date, b.lab.Date, 0, bilirubinDays); within {
			min, _, _ := clinical.DaysBetween(a.lab.Date, b.lab.Date)
			return hysLawCase{amino: a, bili: b, days: max(min, 0)}, true
		}
	}
	return hysLawCase{}, false
}

// alpOn returns the ALP of the draw at exactly lab's date and time, else
// the highest ALP on the same day.
func (lv *Tests) alpOn(lab *clinical.LabResult) (liverDraw, bool) {
	return sameDraw(lv.alp, "", lab)
}

// sameDraw returns the draw of test ("" for any) at exactly lab's date and
// time, else the highest on the same day.
func sameDraw(draws []liverDraw, test string, lab *clinical.LabResult) (liverDraw, bool) {
	var best liverDraw
	for _, p := range draws {
		if test != "" && p.lab.TestCode != test {
			continue
		}
		if p.lab.Date == lab.Date {
			return p, true
		}
		if min, max, ok := clinical.DaysBetween(lab.Date, p.lab.Date); ok && min <= 0 && max >= 0 {
			best = higher(best, p)
		}
	}
	return best, best.lab != nil
}

// nearDays is how far around a Hy's law case INR, direct bilirubin and
// (when the transaminase day has none) ALP are looked for as evidence.
const nearDays = 7

// nearCase returns the highest-valued draw that may lie from nearDays
// before the case's transaminase draw to nearDays after its bilirubin
// draw.
func nearCase(draws []liverDraw, c hysLawCase) (liverDraw, bool) {
	var best liverDraw
	for _, d := range draws {
		after, _ := clinical.MayBeWithin(c.amino.lab.Date, d.lab.Date, -nearDays, 1<<30)
		before, _ := clinical.MayBeWithin(c.bili.lab.Date, d.lab.Date, -1<<30, nearDays)
		if after && before && (best.lab == nil || d.lab.Value > best.lab.Value) {
			best = d
		}
	}
	return best, best.lab != nil
}

// addNear adds to ev the INR, direct bilirubin and, when the transaminase
// day has none, ALP measured near case c, and says them for a message.
func (lv *Tests) addNear(ev map[string]any, c hysLawCase) string {
	var said []string
	if !c.alpMeasured {
		if d, ok := nearCase(lv.alp, c); ok {
			addDraw(ev, "alp_near", d)
			said = append(said, fmt.Sprintf("ALP %.2f×ULN on %s", d.ratio, subjectview.DateText(d.lab.Date)))
		}
	}
	for _, t := range []struct {
		prefix, name string
		draws        []liverDraw
	}{{"inr", "INR", lv.inr}, {"direct_bilirubin", "direct bilirubin", lv.directBili}} {
		d, ok := nearCase(t.draws, c)
		if !ok {
			said = append(said, t.name+" not measured")
			continue
		}
		addDraw(ev, t.prefix, d)
		text := fmt.Sprintf("%s %s %s on %s", t.name, subjectview.Num(d.lab.Value), d.lab.Unit, subjectview.DateText(d.lab.Date))
		if d.ratio > 0 {
			text = fmt.Sprintf("%s %.2f×ULN on %s", t.name, d.ratio, subjectview.DateText(d.lab.Date))
		}
		said = append(said, strings.Replace(text, "  ", " ", 1))
	}
	return fmt.Sprintf("within %d days of the case: %s", nearDays, strings.Join(said, ", "))
}

// Signals raises at most one liver signal per subject: potential
// Hy's law when any draw qualifies, else the eDISH quadrant the subject's
// peaks fall in. Each is keyed by the draw where the finding began, which
// later data does not move.
func (lv *Tests) Signals() []clinical.Signal {
	p, ok := lv.Point()
	if !ok || p.Quadrant == QuadrantNormal {
		return nil
	}
	ev := map[string]any{
		"quadrant": string(p.Quadrant), "peak_alt_xuln": subjectview.Round2(p.ALT), "peak_alt_lbseq": p.ALTSeq,
		"peak_ast_xuln": subjectview.Round2(p.AST), "peak_ast_lbseq": p.ASTSeq,
		"peak_bili_xuln": subjectview.Round2(p.Bilirubin), "peak_bili_lbseq": p.BilirubinSeq,
	}
	peaks := fmt.Sprintf("peak %s %.2f×ULN (%s) and peak total bilirubin %.2f×ULN (%s)",
		lv.peak.lab.TestCode, p.Transaminase, subjectview.DateText(lv.peak.lab.Date), p.Bilirubin, subjectview.DateText(lv.peakBili.lab.Date))

	switch p.Quadrant {
	case QuadrantTemplesCorollary:
		first := lv.first(lv.transaminases, transaminaseULN)
		addDraw(ev, "onset", first)
		pattern := lv.addPattern(ev, first.lab)
		return []clinical.Signal{lv.signal(TemplesCorollary, clinical.SeverityHigh, drawKey(first), ev, first, lv.peak,
			fmt.Sprintf("Temple's corollary: %s ≥ 3×ULN without bilirubin ≥ 2×ULN; %s. %s without jaundice: follow liver tests until they resolve", first.lab.TestCode, peaks, pattern))}
	case QuadrantHyperbilirubinemia:
		first := lv.first(lv.bili, bilirubinULN)
		addDraw(ev, "onset", first)
		pattern := lv.addPattern(ev, first.lab)
		direct := "direct bilirubin not measured that day"
		if d, ok := sameDraw(lv.directBili, "", first.lab); ok {
			addDraw(ev, "direct_bilirubin", d)
			direct = fmt.Sprintf("direct bilirubin %s %s", subjectview.Num(d.lab.Value), d.lab.Unit)
		}
		return []clinical.Signal{lv.signal(Hyperbilirubinemia, clinical.SeverityMedium, drawKey(first), ev, first, lv.peakBili,
			fmt.Sprintf("Hyperbilirubinemia: total bilirubin ≥ 2×ULN without ALT/AST ≥ 3×ULN; %s; at onset %s, %s. Consider Gilbert's syndrome, haemolysis or cholestasis", peaks, direct, pattern))}
	}

	// One potential Hy's law case per episode of transaminases ≥ 3×ULN,
	// keyed by the episode's first such draw: a second qualifying
	// bilirubin in the same episode is more evidence, not another case.
	var out []clinical.Signal
	var cholestatic []hysLawCase
	for _, ep := range lv.transaminaseEpisodes() {
		qualifying, chol := lv.hysLawCases(ep)
		cholestatic = append(cholestatic, chol...)
		if len(qualifying) == 0 {
			continue
		}
		c := qualifying[0]
		cev := maps.Clone(ev)
		addDraw(cev, "onset", ep[0])
		addCase(cev, c)
		cev["qualifying_draws"] = len(qualifying)
		pattern := lv.addPattern(cev, c.amino.lab)
		alp := "ALP not measured that day"
		if c.alpMeasured {
			alp = fmt.Sprintf("ALP %.2f×ULN", c.alp.ratio)
		}
		near := lv.addNear(cev, c)
		out = append(out, lv.signal(HysLaw, clinical.SeverityCritical, "HYS:"+drawKey(ep[0]), cev, ep[0], c.bili,
			fmt.Sprintf("Potential Hy's law: %s %.2f×ULN on %s with total bilirubin %.2f×ULN on %s (%d days later), %s; %s. Exclude other causes and report per the DILI plan; %s; %s",
				c.amino.lab.TestCode, c.amino.ratio, subjectview.DateText(c.amino.lab.Date), c.bili.ratio, subjectview.DateText(c.bili.lab.Date), c.days, alp, pattern, peaks, near)))
	}
	if len(out) > 0 {
		return out
	}
	first := lv.first(lv.transaminases, transaminaseULN)
	addDraw(ev, "onset", first)
	why := fmt.Sprintf("no bilirubin ≥ 2×ULN within %d days after an ALT/AST ≥ 3×ULN", bilirubinDays)
	ev["reason"] = "timing"
	last := lv.peakBili
	near := ""
	if len(cholestatic) > 0 {
		c := cholestatic[0]
		addCase(ev, c)
		ev["reason"] = "alp"
		last = c.bili
		why = fmt.Sprintf("ALP was %.2f×ULN on %s, a cholestatic pattern that explains the bilirubin", c.alp.ratio, subjectview.DateText(c.alp.lab.Date))
		near = "; " + lv.addNear(ev, c)
	}
	pattern := lv.addPattern(ev, first.lab)
	return []clinical.Signal{lv.signal(HysLawQuadrant, clinical.SeverityHigh, drawKey(first), ev, first, last,
		fmt.Sprintf("eDISH Hy's law quadrant but not potential Hy's law: %s; %s; %s%s. Evaluate the liver injury", why, pattern, peaks, near))}
}

// signal is a finding with the dates of the draws a liver finding
// begins and ends with, and those draws and the peaks as its results.
func (lv *Tests) signal(rule clinical.Rule, sev clinical.Severity, key string, ev map[string]any, from, to liverDraw, msg string) clinical.Signal {
	var results []string
	for _, k := range []string{"onset_lbseq", "transaminase_lbseq", "bilirubin_lbseq", "alp_lbseq", "alp_near_lbseq", "inr_lbseq",
		"direct_bilirubin_lbseq", "peak_alt_lbseq", "peak_ast_lbseq", "peak_bili_lbseq"} {
		if seq, ok := ev[k].(int); ok && seq > 0 && !slices.Contains(results, "LB:"+strconv.Itoa(seq)) {
			results = append(results, "LB:"+strconv.Itoa(seq))
		}
	}
	ev["results"] = results
	sg := lv.v.Signal(rule, sev, key, ev, msg)
	sg.First, sg.Last = from.lab.Date, to.lab.Date
	if clinical.CompareDates(sg.Last, sg.First) == clinical.OrderBefore {
		sg.Last = sg.First
	}
	return sg
}

// transaminaseEpisodes splits the transaminase draws into episodes of
// draws ≥ 3×ULN: a draw below ends one unless the other enzyme of the
// same draw (same date and time) is at or above 3×ULN. Each episode lists
// its draws ≥ 3×ULN, in date order.
func (lv *Tests) transaminaseEpisodes() [][]liverDraw {
	high := map[clinical.Date]bool{}
	for _, d := range lv.transaminases {
		if subjectview.AtLeast(d.ratio, transaminaseULN) {
			high[d.lab.Date] = true
		}
	}
	var out [][]liverDraw
	var cur []liverDraw
	for _, d := range lv.transaminases {
		switch {
		case subjectview.AtLeast(d.ratio, transaminaseULN):
			cur = append(cur, d)
		case !high[d.lab.Date] && len(cur) > 0:
			out, cur = append(out, cur), nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// The R ratio, (ALT/ULN) / (ALP/ULN) on the same day, classes a liver
// injury (FDA DILI guidance 2009; CIOMS): hepatocellular when R ≥ 5,
// cholestatic when R ≤ 2, mixed between. The new R (nR; Robles-Diaz et
// al., Gastroenterology 2014;147:109-118) takes the higher of ALT and AST
// ×ULN, which catches injuries where AST rises first, with the same
// cut-offs.
const (
	rHepatocellular = 5
	rCholestatic    = 2
)

// injuryClass names the pattern an R or nR ratio gives.
func injuryClass(r float64) string {
	switch {
	case subjectview.AtLeast(r, rHepatocellular):
		return "hepatocellular"
	case subjectview.AtMost(r, rCholestatic):
		return "cholestatic"
	}
	return "mixed"
}

// addPattern adds the R and nR ratios on the day of lab (a draw of the
// finding: its onset, or the transaminase draw of a case) and their class
// to ev, and says them for a message. R uses ALT where measured that day,
// else AST; each test is read at lab's draw if it has one, else the
// highest that day.
func (lv *Tests) addPattern(ev map[string]any, lab *clinical.LabResult) string {
	altD, hasALT := sameDraw(lv.transaminases, testALT, lab)
	astD, hasAST := sameDraw(lv.transaminases, testAST, lab)
	alp, hasALP := lv.alpOn(lab)
	if !hasALT && !hasAST || !hasALP || alp.ratio <= 0 {
		ev["r_class"] = "unknown"
		why := "no ALP that day"
		if hasALP {
			why = "no ALT or AST that day"
		}
		return fmt.Sprintf("injury pattern unknown (%s for the R ratio)", why)
	}
	amino := altD
	if !hasALT {
		amino = astD
	}
	r := amino.ratio / alp.ratio
	nr := max(altD.ratio, astD.ratio) / alp.ratio // a missing enzyme's ratio is 0
	class, nclass := injuryClass(r), injuryClass(nr)
	ev["r_ratio"], ev["r_class"], ev["r_test"] = subjectview.Round2(r), class, amino.lab.TestCode
	ev["nr_ratio"], ev["nr_class"] = subjectview.Round2(nr), nclass
	ev["pattern_date"] = string(lab.Date)
	text := fmt.Sprintf("%s%s injury (R = %.1f, nR = %.1f)", strings.ToUpper(class[:1]), class[1:], r, nr)
	if nclass != class {
		text = fmt.Sprintf("%s%s injury by R = %.1f, %s by nR = %.1f", strings.ToUpper(class[:1]), class[1:], r, nclass, nr)
	}
	return text
}

// first returns the first draw at or above k×ULN; the quadrant guarantees
// there is one.
func (lv *Tests) first(draws []liverDraw, k float64) liverDraw {
	for _, d := range draws {
		if subjectview.AtLeast(d.ratio, k) {
			return d
		}
	}
	panic("liver: quadrant without a qualifying draw")
}

func drawKey(d liverDraw) string { return "LB:" + strconv.Itoa(d.lab.Seq) }

func addDraw(ev map[string]any, prefix string, d liverDraw) {
	ev[prefix+"_test"] = d.lab.TestCode
	ev[prefix+"_lbseq"] = d.lab.Seq
	ev[prefix+"_value"] = d.lab.Value
	if d.lab.Unit != "" {
		ev[prefix+"_unit"] = d.lab.Unit
	}
	if d.ratio > 0 {
		ev[prefix+"_uln"] = d.lab.High
		ev[prefix+"_xuln"] = subjectview.Round2(d.ratio)
	}
	ev[prefix+"_date"] = string(d.lab.Date)
}

func addCase(ev map[string]any, c hysLawCase) {
	addDraw(ev, "transaminase", c.amino)
	addDraw(ev, "bilirubin", c.bili)
	ev["days_apart"] = c.days
	if c.alpMeasured {
		addDraw(ev, "alp", c.alp)
	}
}
