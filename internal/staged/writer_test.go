package staged_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/internal/staged"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The exposure store's writer stands for the three: they differ only in
// the PutTx they hand the Writer.
func openStore(t *testing.T, db *sqldb.DB) *exposure.Store {
	t.Helper()
	s, err := exposure.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dose(usubjid string, seq int, treatment string) clinical.Dose {
	return clinical.Dose{Study: "S1", USUBJID: usubjid, Seq: seq, Treatment: treatment, Dose: 54, HasDose: true, Unit: "mg", Start: "2014-01-02"}
}

func stored(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM doses").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Chunks written apart are committed together, with one summary; each
// chunk is compared with what the earlier ones wrote, so changes across
// chunks are counted and kept in history as within one. Until Commit,
// readers see the rows as they were, without waiting for the writer.
func TestChunksCommitTogether(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := s.Put(ctx, "S1", []clinical.Dose{dose("A", 1, "PLACEBO")}, now); err != nil {
			t.Fatal(err)
		}
		w, err := s.WriteDoses(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		chunks := [][]clinical.Dose{
			{dose("A", 1, "PLACEBO"), dose("A", 2, "PLACEBO"), dose("A", 3, "PLACEBO")},          // unchanged, new, new
			{dose("B", 1, "XANOMELINE"), dose("A", 2, "XANOMELINE"), dose("A", 1, "XANOMELINE")}, // new, changed since chunk 1, changed
			{},
		}
		for i, c := range chunks {
			if err := w.Write(ctx, c); err != nil {
				t.Fatalf("chunk %d: %v", i+1, err)
			}
			readConcurrently(t, s, []clinical.Dose{dose("A", 1, "PLACEBO")})
		}
		sum, err := w.Commit(ctx)
		want := clinical.Summary{Inserted: 3, Updated: 2, Unchanged: 1, Subjects: []string{"A", "B"}}
		if err != nil || !reflect.DeepEqual(sum, want) {
			t.Fatalf("Commit = %+v, %v; want %+v", sum, err, want)
		}
		w.Abort() // after Commit: keeps everything
		got, err := s.Doses(ctx, "S1", "A")
		wantA := []clinical.Dose{dose("A", 1, "XANOMELINE"), dose("A", 2, "XANOMELINE"), dose("A", 3, "PLACEBO")}
		if err != nil || !reflect.DeepEqual(got, wantA) {
			t.Fatalf("subject A after commit: %+v, %v; want %+v", got, err, wantA)
		}
		if n := stored(t, db); n != 4 {
			t.Errorf("%d rows stored, want 4", n)
		}
		rows, err := db.QueryContext(ctx, "SELECT row_key, before, after FROM doses_history ORDER BY row_key")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var history []string
		for rows.Next() {
			var key, before, after string
			if err := rows.Scan(&key, &before, &after); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(before, `"treatment":"PLACEBO"`) || !strings.Contains(after, `"treatment":"XANOMELINE"`) {
				t.Errorf("history of %q: before %s after %s; want PLACEBO then XANOMELINE", key, before, after)
			}
			history = append(history, strings.ReplaceAll(key, "\x1f", "/"))
		}
		if want := []string{"S1/A/1", "S1/A/2"}; !reflect.DeepEqual(history, want) {
			t.Errorf("history of %v, want %v", history, want)
		}
		if err := w.Write(ctx, chunks[0]); err == nil {
			t.Error("Write after Commit succeeded")
		}
		if _, err := w.Commit(ctx); err == nil {
			t.Error("second Commit succeeded")
		}
	})
}

// readConcurrently reads subject A from several goroutines while a write
// is open and checks they see only what was committed before it.
func readConcurrently(t *testing.T, s *exposure.Store, want []clinical.Dose) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { // ends with its read, bounded by ctx
			got, err := s.Doses(ctx, "S1", "A")
			if err == nil && !reflect.DeepEqual(got, want) {
				err = errors.New("read uncommitted rows")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read while a write is open: %v", err)
		}
	}
}

// Abort keeps nothing, ends the write, and frees the database for the
// next writer at once.
func TestAbortKeepsNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		w, err := s.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, []clinical.Dose{dose("A", 1, "PLACEBO"), dose("A", 2, "PLACEBO")}); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		w.Abort()
		if n := stored(t, db); n != 0 {
			t.Errorf("%d rows stored after Abort, want 0", n)
		}
		if err := w.Write(ctx, []clinical.Dose{dose("A", 3, "PLACEBO")}); err == nil {
			t.Error("Write after Abort succeeded")
		}
		if _, err := w.Commit(ctx); err == nil {
			t.Error("Commit after Abort succeeded")
		}
		writeAgain(t, s)
	})
}

// writeAgain proves no write holds the database: a new one runs at once
// (on SQLite, a writer still holding the turn would make it wait, and
// the short deadline fail).
func writeAgain(t *testing.T, s *exposure.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // under busyTimeout
	defer cancel()
	if _, err := s.Put(ctx, "S1", []clinical.Dose{dose("Z", 1, "PLACEBO")}, time.Now()); err != nil {
		t.Fatalf("a write after the last ended: %v", err)
	}
}

// A chunk that fails ends the write: Commit fails and nothing written,
// before the failure or after, is kept.
func TestFailedChunkKeepsNothing(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		chunk []clinical.Dose
		want  string
	}{
		{"another study's record", context.Background(), []clinical.Dose{dose("B", 1, "PLACEBO"), {Study: "S2", USUBJID: "C", Seq: 1}}, `belongs to study "S2"`},
		{"cancelled context", cancelled, []clinical.Dose{dose("B", 1, "PLACEBO")}, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
				ctx := context.Background()
				s := openStore(t, db)
				w, err := s.WriteDoses(ctx, "S1", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort()
				if err := w.Write(ctx, []clinical.Dose{dose("A", 1, "PLACEBO")}); err != nil {
					t.Fatal(err)
				}
				if err := w.Write(tc.ctx, tc.chunk); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("failing chunk: err %v, want one saying %q", err, tc.want)
				}
				if err := w.Write(ctx, []clinical.Dose{dose("A", 2, "PLACEBO")}); err == nil {
					t.Error("Write after a failed chunk succeeded")
				}
				if _, err := w.Commit(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Commit after a failed chunk: %v, want the chunk's failure", err)
				}
				if n := stored(t, db); n != 0 {
					t.Errorf("%d rows stored, want 0", n)
				}
				writeAgain(t, s)
			})
		})
	}
}

// When the context the write began with ends, the write is over even if
// its owner never calls Abort: nothing is kept and the next writer runs.
func TestEndedContextAbortsTheWrite(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := openStore(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		w, err := s.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(ctx, []clinical.Dose{dose("A", 1, "PLACEBO")}); err != nil {
			t.Fatal(err)
		}
		cancel()
		writeAgain(t, s)
		if _, err := w.Commit(context.Background()); !errors.Is(err, context.Canceled) {
			t.Errorf("Commit after the write's context ended: %v, want context.Canceled", err)
		}
		if n := stored(t, db); n != 1 { // writeAgain's
			t.Errorf("%d rows stored, want only the later write's", n)
		}
	})
}

// An open write holds no lock between its chunks: other writes, of the
// same study too, run at once on SQLite and PostgreSQL alike, while its
// rows stay out of sight until Commit.
func TestOtherWritesGoOnWhileAWriteIsOpen(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		w, err := s.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(ctx, []clinical.Dose{dose("A", 1, "PLACEBO")}); err != nil {
			t.Fatal(err)
		}
		writeAgain(t, s)
		if n := stored(t, db); n != 1 { // writeAgain's
			t.Errorf("%d rows visible while the write is open, want only the other write's", n)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if n := stored(t, db); n != 2 {
			t.Errorf("%d rows after Commit, want 2", n)
		}
	})
}

// leftovers counts what is staged, published or not: generations out of
// readers' sight, their rows, and history records waiting.
func leftovers(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT
		(SELECT count(*) FROM doses_subjects WHERE substr(study, 1, 1) = $1) +
		(SELECT count(*) FROM doses_rows r JOIN doses_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) = $1) +
		(SELECT count(*) FROM doses_staged_history)`, "\x1f").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// However a write ends — committed, aborted, a chunk failed, its context
// ended — nothing of it is left staged.
func TestNothingIsLeftStaged(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		if _, err := s.Put(ctx, "S1", []clinical.Dose{dose("A", 1, "PLACEBO")}, time.Now()); err != nil {
			t.Fatal(err)
		}
		chunk := []clinical.Dose{dose("A", 1, "XANOMELINE"), dose("A", 2, "PLACEBO")} // an update: a history record
		type writer = clinical.RecordWriter[clinical.Dose]
		for _, tc := range []struct {
			name string
			end  func(w writer, cancel func())
		}{
			{"aborted", func(w writer, _ func()) { w.Abort() }},
			{"failed", func(w writer, _ func()) { w.Write(ctx, []clinical.Dose{{Study: "S2"}}) }},
			{"cancelled", func(w writer, cancel func()) { cancel(); w.Commit(ctx) }},
			{"committed", func(w writer, _ func()) { // last: it changes what the chunk would
				if _, err := w.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			name, end := tc.name, tc.end
			wctx, cancel := context.WithCancel(ctx)
			w, err := s.WriteDoses(wctx, "S1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ctx, chunk); err != nil {
				t.Fatal(err)
			}
			if n := leftovers(t, db); n != 4 { // A's generation, its two rows, a history record
				t.Errorf("%s: %d generations, rows and history records staged, want 4", name, n)
			}
			end(w, cancel)
			cancel()
			if n := leftovers(t, db); n != 0 {
				t.Errorf("%s: %d rows and history records left staged", name, n)
			}
		}
	})
}

// Two writes staging the same new row: the first to commit stores it,
// the second fails with ErrConflict and stores nothing, rather than
// overwrite a row it never compared with.
func TestSameNewRowsStagedTwiceConflict(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		first, _ := s.WriteDoses(ctx, "S1", time.Now())
		second, _ := s.WriteDoses(ctx, "S1", time.Now())
		defer first.Abort()
		defer second.Abort()
		if err := first.Write(ctx, []clinical.Dose{dose("A", 1, "PLACEBO")}); err != nil {
			t.Fatal(err)
		}
		if err := second.Write(ctx, []clinical.Dose{dose("A", 1, "XANOMELINE"), dose("B", 1, "XANOMELINE")}); err != nil {
			t.Fatal(err)
		}
		if _, err := first.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := second.Commit(ctx); !errors.Is(err, clinical.ErrConflict) {
			t.Fatalf("second Commit: %v, want ErrConflict", err)
		}
		got, err := s.DosesOf(ctx, "S1", []string{"A", "B"})
		if want := map[string][]clinical.Dose{"A": {dose("A", 1, "PLACEBO")}}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after the conflict: %+v, %v; want the first write's alone", got, err)
		}
		if n := leftovers(t, db); n != 0 {
			t.Errorf("%d rows left staged", n)
		}
	})
}

// What a process that died left — a stage begun over Stale ago, a
// generation retired by a publish it did not live to clean up after —
// is swept when the next write begins; a stage still in progress is not.
func TestLeftoversAreSwept(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		openStore(t, db) // the tables
		name := func(kind string, at time.Time) string {
			return fmt.Sprintf("\x1f%s %d 0123456789ab", kind, at.UnixMilli())
		}
		stale, retired, live := name("upload", time.Now().Add(-2*staged.Stale)), name("retired", time.Now()), name("upload", time.Now())
		for _, n := range []string{stale, retired, live} {
			if _, err := db.ExecContext(ctx, `INSERT INTO doses_subjects (study, usubjid) VALUES ($1, 'A')`, n); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO doses_rows (subject_id, seq, treatment, unit, route, start_date, end_date)
				SELECT id, 1, 'PLACEBO', 'mg', '', '', '' FROM doses_subjects WHERE study = $1`, n); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO doses_staged_history (row_key, study, usubjid, changed_at, before, after)
				VALUES ('k', $1, 'A', 0, '{}', '{}')`, n); err != nil {
				t.Fatal(err)
			}
		}
		if n := leftovers(t, db); n != 9 {
			t.Fatalf("%d rows set up, want 9", n)
		}
		s := openStore(t, db) // as a process starting: its first write sweeps
		w, err := s.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		w.Abort()
		if n := leftovers(t, db); n != 3 {
			t.Errorf("%d rows left after the sweep, want the live stage's 3", n)
		}
		var kept string
		if err := db.QueryRowContext(ctx, `SELECT study FROM doses_subjects`).Scan(&kept); err != nil || kept != live {
			t.Errorf("kept %q (%v), want the stage in progress", kept, err)
		}
	})
}
