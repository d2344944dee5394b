package queue_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	study     = "CDISCPILOT01"
	subjectID = "01-701-1015"
)

func TestJobQueue(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := queue.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		lease := time.Minute
		if err := s.Enqueue(ctx, "S", []string{"A", "B"}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, "S", []string{"A", "A"}, now); err != nil { // A changes again, named twice: one job, newer generation
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

// modes are the two ways workers run jobs: each through Checker.Check,
// or claimed and stored in batches (WithBatches).
var modes = []struct {
	name    string
	batched bool
}{{"one at a time", false}, {"batches", true}}

// newWorkers is a pool over st's queue running checks with c, in batches
// when batched.
func newWorkers(c *checker.Checker, st checkertest.Stores, batched bool, opts ...queue.WorkerOption) *queue.Workers {
	if batched {
		opts = append(opts, queue.WithBatches(st.Queue, st.Labs, st.Signals, queue.DefaultBatch))
	}
	return queue.NewWorkers(c, st.Queue, opts...)
}

// waitFor polls done until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// A crash between storing data and checking it loses no check: the job
// is in the database, and a pool started later (a new process) runs it.
func TestQueuedChecksSurviveARestart(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := sqldbtest.SQLiteDSN(t)
			db1, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			s1 := checkertest.Open(t, db1)
			labs := []clinical.LabResult{{Study: study, USUBJID: subjectID, Seq: 7, TestCode: "ALT", Value: 200, HasValue: true, High: 40, HasHigh: true}}
			if _, err := s1.Labs.PutLabs(ctx, study, labs, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := s1.Queue.Enqueue(ctx, study, []string{subjectID}, time.Now()); err != nil {
				t.Fatal(err)
			}
			db1.Close() // the "crash": nothing ran the job

			db2, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			s2 := checkertest.Open(t, db2)
			c := s2.Checker(checkertest.Upstream{Site: "701"}.Sources())
			w := newWorkers(c, s2, mode.batched, queue.WithWorkers(2), queue.WithPoll(20*time.Millisecond))
			w.Start(ctx)
			defer w.Stop()
			waitFor(t, "the queued check run", func() bool {
				n, err := s2.Queue.QueueDepth(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n == 0
			})
			sigs, _, err := s2.Signals.Signals(ctx, signals.Filter{Study: study, USUBJID: subjectID, Limit: 10})
			if err != nil || len(sigs) != 1 || sigs[0].Key != "ALT:high:LB:7" {
				t.Fatalf("signals after the queued check: %+v, %v; want the ALT one", sigs, err)
			}
		})
	}
}

// A batch whose transaction fails stores nothing of any of its checks,
// and every job is released to run again with the reason, not left leased;
// once storing works again the retried checks complete.
func TestFailedBatchReleasesEveryJob(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		testFailedStoringReleasesJobs(t, db, true, "%storing a batch%injected failure%")
	})
}

// A check run on its own whose signals cannot be stored releases its job
// to run again with the reason; once storing works again it completes.
func TestFailedCheckReleasesItsJob(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		testFailedStoringReleasesJobs(t, db, false, "error: storing findings%injected failure%")
	})
}

// testFailedStoringReleasesJobs makes storing signals fail while workers
// run three queued checks, then work again. reason is the LIKE pattern of
// the released jobs' last_error.
func testFailedStoringReleasesJobs(t *testing.T, db *sqldb.DB, batched bool, reason string) {
	ctx := context.Background()
	s := checkertest.Open(t, db)
	ids := []string{"S-1", "S-2", "S-3"}
	for i, id := range ids {
		labs := []clinical.LabResult{{Study: study, USUBJID: id, Seq: i + 1, TestCode: "ALT", Value: 200, HasValue: true, High: 40, HasHigh: true}}
		if _, err := s.Labs.PutLabs(ctx, study, labs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	fail := `CREATE TRIGGER signals_fail BEFORE INSERT ON signals BEGIN SELECT RAISE(ABORT, 'injected failure'); END`
	if db.Dialect == sqldb.Postgres {
		if _, err := db.Exec(`CREATE FUNCTION signals_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`); err != nil {
			t.Fatal(err)
		}
		fail = `CREATE TRIGGER signals_fail BEFORE INSERT ON signals FOR EACH ROW EXECUTE FUNCTION signals_fail()`
	}
	if _, err := db.Exec(fail); err != nil {
		t.Fatal(err)
	}
	if err := s.Queue.Enqueue(ctx, study, ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := s.Checker(checkertest.Upstream{Site: "701"}.Sources(), checker.WithStudyData(s.Signals))
	w := newWorkers(c, s, batched, queue.WithWorkers(1), queue.WithPoll(10*time.Millisecond))
	w.Start(ctx)
	defer w.Stop()

	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "every job released with the storing error", func() bool {
		return count(`SELECT COUNT(*) FROM check_jobs WHERE claimed_until = 0 AND last_error LIKE $1`, reason) == len(ids)
	})
	if n := count(`SELECT COUNT(*) FROM signals`); n != 0 {
		t.Fatalf("%d signals stored by failed checks", n)
	}
	drop := `DROP TRIGGER signals_fail`
	if db.Dialect == sqldb.Postgres {
		drop += ` ON signals`
	}
	if _, err := db.Exec(drop); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE check_jobs SET not_before = 0`); err != nil { // skip the backoff
		t.Fatal(err)
	}
	w.Wake()
	waitFor(t, "the retried checks done", func() bool { return count(`SELECT COUNT(*) FROM check_jobs`) == 0 })
	if n := count(`SELECT COUNT(*) FROM signals`); n != len(ids) {
		t.Errorf("%d signals after the retry, want %d", n, len(ids))
	}
}

// changingUpstream is checkertest.Upstream whose subject changes again
// (is queued anew) while its first check runs; it counts that subject's
// checks.
type changingUpstream struct {
	checkertest.Upstream
	q       *queue.Store
	subject string
	checks  *atomic.Int32
}

func (u changingUpstream) Subject(ctx context.Context, st, id string) (clinical.Subject, error) {
	if id == u.subject && u.checks.Add(1) == 1 {
		if err := u.q.Enqueue(ctx, st, []string{id}, time.Now()); err != nil {
			return clinical.Subject{}, err
		}
	}
	return u.Upstream.Subject(ctx, st, id)
}

// A batch completes its jobs in one statement, but not that of a subject
// queued again while it was checked: that job stays, released, and its
// check runs again on the newer data.
func TestBatchKeepsJobsQueuedAgain(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := checkertest.Open(t, db)
		ids := []string{"S-1", "S-2", "S-3"}
		if err := s.Queue.Enqueue(ctx, study, ids, time.Now()); err != nil {
			t.Fatal(err)
		}
		up := changingUpstream{Upstream: checkertest.Upstream{Site: "701"}, q: s.Queue, subject: "S-2", checks: new(atomic.Int32)}
		c := s.Checker(checker.Sources{Subjects: up, Exposure: up, Events: up}, checker.WithStudyData(s.Signals))
		w := newWorkers(c, s, true, queue.WithWorkers(1), queue.WithPoll(10*time.Millisecond))
		w.Start(ctx)
		defer w.Stop()
		waitFor(t, "every check done", func() bool {
			n, err := s.Queue.QueueDepth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
		if n := up.checks.Load(); n != 2 {
			t.Errorf("the subject queued again during its check was checked %d times, want 2", n)
		}
	})
}

// On PostgreSQL a claim commits without waiting for the disk, by a
// setting of its own transaction: the connection it ran on, back in the
// pool, still waits for the disk in every other transaction.
func TestClaimLeavesCommitsWaiting(t *testing.T) {
	db := sqldbtest.Postgres(t)
	db.SetMaxOpenConns(1) // the claim's connection is the one asked next
	ctx := context.Background()
	s, err := queue.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Enqueue(ctx, "S", []string{"A", "B"}, now); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimBatch(ctx, now, time.Minute, 2)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim: %v, %v; want both jobs", jobs, err)
	}
	var commit string
	if err := db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&commit); err != nil || commit != "on" {
		t.Errorf("synchronous_commit after a claim: %s (%v), want on", commit, err)
	}
}
