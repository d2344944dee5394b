package checker_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// batchFake is one upstream able to read several subjects at once: its
// batch read behaves as batch says, each subject's own call as single
// says, and it counts both.
type batchFake struct {
	single, batch  *fakeUpstream
	singles, reads atomic.Int32
}

func newBatchFake(single, batch behavior) *batchFake {
	return &batchFake{single: newFake(single), batch: newFake(batch)}
}

func (f *batchFake) Subject(ctx context.Context, st, id string) (clinical.Subject, error) {
	f.singles.Add(1)
	return f.single.Subject(ctx, st, id)
}

func (f *batchFake) Doses(ctx context.Context, st, id string) ([]clinical.Dose, error) {
	f.singles.Add(1)
	return f.single.Doses(ctx, st, id)
}

func (f *batchFake) AdverseEvents(ctx context.Context, st, id string) ([]clinical.AdverseEvent, error) {
	f.singles.Add(1)
	return f.single.AdverseEvents(ctx, st, id)
}

// answered is what a well-behaved upstream answers of each subject.
var answered = newFake(behaveOK)

// readEach is a batch read of ids through f's batch behaviour, each
// subject answered as a well-behaved single call would be.
func readEach[V any](ctx context.Context, f *batchFake, ids []string, one func(id string) (V, error)) (map[string]V, error) {
	f.reads.Add(1)
	if err := f.batch.act(ctx); err != nil {
		return nil, err
	}
	out := map[string]V{}
	for _, id := range ids {
		if v, err := one(id); err == nil {
			out[id] = v
		}
	}
	return out, nil
}

func (f *batchFake) SubjectsOf(ctx context.Context, st string, ids []string) (map[string]clinical.Subject, error) {
	return readEach(ctx, f, ids, func(id string) (clinical.Subject, error) { return answered.Subject(ctx, st, id) })
}

func (f *batchFake) DosesOf(ctx context.Context, st string, ids []string) (map[string][]clinical.Dose, error) {
	return readEach(ctx, f, ids, func(id string) ([]clinical.Dose, error) { return answered.Doses(ctx, st, id) })
}

func (f *batchFake) AdverseEventsOf(ctx context.Context, st string, ids []string) (map[string][]clinical.AdverseEvent, error) {
	return readEach(ctx, f, ids, func(id string) ([]clinical.AdverseEvent, error) { return answered.AdverseEvents(ctx, st, id) })
}

// batchLocal is a check's local data: labs raising signals, default rules.
type batchLocal struct{}

func (batchLocal) Labs(_ context.Context, st, id string) ([]clinical.LabResult, error) {
	labs := slices.Clone(benchLabs)
	for i := range labs {
		labs[i].Study, labs[i].USUBJID = st, id
	}
	return labs, nil
}

func (batchLocal) Settings(context.Context, string) (rules.Config, error) { return rules.Config{}, nil }

func (batchLocal) SaveAssessment(context.Context, *rules.Assessment, time.Time) error { return nil }

// A batch's checks through ReadUpstream and ExamineWith end as the same
// checks through Examine's fan-out, whatever the batch reads and the
// single calls do: a failed batch read leaves each check to its own call.
func TestExamineWithUpstreamMatchesFanOut(t *testing.T) {
	ids := []string{subjectID, "01-701-9999"} // the second is unknown
	type behaviors struct{ subjects, exposure, events behavior }
	for _, tc := range []struct {
		name          string
		single, batch behaviors
		wantOutcome   checker.Outcome // of subjectID's check
	}{
		{"batch reads answer", behaviors{}, behaviors{}, checker.OutcomeComplete},
		{"subject batch fails, calls answer", behaviors{}, behaviors{subjects: failWithError}, checker.OutcomeComplete},
		{"subject batch and calls fail", behaviors{subjects: failWithError}, behaviors{subjects: failWithError}, checker.OutcomeSubjectUnavailable},
		{"subject batch and calls time out", behaviors{subjects: hangForever}, behaviors{subjects: slowPastLimit}, checker.OutcomeSubjectTimeout},
		{"exposure batch and calls fail", behaviors{exposure: failWithError}, behaviors{exposure: failWithError}, checker.OutcomeIncomplete},
		{"events batch times out, calls answer", behaviors{}, behaviors{events: hangForever}, checker.OutcomeComplete},
		{"events batch and calls time out", behaviors{events: slowPastLimit}, behaviors{events: hangForever}, checker.OutcomeIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newChecker := func() (*checker.Checker, [3]*batchFake) {
				f := [3]*batchFake{newBatchFake(tc.single.subjects, tc.batch.subjects),
					newBatchFake(tc.single.exposure, tc.batch.exposure), newBatchFake(tc.single.events, tc.batch.events)}
				return checker.New(checker.Sources{Subjects: f[0], Exposure: f[1], Events: f[2]}, batchLocal{}, batchLocal{},
					checker.WithDeadline(testDeadline)), f
			}
			ctx := context.Background()
			fanOut, _ := newChecker()
			batched, fakes := newChecker()
			start := time.Now()
			up := batched.ReadUpstream(ctx, study, ids)
			if took := time.Since(start); took > testDeadline+timeSlack {
				t.Errorf("ReadUpstream took %v; the deadline is %v", took, testDeadline)
			}
			for _, id := range ids {
				want := fanOut.Conclude(fanOut.Examine(ctx, study, id, batchLocal{}), nil)
				got := batched.Conclude(batched.ExamineWith(ctx, study, id, up, batchLocal{}), nil)
				if got.Outcome != want.Outcome || got.Sources != want.Sources || signalKeys(got) != signalKeys(want) {
					t.Errorf("%s: batched %s %+v %s; fan-out %s %+v %s", id, got.Outcome, got.Sources, signalKeys(got),
						want.Outcome, want.Sources, signalKeys(want))
				}
				if id == subjectID && got.Outcome != tc.wantOutcome {
					t.Errorf("%s: outcome %s, want %s", id, got.Outcome, tc.wantOutcome)
				}
			}
			for i, f := range fakes {
				if f.reads.Load() != 1 {
					t.Errorf("source %d: %d batch reads, want 1", i, f.reads.Load())
				}
			}
			// A source whose batch read answered is not called again; one
			// whose read failed is called once per check that needs it.
			for i, b := range []behavior{tc.batch.subjects, tc.batch.exposure, tc.batch.events} {
				singles := fakes[i].singles.Load()
				switch {
				case b == "" && singles != 0:
					t.Errorf("source %d answered the batch read, then was called %d times", i, singles)
				case b != "" && singles == 0:
					t.Errorf("source %d failed the batch read and was never called", i)
				}
			}
		})
	}
}

// Sources without the capability are each check's own calls, as in
// Examine: ReadUpstream reads nothing.
func TestReadUpstreamWithoutBatchSources(t *testing.T) {
	single := newFake(behaveOK)
	var calls atomic.Int32
	counted := countingUpstream{single, &calls}
	c := checker.New(checker.Sources{Subjects: counted, Exposure: counted, Events: counted}, batchLocal{}, batchLocal{},
		checker.WithDeadline(testDeadline))
	ctx := context.Background()
	up := c.ReadUpstream(ctx, study, []string{subjectID})
	if n := calls.Load(); n != 0 {
		t.Fatalf("ReadUpstream made %d calls to sources that read one subject at a time", n)
	}
	got := c.Conclude(c.ExamineWith(ctx, study, subjectID, up, batchLocal{}), nil)
	if got.Outcome != checker.OutcomeComplete || calls.Load() != 3 {
		t.Errorf("outcome %s after %d calls; want complete after 3", got.Outcome, calls.Load())
	}
}

// countingUpstream is a fake reading one subject at a time, counting calls.
type countingUpstream struct {
	f     *fakeUpstream
	calls *atomic.Int32
}

func (u countingUpstream) Subject(ctx context.Context, st, id string) (clinical.Subject, error) {
	u.calls.Add(1)
	return u.f.Subject(ctx, st, id)
}

func (u countingUpstream) Doses(ctx context.Context, st, id string) ([]clinical.Dose, error) {
	u.calls.Add(1)
	return u.f.Doses(ctx, st, id)
}

func (u countingUpstream) AdverseEvents(ctx context.Context, st, id string) ([]clinical.AdverseEvent, error) {
	u.calls.Add(1)
	return u.f.AdverseEvents(ctx, st, id)
}

// signalKeys lists a result's signals by rule, key and severity.
func signalKeys(r checker.Result) string {
	keys := make([]string, len(r.Signals))
	for i, s := range r.Signals {
		keys[i] = fmt.Sprintf("%s/%s/%d", s.Rule, s.Key, s.Severity)
	}
	slices.Sort(keys)
	return fmt.Sprint(keys)
}
