package labs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

// Staged uploads: an upload's lab results are stored in steps, each a
// short transaction of its own, out of readers' sight, and made visible
// at once by a publishing step whose cost grows with the subjects the
// upload changed, not with its rows.
//
// On SQLite one transaction holds the database's only write lock; an
// upload of millions of lab results stored in one would keep every other
// write — a check's findings, a status change, a login — waiting for
// seconds or minutes. Staged, it takes the lock for one chunk at a time,
// and the other writers take their turns between chunks.
//
// A subject's lab results are read through its row of lab_subjects: by
// study and USUBJID to the row's id, then by that id. An upload gives
// each subject whose lab results it changes a new generation: a row of
// lab_subjects under the upload's own name in place of the study (a name
// no reader asks for: it starts with a control character, which no study
// has), holding a copy of the subject's stored lab results with the
// upload's written over them. Change detection compares a subject's rows
// with its generation once it has one (so a row the upload sends twice
// compares with its first), else with its stored ones; rows that change
// nothing cost their reading alone. History records wait in
// lab_staged_history under the upload's name. Publishing renames, in the
// caller's transaction, each such subject's current row aside (retired)
// and its generation to the study, with the version one past the one it
// replaced. A check reading a subject's version and then its rows so
// either sees the old version and the old rows or the new and the new.
//
// The steps commit lazily (sqldb.LazySession): on PostgreSQL they do not
// wait for the server's disk, and publishing confirms them, failing if
// the server may have lost one.
//
// What is never published is deleted: at once when the upload fails, or,
// after a crash, by the sweep of a later upload or start once it is over
// stagingStale old. The generations a publish retired are deleted by the
// upload that retired them, once its transaction has committed (Close),
// a few subjects a transaction, each subject's rows and its row of
// lab_subjects together. A check that read a retired subject's id just
// before then finds either all of its rows or none, and reads the
// subject's new id and rows when none (LabsOf). What a process that died
// in between left retired, the sweep deletes after retiredGrace.
type Staged struct {
	s       *Store
	study   string
	pending string // the name the generations are staged under
	retired string // the name PublishTx retired the replaced ones under
	now     time.Time
	staged  map[string]bool // subjects with a generation under pending
	session *sqldb.LazySession
	release func()
}

const (
	// stagingMark starts the names staged and retired generations go
	// under in place of a study; no study has a control character.
	stagingMark = "\x1f"
	pendingKind = "upload"
	retiredKind = "retired"

	// stagingStale is how old an upload's generations are when a sweep
	// takes them for those of a process that died storing them. Uploads
	// are stored from a spooled body: the longest seen (10 million lab
	// results) took under a minute.
	stagingStale = time.Hour
	// retiredGrace is how old a retired generation is when a sweep takes
	// it for one whose upload died before deleting it (see Close).
	retiredGrace = time.Minute
	// deleteSubjectsPerStep and deleteRowsPerStep bound the subjects, and
	// about the rows, one transaction deleting a generation removes: on
	// SQLite it holds the write lock meanwhile.
	deleteSubjectsPerStep = 32
	deleteRowsPerStep     = 8192
)

// stagingName is a name for generations of kind, made at t.
func stagingName(kind string, t time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return stagingMark + kind + " " + strconv.FormatInt(t.UnixMilli(), 10) + " " + hex.EncodeToString(b[:])
}

// parseStagingName returns the kind and time of a name stagingName made.
func parseStagingName(name string) (kind string, at time.Time, ok bool) {
	f := strings.Fields(strings.TrimPrefix(name, stagingMark))
	if !strings.HasPrefix(name, stagingMark) || len(f) != 3 {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return f[0], time.UnixMilli(ms), true
}

// Stage begins storing an upload's lab results of study. Uploads of one
// study stage one at a time in a process (a second waits, as it would for
// SQLite's write lock); those of other processes are found out when they
// publish (see PublishTx). The caller must end it with Close.
func (s *Store) Stage(ctx context.Context, study string, now time.Time) (*Staged, error) {
	return s.stage(ctx, nil, study, now)
}

// StageIn is Stage with the steps committed in session, the caller's,
// which Close leaves open: an upload staging several domains' rows
// keeps one connection for all of them.
func (s *Store) StageIn(ctx context.Context, session *sqldb.LazySession, study string, now time.Time) (*Staged, error) {
	return s.stage(ctx, session, study, now)
}

// stage is Stage in session, or in one of its own when nil.
func (s *Store) stage(ctx context.Context, session *sqldb.LazySession, study string, now time.Time) (*Staged, error) {
	turn, _ := s.uploads.LoadOrStore(study, make(chan struct{}, 1))
	select {
	case turn.(chan struct{}) <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another upload of study %s to be stored: %w", study, ctx.Err())
	}
	release := func() { <-turn.(chan struct{}) }
	if err := s.SweepStaging(ctx); err != nil {
		slog.Warn("sweeping the lab results of uploads not published failed; the next upload tries again", "err", err)
	}
	end := release
	if session == nil {
		var err error
		if session, err = s.db.BeginLazy(ctx); err != nil {
			release()
			return nil, err
		}
		end = func() { session.Close(); release() }
	}
	return &Staged{s: s, study: study, pending: stagingName(pendingKind, time.Now()), now: now,
		staged: map[string]bool{}, session: session, release: end}, nil
}

// Put stores rows out of readers' sight, in one short transaction, and
// says what publishing them will change. A subject gets its generation
// with the first of its rows that changes something: rows that change
// nothing cost their reading alone.
func (st *Staged) Put(ctx context.Context, rows Rows) (sum clinical.Summary, err error) {
	err = st.session.InTx(ctx, func(tx *sql.Tx) error {
		tests, err := st.s.assignTests(ctx, tx, st.study, rows)
		if err != nil {
			return err
		}
		t := labTable
		t.Expand = tests.expand
		t.Read = st.readExpr()
		t.History, t.HistoryStudy = "lab_staged_history", st.pending
		t.Write = func(ctx context.Context, tx *sql.Tx, stored [][]any) error {
			if err := st.stageSubjectsTx(ctx, tx, stored, rows.FirstLabs); err != nil {
				return fmt.Errorf("staging lab subjects: %w", err)
			}
			return st.s.writeLabsTx(ctx, tx, st.pending, stored, nil)
		}
		put, err := tracked.PutTx(ctx, st.s.db, tx, t, st.study, rows.rows, st.now)
		sum = clinical.Summary(put)
		return err
	})
	return sum, err
}

// readExpr is what change detection compares with, as labTable's Read:
// each subject's generation when it has one, else its current lab
// results, all under the study's name, so that history records them as
// the study's. The names are quoted as SQL strings: Read is a table
// expression, not a statement with parameters.
func (st *Staged) readExpr() string {
	const cols = `s.usubjid, r.seq, r.test_id, r.value, r.low, r.high, r.baseline, r.lab_date, r.visit
		FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id`
	return `(SELECT ` + quote(st.study) + ` AS study, ` + cols + ` WHERE s.study = ` + quote(st.pending) + `
		UNION ALL SELECT s.study, ` + cols + ` WHERE s.study = ` + quote(st.study) + ` AND NOT EXISTS (
			SELECT 1 FROM lab_subjects p WHERE p.study = ` + quote(st.pending) + ` AND p.usubjid = s.usubjid)) staged`
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// stageSubjectsTx gives each subject of rows without one its generation:
// a row of lab_subjects under the upload's name with a copy of its stored
// lab results (kept with the day each was first stored), of the version
// publishing gives it, one past its current. A subject given its first
// lab results is told to first, unless nil.
func (st *Staged) stageSubjectsTx(ctx context.Context, tx *sql.Tx, rows [][]any, first func(string)) error {
	var subjects []string
	for i, r := range rows {
		if i > 0 && r[1] == rows[i-1][1] {
			continue // rows come grouped by subject
		}
		if id := sqldb.String(r[1]); !st.staged[id] {
			st.staged[id] = true
			subjects = append(subjects, id)
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	current := map[string]labSubject{}
	if err := st.s.scanLabSubjects(ctx, tx, st.study, subjects, current); err != nil {
		return err
	}
	add := make([][]any, len(subjects))
	var copied []any
	for i, id := range subjects {
		k, ok := current[id]
		add[i] = []any{st.pending, id, k.version + 1}
		switch {
		case ok:
			copied = append(copied, id)
		case first != nil:
			first(id)
		}
	}
	if err := st.s.db.WriteRows(ctx, tx, "INSERT INTO lab_subjects (study, usubjid, version) VALUES ", "", 3, add); err != nil {
		return err
	}
	for start := 0; start < len(copied); start += subjectsPerQuery {
		chunk := copied[start:min(start+subjectsPerQuery, len(copied))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO lab_results (subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day)
			SELECT p.id, r.seq, r.test_id, r.value, r.low, r.high, r.baseline, r.lab_date, r.visit, r.stored_day
			FROM lab_subjects x JOIN lab_subjects p ON p.study = $2 AND p.usubjid = x.usubjid JOIN lab_results r ON r.subject_id = x.id
			WHERE x.study = $1 AND x.usubjid IN (`+sqldb.Placeholders(3, len(chunk))+`)`,
			append([]any{st.study, st.pending}, chunk...)...); err != nil {
			return err
		}
	}
	return nil
}

// PublishTx makes what the upload changed visible, within tx, which the
// caller commits with the rest of the upload: each changed subject's
// generation replaces its current lab results, and the history records
// join lab_results_history. It costs a statement or two per subject
// changed and a copy of each history record. If another process or
// replica wrote one of the subjects' lab results since the upload staged
// it, it returns an error wrapping clinical.ErrConflict: publishing would
// lose that write's changes. If the database server may have lost a step
// of the staging (see LazySession.Confirm), it fails too.
func (st *Staged) PublishTx(ctx context.Context, tx *sql.Tx) error {
	if err := st.session.Confirm(ctx); err != nil {
		return fmt.Errorf("publishing lab results: %w", err)
	}
	var moved int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_subjects p LEFT JOIN lab_subjects x ON x.study = $1 AND x.usubjid = p.usubjid
		WHERE p.study = $2 AND COALESCE(x.version, 0) <> p.version - 1`, st.study, st.pending).Scan(&moved); err != nil {
		return fmt.Errorf("publishing lab results: %w", err)
	}
	if moved > 0 {
		return fmt.Errorf("storing LB: the lab results of %d subjects were written by another upload while this one was stored: %w", moved, clinical.ErrConflict)
	}
	retired := stagingName(retiredKind, time.Now())
	res, err := tx.ExecContext(ctx, `UPDATE lab_subjects SET study = $1 WHERE study = $2 AND usubjid IN (SELECT usubjid FROM lab_subjects WHERE study = $3)`,
		retired, st.study, st.pending)
	if err != nil {
		return fmt.Errorf("publishing lab results: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("publishing lab results: %w", err)
	} else if n > 0 { // else Close has nothing to delete (subjects all new)
		st.retired = retired
	}
	steps := []struct {
		query string
		args  []any
	}{
		{`UPDATE lab_subjects SET study = $1 WHERE study = $2`, []any{st.study, st.pending}},
		{`INSERT INTO lab_results_history (row_key, study, usubjid, changed_at, before, after)
			SELECT row_key, $1, usubjid, changed_at, before, after FROM lab_staged_history WHERE study = $2`, []any{st.study, st.pending}},
		{`DELETE FROM lab_staged_history WHERE study = $1`, []any{st.pending}},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("publishing lab results: %w", err)
		}
	}
	return nil
}

// Close ends the upload's staging, in a series of short transactions,
// which go on when ctx is cancelled (for up to closeDeadline: what is
// left, a later sweep deletes). If the transaction of PublishTx committed
// (committed), it deletes the lab results publishing replaced; else every
// generation and history record staged. Closing again does nothing.
func (st *Staged) Close(ctx context.Context, committed bool) {
	if st.release == nil {
		return // closed already
	}
	defer func() { st.release(); st.release = nil }()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeDeadline)
	defer cancel()
	if committed {
		if st.retired == "" {
			return
		}
		if err := st.s.deleteGenerations(ctx, st.retired); err != nil {
			slog.Warn("deleting the lab results an upload replaced failed; a later upload's sweep deletes them", "err", err)
		}
		return
	}
	if err := st.s.deleteGenerations(ctx, st.pending); err != nil {
		slog.Warn("deleting the staged lab results an upload did not publish failed; a later upload's sweep deletes them", "err", err)
	}
}

// closeDeadline bounds Close's deletions.
const closeDeadline = time.Minute

// SweepStaging deletes generations no reader can see that are left over:
// those retired over retiredGrace ago, and those of
// uploads begun over stagingStale ago that never published (their process
// died, or its transaction). Uploads sweep before they stage.
func (s *Store) SweepStaging(ctx context.Context) error {
	var names []string
	err := s.db.Each(ctx, nil, `SELECT DISTINCT study FROM lab_subjects WHERE substr(study, 1, 1) = $1
		UNION SELECT DISTINCT study FROM lab_staged_history`, []any{stagingMark}, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		names = append(names, name)
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now()
	for _, name := range names {
		kind, at, ok := parseStagingName(name)
		switch {
		case !ok:
			continue
		case kind == retiredKind && now.Sub(at) > retiredGrace, kind == pendingKind && now.Sub(at) > stagingStale:
			if err := s.deleteGenerations(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteGenerations deletes the generations under name and their history
// records, a few subjects a transaction: one at first, then as many as
// make about deleteRowsPerStep rows at the last step's rows per subject,
// at most deleteSubjectsPerStep. A subject's rows and its row of
// lab_subjects go in the same transaction, so that a reader by the
// subject's id finds all of its rows or none (see LabsOf).
func (s *Store) deleteGenerations(ctx context.Context, name string) error {
	per := 1
	for {
		var ids []any
		var deleted int64
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			ids = ids[:0]
			err := s.db.Each(ctx, tx, `SELECT id FROM lab_subjects WHERE study = $1 LIMIT `+strconv.Itoa(per),
				[]any{name}, func(r *sql.Rows) error {
					var id int64
					err := r.Scan(&id)
					ids = append(ids, id)
					return err
				})
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				_, err := tx.ExecContext(ctx, `DELETE FROM lab_staged_history WHERE study = $1`, name)
				return err
			}
			in := sqldb.Placeholders(1, len(ids))
			res, err := tx.ExecContext(ctx, `DELETE FROM lab_results WHERE subject_id IN (`+in+`)`, ids...)
			if err != nil {
				return err
			}
			if deleted, err = res.RowsAffected(); err != nil {
				return err
			}
			// The subjects' staged history goes with them, so that what is
			// left for the last step (history of no staged subject) is
			// small, however many changes the upload staged.
			if _, err := tx.ExecContext(ctx, `DELETE FROM lab_staged_history WHERE study = $1 AND usubjid IN (SELECT usubjid FROM lab_subjects WHERE id IN (`+
				sqldb.Placeholders(2, len(ids))+`))`, append([]any{name}, ids...)...); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM lab_subjects WHERE id IN (`+in+`)`, ids...)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		per = deleteSubjectsPerStep
		if deleted > 0 {
			per = int(min(max(int64(len(ids))*deleteRowsPerStep/deleted, 1), deleteSubjectsPerStep))
		}
	}
}
