package rules

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/aeterms"
)

// reconcileDays is how far an AE may lie from the lab date and still be
// the report of that abnormality: sites often record the AE at the next
// visit, or the lab confirms an event already reported.
const reconcileDays = 7

// aeTerms returns the AE terms (folded) that report side, from the default
// table and the study's additions.
func (c *Config) aeTerms(side aeterms.LabSide) []string {
	var out []string
	add := func(ts []string) {
		for _, t := range ts {
			out = append(out, aeterms.Fold(t))
		}
	}
	add(aeterms.Default[side])
	for key, ts := range c.AETerms {
		test, dir, hasDir := strings.Cut(key, ":")
		if strings.EqualFold(strings.TrimSpace(test), side.Test) &&
			(!hasDir || strings.EqualFold(strings.TrimSpace(dir), string(side.Direction))) {
			add(ts)
		}
	}
	return out
}

// reconcileSignals raises a data query for each episode of on-treatment
// grade ≥ 3 results with no AE of a matching term near them. An AE is
// near when it is ongoing within reconcileDays of the lab date: onset up
// to 7 days after the draw, and not resolved more than 7 days before it,
// so a long-running "anaemia" covers every low haemoglobin during it.
// Partial AE dates match when they may fall in the window, and an AE with
// no onset date matches any lab: a query must be certainly needed, as
// each one costs a site visit.
func (s *subject) reconcileSignals() []clinical.Signal {
	folded := make([][2]string, len(s.in.Events))
	for k, ae := range s.in.Events {
		folded[k] = [2]string{aeterms.Fold(ae.Decoded), aeterms.Fold(ae.Term)}
	}
	return s.gradeEpisodes(func(i int, r ctcae.Result) (float64, bool) {
		lab := &s.Labs[i]
		// Abnormalities present before dosing are medical history, not
		// adverse events (ICH E2A: an AE follows administration).
		if r.Grade < reconcileGrade || !s.OnTreatment(lab) {
			return 0, false
		}
		want := s.cfg.aeTerms(aeterms.LabSide{Test: lab.TestCode, Direction: r.Direction})
		for k := range s.in.Events {
			if matchesAny(folded[k], want) && aeNear(&s.in.Events[k], lab.Date) {
				return 0, false
			}
		}
		return float64(r.Grade), true
	}, func(e episode, r ctcae.Result) clinical.Signal {
		lab := &s.Labs[e.worst]
		side := aeterms.LabSide{Test: lab.TestCode, Direction: r.Direction}
		want := s.cfg.aeTerms(side)
		ev := s.gradeEvidence(e, r)
		ev["window_days"] = reconcileDays
		ev["ae_terms"] = want
		msg := fmt.Sprintf("Grade %d %s with no matching adverse event within %d days: %s%s. Please report an AE or explain why none is needed",
			r.Grade, r.Term, reconcileDays, labText(lab, r), s.spanText(e))
		if len(want) == 0 {
			msg = fmt.Sprintf("Grade %d %s: %s%s. No AE term is mapped to %s %s (study configuration), so no AE could be matched; check the AE log",
				r.Grade, r.Term, labText(lab, r), s.spanText(e), side.Test, side.Direction)
		}
		return s.episodeSignal(LabAEUnreconciled, clinical.SeverityMedium, s.gradeKey(e, r), e, ev, msg)
	})
}

func matchesAny(names [2]string, want []string) bool {
	for _, w := range want {
		if names[0] == w || names[1] == w {
			return true
		}
	}
	return false
}

// aeNear reports whether ae may be ongoing within reconcileDays of day.
func aeNear(ae *clinical.AdverseEvent, day clinical.Date) bool {
	if day == "" || ae.Start == "" {
		return true
	}
	// Onset no later than 7 days after the lab...
	if within, known := clinical.MayBeWithin(day, ae.Start, -1<<30, reconcileDays); known && !within {
		return false
	}
	// ...and not over more than 7 days before it. No end date: ongoing.
	if within, known := clinical.MayBeWithin(day, ae.End, -reconcileDays, 1<<30); known && !within {
		return false
	}
	return true
}
