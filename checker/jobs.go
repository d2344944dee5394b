package checker

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/trialwatch/trialwatch/sqldb"
)

// Job is a claimed request to check one subject.
type Job struct {
	Study      string
	USUBJID    string
	Generation int64
	Attempts   int
}

// EnqueueTx queues a check of each subject within the caller's transaction,
// the one that stores the data that changed. A subject already queued gets
// a new generation, so a check running on older data is not taken as done.
func (s *Store) EnqueueTx(ctx context.Context, tx *sql.Tx, study string, subjects []string, now time.Time) error {
	if len(subjects) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO check_jobs (study, usubjid, enqueued_at, not_before) VALUES ($1, $2, $3, $3)
		ON CONFLICT (study, usubjid) DO UPDATE SET generation = check_jobs.generation + 1, not_before = excluded.not_before, attempts = 0`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, id := range subjects {
		if _, err := stmt.ExecContext(ctx, study, id, now.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue is EnqueueTx in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, study string, subjects []string, now time.Time) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.EnqueueTx(ctx, tx, study, subjects, now) })
}

// Claim leases the oldest job that is due and not leased, or returns
// ok=false. A worker that dies lets its lease run out and another worker
// takes the job: nothing is lost.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration) (j Job, ok bool, err error) {
	skipLocked := ""
	if s.db.Dialect == sqldb.Postgres {
		skipLocked = " FOR UPDATE SKIP LOCKED" // replicas claim different jobs without waiting on each other
	}
	err = s.db.QueryRowContext(ctx, `UPDATE check_jobs
		SET claimed_until = $1, claimed_generation = generation, attempts = attempts + 1
		WHERE (study, usubjid) = (SELECT study, usubjid FROM check_jobs
			WHERE not_before <= $2 AND claimed_until <= $2 ORDER BY enqueued_at LIMIT 1`+skipLocked+`)
		RETURNING study, usubjid, generation, attempts`,
		now.Add(lease).UnixMilli(), now.UnixMilli()).Scan(&j.Study, &j.USUBJID, &j.Generation, &j.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	return j, err == nil, err
}

// Complete removes a job unless its subject changed again meanwhile; then
// the job is released to run on the newer data.
func (s *Store) Complete(ctx context.Context, j Job) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM check_jobs WHERE study = $1 AND usubjid = $2 AND generation = $3`,
		j.Study, j.USUBJID, j.Generation)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.Retry(ctx, j, time.Time{}, "")
	}
	return nil
}

// Retry releases a job to run again at or after at, noting why it failed.
func (s *Store) Retry(ctx context.Context, j Job, at time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE check_jobs SET claimed_until = 0, not_before = $1, last_error = $2
		WHERE study = $3 AND usubjid = $4`, at.UnixMilli(), reason, j.Study, j.USUBJID)
	return err
}

// QueueDepth counts queued checks, leased or not.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM check_jobs`).Scan(&n)
	return n, err
}
