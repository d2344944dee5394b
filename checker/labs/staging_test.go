package labs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func alt(usubjid string, seq int, value float64) clinical.LabResult {
	return clinical.LabResult{Study: "S", USUBJID: usubjid, Seq: seq, TestCode: "ALT", Test: "Alanine Aminotransferase",
		Category: "CHEMISTRY", Value: value, HasValue: true, Unit: "U/L", Date: clinical.Date(fmt.Sprintf("2014-01-%02d", seq))}
}

// values is a subject's lab results as LBSEQ → value, read as a check
// reads them.
func values(t *testing.T, s *labs.Store, usubjid string) map[int]float64 {
	t.Helper()
	got, err := s.Labs(context.Background(), "S", usubjid)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]float64{}
	for _, l := range got {
		out[l.Seq] = l.Value
	}
	return out
}

func count(t *testing.T, db *sqldb.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sameValues(got, want map[int]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// stagedFixture stores A (LBSEQ 1, 2) and B (LBSEQ 1) directly and reads
// them once, so the store holds snapshots of their versions.
func stagedFixture(t *testing.T, db *sqldb.DB) (*labs.Store, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	s, err := labs.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutLabs(ctx, "S", []clinical.LabResult{alt("A", 1, 10), alt("A", 2, 20), alt("B", 1, 5)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	values(t, s, "A")
	values(t, s, "B")
	versions, err := s.VersionsTx(ctx, nil, "S", []string{"A", "B", "C"})
	if err != nil {
		t.Fatal(err)
	}
	return s, versions
}

// An upload's lab results staged chunk by chunk are out of every reader's
// sight — the subject's rows, versions, entry lags, history — until the
// transaction publishing them commits; then all of them are there at
// once, compared and recorded as one write of them all would have been.
func TestStagedLabsAreSeenOnlyOncePublished(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, before := stagedFixture(t, db)
		lagsBefore, err := s.EntryLags(ctx, "S")
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stage(ctx, "S", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx, false)
		var firsts []string
		rows := labs.NewRows([]clinical.LabResult{alt("A", 1, 11), alt("A", 3, 30), alt("C", 1, 7)})
		rows.FirstLabs = func(id string) { firsts = append(firsts, id) }
		sum1, err := st.Put(ctx, rows)
		if err != nil {
			t.Fatal(err)
		}
		// LBSEQ 3 of A again: compared with what the chunk before staged.
		sum2, err := st.Put(ctx, labs.NewRows([]clinical.LabResult{alt("A", 3, 31), alt("B", 1, 5)}))
		if err != nil {
			t.Fatal(err)
		}
		if sum1.Inserted != 2 || sum1.Updated != 1 || sum2.Updated != 1 || sum2.Unchanged != 1 || sum2.Inserted != 0 {
			t.Errorf("summaries %+v, %+v; want 2 inserted and 1 updated, then 1 updated and 1 unchanged", sum1, sum2)
		}
		if len(firsts) != 1 || firsts[0] != "C" {
			t.Errorf("subjects given their first lab results: %v, want [C]", firsts)
		}

		// Staged: nothing shows.
		if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 10, 2: 20}) {
			t.Errorf("A while staged: %v, want what was stored before", got)
		}
		if got := values(t, s, "C"); len(got) != 0 {
			t.Errorf("C while staged: %v, want none", got)
		}
		if v, err := s.VersionsTx(ctx, nil, "S", []string{"A", "B", "C"}); err != nil || len(v) != 2 || v["A"] != before["A"] || v["B"] != before["B"] {
			t.Errorf("versions while staged: %v, %v; want %v", v, err, before)
		}
		if lags, err := s.EntryLags(ctx, "S"); err != nil || len(lags) != len(lagsBefore) {
			t.Errorf("entry lags while staged: %v, %v; want those of A and B", lags, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_results_history`); n != 0 {
			t.Errorf("%d history records while staged, want 0", n)
		}

		if err := s.InTx(ctx, func(tx *sql.Tx) error { return st.PublishTx(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		st.Close(ctx, true)

		if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 11, 2: 20, 3: 31}) {
			t.Errorf("A once published: %v, want LBSEQ 1 changed, 2 kept, 3 added", got)
		}
		if got := values(t, s, "C"); !sameValues(got, map[int]float64{1: 7}) {
			t.Errorf("C once published: %v", got)
		}
		after, err := s.VersionsTx(ctx, nil, "S", []string{"A", "B", "C"})
		if err != nil {
			t.Fatal(err)
		}
		if after["A"] != before["A"]+1 || after["B"] != before["B"] || after["C"] != 1 {
			t.Errorf("versions once published: %v; before %v: want A moved by one, B unmoved, C 1", after, before)
		}
		var key, study string
		if err := db.QueryRowContext(ctx, `SELECT row_key, study FROM lab_results_history WHERE after LIKE '%"value":"11"%'`).Scan(&key, &study); err != nil {
			t.Fatalf("the history record of A's LBSEQ 1: %v", err)
		}
		if key != "S\x1fA\x1f1" || study != "S" {
			t.Errorf("history record filed as %q, %q; want the study's", key, study)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_results_history`); n != 2 {
			t.Errorf("%d history records, want 2 (A's LBSEQ 1, and 3 as the upload changed it)", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_staged_history`); n != 0 {
			t.Errorf("%d staged history records left", n)
		}
		// Nothing is left out of sight: Close deleted A's retired
		// generation (B, unchanged, got none).
		if n := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study <> 'S'`); n != 0 {
			t.Errorf("%d generations out of sight, want 0 (A's retired one deleted)", n)
		}
	})
}

// Publishing an upload deletes the lab results it replaced as soon as
// its transaction has committed (Close), whatever their number, in steps
// that each delete whole subjects: no sweep, and no later upload, is
// needed, and nothing is left out of sight.
func TestPublishDeletesWhatItReplaced(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := stagedFixture(t, db)
		upload := func(value float64) {
			t.Helper()
			var rows []clinical.LabResult
			for i := range 100 {
				for seq := 1; seq <= 3; seq++ {
					rows = append(rows, alt(fmt.Sprintf("X%03d", i), seq, value))
				}
			}
			st, err := s.Stage(ctx, "S", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Put(ctx, labs.NewRows(rows)); err != nil {
				t.Fatal(err)
			}
			err = s.InTx(ctx, func(tx *sql.Tx) error { return st.PublishTx(ctx, tx) })
			st.Close(ctx, err == nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		upload(1)
		oldIDs := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study = 'S'`)
		upload(2) // replaces every X subject's lab results
		if n := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study <> 'S'`); n != 0 {
			t.Errorf("%d generations left out of sight after publishing, want 0", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_results r WHERE NOT EXISTS (SELECT 1 FROM lab_subjects s WHERE s.id = r.subject_id)`); n != 0 {
			t.Errorf("%d lab results of no subject, want 0", n)
		}
		if n, want := count(t, db, `SELECT COUNT(*) FROM lab_results`), 100*3+3; n != want {
			t.Errorf("%d lab results stored, want %d: those of the last upload and of A and B", n, want)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study = 'S'`); n != oldIDs {
			t.Errorf("%d subjects, want %d", n, oldIDs)
		}
		if got := values(t, s, "X042"); !sameValues(got, map[int]float64{1: 2, 2: 2, 3: 2}) {
			t.Errorf("X042: %v, want the last upload's", got)
		}
	})
}

// A check that read a subject's id just before an upload replaced its
// lab results, and its old ones were deleted, reads the new ones rather
// than none; one whose subject is replaced again and again gives up with
// an error rather than return nothing.
func TestReaderOfReplacedLabs(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := stagedFixture(t, db)
		replace := func(value float64) {
			st, err := s.Stage(ctx, "S", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Put(ctx, labs.NewRows([]clinical.LabResult{alt("A", 1, value)})); err != nil {
				t.Fatal(err)
			}
			err = s.InTx(ctx, func(tx *sql.Tx) error { return st.PublishTx(ctx, tx) })
			st.Close(ctx, err == nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		// A reader with no snapshots: it reads the rows by subject id.
		reader, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		labs.SetBeforeRows(reader, func() {
			if calls++; calls == 1 {
				replace(11) // between the reader's ids and its rows
			}
		})
		got, err := reader.LabsOf(ctx, "S", []string{"A", "B"}, 2)
		if err != nil {
			t.Fatal(err)
		}
		a := map[int]float64{}
		for _, l := range got["A"] {
			a[l.Seq] = l.Value
		}
		if !sameValues(a, map[int]float64{1: 11, 2: 20}) || len(got["B"]) != 1 || calls != 2 {
			t.Errorf("A read across its replacement: %v, B %d results, %d reads; want A's new results, B's one, 2 reads", a, len(got["B"]), calls)
		}

		// Replaced before every read: a few reads, then an error.
		other, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		calls = 0
		labs.SetBeforeRows(other, func() { calls++; replace(float64(100 + calls)) })
		if got, err := other.LabsOf(ctx, "S", []string{"A"}, 1); err == nil || !strings.Contains(err.Error(), "replaced") {
			t.Errorf("A replaced before every read: %v, %v; want an error", got["A"], err)
		}
		if calls > 5 {
			t.Errorf("%d reads, want a few", calls)
		}
	})
}

// An upload that fails leaves nothing, seen or unseen.
func TestStagedLabsNotPublishedLeaveNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := stagedFixture(t, db)
		rowsBefore := count(t, db, `SELECT COUNT(*) FROM lab_results`)
		st, err := s.Stage(ctx, "S", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(ctx, labs.NewRows([]clinical.LabResult{alt("A", 1, 99), alt("C", 1, 7)})); err != nil {
			t.Fatal(err)
		}
		st.Close(ctx, false)
		if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 10, 2: 20}) {
			t.Errorf("A: %v, want what was stored before", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_results`); n != rowsBefore {
			t.Errorf("%d lab_results rows, want the %d from before", n, rowsBefore)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study <> 'S'`) + count(t, db, `SELECT COUNT(*) FROM lab_staged_history`); n != 0 {
			t.Errorf("%d staged rows left", n)
		}
	})
}

// A write of the same subjects by another process (here another store)
// after the upload staged them makes publishing fail rather than lose it.
func TestStagedLabsConflictWithAWriteMeanwhile(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := stagedFixture(t, db)
		other, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stage(ctx, "S", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(ctx, labs.NewRows([]clinical.LabResult{alt("A", 1, 11)})); err != nil {
			t.Fatal(err)
		}
		if _, err := other.PutLabs(ctx, "S", []clinical.LabResult{alt("A", 2, 21)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *sql.Tx) error { return st.PublishTx(ctx, tx) })
		st.Close(ctx, err == nil)
		if !errors.Is(err, clinical.ErrConflict) {
			t.Fatalf("publishing over a write made meanwhile: %v, want ErrConflict", err)
		}
		if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 10, 2: 21}) {
			t.Errorf("A: %v, want the other write's alone", got)
		}
	})
}

// On PostgreSQL the staging steps commit without waiting for the disk: a
// crash of the server may lose them, and ends every connection, among
// them the staging's. Publishing once that connection is gone (here ended
// by the test, as a restart ends it) fails rather than publish what may
// be partial, and the upload leaves nothing.
func TestStagedLabsNotPublishedOnceTheStagingConnectionIsGone(t *testing.T) {
	ctx := context.Background()
	app := "staging-lost-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	db, err := sqldb.Open(ctx, sqldbtest.PostgresDSN(t)+"&application_name="+app)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, _ := stagedFixture(t, db)
	st, err := s.Stage(ctx, "S", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, labs.NewRows([]clinical.LabResult{alt("A", 1, 11), alt("C", 1, 7)})); err != nil {
		t.Fatal(err)
	}
	// Every idle connection of this test's, the staging's among them; the
	// pool replaces the others when next used.
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid() AND state = 'idle'`, app); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error { return st.PublishTx(ctx, tx) })
	st.Close(ctx, err == nil)
	if !errors.Is(err, sqldb.ErrSessionLost) {
		t.Fatalf("publishing once the staging connection is gone: %v, want ErrSessionLost", err)
	}
	if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 10, 2: 20}) {
		t.Errorf("A: %v, want what was stored before", got)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study <> 'S'`) + count(t, db, `SELECT COUNT(*) FROM lab_staged_history`); n != 0 {
		t.Errorf("%d staged rows left", n)
	}
}

// The sweep deletes what no reader can see and no upload will publish:
// retired generations past their grace, uploads begun long ago; and keeps
// what a check or a live upload may still use.
func TestSweepStaging(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := stagedFixture(t, db)
		name := func(kind string, age time.Duration) string {
			return "\x1f" + kind + " " + strconv.FormatInt(time.Now().Add(-age).UnixMilli(), 10) + " 0"
		}
		names := map[string]bool{ // → kept
			name("retired", 2*time.Minute): false,
			name("retired", time.Second):   true,
			name("upload", 2*time.Hour):    false,
			name("upload", time.Minute):    true,
		}
		for n := range names {
			err := s.InTx(ctx, func(tx *sql.Tx) error {
				var id int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO lab_subjects (study, usubjid, version) VALUES ($1, 'A', 1) RETURNING id`, n).Scan(&id); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO lab_results (subject_id, seq, test_id, baseline, lab_date, visit)
					SELECT $1, 1, id, FALSE, '2014-01-01', '' FROM lab_tests LIMIT 1`, id)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SweepStaging(ctx); err != nil {
			t.Fatal(err)
		}
		for n, kept := range names {
			rows := count(t, db, `SELECT COUNT(*) FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id WHERE s.study = $1`, n)
			if subjects := count(t, db, `SELECT COUNT(*) FROM lab_subjects WHERE study = $1`, n); (subjects == 1 && rows == 1) != kept || (subjects == 0 && rows == 0) == kept {
				t.Errorf("%q: %d subjects, %d rows after the sweep; kept: want %v", n, subjects, rows, kept)
			}
		}
		if got := values(t, s, "A"); !sameValues(got, map[int]float64{1: 10, 2: 20}) {
			t.Errorf("A: %v, want untouched", got)
		}
	})
}
