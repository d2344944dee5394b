// Package kristest gives the KRI tests a study in memory: the study-wide
// reads a recompute makes of the data services and the lab store.
package kristest

import (
	"context"
	"fmt"
	"sync"

	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
)

// Study is one study's data, safe for concurrent use; change it with Set.
type Study struct {
	mu           sync.Mutex
	subjects     []clinical.Subject
	dispositions []clinical.Disposition
	events       []clinical.AdverseEvent
	lags         map[string]kri.EntryLags
}

// Set replaces the study's data.
func (s *Study) Set(subjects []clinical.Subject, dispositions []clinical.Disposition, events []clinical.AdverseEvent, lags map[string]kri.EntryLags) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subjects, s.dispositions, s.events, s.lags = subjects, dispositions, events, lags
}

func (s *Study) SubjectsIn(context.Context, string) ([]clinical.Subject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subjects, nil
}

func (s *Study) DispositionsIn(context.Context, string) ([]clinical.Disposition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dispositions, nil
}

func (s *Study) AdverseEventsIn(context.Context, string) ([]clinical.AdverseEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events, nil
}

func (s *Study) EntryLags(context.Context, string) (map[string]kri.EntryLags, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lags, nil
}

// Sources are s as every source of a recompute.
func (s *Study) Sources() kris.Sources {
	return kris.Sources{Subjects: s, Events: s, Dispositions: s, LabLags: s}
}

// Sites is a study of one randomized subject per site, each 100 days on
// study (2020-01-01 to 2020-04-09), with aes[i] adverse events at site
// i+1: nine sites of 10 and one of 40 give the last a kri0001 score of
// exactly 3 (a red flag).
func Sites(aes ...int) ([]clinical.Subject, []clinical.Disposition, []clinical.AdverseEvent) {
	var subs []clinical.Subject
	var ds []clinical.Disposition
	var evs []clinical.AdverseEvent
	for i, n := range aes {
		site := fmt.Sprint(i + 1)
		id := "S-" + site
		subs = append(subs, clinical.Subject{Study: "S", USUBJID: id, Site: site, RefStart: "2020-01-01", RefEnd: "2020-04-09"})
		ds = append(ds, clinical.Disposition{Study: "S", USUBJID: id, Seq: 1, Decoded: "RANDOMIZED", Category: "PROTOCOL MILESTONE", Start: "2020-01-01"})
		for k := range n {
			evs = append(evs, clinical.AdverseEvent{Study: "S", USUBJID: id, Seq: k + 1, Term: "HEADACHE"})
		}
	}
	return subs, ds, evs
}
