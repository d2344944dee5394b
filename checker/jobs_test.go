package checker_test

import (
	"context"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestJobQueue(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := checker.OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		lease := time.Minute
		if err := s.Enqueue(ctx, "S", []string{"A", "B"}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, "S", []string{"A"}, now); err != nil { // A changes again: one job, newer generation
			t.Fatal(err)
		}
		if n, _ := s.QueueDepth(ctx); n != 2 {
			t.Fatalf("depth %d, want 2 (one job per subject)", n)
		}
		a, ok, err := s.Claim(ctx, now, lease)
		if err != nil || !ok || a.USUBJID != "A" || a.Generation != 2 {
			t.Fatalf("claim: %+v %v %v; want A at generation 2", a, ok, err)
		}
		b, ok, _ := s.Claim(ctx, now, lease)
		if !ok || b.USUBJID != "B" {
			t.Fatalf("second claim: %+v, want B", b)
		}
		if _, ok, _ := s.Claim(ctx, now, lease); ok {
			t.Fatal("claimed a leased job")
		}
		// A worker that died: its lease runs out and the job comes back.
		again, ok, _ := s.Claim(ctx, now.Add(lease+time.Second), lease)
		if !ok || again.Attempts != 2 {
			t.Fatalf("after the lease: %+v %v; want a job on its second attempt", again, ok)
		}
		// A changes while its check runs: completing the older run keeps the job.
		if err := s.Enqueue(ctx, "S", []string{again.USUBJID}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, again); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.QueueDepth(ctx); n != 2 {
			t.Fatalf("depth %d after completing a stale run, want 2", n)
		}
		if err := s.Retry(ctx, b, now.Add(time.Hour), "subjects service unavailable"); err != nil {
			t.Fatal(err)
		}
		j, ok, _ := s.Claim(ctx, now.Add(2*time.Minute), lease)
		if !ok || j.USUBJID != again.USUBJID {
			t.Fatalf("claim after retry: %+v %v; want the re-enqueued subject first, B waits an hour", j, ok)
		}
		if err := s.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Fatalf("depth %d, want 1 (B waiting to retry)", n)
		}
	})
}

// A crash between storing data and checking it loses no check: the job
// is in the database, and a pool started later (a new process) runs it.
func TestQueuedChecksSurviveARestart(t *testing.T) {
	ctx := context.Background()
	dsn := sqldbtest.SQLiteDSN(t)
	db1, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := checker.OpenStore(ctx, db1)
	if err != nil {
		t.Fatal(err)
	}
	labs := []clinical.LabResult{{Study: study, USUBJID: subjectID, Seq: 7, TestCode: "ALT", Value: 200, HasValue: true, High: 40, HasHigh: true}}
	if _, err := s1.PutLabs(ctx, study, labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s1.Enqueue(ctx, study, []string{subjectID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db1.Close() // the "crash": nothing ran the job

	db2, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s2, err := checker.OpenStore(ctx, db2)
	if err != nil {
		t.Fatal(err)
	}
	up := fixedLatency{}
	c := checker.New(checker.Sources{Subjects: up, Exposure: up, Events: up}, s2, s2)
	w := checker.NewWorkers(c, s2, checker.WithWorkers(2), checker.WithPoll(20*time.Millisecond))
	w.Start(ctx)
	defer w.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := s2.QueueDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued check not run within 10s; %d jobs left", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sigs, _, err := s2.Signals(ctx, checker.SignalFilter{Study: study, USUBJID: subjectID, Limit: 10})
	if err != nil || len(sigs) != 1 || sigs[0].Key != "LB:7" {
		t.Fatalf("signals after the queued check: %+v, %v; want the ALT one", sigs, err)
	}
}

// A batch whose transaction fails stores nothing of any of its checks,
// and every job is released to run again with the reason, not left leased;
// once storing works again the retried checks complete.
func TestFailedBatchReleasesEveryJob(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	s, err := checker.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"S-1", "S-2", "S-3"}
	for i, id := range ids {
		labs := []clinical.LabResult{{Study: study, USUBJID: id, Seq: i + 1, TestCode: "ALT", Value: 200, HasValue: true, High: 40, HasHigh: true}}
		if _, err := s.PutLabs(ctx, study, labs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`CREATE TRIGGER signals_fail BEFORE INSERT ON signals BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, study, ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	up := fixedLatency{}
	c := checker.New(checker.Sources{Subjects: up, Exposure: up, Events: up}, s, s, checker.WithStudyData(s))
	w := checker.NewWorkers(c, s, checker.WithWorkers(1), checker.WithPoll(10*time.Millisecond))
	w.Start(ctx)
	defer w.Stop()

	waitFor := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
		}
	}
	count := func(q string) int {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor("every job released with the batch's error", func() bool {
		return count(`SELECT COUNT(*) FROM check_jobs WHERE claimed_until = 0 AND last_error LIKE '%storing a batch%injected failure%'`) == len(ids)
	})
	if n := count(`SELECT COUNT(*) FROM signals`); n != 0 {
		t.Fatalf("%d signals stored by a failed batch", n)
	}
	if _, err := db.Exec(`DROP TRIGGER signals_fail`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE check_jobs SET not_before = 0`); err != nil { // skip the backoff
		t.Fatal(err)
	}
	w.Wake()
	waitFor("the retried checks done", func() bool { return count(`SELECT COUNT(*) FROM check_jobs`) == 0 })
	if n := count(`SELECT COUNT(*) FROM signals`); n != len(ids) {
		t.Errorf("%d signals after the retry, want %d", n, len(ids))
	}
}
