package checker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// gatedSink stores only once open is closed, failing with fail if set.
type gatedSink struct {
	open   chan struct{}
	fail   error
	stored atomic.Int32
}

func (s *gatedSink) SaveAssessment(ctx context.Context, a *rules.Assessment, _ time.Time) error {
	select {
	case <-s.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.fail != nil {
		return s.fail
	}
	for i := range a.Signals {
		a.Signals[i].ID = int64(i + 1)
	}
	s.stored.Add(1)
	return nil
}

type oneLab struct{}

func (oneLab) Labs(_ context.Context, study, usubjid string) ([]clinical.LabResult, error) {
	return []clinical.LabResult{{Study: study, USUBJID: usubjid, Seq: 1, TestCode: "URATE", Value: 800, HasValue: true, Low: 200, HasLow: true, High: 400, HasHigh: true, Date: "2014-02-01"}}, nil
}

// A check whose findings cannot be stored in time answers within its
// deadline and AnswerGrace, saying they are being stored behind it; they
// are, and Wait waits for them.
func TestAnswerComesBeforeSlowStoring(t *testing.T) {
	const deadline = 200 * time.Millisecond
	sink := &gatedSink{open: make(chan struct{})}
	c := checker.New(checkertest.Upstream{Site: "701"}.Sources(), oneLab{}, sink, checker.WithDeadline(deadline))
	start := time.Now()
	res := c.Check(context.Background(), study, subjectID)
	// A check that waited for its store would not answer until the sink
	// opens, below: the slack can be generous.
	if took := time.Since(start); took > deadline+checker.AnswerGrace+time.Second {
		t.Errorf("answered after %v, want within %v + %v", took, deadline, checker.AnswerGrace)
	}
	if !res.StoringLater || res.Outcome != checker.OutcomeComplete || len(res.Signals) == 0 {
		t.Fatalf("result %+v; want complete, findings, storing later", res)
	}
	close(sink.open)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if sink.stored.Load() != 1 {
		t.Errorf("stored %d times, want once", sink.stored.Load())
	}
}

// Findings that cannot be stored at all after the answer went queue
// another check of the subject.
func TestFindingsThatFailAfterTheAnswerAreRequeued(t *testing.T) {
	sink := &gatedSink{open: make(chan struct{}), fail: errors.New("disk full")}
	var requeued atomic.Value
	c := checker.New(checkertest.Upstream{Site: "701"}.Sources(), oneLab{}, sink, checker.WithDeadline(100*time.Millisecond),
		checker.WithRequeue(func(_ context.Context, study, usubjid string) error {
			requeued.Store(study + "/" + usubjid)
			return nil
		}))
	if res := c.Check(context.Background(), study, subjectID); !res.StoringLater {
		t.Fatalf("result %+v; want storing later", res)
	}
	close(sink.open)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := requeued.Load(); got != study+"/"+subjectID {
		t.Errorf("requeued %v, want the subject", got)
	}
}

// Time spent before the check started counts against its deadline: a
// check that arrived 1.5 s into a 2 s deadline, with an upstream that
// never answers, answers about 0.5 s later. One that counted from its own
// start would answer 2 s later; the bound lies between, far enough from
// both that a loaded machine does not cross it.
func TestDeadlineCountsFromArrival(t *testing.T) {
	const deadline = 2 * time.Second
	const early = 1500 * time.Millisecond
	up := newFake(hangForever)
	c := checker.New(checker.Sources{Subjects: checkertest.Upstream{Site: "701"}, Exposure: doseFake{up}, Events: checkertest.Upstream{}},
		oneLab{}, &gatedSink{open: closed()}, checker.WithDeadline(deadline))
	arrived := time.Now().Add(-early)
	ctx := checker.WithArrival(context.Background(), arrived)
	res := c.Check(ctx, study, subjectID)
	if took, bound := time.Since(arrived), deadline+checker.AnswerGrace+(early-checker.AnswerGrace)/2; took > bound {
		t.Errorf("answered %v after arrival, want within %v (deadline %v)", took, bound, deadline)
	}
	if res.Sources.Exposure != checker.StatusTimeout {
		t.Errorf("exposure %s, want timeout", res.Sources.Exposure)
	}
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
