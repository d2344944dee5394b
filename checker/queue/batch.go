package queue

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
)

// LabBatches reads the lab results of several subjects of a study at
// once; the checker's lab store (labs.Store) is one. width is the batch
// size, so that batches of any size can share one prepared statement.
type LabBatches interface {
	LabsOf(ctx context.Context, study string, subjects []string, width int) (map[string][]clinical.LabResult, error)
}

// FindingStore reads the settings a study's checks run with and stores
// what a batch of checks found; the checker's signal store
// (signals.Store) is one. PrepareFindings does the work that needs no
// database before the transaction and returns what writes the findings in
// it.
type FindingStore interface {
	Settings(ctx context.Context, study string) (rules.Config, error)
	PrepareFindings(found []*rules.Assessment, now time.Time) (func(*pipeline.Tx) error, error)
}

// batches is how workers run checks in batches (WithBatches).
type batches struct {
	jobs     *Store
	labs     LabBatches
	findings FindingStore
	size     int
}

// runBatch claims up to a batch of jobs and checks their subjects one
// after the other, each under its own deadline, with the labs and
// settings of all read up front, and so their subjects, doses and events
// where the checker's sources can read many at once (otherwise through
// each check's fan-out); then it stores the signals
// and eDISH points found and records every job's fate in one transaction
// (a pipeline.Tx: on PostgreSQL two round trips to the server, one
// reading the findings stored and one with every write and the commit,
// where it was one a statement). False when there was no job.
func (w *Workers) runBatch(ctx context.Context) bool {
	b := w.batches
	jobs, err := b.jobs.ClaimBatch(ctx, time.Now(), w.lease, b.size)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("claiming check jobs", "error", err)
		}
		return false
	}
	if len(jobs) == 0 {
		return false
	}
	c := w.checker
	local := b.prefetch(ctx, c, jobs)
	checks := make([]checker.Findings, len(jobs))
	starts := make([]time.Time, len(jobs))
	for i, j := range jobs {
		starts[i] = time.Now()
		c.Metrics().CheckStarted()
		p := local[j.Study]
		checks[i] = c.ExamineWith(ctx, j.Study, j.USUBJID, p.upstream, p)
	}

	// As in Check, what was found is stored even while stopping, and the
	// jobs' fates recorded, within a bound.
	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Deadline())
	defer cancel()
	results := make([]checker.Result, len(jobs))
	recErrs := make([]error, len(jobs))
	write, err := b.prepare(checks, c.Now())
	if err == nil {
		err = pipeline.Run(done, b.jobs.db, func(p *pipeline.Tx) error {
			lazyCommit(p)
			if err := write(p); err != nil {
				return err
			}
			var completed []Job
			for i := range checks {
				results[i] = c.Conclude(checks[i], nil)
				if ok, at, reason := fate(jobs[i], results[i]); ok {
					completed = append(completed, jobs[i])
				} else {
					b.jobs.retryIn(p, jobs[i], at, reason)
				}
			}
			if err := b.jobs.completeIn(done, p, completed); err != nil {
				return fmt.Errorf("recording the check jobs: %w", err)
			}
			return nil
		})
	}
	if err != nil {
		// Rolled back: the checks that got as far as storing failed, and
		// every job's fate is recorded on its own.
		rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for i := range checks {
			results[i] = c.Conclude(checks[i], fmt.Errorf("storing a batch of checks: %w", err))
			recErrs[i] = w.record(rec, w.jobs, jobs[i], results[i])
		}
	}
	for i, j := range jobs {
		results[i].Elapsed = time.Since(starts[i])
		c.Metrics().CheckDone(results[i].Outcome, results[i].Elapsed)
		w.recorded(j, results[i], recErrs[i])
	}
	return true
}

// prefetch reads, per study, the settings and the labs of all the jobs'
// subjects, and what the checker's sources can read of them at once; a
// failed read of labs or settings fails each of the study's checks as
// Check would (a failed upstream read leaves each check to its own call).
func (b *batches) prefetch(ctx context.Context, c *checker.Checker, jobs []Job) map[string]*prefetched {
	ids := map[string][]string{}
	for _, j := range jobs {
		ids[j.Study] = append(ids[j.Study], j.USUBJID)
	}
	out := make(map[string]*prefetched, len(ids))
	for study, subjects := range ids {
		p := &prefetched{upstream: c.ReadUpstream(ctx, study, subjects)}
		// The labs and the settings at once, each a round trip to the
		// server on PostgreSQL, where on a busy machine a wait for an
		// answer costs milliseconds: no more connections than the
		// upstream reads just used.
		var labsErr, configErr error
		var wg sync.WaitGroup
		wg.Go(func() { p.config, configErr = b.findings.Settings(ctx, study) }) // Wait below ends it
		p.labs, labsErr = b.labs.LabsOf(ctx, study, subjects, b.size)
		wg.Wait()
		p.err = cmp.Or(labsErr, configErr)
		out[study] = p
	}
	return out
}

// prefetched is the data of a batch's checks of one study read up front.
type prefetched struct {
	upstream *checker.Upstream
	labs     map[string][]clinical.LabResult
	config   rules.Config
	err      error
}

func (p *prefetched) Labs(_ context.Context, _, usubjid string) ([]clinical.LabResult, error) {
	return p.labs[usubjid], p.err
}

func (p *prefetched) Settings(context.Context, string) (rules.Config, error) { return p.config, p.err }

// prepare makes, before the transaction, the rows of what the checks that
// got as far as storing found.
func (b *batches) prepare(checks []checker.Findings, now time.Time) (func(*pipeline.Tx) error, error) {
	var found []*rules.Assessment
	for _, f := range checks {
		if f.Result.Outcome == "" {
			found = append(found, f.Assessment)
		}
	}
	return b.findings.PrepareFindings(found, now)
}

// lazyCommit has p's commit not wait for the server's disk (PostgreSQL's
// synchronous_commit off, for p alone): a crash may then lose the last
// batches committed, but never half of one, and what a batch commits can
// be lost without harm — its signals and eDISH points go with the
// completion of its jobs, which stay queued and are checked again. The
// wait was most of a batch's time on the server (about 4 ms a commit,
// against 7 ms for all its statements). SQLite's commits (WAL,
// synchronous NORMAL) never wait for the disk.
func lazyCommit(p *pipeline.Tx) {
	if p.Dialect() == sqldb.Postgres {
		p.Exec(`SET LOCAL synchronous_commit = off`)
	}
}
