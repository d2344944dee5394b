// Package signals is the checker's store of what checks conclude: the
// signals they raise, each signal's review (status changes with who, when
// and why), the study settings checks run with, and each subject's eDISH
// point.
package signals

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/trialwatch/trialwatch/checker/schema"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
)

// Store keeps signals, their review, study settings and eDISH points.
type Store struct {
	db      *sqldb.DB
	recheck Recheck
}

// Recheck queues a check of every subject of a study within a
// transaction; the check queue's EnqueueStudyTx is one.
type Recheck func(ctx context.Context, tx *sql.Tx, study string, now time.Time) error

// Option configures a Store.
type Option func(*Store)

// WithRecheck has a change of a study's settings queue a check of every
// subject of the study in the same transaction, so that findings follow
// the settings (an AE term that now reconciles a lab withdraws its
// LAB_AE_UNRECONCILED finding). Without it, findings follow at each
// subject's next check.
func WithRecheck(f Recheck) Option { return func(s *Store) { s.recheck = f } }

// Open applies the checker's migrations and returns its signal store.
func Open(ctx context.Context, db *sqldb.DB, opts ...Option) (*Store, error) {
	if err := schema.Migrate(ctx, db); err != nil {
		return nil, err
	}
	s := &Store{db: db}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// SaveSignals stores signals and fills in their ID and creation time. A
// signal already raised for the same study, subject, rule and evidence key
// keeps its ID and creation time; its severity, evidence and message are
// refreshed, so re-checking never raises a duplicate.
func (s *Store) SaveSignals(ctx context.Context, sigs []clinical.Signal, now time.Time) error {
	if len(sigs) == 0 {
		return nil
	}
	evidence, err := evidenceJSON(sigs)
	if err != nil {
		return err
	}
	rows := newSignalRows(sigs, evidence, now)
	// One statement is atomic by itself: a transaction is needed only
	// around several, and without one SQLite holds its write lock for the
	// statement alone.
	if len(rows.rows) <= s.db.Dialect.RowsPerStatement(signalWriteCols) {
		return s.db.Writing(ctx, func() error { return s.saveSignalsTx(ctx, nil, rows) })
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.saveSignalsTx(ctx, tx, rows) })
}

// signalWriteCols is how many values SaveSignals writes per signal.
const signalWriteCols = 11

// signalRows are signals as saveSignalsTx writes them, made before the
// transaction: on SQLite, the check workers take turns writing, so work
// done while writing holds the others up.
type signalRows struct {
	sigs []clinical.Signal
	// One row per distinct (study, subject, rule, evidence key), at the
	// place of its first signal, with the values of its last: what storing
	// the signals one by one would leave.
	rows  [][signalWriteCols]any
	first map[signalKey]int // key → index in rows
	slot  []int             // signal → index in rows
}

type signalKey struct{ study, usubjid, rule, evidence string }

// evidenceJSON is each signal's evidence as stored.
func evidenceJSON(sigs []clinical.Signal) ([]string, error) {
	out := make([]string, len(sigs))
	for i := range sigs {
		sg := &sigs[i]
		ev, err := json.Marshal(sg.Evidence)
		if err != nil {
			return nil, fmt.Errorf("signal %s %s: evidence: %w", sg.Rule, sg.Key, err)
		}
		out[i] = string(ev)
	}
	return out, nil
}

// newSignalRows makes the rows of sigs, whose evidence as stored
// (evidenceJSON) is evidence.
func newSignalRows(sigs []clinical.Signal, evidence []string, now time.Time) signalRows {
	r := signalRows{sigs: sigs, first: make(map[signalKey]int, len(sigs)), slot: make([]int, len(sigs))}
	for i := range sigs {
		sg := &sigs[i]
		k := signalKey{sg.Study, sg.USUBJID, string(sg.Rule), sg.Key}
		j, dup := r.first[k]
		if !dup {
			j = len(r.rows)
			r.first[k] = j
			r.rows = append(r.rows, [signalWriteCols]any{})
		}
		r.slot[i] = j
		r.rows[j] = [signalWriteCols]any{sg.Study, sg.Site, sg.USUBJID, string(sg.Rule), int64(sg.Severity), sg.Key,
			evidence[i], sg.Message, now.UnixMilli(), string(sg.First.UTC()), string(sg.Last.UTC())}
	}
	return r
}

// signalInsert and signalUpsert surround the VALUES of signals written:
// a signal already stored keeps its ID, creation time and status.
const (
	signalInsert = `INSERT INTO signals
		(study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at, first_date, last_date) VALUES `
	signalUpsert = `
		ON CONFLICT (study, usubjid, rule, evidence_key) DO UPDATE SET
			site = excluded.site, severity = excluded.severity, evidence = excluded.evidence, message = excluded.message,
			first_date = excluded.first_date, last_date = excluded.last_date`
)

// writeSignals is saveSignalsTx for signals no one reads back, in p: it
// leaves their IDs, creation times and statuses unset. The check workers'
// signals answer no request, and reading every written signal back
// (RETURNING) took a third of the time spent writing them, all of it
// holding SQLite's one write lock that the workers take in turn.
//
// On PostgreSQL it is one statement of one text for any number of
// signals, each column an array. A VALUES list's text changes with its
// length, so nearly every batch's was parsed and planned anew, and
// binding its thousands of parameters cost the server as much again.
func (s *Store) writeSignals(p *pipeline.Tx, r signalRows) {
	if len(r.rows) == 0 {
		return
	}
	if s.db.Dialect != sqldb.Postgres {
		rows := make([][]any, len(r.rows))
		for i := range r.rows {
			rows[i] = r.rows[i][:]
		}
		p.WriteRows(signalInsert, signalUpsert, signalWriteCols, rows)
		return
	}
	p.Exec(`INSERT INTO signals
		(study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at, first_date, last_date)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[])`+signalUpsert,
		column[string](r, 0), column[string](r, 1), column[string](r, 2), column[string](r, 3), column[int64](r, 4),
		column[string](r, 5), column[string](r, 6), column[string](r, 7), column[int64](r, 8), column[string](r, 9), column[string](r, 10))
}

// column is column c of r's rows, whose values are Ts.
func column[T any](r signalRows, c int) []T {
	out := make([]T, len(r.rows))
	for i := range r.rows {
		out[i] = r.rows[i][c].(T)
	}
	return out
}

// saveSignalsTx writes r's rows within tx, or, when tx is nil, in
// statements of their own, and fills in r's signals' IDs, creation times
// and statuses.
func (s *Store) saveSignalsTx(ctx context.Context, tx *sql.Tx, r signalRows) error {
	const ncols = signalWriteCols
	type stored struct {
		id      int64
		created time.Time
		status  clinical.SignalStatus
	}
	got := make([]stored, len(r.rows))
	args := make([]any, 0, min(len(r.rows), s.db.Dialect.RowsPerStatement(ncols))*ncols)
	start := 0
	for _, size := range s.db.Dialect.Chunks(len(r.rows), ncols) {
		chunk := r.rows[start : start+size]
		args = args[:0]
		for i := range chunk {
			args = append(args, chunk[i][:]...)
		}
		q := signalInsert + s.db.Dialect.Values(ncols, len(chunk)) + signalUpsert +
			` RETURNING id, created_at, status, study, usubjid, rule, evidence_key`
		rs, err := s.db.QueryChunk(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		// RETURNING gives the rows in no promised order: match them by key.
		n := 0
		for rs.Next() {
			var st stored
			var created int64
			var k signalKey
			if err := rs.Scan(&st.id, &created, &st.status, &k.study, &k.usubjid, &k.rule, &k.evidence); err != nil {
				rs.Close()
				return err
			}
			j, ok := r.first[k]
			if !ok || j < start || j >= start+len(chunk) {
				rs.Close()
				return fmt.Errorf("storing signals: the database returned a signal not written: %s %s %s", k.usubjid, k.rule, k.evidence)
			}
			st.created = time.UnixMilli(created).UTC()
			got[j] = st
			n++
		}
		if err := rs.Err(); err != nil {
			rs.Close()
			return err
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if n != len(chunk) {
			return fmt.Errorf("storing signals: wrote %d, the database returned %d", len(chunk), n)
		}
		start += size
	}
	for i := range r.sigs {
		st := got[r.slot[i]]
		r.sigs[i].ID, r.sigs[i].Created, r.sigs[i].Status = st.id, st.created, st.status
	}
	return nil
}
