package rules

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// A finding about lab results is an episode, not a result: consecutive
// abnormal results of one test, in date order, are one finding that grows
// as results arrive, and a result that is not abnormal the same way ends
// it. A monitor reviews an episode once, where one signal per draw made
// the same abnormality a dozen rows. The episode's key is its first
// result, which later results do not move.

// episode is a run of consecutive results of one test.
type episode struct {
	labs  []int // indexes into Input.Labs, in date order
	worst int   // index into Input.Labs of the worst result
}

// runs splits series (one test's results in date order) into episodes of
// consecutive results for which abnormal is true; score says how bad a
// result is, the highest being the episode's worst (the earliest on
// ties). A result with no value neither extends nor ends an episode.
func (s *subject) runs(series []int, abnormal func(i int) (score float64, ok bool)) []episode {
	var out []episode
	var cur episode
	var worst float64
	flush := func() {
		if len(cur.labs) > 0 {
			out = append(out, cur)
		}
		cur = episode{}
	}
	for _, i := range series {
		if !s.Labs[i].HasValue {
			continue
		}
		score, ok := abnormal(i)
		if !ok {
			flush()
			continue
		}
		if len(cur.labs) == 0 || score > worst {
			cur.worst, worst = i, score
		}
		cur.labs = append(cur.labs, i)
	}
	flush()
	return out
}

// tests lists the test codes of the subject's results, sorted, so that
// rules raise their findings in a stable order.
func (s *subject) tests() []string {
	out := make([]string, 0, len(s.ByTest))
	for t := range s.ByTest {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// episodeKey names an episode by what it is about and its first result.
func (s *subject) episodeKey(about string, e episode) string {
	return about + ":LB:" + strconv.Itoa(s.Labs[e.labs[0]].Seq)
}

// episodeEvidence lists the results an episode rests on and its span.
func (s *subject) episodeEvidence(e episode) map[string]any {
	keys := make([]string, len(e.labs))
	for k, i := range e.labs {
		keys[k] = "LB:" + strconv.Itoa(s.Labs[i].Seq)
	}
	first, last := s.episodeDates(e)
	return map[string]any{"results": keys, "count": len(e.labs), "first_date": string(first), "last_date": string(last)}
}

// episodeDates are the dates of an episode's first and last dated results.
func (s *subject) episodeDates(e episode) (first, last clinical.Date) {
	for _, i := range e.labs {
		if d := s.Labs[i].Date; d != "" {
			if first == "" {
				first = d
			}
			last = d
		}
	}
	return first, last
}

// episodeSignal is signal with the episode's dates.
func (s *subject) episodeSignal(rule clinical.Rule, sev clinical.Severity, key string, e episode, ev map[string]any, msg string) clinical.Signal {
	sg := s.Signal(rule, sev, key, ev, msg)
	sg.First, sg.Last = s.episodeDates(e)
	return sg
}

// spanText says, for an episode of several results, how many and over
// what dates; nothing for one result.
func (s *subject) spanText(e episode) string {
	if len(e.labs) == 1 {
		return ""
	}
	first, last := s.episodeDates(e)
	return fmt.Sprintf("; worst of %d consecutive results from %s to %s", len(e.labs), subjectview.DateText(first), subjectview.DateText(last))
}
