// Package labs is the checker's store of lab results (SDTM LB): stored
// narrow, each result referring to its subject and its test by id, with
// change detection and history, and kept per subject as snapshots that
// checks reuse while the subject's lab version has not moved.
package labs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialwatch/trialwatch/checker/schema"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

// Store keeps the checker's lab results.
type Store struct {
	db *sqldb.DB
	// tests caches rows of lab_tests by id. They are never changed or
	// deleted, so an entry never goes stale. Copied on write: every check
	// reads it, and a study's tests are added rarely and all at once.
	tests atomic.Pointer[map[int64]labTest]
	addMu sync.Mutex // serialises copies of tests

	snapshots labSnapshots

	uploads sync.Map // study → chan struct{}: its staged upload's turn, see Stage

	beforeRows func() // tests: called in LabsOf before reading rows by subject id
}

// Open applies the checker's migrations and returns its lab store,
// having swept what uploads left staged (see SweepStaging).
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := schema.Migrate(ctx, db); err != nil {
		return nil, err
	}
	s := &Store{db: db}
	if err := s.SweepStaging(ctx); err != nil {
		slog.Warn("sweeping the lab results of uploads not published failed; the next upload tries again", "err", err)
	}
	return s, nil
}

// A lab result refers to its subject (study, USUBJID) in lab_subjects by
// subject_id and to its test (code, name, category, unit) in lab_tests by
// test_id: see migrations 00007 and 00008 (SQLite), 00006 and 00007
// (PostgreSQL). Change detection reads and compares rows with the
// subject's study and USUBJID (the columns of labTable), read from
// lab_results_view; writeLabsTx stores them with the subject's id.
var labTable = tracked.Table{
	Name:    "lab_results",
	Cols:    []string{"study", "usubjid", "seq", "test_id", "value", "low", "high", "baseline", "lab_date", "visit"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "lab_results_history",
	Read:    "lab_results_view",
}

// labStored are the lab_results columns a write gives: labTable's with
// subject_id in place of study and usubjid. The database fills stored_day
// on insert (see EntryLags).
var labStored = []string{"subject_id", "seq", "test_id", "value", "low", "high", "baseline", "lab_date", "visit"}

// testIDCol is where a lab_results row holds its test_id.
const testIDCol = 3

// labTest is what a test_id stands for.
type labTest struct{ code, name, category, unit string }

func testOf(r clinical.LabResult) labTest {
	return labTest{r.TestCode, r.Test, r.Category, r.Unit}
}

// Rows are lab results in the form PutRowsTx stores them, made
// ahead of the transaction: a caller streaming a file can so make one
// chunk's rows while the one before is being written. Each row's test_id
// is filled in when stored, from the row's test.
type Rows struct {
	rows   [][]any
	tests  []labTest // distinct
	testOf []int32   // per row, its test's index in tests
	index  map[labTest]int32

	// FirstLabs, when set, is called within the transaction storing the
	// rows with each subject they give its first lab results.
	FirstLabs func(usubjid string)
}

// NewRows makes the rows of labs; it needs no database.
func NewRows(labs []clinical.LabResult) Rows {
	var r Rows
	n := len(labTable.Cols)
	vals := make([]any, 0, len(labs)*n) // one allocation for all rows' values
	r.rows = make([][]any, len(labs))
	r.testOf = make([]int32, len(labs))
	// Rows in file order repeat most of the previous row's values (study,
	// subject, range): each column reuses the value boxed for the row
	// before when it is the same, rather than allocating it again.
	var study, usubjid sqldb.BoxedString
	var low, high sqldb.BoxedFloat
	for i, l := range labs {
		// int64, not int: database/sql converts an int by reflection.
		vals = append(vals, study.Box(l.Study), usubjid.Box(l.USUBJID), int64(l.Seq), nil,
			sqldb.NullFloat(l.Value, l.HasValue), low.Box(l.Low, l.HasLow), high.Box(l.High, l.HasHigh),
			l.Baseline, string(l.Date), l.Visit)
		r.rows[i] = vals[i*n : (i+1)*n : (i+1)*n]
		r.testOf[i] = r.testIndex(testOf(l))
	}
	return r
}

// testIndex returns t's index in r.tests, adding it if new.
func (r *Rows) testIndex(t labTest) int32 {
	if r.index == nil {
		r.index = map[labTest]int32{}
	}
	i, ok := r.index[t]
	if !ok {
		i = int32(len(r.tests))
		r.tests = append(r.tests, t)
		r.index[t] = i
	}
	return i
}

// Len is how many lab results rows holds.
func (r Rows) Len() int { return len(r.rows) }

// Append adds o's rows after r's, as NewRows of both results would.
func (r *Rows) Append(o Rows) {
	r.rows = append(r.rows, o.rows...)
	for _, i := range o.testOf {
		r.testOf = append(r.testOf, r.testIndex(o.tests[i]))
	}
}

// Join is the rows of parts, each a *Rows from NewRows (as an upload
// prepared them), one after the other, for one write.
func Join[P any](parts []P) Rows {
	rows := *any(parts[0]).(*Rows)
	for _, p := range parts[1:] {
		rows.Append(*any(p).(*Rows))
	}
	return rows
}

// InTx runs fn in a transaction on the checker's database.
func (s *Store) InTx(ctx context.Context, fn func(*sql.Tx) error) error { return s.db.InTx(ctx, fn) }

// PutLabs stores one study's lab results, all or nothing. Unchanged rows
// are left alone; changed ones are updated and recorded in
// lab_results_history.
func (s *Store) PutLabs(ctx context.Context, study string, labs []clinical.LabResult, now time.Time) (sum clinical.Summary, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		sum, err = s.PutLabsTx(ctx, tx, study, labs, now)
		return err
	})
	return sum, err
}

// PutLabsTx is PutLabs within the caller's transaction.
func (s *Store) PutLabsTx(ctx context.Context, tx *sql.Tx, study string, labs []clinical.LabResult, now time.Time) (clinical.Summary, error) {
	return s.PutRowsTx(ctx, tx, study, NewRows(labs), now)
}

// PutRowsTx is PutLabsTx of the lab results rows was made of.
func (s *Store) PutRowsTx(ctx context.Context, tx *sql.Tx, study string, rows Rows, now time.Time) (clinical.Summary, error) {
	tests, err := s.assignTests(ctx, tx, study, rows)
	if err != nil {
		return clinical.Summary{}, err
	}
	t := labTable
	t.Expand = tests.expand
	t.Write = func(ctx context.Context, tx *sql.Tx, stored [][]any) error {
		return s.writeLabsTx(ctx, tx, study, stored, rows.FirstLabs)
	}
	put, err := tracked.PutTx(ctx, s.db, tx, t, study, rows.rows, now)
	sum := clinical.Summary(put)
	if err != nil {
		return sum, err
	}
	return sum, s.bumpVersionsTx(ctx, tx, study, sum.Subjects)
}

// assignTests stores the tests of rows not stored yet and fills in each
// row's test_id; it returns the study's tests.
func (s *Store) assignTests(ctx context.Context, tx *sql.Tx, study string, rows Rows) (studyTests, error) {
	tests, err := s.labTestsTx(ctx, tx, study, rows.tests)
	if err != nil {
		return tests, fmt.Errorf("storing lab tests: %w", err)
	}
	ids := make([]any, len(rows.tests))
	for i, t := range rows.tests {
		ids[i] = tests.ids[t]
	}
	for i, r := range rows.rows {
		r[testIDCol] = ids[rows.testOf[i]]
	}
	return tests, nil
}

// writeLabsTx stores rows of labTable's columns as lab_results rows,
// adding the subjects not in lab_subjects yet, and tells first (unless
// nil) of each subject this gives its first lab results.
func (s *Store) writeLabsTx(ctx context.Context, tx *sql.Tx, study string, rows [][]any, first func(usubjid string)) error {
	if len(rows) == 0 {
		return nil
	}
	var subjects []string
	seen := map[any]bool{}
	for i, r := range rows {
		if i > 0 && r[1] == rows[i-1][1] {
			continue // rows come grouped by subject
		}
		if !seen[r[1]] {
			seen[r[1]] = true
			subjects = append(subjects, sqldb.String(r[1]))
		}
	}
	known, err := s.labSubjectsTx(ctx, tx, study, subjects, true)
	if err != nil {
		return fmt.Errorf("storing lab subjects: %w", err)
	}
	if first != nil {
		for _, id := range subjects {
			// Version 0: added just now, its first write not yet counted
			// (PutRowsTx counts it next); a row another upload added
			// meanwhile has its versions counted already.
			if known[id].version == 0 {
				first(id)
			}
		}
	}
	n := len(labStored)
	vals := make([]any, 0, len(rows)*n)
	stored := make([][]any, len(rows))
	var id any
	for i, r := range rows {
		if i == 0 || r[1] != rows[i-1][1] {
			id = known[sqldb.String(r[1])].id
		}
		vals = append(vals, id)
		vals = append(vals, r[2:]...)
		stored[i] = vals[i*n : (i+1)*n : (i+1)*n]
	}
	return s.db.Upsert(ctx, tx, "lab_results", labStored, labStored[:2], stored)
}

// EntryLag counts a subject's lab results by how late they were entered:
// Late, stored more than LateAfter days after their date, of Dated, those
// with a known entry lag (a full date, first stored since stored_day is
// recorded). It is the count the site KRIs take.
type EntryLag = kri.EntryLags

// LateAfter is how many days after its date a lab result may be entered
// before it counts as late (gsm's kri0010: data entry lag over 10 days).
const LateAfter = 10

// EntryLags returns, per USUBJID of the study's subjects with lab results,
// how many were entered late: the days from a result's date (LBDTC, when
// a full date) to the day it was first stored (stored_day, which updates
// keep), counted in the database. A result whose date an update corrects
// is measured from its corrected date.
func (s *Store) EntryLags(ctx context.Context, study string) (map[string]EntryLag, error) {
	// SQLite keeps each row's lag (entry_lag, a stored generated column);
	// PostgreSQL reckons it as it reads.
	lag := `r.entry_lag`
	if s.db.Dialect == sqldb.Postgres {
		lag = `CASE WHEN length(r.lab_date) >= 10 THEN r.stored_day - (CAST(substr(r.lab_date, 1, 10) AS DATE) - DATE '1970-01-01') END`
	}
	// Counted per subject id, then named: the join then runs once per
	// subject rather than once per row.
	rows, err := s.db.QueryContext(ctx, `SELECT s.usubjid, c.late, c.dated FROM lab_subjects s JOIN (
			SELECT r.subject_id, COALESCE(SUM(CASE WHEN `+lag+` > `+strconv.Itoa(LateAfter)+` THEN 1 ELSE 0 END), 0) AS late, COUNT(`+lag+`) AS dated
			FROM lab_results r WHERE r.subject_id IN (SELECT id FROM lab_subjects WHERE study = $1) GROUP BY r.subject_id) c
		ON c.subject_id = s.id`, study)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]EntryLag{}
	for rows.Next() {
		var id string
		var l EntryLag
		if err := rows.Scan(&id, &l.Late, &l.Dated); err != nil {
			return nil, err
		}
		out[id] = l
	}
	return out, rows.Err()
}

// studyTests is a study's lab_tests both ways.
type studyTests struct {
	ids  map[labTest]any // boxed int64
	byID map[string]labTest
}

// expand puts a history record's test in place of its test_id, so that
// the record has the columns lab_results had before lab_tests.
func (st studyTests) expand(row map[string]string) {
	t, ok := st.byID[row["test_id"]]
	if !ok {
		return
	}
	delete(row, "test_id")
	row["test_code"], row["test"], row["category"], row["unit"] = t.code, t.name, t.category, t.unit
}

// labTestsTx adds the tests not yet stored for the study and returns all
// of the study's, within tx.
func (s *Store) labTestsTx(ctx context.Context, tx *sql.Tx, study string, tests []labTest) (studyTests, error) {
	st, err := s.studyTestsTx(ctx, tx, study)
	if err != nil {
		return st, err
	}
	var add [][]any
	for _, t := range tests {
		if _, ok := st.ids[t]; !ok {
			add = append(add, []any{study, t.code, t.name, t.category, t.unit})
		}
	}
	if len(add) == 0 {
		return st, nil
	}
	// DO NOTHING: a concurrent upload (PostgreSQL) may have added some.
	if err := s.db.WriteRows(ctx, tx, "INSERT INTO lab_tests (study, test_code, test, category, unit) VALUES ",
		" ON CONFLICT (study, test_code, test, category, unit) DO NOTHING", 5, add); err != nil {
		return st, err
	}
	return s.studyTestsTx(ctx, tx, study)
}

func (s *Store) studyTestsTx(ctx context.Context, tx *sql.Tx, study string) (studyTests, error) {
	st := studyTests{ids: map[labTest]any{}, byID: map[string]labTest{}}
	err := s.scanTests(ctx, tx, study, func(id int64, t labTest) {
		st.ids[t] = id
		st.byID[strconv.FormatInt(id, 10)] = t
	})
	return st, err
}

// scanTests calls fn with each of the study's lab tests.
func (s *Store) scanTests(ctx context.Context, tx *sql.Tx, study string, fn func(int64, labTest)) error {
	rows, err := s.db.QueryCached(ctx, tx, `SELECT id, test_code, test, category, unit FROM lab_tests WHERE study = $1`, study)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t labTest
		if err := rows.Scan(&id, &t.code, &t.name, &t.category, &t.unit); err != nil {
			return err
		}
		fn(id, t)
	}
	return rows.Err()
}

// labTest returns the lab test of id, reading the study's tests into the
// cache when it is not there yet.
func (s *Store) labTest(ctx context.Context, study string, id int64) (labTest, error) {
	if m := s.tests.Load(); m != nil {
		if t, ok := (*m)[id]; ok {
			return t, nil
		}
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	m := map[int64]labTest{}
	if old := s.tests.Load(); old != nil {
		maps.Copy(m, *old)
	}
	if err := s.scanTests(ctx, nil, study, func(id int64, t labTest) { m[id] = t }); err != nil {
		return labTest{}, fmt.Errorf("reading lab tests: %w", err)
	}
	s.tests.Store(&m)
	if t, ok := m[id]; ok {
		return t, nil
	}
	return labTest{}, fmt.Errorf("lab result of study %s refers to lab test %d, which is not stored", study, id)
}

// Labs returns a subject's lab results ordered by date then LBSEQ, from
// the store's snapshot of them when it is of their current version (see
// labSnapshots). The caller must not change them.
func (s *Store) Labs(ctx context.Context, study, usubjid string) ([]clinical.LabResult, error) {
	labs, err := s.LabsOf(ctx, study, []string{usubjid}, 1)
	return labs[usubjid], err
}

// labsPerSubjectHint is about how many lab results a subject has (the
// pilot's average is 195).
const labsPerSubjectHint = 256

// labsOf reads the lab results of several subjects of a study, by their
// ids in lab_subjects, in one query, each subject's ordered by date then
// LBSEQ; a subject without labs has none in the map. The IN list is
// padded to width (repeating the last subject) so that batches of any
// size up to width share one prepared statement.
func (s *Store) labsOf(ctx context.Context, study string, ids map[string]int64, width int) (map[string][]clinical.LabResult, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, max(width, len(ids)))
	subjectOf := make(map[int64]string, len(ids))
	for usubjid, id := range ids {
		args = append(args, id)
		subjectOf[id] = usubjid
	}
	for len(args) < cap(args) {
		args = append(args, args[len(args)-1])
	}
	rows, err := s.db.QueryCached(ctx, nil, `SELECT subject_id, seq, test_id, value, low, high, baseline, lab_date, visit
		FROM lab_results WHERE subject_id IN (`+sqldb.Placeholders(1, len(args))+`) ORDER BY subject_id, seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Scanning into any takes database/sql's fast path; the conversions
	// below are what its reflection would do, for the types both drivers
	// return.
	var vals [9]any
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	// Every subject's, one after the other; sized for a typical subject's
	// labs so that a batch's rows are not copied over and over as the
	// slice grows (those copies were a fifth of the check phase's memory).
	all := make([]clinical.LabResult, 0, labsPerSubjectHint*len(ids))
	var bounds []int // where each subject's start in all
	var order []string
	lastSubject := int64(-1)
	var test labTest
	lastTest := int64(-1)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if id := sqldb.Int(vals[0]); id != lastSubject {
			order = append(order, subjectOf[id])
			bounds = append(bounds, len(all))
			lastSubject = id
		}
		if tid := sqldb.Int(vals[2]); tid != lastTest {
			if test, err = s.labTest(ctx, study, tid); err != nil {
				return nil, err
			}
			lastTest = tid
		}
		r := clinical.LabResult{Study: study, USUBJID: order[len(order)-1], Seq: int(sqldb.Int(vals[1])),
			TestCode: test.code, Test: test.name, Category: test.category, Unit: test.unit,
			Baseline: sqldb.Int(vals[6]) != 0, Date: clinical.Date(sqldb.String(vals[7])), Visit: sqldb.String(vals[8])}
		r.Value, r.HasValue = sqldb.Float(vals[3])
		r.Low, r.HasLow = sqldb.Float(vals[4])
		r.High, r.HasHigh = sqldb.Float(vals[5])
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string][]clinical.LabResult, len(order))
	bounds = append(bounds, len(all))
	for i, id := range order {
		labs := all[bounds[i]:bounds[i+1]:bounds[i+1]] // full slice: an append copies, not overwrites the next subject
		// Sorted here rather than by the query: in key order SQLite
		// reads the rows without a sorter.
		sortLabs(labs)
		out[id] = labs
	}
	return out, nil
}
