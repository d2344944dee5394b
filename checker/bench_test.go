package checker_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// fixedLatency is an in-process upstream that answers after a fixed
// latency, or when its gate opens if one is set.
type fixedLatency struct {
	latency time.Duration
	gate    chan struct{}
}

func (f fixedLatency) wait(ctx context.Context) error {
	var ready <-chan time.Time
	if f.gate == nil {
		t := time.NewTimer(f.latency)
		defer t.Stop()
		ready = t.C
	}
	select {
	case <-ready:
	case <-f.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

var benchLabs = []clinical.LabResult{
	{Study: study, USUBJID: subjectID, Seq: 1, TestCode: "ALT", Value: 200, HasValue: true, High: 40, HasHigh: true},
	{Study: study, USUBJID: subjectID, Seq: 2, TestCode: "ALB", Value: 38, HasValue: true, Low: 33, HasLow: true, High: 49, HasHigh: true},
}

func (f fixedLatency) Subject(ctx context.Context, st, id string) (clinical.Subject, error) {
	return clinical.Subject{Study: st, USUBJID: id, Site: "701"}, f.wait(ctx)
}
func (f fixedLatency) Doses(ctx context.Context, st, id string) ([]clinical.Dose, error) {
	return nil, f.wait(ctx)
}
func (f fixedLatency) AdverseEvents(ctx context.Context, st, id string) ([]clinical.AdverseEvent, error) {
	return nil, f.wait(ctx)
}
func (f fixedLatency) Labs(ctx context.Context, st, id string) ([]clinical.LabResult, error) {
	return benchLabs, nil
}
func (fixedLatency) SaveAssessment(context.Context, *rules.Assessment, time.Time) error { return nil }

func newBenchChecker(up fixedLatency) *checker.Checker {
	return checker.New(checker.Sources{Subjects: up, Exposure: up, Events: up}, up, up, checker.WithDeadline(time.Second))
}

// bareFanOut is the floor: the same three calls and the same rules with
// nothing else, no deadline, no status classification, no metrics, no
// storing.
func bareFanOut(ctx context.Context, up fixedLatency) []clinical.Signal {
	var wg sync.WaitGroup
	var in rules.Input
	wg.Go(func() { in.Subject, _ = up.Subject(ctx, study, subjectID) })
	wg.Go(func() { in.Doses, _ = up.Doses(ctx, study, subjectID) })
	wg.Go(func() { in.Events, _ = up.AdverseEvents(ctx, study, subjectID) })
	wg.Wait()
	in.Labs, in.HaveDoses, in.HaveEvents = benchLabs, true, true
	return rules.Evaluate(rules.Config{}, in)
}

// BenchmarkFanOut compares the checker with the bare floor under parallel
// load (64 checks in flight on 2 cores), at a 1 ms upstream latency where
// the CPU is the bottleneck and at 5 ms where the latency is. Compare the
// checks/s of each pair (goal: checker/bare ≥ 0.9).
func BenchmarkFanOut(b *testing.B) {
	for _, latency := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		up := fixedLatency{latency: latency}
		b.Run(latency.String()+"/bare", func(b *testing.B) {
			runParallelChecks(b, func() { bareFanOut(context.Background(), up) })
		})
		b.Run(latency.String()+"/checker", func(b *testing.B) {
			c := newBenchChecker(up)
			runParallelChecks(b, func() {
				if r := c.Check(context.Background(), study, subjectID); r.Outcome != checker.OutcomeComplete {
					b.Fatalf("outcome %s: %v", r.Outcome, r.Err)
				}
			})
		})
	}
}

func runParallelChecks(b *testing.B, check func()) {
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			check()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkGoroutinesPerCheck holds many checks in flight at once and
// reports how many goroutines each one costs while it waits.
func BenchmarkGoroutinesPerCheck(b *testing.B) {
	const inFlight = 200
	for range b.N {
		gate := make(chan struct{})
		c := newBenchChecker(fixedLatency{gate: gate})
		before := runtime.NumGoroutine()
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() { c.Check(context.Background(), study, subjectID) })
		}
		// Each parked check is its caller plus the three upstream calls
		// (the lab read returns at once); wait for them, with a deadline.
		want := before + inFlight*4
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		perCheck := float64(runtime.NumGoroutine()-before) / inFlight
		close(gate)
		wg.Wait()
		b.ReportMetric(perCheck, "goroutines/check")
	}
}
