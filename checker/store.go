package checker

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store keeps what the checker owns: lab results and the signals raised.
type Store struct {
	db *sqldb.DB
	// tests caches rows of lab_tests by id. They are never changed or
	// deleted, so an entry never goes stale. Copied on write: every check
	// reads it, and a study's tests are added rarely and all at once.
	tests atomic.Pointer[map[int64]labTest]
	addMu sync.Mutex // serialises copies of tests

	snapshots labSnapshots
}

// OpenStore applies the checker's migrations and returns its store.
func OpenStore(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "checker_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// A lab result refers to its subject (study, USUBJID) in lab_subjects by
// subject_id and to its test (code, name, category, unit) in lab_tests by
// test_id: see migrations 00007 and 00008 (SQLite), 00006 and 00007
// (PostgreSQL). Change detection reads and compares rows with the
// subject's study and USUBJID (the columns of labTable), read from
// lab_results_view; writeLabsTx stores them with the subject's id.
var labTable = sqldb.Table{
	Name:    "lab_results",
	Cols:    []string{"study", "usubjid", "seq", "test_id", "value", "low", "high", "baseline", "lab_date", "visit"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "lab_results_history",
	Read:    "lab_results_view",
}

// labStored are lab_results' columns: labTable's with subject_id in
// place of study and usubjid.
var labStored = []string{"subject_id", "seq", "test_id", "value", "low", "high", "baseline", "lab_date", "visit"}

// testIDCol is where a lab_results row holds its test_id.
const testIDCol = 3

// labTest is what a test_id stands for.
type labTest struct{ code, name, category, unit string }

func testOf(r clinical.LabResult) labTest {
	return labTest{r.TestCode, r.Test, r.Category, r.Unit}
}

// LabRows are lab results in the form PutLabRowsTx stores them, made
// ahead of the transaction: a caller streaming a file can so make one
// chunk's rows while the one before is being written. Each row's test_id
// is filled in when stored, from the row's test.
type LabRows struct {
	rows   [][]any
	tests  []labTest // distinct
	testOf []int32   // per row, its test's index in tests
	index  map[labTest]int32

	// FirstLabs, when set, is called within the transaction storing the
	// rows with each subject they give its first lab results.
	FirstLabs func(usubjid string)
}

// NewLabRows makes the rows of labs; it needs no database.
func NewLabRows(labs []clinical.LabResult) LabRows {
	var r LabRows
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
func (r *LabRows) testIndex(t labTest) int32 {
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
func (r LabRows) Len() int { return len(r.rows) }

// Append adds o's rows after r's, as NewLabRows of both results would.
func (r *LabRows) Append(o LabRows) {
	r.rows = append(r.rows, o.rows...)
	for _, i := range o.testOf {
		r.testOf = append(r.testOf, r.testIndex(o.tests[i]))
	}
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
	return s.PutLabRowsTx(ctx, tx, study, NewLabRows(labs), now)
}

// PutLabRowsTx is PutLabsTx of the lab results rows was made of.
func (s *Store) PutLabRowsTx(ctx context.Context, tx *sql.Tx, study string, rows LabRows, now time.Time) (clinical.Summary, error) {
	tests, err := s.labTestsTx(ctx, tx, study, rows.tests)
	if err != nil {
		return clinical.Summary{}, fmt.Errorf("storing lab tests: %w", err)
	}
	ids := make([]any, len(rows.tests))
	for i, t := range rows.tests {
		ids[i] = tests.ids[t]
	}
	for i, r := range rows.rows {
		r[testIDCol] = ids[rows.testOf[i]]
	}
	t := labTable
	t.Expand = tests.expand
	t.Write = func(ctx context.Context, tx *sql.Tx, stored [][]any) error {
		return s.writeLabsTx(ctx, tx, study, stored, rows.FirstLabs)
	}
	tracked, err := s.db.PutTrackedTx(ctx, tx, t, study, rows.rows, now)
	sum := clinical.Summary(tracked)
	if err != nil {
		return sum, err
	}
	return sum, s.bumpLabVersionsTx(ctx, tx, study, sum.Subjects)
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
			// (PutLabRowsTx counts it next); a row another upload added
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
	labs, err := s.labsFor(ctx, study, []string{usubjid}, 1)
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

// SaveSignals stores signals and fills in their ID and creation time. A
// signal already raised for the same study, subject, rule and evidence key
// keeps its ID and creation time; its severity, evidence and message are
// refreshed, so re-checking never raises a duplicate.
func (s *Store) SaveSignals(ctx context.Context, sigs []clinical.Signal, now time.Time) error {
	if len(sigs) == 0 {
		return nil
	}
	rows, err := newSignalRows(sigs, now)
	if err != nil {
		return err
	}
	// One statement is atomic by itself: a transaction is needed only
	// around several, and without one SQLite holds its write lock for the
	// statement alone.
	if len(rows.rows) <= s.db.Dialect.RowsPerStatement(signalWriteCols) {
		return s.db.Writing(ctx, func() error { return s.saveSignalsTx(ctx, nil, rows) })
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.saveSignalsTx(ctx, tx, rows) })
}

// signalWriteCols is how many values SaveSignals writes per signal.
const signalWriteCols = 9

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

func newSignalRows(sigs []clinical.Signal, now time.Time) (signalRows, error) {
	r := signalRows{sigs: sigs, first: make(map[signalKey]int, len(sigs)), slot: make([]int, len(sigs))}
	for i := range sigs {
		sg := &sigs[i]
		ev, err := json.Marshal(sg.Evidence)
		if err != nil {
			return signalRows{}, fmt.Errorf("signal %s %s: evidence: %w", sg.Rule, sg.Key, err)
		}
		k := signalKey{sg.Study, sg.USUBJID, string(sg.Rule), sg.Key}
		j, dup := r.first[k]
		if !dup {
			j = len(r.rows)
			r.first[k] = j
			r.rows = append(r.rows, [signalWriteCols]any{})
		}
		r.slot[i] = j
		r.rows[j] = [signalWriteCols]any{sg.Study, sg.Site, sg.USUBJID, string(sg.Rule), int64(sg.Severity), sg.Key,
			string(ev), sg.Message, now.UnixMilli()}
	}
	return r, nil
}

// signalInsert and signalUpsert surround the VALUES of signals written:
// a signal already stored keeps its ID, creation time and status.
const (
	signalInsert = `INSERT INTO signals
		(study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at) VALUES `
	signalUpsert = `
		ON CONFLICT (study, usubjid, rule, evidence_key) DO UPDATE SET
			site = excluded.site, severity = excluded.severity, evidence = excluded.evidence, message = excluded.message`
)

// writeSignalsTx is saveSignalsTx for signals no one reads back: it
// leaves their IDs, creation times and statuses unset. The check workers'
// signals answer no request, and reading every written signal back
// (RETURNING) took a third of the time spent writing them, all of it
// holding SQLite's one write lock that the workers take in turn.
func (s *Store) writeSignalsTx(ctx context.Context, tx *sql.Tx, r signalRows) error {
	rows := make([][]any, len(r.rows))
	for i := range r.rows {
		rows[i] = r.rows[i][:]
	}
	return s.db.WriteRows(ctx, tx, signalInsert, signalUpsert, signalWriteCols, rows)
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

// SignalFilter selects signals of one study.
type SignalFilter struct {
	Study       string
	Site        string   // empty: all sites
	Sites       []string // when not nil, only these sites (a caller limited to some)
	USUBJID     string   // empty: all subjects
	MinSeverity clinical.Severity
	Status      clinical.SignalStatus // empty: any
	Limit       int                   // page size
	BeforeID    int64                 // paging: only IDs below this; 0 for the first page
}

// Signals lists signals newest first. next is the BeforeID of the following
// page, or 0 when this page is the last.
func (s *Store) Signals(ctx context.Context, f SignalFilter) (sigs []clinical.Signal, next int64, err error) {
	where := []string{"study = $1", "severity >= $2"}
	args := []any{f.Study, int(f.MinSeverity)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Site != "" {
		add("site =", f.Site)
	}
	if f.Sites != nil {
		in := make([]string, len(f.Sites))
		for i, site := range f.Sites {
			args = append(args, site)
			in[i] = "$" + strconv.Itoa(len(args))
		}
		if len(in) == 0 {
			in = []string{"NULL"} // no site: nothing matches
		}
		where = append(where, "site IN ("+strings.Join(in, ", ")+")")
	}
	if f.USUBJID != "" {
		add("usubjid =", f.USUBJID)
	}
	if f.Status != "" {
		add("status =", string(f.Status))
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
	}
	args = append(args, f.Limit+1) // one extra row tells whether a next page exists
	q := `SELECT ` + signalCols + ` FROM signals WHERE ` +
		strings.Join(where, " AND ") + " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		sg, err := scanSignal(rows, f.Study)
		if err != nil {
			return nil, 0, err
		}
		sigs = append(sigs, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(sigs) > f.Limit {
		sigs = sigs[:f.Limit]
		next = sigs[len(sigs)-1].ID
	}
	return sigs, next, nil
}

const signalCols = "id, site, usubjid, rule, severity, evidence_key, evidence, message, created_at, status, status_reason, updated_at"

// scanSignal reads one row selected with signalCols.
func scanSignal(row interface{ Scan(...any) error }, study string) (clinical.Signal, error) {
	sg := clinical.Signal{Study: study}
	var sev int
	var ev string
	var created, updated int64
	if err := row.Scan(&sg.ID, &sg.Site, &sg.USUBJID, &sg.Rule, &sev, &sg.Key, &ev, &sg.Message, &created,
		&sg.Status, &sg.Reason, &updated); err != nil {
		return sg, err
	}
	sg.Severity = clinical.Severity(sev)
	sg.Created = time.UnixMilli(created).UTC()
	if updated > 0 {
		sg.Updated = time.UnixMilli(updated).UTC()
	}
	if err := json.Unmarshal([]byte(ev), &sg.Evidence); err != nil {
		return sg, fmt.Errorf("signal %d: stored evidence is not JSON: %w", sg.ID, err)
	}
	return sg, nil
}
