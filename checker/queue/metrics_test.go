package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// The queue's age is the wait of its oldest due job: a job held back (a
// safety net, a retry's backoff) is not waiting for a worker, a leased
// one still is until it completes.
func TestOldestDue(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := queue.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		age := func(now time.Time) time.Duration {
			t.Helper()
			d, err := s.OldestDue(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if d := age(t0); d != 0 {
			t.Fatalf("empty queue: age %v, want 0", d)
		}
		if err := s.Enqueue(ctx, "S", []string{"A"}, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, "S", []string{"B"}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d := age(t0.Add(5 * time.Minute)); d != 5*time.Minute {
			t.Fatalf("age %v, want 5m (A, due since t0)", d)
		}
		a, ok, err := s.Claim(ctx, t0.Add(5*time.Minute), time.Minute)
		if err != nil || !ok || a.USUBJID != "A" {
			t.Fatalf("claim: %+v %v %v", a, ok, err)
		}
		if d := age(t0.Add(6 * time.Minute)); d != 6*time.Minute {
			t.Fatalf("age %v with A leased, want 6m: it has not been checked yet", d)
		}
		if err := s.Retry(ctx, a, t0.Add(time.Hour), "upstream unavailable"); err != nil {
			t.Fatal(err)
		}
		if d := age(t0.Add(6 * time.Minute)); d != 5*time.Minute {
			t.Fatalf("age %v with A held back, want 5m (B, due since t0+1m)", d)
		}
	})
}

func TestMetricsReadTheQueue(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := queue.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		queue.NewMetrics(reg, s)
		if err := s.Enqueue(ctx, "S", []string{"A", "B"}, time.Now().Add(-90*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP trialwatch_check_queue_depth Checks queued and not yet completed.
# TYPE trialwatch_check_queue_depth gauge
trialwatch_check_queue_depth 2
`), "trialwatch_check_queue_depth"); err != nil {
			t.Error(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "trialwatch_check_queue_oldest_due_seconds" {
				// The scrape reads the clock: between 90 s and a generous bound.
				if v := mf.GetMetric()[0].GetGauge().GetValue(); v < 90 || v > 150 {
					t.Errorf("oldest due %v s, want about 90", v)
				}
				return
			}
		}
		t.Error("no trialwatch_check_queue_oldest_due_seconds")
	})
}
