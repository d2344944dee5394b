package checker

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// batchStore is the Store the workers can run checks in batches with: the
// job store that is also the checker's lab source, signal sink and study
// data, so that one transaction can hold everything a batch writes.
func (w *Workers) batchStore() *Store {
	s, ok := w.jobs.(*Store)
	c := w.checker
	if !ok || w.batch < 2 || c.labs != LabSource(s) || c.sink != SignalSink(s) || c.study != StudyData(s) {
		return nil
	}
	return s
}

// runBatch claims up to w.batch jobs and checks their subjects one after
// the other, each through the fan-out under its own deadline, with the
// labs and settings of all read up front; then it stores the signals and
// eDISH points found and records every job's fate in one transaction.
// False when there was no job.
func (w *Workers) runBatch(ctx context.Context, s *Store) bool {
	jobs, err := s.ClaimBatch(ctx, time.Now(), w.lease, w.batch)
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
	local := w.prefetch(ctx, s, jobs)
	checks := make([]evaluated, len(jobs))
	starts := make([]time.Time, len(jobs))
	for i, j := range jobs {
		starts[i] = time.Now()
		c.metrics.checkStarted()
		checks[i] = c.evaluate(ctx, j.Study, j.USUBJID, c.gather(ctx, j.Study, j.USUBJID, local[j.Study]))
	}

	// As in Check, what was found is stored even while stopping, and the
	// jobs' fates recorded, within a bound.
	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.deadline)
	defer cancel()
	results := make([]Result, len(jobs))
	recErrs := make([]error, len(jobs))
	sigs, err := batchSignals(checks, c.now())
	if err == nil {
		err = s.db.InTx(done, func(tx *sql.Tx) error {
			if err := c.storeBatch(done, s, tx, checks, sigs); err != nil {
				return err
			}
			for i := range checks {
				results[i] = checks[i].res
				if results[i].Outcome == "" {
					results[i] = c.finish(checks[i], nil)
				}
				if err := w.record(done, txJobs{s, tx}, jobs[i], results[i]); err != nil {
					return fmt.Errorf("recording a check job: %w", err)
				}
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
			results[i] = checks[i].res
			if results[i].Outcome == "" {
				results[i] = c.finish(checks[i], fmt.Errorf("storing a batch of checks: %w", err))
			}
			recErrs[i] = w.record(rec, w.jobs, jobs[i], results[i])
		}
	}
	for i, j := range jobs {
		results[i].Elapsed = time.Since(starts[i])
		c.metrics.checkDone(results[i].Outcome, results[i].Elapsed)
		w.recorded(j, results[i], recErrs[i])
	}
	return true
}

// prefetch reads, per study, the settings and the labs of all the jobs'
// subjects; a failed read fails each of the study's checks as Check would.
func (w *Workers) prefetch(ctx context.Context, s *Store, jobs []Job) map[string]*prefetched {
	ids := map[string][]string{}
	for _, j := range jobs {
		ids[j.Study] = append(ids[j.Study], j.USUBJID)
	}
	out := make(map[string]*prefetched, len(ids))
	for study, subjects := range ids {
		p := &prefetched{}
		p.labs, p.err = s.labsFor(ctx, study, subjects, w.batch)
		if p.err == nil {
			p.config, p.err = s.Settings(ctx, study)
		}
		out[study] = p
	}
	return out
}

// prefetched is the local data of a batch's checks of one study.
type prefetched struct {
	labs   map[string][]clinical.LabResult
	config rules.Config
	err    error
}

func (p *prefetched) Labs(_ context.Context, _, usubjid string) ([]clinical.LabResult, error) {
	return p.labs[usubjid], p.err
}

func (p *prefetched) Settings(context.Context, string) (rules.Config, error) { return p.config, p.err }

// batchSignals makes the rows of the signals of the checks that got as
// far as storing, before the transaction that stores them.
func batchSignals(checks []evaluated, now time.Time) (signalRows, error) {
	var all []clinical.Signal
	for _, e := range checks {
		if e.res.Outcome == "" {
			all = append(all, e.res.Signals...)
		}
	}
	return newSignalRows(all, now)
}

// storeBatch stores, within tx, the signals (sigs, see batchSignals) and
// eDISH points of the checks that got that far, all signals in as few
// statements as they fit. The signals' IDs are not read back (see
// writeSignalsTx).
func (c *Checker) storeBatch(ctx context.Context, s *Store, tx *sql.Tx, checks []evaluated, sigs signalRows) error {
	if err := s.writeSignalsTx(ctx, tx, sigs); err != nil {
		return fmt.Errorf("storing signals: %w", err)
	}
	for i := range checks {
		e := &checks[i]
		if e.res.Outcome == "" && e.hasPoint {
			if err := s.putEDISHTx(ctx, tx, e.point, c.now()); err != nil {
				return fmt.Errorf("storing the eDISH point: %w", err)
			}
		}
	}
	return nil
}

// txJobs records jobs' fates within a transaction.
type txJobs struct {
	s  *Store
	tx *sql.Tx
}

func (t txJobs) Complete(ctx context.Context, j Job) error { return t.s.completeTx(ctx, t.tx, j) }

func (t txJobs) Retry(ctx context.Context, j Job, at time.Time, reason string) error {
	return t.s.retryTx(ctx, t.tx, j, at, reason)
}
