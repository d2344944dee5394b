package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/aeterms"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// AEWithoutLab: an adverse event whose term states a lab abnormality
// ("ALANINE AMINOTRANSFERASE INCREASED", "HYPONATRAEMIA") with no
// abnormal result of that test near it: the reverse of
// LAB_AE_UNRECONCILED. Either the result never reached the database (a
// local lab, a transfer gap) or the AE is coded to the wrong term; both
// are data queries.
const AEWithoutLab clinical.Rule = "AE_WITHOUT_LAB"

// aeWithoutLabSignals raises AE_WITHOUT_LAB for each AE whose term
// implies an abnormal result when no result of those tests, abnormal in
// the implied direction, may lie within reconcileDays of the AE: from 7
// days before its onset to 7 days after its end (no end: ongoing). A
// result beyond its reference limit or of CTCAE grade ≥ 1 in that
// direction supports the AE. The query must be certainly needed, so an
// AE with no onset date raises nothing, partial and missing lab dates
// count wherever they may fall, and an AE of a test the subject has no
// result of at all raises nothing (the study may not collect that test,
// or the subject's labs have not arrived). Keyed by the AE, so the
// finding is withdrawn when a supporting result arrives or the term is
// recoded.
func (s *subject) aeWithoutLabSignals() []clinical.Signal {
	var out []clinical.Signal
	for k := range s.in.Events {
		ae := &s.in.Events[k]
		sides, term := aeterms.ImpliedBy(ae)
		if len(sides) == 0 || ae.Start == "" {
			continue
		}
		measured := false
		var near []int // results of the implied tests that may lie in the window
		supported := false
		for _, side := range sides {
			for _, i := range s.ByTest[side.Test] {
				lab := &s.Labs[i]
				if !lab.HasValue {
					continue
				}
				measured = true
				if !aeNear(ae, lab.Date) {
					continue
				}
				near = append(near, i)
				if s.abnormal(i, side.Direction) {
					supported = true
				}
			}
		}
		if supported || !measured {
			continue
		}
		out = append(out, s.aeWithoutLabSignal(ae, term, sides, near))
	}
	return out
}

// abnormal reports whether lab i lies beyond its reference limit, or has
// a CTCAE grade ≥ 1, in direction dir.
func (s *subject) abnormal(i int, dir ctcae.Direction) bool {
	lab := &s.Labs[i]
	switch {
	case dir == ctcae.High && lab.HasHigh && lab.Value > lab.High,
		dir == ctcae.Low && lab.HasLow && lab.Value < lab.Low:
		return true
	}
	for _, r := range s.grades[i] {
		if r.Gradable && r.Grade >= 1 && r.Direction == dir {
			return true
		}
	}
	return false
}

func (s *subject) aeWithoutLabSignal(ae *clinical.AdverseEvent, term string, sides []aeterms.LabSide, near []int) clinical.Signal {
	key := "AE:" + strconv.Itoa(ae.Seq)
	implied := make([]string, len(sides))
	for i, side := range sides {
		implied[i] = side.Test + ":" + string(side.Direction)
	}
	results := []string{key}
	seen := "no result of " + testsText(sides) + " within the window"
	if len(near) > 0 {
		var texts []string
		for k, i := range near {
			l := &s.Labs[i]
			results = append(results, "LB:"+strconv.Itoa(l.Seq))
			if k < maxListed {
				texts = append(texts, fmt.Sprintf("%s %s %s on %s", l.TestCode, subjectview.Num(l.Value), l.Unit, subjectview.DateText(l.Date)))
			}
		}
		if len(near) > maxListed {
			texts = append(texts, fmt.Sprintf("%d more", len(near)-maxListed))
		}
		seen = fmt.Sprintf("%d result(s) within the window, none abnormal that way: %s", len(near), strings.Join(texts, "; "))
	}
	end := "ongoing"
	if ae.End != "" {
		end = "to " + string(ae.End)
	}
	ev := map[string]any{"aeseq": ae.Seq, "term": ae.Term, "decoded": ae.Decoded, "matched_term": term,
		"onset": string(ae.Start), "end": string(ae.End), "implies": implied, "window_days": reconcileDays,
		"results_in_window": len(near), "results": results}
	sg := s.Signal(AEWithoutLab, clinical.SeverityLow, key, ev,
		fmt.Sprintf("AE %s (AESEQ %d, from %s %s) implies %s, but %s (±%d days). Please send the result that shows it, or check the AE term",
			aeName(ae), ae.Seq, ae.Start, end, impliedText(sides), seen, reconcileDays))
	sg.First, sg.Last = ae.Start, ae.End
	if sg.Last == "" || clinical.CompareDates(sg.Last, sg.First) == clinical.OrderBefore {
		sg.Last = sg.First
	}
	return sg
}

// maxListed is how many results in the window a message lists; the
// evidence lists them all.
const maxListed = 5

func testsText(sides []aeterms.LabSide) string {
	var tests []string
	for _, side := range sides {
		if !slices.Contains(tests, side.Test) {
			tests = append(tests, side.Test)
		}
	}
	return strings.Join(tests, " or ")
}

func impliedText(sides []aeterms.LabSide) string {
	parts := make([]string, len(sides))
	for i, side := range sides {
		parts[i] = side.Test + " " + string(side.Direction)
	}
	return strings.Join(parts, " or ")
}
