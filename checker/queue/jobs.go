// Package queue is the checker's durable job queue and the workers that
// drain it: every upload queues a check of each subject whose data
// changed, in the transaction storing the data, and the workers run those
// checks through the checker's fan-out, one at a time or in batches.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/checker/schema"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
)

// Store is the queue, in the check_jobs table.
type Store struct{ db *sqldb.DB }

// Open applies the checker's migrations and returns the queue.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := schema.Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Job is a claimed request to check one subject.
type Job struct {
	Study      string
	USUBJID    string
	Generation int64
	Attempts   int
}

// EnqueueTx queues a check of each subject within the caller's transaction,
// the one that stores the data that changed. A subject already queued gets
// a new generation, so a check running on older data is not taken as
// done, and runs no later than it was to run already.
func (s *Store) EnqueueTx(ctx context.Context, tx *sql.Tx, study string, subjects []string, now time.Time) error {
	return s.EnqueueAtTx(ctx, tx, study, subjects, now, now)
}

// EnqueueAtTx is EnqueueTx of checks not to run before at: a safety net
// for data another service is about to commit, whose checks are queued
// again to run at once when it has.
func (s *Store) EnqueueAtTx(ctx context.Context, tx *sql.Tx, study string, subjects []string, now, at time.Time) error {
	if len(subjects) == 0 {
		return nil
	}
	// One multi-row statement, not one per subject: on PostgreSQL each was
	// a round trip, 300 of them for the pilot's upload. A subject given
	// twice is queued once (PostgreSQL's ON CONFLICT cannot update a row
	// twice in one statement).
	rows := make([][]any, 0, len(subjects))
	seen := make(map[string]bool, len(subjects))
	for _, id := range subjects {
		if !seen[id] {
			seen[id] = true
			rows = append(rows, []any{study, id, now.UnixMilli(), at.UnixMilli()})
		}
	}
	return s.db.WriteRows(ctx, tx, `INSERT INTO check_jobs (study, usubjid, enqueued_at, not_before) VALUES `, `
		ON CONFLICT (study, usubjid) DO UPDATE SET generation = check_jobs.generation + 1, attempts = 0,
			not_before = CASE WHEN excluded.not_before < check_jobs.not_before THEN excluded.not_before ELSE check_jobs.not_before END`,
		4, rows)
}

// EnqueueStudyTx queues a check of every subject of study the checker
// knows — those with lab results or findings — within the caller's
// transaction: what a change of the study's settings needs, so that every
// finding follows the new settings.
func (s *Store) EnqueueStudyTx(ctx context.Context, tx *sql.Tx, study string, now time.Time) error {
	var ids []string
	err := s.db.Each(ctx, tx, `SELECT usubjid FROM lab_subjects WHERE study = $1
		UNION SELECT DISTINCT usubjid FROM signals WHERE study = $1 AND usubjid <> ''`, []any{study}, func(rows *sql.Rows) error {
		var id string
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return err
	}
	return s.EnqueueTx(ctx, tx, study, ids, now)
}

// Enqueue is EnqueueTx in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, study string, subjects []string, now time.Time) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.EnqueueTx(ctx, tx, study, subjects, now) })
}

// Claim leases the oldest job that is due and not leased, or returns
// ok=false. A worker that dies lets its lease run out and another worker
// takes the job: nothing is lost.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration) (j Job, ok bool, err error) {
	jobs, err := s.ClaimBatch(ctx, now, lease, 1)
	if err != nil || len(jobs) == 0 {
		return Job{}, false, err
	}
	return jobs[0], true, nil
}

// ClaimBatch leases up to n of the oldest jobs that are due and not
// leased, oldest first, in one statement: a worker that checks several
// subjects per claim writes to the queue a fraction as often.
func (s *Store) ClaimBatch(ctx context.Context, now time.Time, lease time.Duration, n int) ([]Job, error) {
	skipLocked, lazy := "", ""
	if s.db.Dialect == sqldb.Postgres {
		skipLocked = " FOR UPDATE SKIP LOCKED" // replicas claim different jobs without waiting on each other
		// The claim commits without waiting for the server's disk
		// (synchronous_commit off for its own transaction alone, set by
		// the statement, as lazyCommitTx does for a batch's): a crash may
		// lose the last claims, which only makes their jobs claimable
		// again, as a lease running out does. Waiting was about 3.5 ms a
		// claim on this project's machines, a fifth of a batch's time.
		lazy = " FROM (SELECT set_config('synchronous_commit', 'off', true)) lazy"
	}
	type claimed struct {
		Job
		enqueued int64
	}
	var got []claimed
	err := s.db.Writing(ctx, func() error {
		rows, err := s.db.QueryCached(ctx, nil, `UPDATE check_jobs
			SET claimed_until = $1, claimed_generation = generation, attempts = attempts + 1`+lazy+`
			WHERE (study, usubjid) IN (SELECT study, usubjid FROM check_jobs
				WHERE not_before <= $2 AND claimed_until <= $2 ORDER BY enqueued_at LIMIT $3`+skipLocked+`)
			RETURNING study, usubjid, generation, attempts, enqueued_at`,
			now.Add(lease).UnixMilli(), now.UnixMilli(), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.Study, &c.USUBJID, &c.Generation, &c.Attempts, &c.enqueued); err != nil {
				return err
			}
			got = append(got, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING promises no order: put the oldest first again.
	slices.SortStableFunc(got, func(a, b claimed) int { return cmp.Compare(a.enqueued, b.enqueued) })
	jobs := make([]Job, len(got))
	for i, c := range got {
		jobs[i] = c.Job
	}
	return jobs, nil
}

// Complete removes a job unless its subject changed again meanwhile; then
// the job is released to run on the newer data.
func (s *Store) Complete(ctx context.Context, j Job) error {
	return s.db.Writing(ctx, func() error { return s.completeTx(ctx, nil, []Job{j}) })
}

// completeTx is Complete of jobs within tx, or on its own when tx is nil:
// one statement removes them all, so that a batch's jobs cost one round
// trip rather than one each.
func (s *Store) completeTx(ctx context.Context, tx *sql.Tx, jobs []Job) error {
	if len(jobs) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`DELETE FROM check_jobs WHERE `)
	args := make([]any, 0, 3*len(jobs))
	for i, j := range jobs {
		if i > 0 {
			q.WriteString(" OR ")
		}
		n := len(args)
		fmt.Fprintf(&q, "(study = $%d AND usubjid = $%d AND generation = $%d)", n+1, n+2, n+3)
		args = append(args, j.Study, j.USUBJID, j.Generation)
	}
	q.WriteString(` RETURNING study, usubjid`)
	removed := make(map[[2]string]bool, len(jobs))
	rows, err := s.db.QueryChunk(ctx, tx, q.String(), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return err
		}
		removed[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, j := range jobs {
		if !removed[[2]string{j.Study, j.USUBJID}] {
			if err := s.retryTx(ctx, tx, j, time.Time{}, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// completeIn is completeTx in p. On PostgreSQL, where p's statements go
// to the server together, it does not wait for the jobs removed: a
// second statement releases those the first left, whose subjects were
// queued again meanwhile (in p's transaction the removed ones are gone).
func (s *Store) completeIn(ctx context.Context, p *pipeline.Tx, jobs []Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if tx := p.SQLiteTx(); tx != nil {
		return s.completeTx(ctx, tx, jobs)
	}
	studies, ids, generations := make([]string, len(jobs)), make([]string, len(jobs)), make([]int64, len(jobs))
	for i, j := range jobs {
		studies[i], ids[i], generations[i] = j.Study, j.USUBJID, j.Generation
	}
	p.Exec(`DELETE FROM check_jobs WHERE (study, usubjid, generation) IN
		(SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]))`, studies, ids, generations)
	p.Exec(`UPDATE check_jobs SET claimed_until = 0, not_before = $3, last_error = ''
		WHERE (study, usubjid) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, studies, ids, time.Time{}.UnixMilli())
	return nil
}

// retryIn is retryTx in p.
func (s *Store) retryIn(p *pipeline.Tx, j Job, at time.Time, reason string) {
	p.ExecCached(retrySQL, at.UnixMilli(), reason, j.Study, j.USUBJID)
}

// Retry releases a job to run again at or after at, noting why it failed.
func (s *Store) Retry(ctx context.Context, j Job, at time.Time, reason string) error {
	return s.db.Writing(ctx, func() error { return s.retryTx(ctx, nil, j, at, reason) })
}

// retryTx is Retry within tx, or on its own when tx is nil.
func (s *Store) retryTx(ctx context.Context, tx *sql.Tx, j Job, at time.Time, reason string) error {
	_, err := s.db.ExecCached(ctx, tx, retrySQL, at.UnixMilli(), reason, j.Study, j.USUBJID)
	return err
}

// retrySQL releases the job of a subject to run at $1, noting why ($2).
const retrySQL = `UPDATE check_jobs SET claimed_until = 0, not_before = $1, last_error = $2
		WHERE study = $3 AND usubjid = $4`

// OldestDue is how long the job due the longest has been due at now, 0
// when none is: the age of the queue's head, which grows while the
// workers fall behind or stop claiming. Jobs held back (a safety net, a
// retry's backoff) are not due yet and do not count.
func (s *Store) OldestDue(ctx context.Context, now time.Time) (time.Duration, error) {
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(not_before) FROM check_jobs WHERE not_before <= $1`, now.UnixMilli()).Scan(&oldest)
	if err != nil || !oldest.Valid {
		return 0, err
	}
	return now.Sub(time.UnixMilli(oldest.Int64)), nil
}

// QueueDepth counts queued checks, leased or not.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM check_jobs`).Scan(&n)
	return n, err
}
