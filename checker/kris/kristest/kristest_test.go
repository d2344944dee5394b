package kristest_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/kris/kristest"
	"github.com/trialwatch/trialwatch/clinical/kri"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSitesRedFlag checks the doc's promise: nine sites of 10 adverse
// events and one of 40 give the last a kri0001 score of exactly 3, a
// red flag, and the others no flag.
func TestSitesRedFlag(t *testing.T) {
	subs, ds, evs := kristest.Sites(10, 10, 10, 10, 10, 10, 10, 10, 10, 40)
	if len(subs) != 10 || len(ds) != 10 || len(evs) != 130 {
		t.Fatalf("%d subjects, %d dispositions, %d events; want 10, 10, 130", len(subs), len(ds), len(evs))
	}
	if days := kri.DaysOnStudy(subs[0]); days != 100 {
		t.Errorf("a subject is %d days on study, want 100", days)
	}
	spec, ok := kri.SpecFor("kri0001")
	if !ok {
		t.Fatal("no kri0001")
	}
	a := kri.Analyze(spec, kri.Counts(kri.Inputs{Subjects: subs, Dispositions: ds, Events: evs})["kri0001"])
	if len(a.Sites) != 10 {
		t.Fatalf("kri0001 scores %d sites, want 10", len(a.Sites))
	}
	last := a.Sites[9]
	if last.Site != "10" || math.Abs(last.Score-3) > 1e-9 || last.Flag != spec.FlagOf(3) || last.Flag == 0 {
		t.Errorf("site %s: score %g, flag %d; want site 10 scored 3, flagged %d", last.Site, last.Score, last.Flag, spec.FlagOf(3))
	}
	for _, r := range a.Sites[:9] {
		if r.Flag != 0 {
			t.Errorf("site %s flagged %d, want 0", r.Site, r.Flag)
		}
	}
}

// TestStudy checks a Study answers what was last Set, also while it is
// changed concurrently (run with -race).
func TestStudy(t *testing.T) {
	var s kristest.Study
	subs, ds, evs := kristest.Sites(1, 2)
	s.Set(subs, ds, evs, map[string]kri.EntryLags{"S-1": {}})
	src := s.Sources()
	ctx := context.Background()
	if got, _ := src.Subjects.SubjectsIn(ctx, "S"); len(got) != 2 {
		t.Errorf("SubjectsIn: %d subjects, want 2", len(got))
	}
	if got, _ := src.Events.AdverseEventsIn(ctx, "S"); len(got) != 3 {
		t.Errorf("AdverseEventsIn: %d events, want 3", len(got))
	}
	if got, _ := src.Dispositions.DispositionsIn(ctx, "S"); len(got) != 2 {
		t.Errorf("DispositionsIn: %d records, want 2", len(got))
	}
	if got, _ := src.LabLags.EntryLags(ctx, "S"); len(got) != 1 {
		t.Errorf("EntryLags: %d subjects, want 1", len(got))
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		subs, ds, evs := kristest.Sites(3)
		for range 100 {
			s.Set(subs, ds, evs, nil)
		}
	})
	for range 100 {
		src.Subjects.SubjectsIn(ctx, "S")
	}
	wg.Wait()
	if got, _ := src.Subjects.SubjectsIn(ctx, "S"); len(got) != 1 {
		t.Errorf("after the last Set, %d subjects, want 1", len(got))
	}
}
