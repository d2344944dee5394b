package subjects

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStore(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, db); err != nil {
			t.Fatalf("migrating twice: %v", err)
		}
		want := clinical.Subject{Study: "S1", USUBJID: "01-701-1015", Site: "701", Sex: "F", Age: 63, Arm: "Placebo",
			RefStart: "2014-01-02", RefEnd: "2014-07-02", FirstDose: "2014-01-02", LastDose: "2014-07-02", EndOfStudy: "2014-07-02T11:45",
			BirthDate: "1950-12-26"}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		sum, err := s.Put(ctx, "S1", []clinical.Subject{want}, now)
		if err != nil || sum.Inserted != 1 || sum.Updated != 0 {
			t.Fatalf("first put: %+v, %v; want 1 inserted", sum, err)
		}
		got, err := s.Subject(ctx, "S1", "01-701-1015")
		if err != nil || got != want {
			t.Fatalf("Subject = %+v, %v; want %+v", got, err, want)
		}
		if sum, err := s.Put(ctx, "S1", []clinical.Subject{want}, now); err != nil || sum.Unchanged != 1 || len(sum.Subjects) != 0 {
			t.Fatalf("identical re-put: %+v, %v; want it to change nothing", sum, err)
		}
		want.Age = 64
		if sum, err := s.Put(ctx, "S1", []clinical.Subject{want}, now); err != nil || sum.Updated != 1 || sum.Subjects[0] != "01-701-1015" {
			t.Fatalf("changed re-put: %+v, %v; want 1 updated", sum, err)
		}
		if got, _ := s.Subject(ctx, "S1", "01-701-1015"); got.Age != 64 {
			t.Errorf("re-put did not update: age %d", got.Age)
		}
		var before, after string
		if err := db.QueryRowContext(ctx, "SELECT before, after FROM subjects_history WHERE usubjid = $1", "01-701-1015").Scan(&before, &after); err != nil {
			t.Fatalf("history of the update: %v", err)
		}
		if !strings.Contains(before, `"age":"63"`) || !strings.Contains(after, `"age":"64"`) {
			t.Errorf("history before %s after %s; want age 63 then 64", before, after)
		}
		if _, err := db.ExecContext(ctx, "UPDATE subjects_history SET after = 'x'"); err == nil {
			t.Error("history row was rewritten; it must be append-only")
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM subjects_history"); err == nil {
			t.Error("history row was deleted; it must be append-only")
		}
		if _, err := s.Put(ctx, "S2", []clinical.Subject{want}, now); err == nil {
			t.Error("a subject of study S1 was stored under S2")
		}
		if _, err := s.Subject(ctx, "S2", "01-701-1015"); !errors.Is(err, clinical.ErrNotFound) {
			t.Errorf("other study: err = %v, want ErrNotFound", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Subject(cancelled, "S1", "01-701-1015"); err == nil {
			t.Error("read with a cancelled context succeeded")
		}
		// The batch read answers each subject as Subject does, leaving out
		// those the study has not.
		second := clinical.Subject{Study: "S1", USUBJID: "01-701-1023", Site: "701", Sex: "M", Age: 64, Arm: "Placebo"}
		if _, err := s.Put(ctx, "S1", []clinical.Subject{second}, now); err != nil {
			t.Fatal(err)
		}
		batch, err := s.SubjectsOf(ctx, "S1", []string{"01-701-1023", "nobody", "01-701-1015"})
		wantBatch := map[string]clinical.Subject{"01-701-1015": want, "01-701-1023": second}
		if err != nil || !reflect.DeepEqual(batch, wantBatch) {
			t.Errorf("SubjectsOf = %+v, %v; want %+v", batch, err, wantBatch)
		}
		if batch, err := s.SubjectsOf(ctx, "S2", []string{"01-701-1015"}); err != nil || len(batch) != 0 {
			t.Errorf("SubjectsOf of another study = %+v, %v; want none", batch, err)
		}
		if _, err := s.SubjectsOf(cancelled, "S1", []string{"01-701-1015"}); err == nil {
			t.Error("batch read with a cancelled context succeeded")
		}
	})
}

// WriteSubjects stages chunks and publishes them together: all at Commit, none
// after Abort. (internal/staged's tests cover the writer in depth.)
func TestWriteSubjects(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sub := func(id string) clinical.Subject { return clinical.Subject{Study: "S1", USUBJID: id, Site: "701"} }
		aborted, err := s.WriteSubjects(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := aborted.Write(ctx, []clinical.Subject{sub("X")}); err != nil {
			t.Fatal(err)
		}
		aborted.Abort()
		w, err := s.WriteSubjects(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for _, chunk := range [][]clinical.Subject{{sub("A"), sub("B")}, {sub("C")}} {
			if err := w.Write(ctx, chunk); err != nil {
				t.Fatal(err)
			}
		}
		if sum, err := w.Commit(ctx); err != nil || sum.Inserted != 3 || len(sum.Subjects) != 3 {
			t.Fatalf("Commit = %+v, %v; want 3 subjects inserted", sum, err)
		}
		known, err := s.Known(ctx, "S1", []string{"A", "B", "C", "X"})
		if err != nil || len(known) != 3 || known["X"] != "" {
			t.Errorf("stored subjects %v, %v; want A, B and C, not the aborted write's X", known, err)
		}
	})
}

// The study-wide reads answer every subject and disposition event of one
// study, ordered by USUBJID (byte by byte, whatever the database's
// collation) then DSSEQ, and an empty list for a study with none.
func TestStudyReads(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var subs []clinical.Subject
		for _, id := range []string{"b-2", "B-10", "a-1", "B-9"} {
			subs = append(subs, clinical.Subject{Study: "S1", USUBJID: id, Site: "7", RefStart: "2014-01-02", RefEnd: "2014-07"})
		}
		other := clinical.Subject{Study: "S2", USUBJID: "A-0", Site: "7"}
		if _, err := s.Put(ctx, "S1", subs, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "S2", []clinical.Subject{other}, now); err != nil {
			t.Fatal(err)
		}
		got, err := s.SubjectsIn(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		want := []clinical.Subject{subs[1], subs[3], subs[2], subs[0]} // B-10, B-9, a-1, b-2
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SubjectsIn = %+v\nwant %+v", got, want)
		}
		ds := func(id string, seq int, decoded string) clinical.Disposition {
			return clinical.Disposition{Study: "S1", USUBJID: id, Seq: seq, Term: decoded, Decoded: decoded,
				Category: "DISPOSITION EVENT", Epoch: "TREATMENT", Start: "2014-03-01"}
		}
		all := []clinical.Disposition{ds("b-2", 2, "COMPLETED"), ds("b-2", 1, "RANDOMIZED"), ds("B-10", 1, "RANDOMIZED"), ds("a-1", 10, "DEATH"), ds("a-1", 9, "ADVERSE EVENT")}
		w, err := s.WriteDispositions(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(ctx, all[:2]); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, all[2:]); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		gotDS, err := s.DispositionsIn(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		if wantDS := []clinical.Disposition{all[2], all[4], all[3], all[1], all[0]}; !reflect.DeepEqual(gotDS, wantDS) {
			t.Errorf("DispositionsIn = %+v\nwant %+v", gotDS, wantDS)
		}
		for _, read := range []func() (int, error){
			func() (int, error) { l, err := s.SubjectsIn(ctx, "none"); return nilAsMinusOne(l), err },
			func() (int, error) { l, err := s.DispositionsIn(ctx, "S2"); return nilAsMinusOne(l), err },
		} {
			if n, err := read(); n != 0 || err != nil {
				t.Errorf("a study without any: %d records (-1: nil), %v; want an empty list", n, err)
			}
		}
	})
}

func nilAsMinusOne[T any](l []T) int {
	if l == nil {
		return -1
	}
	return len(l)
}

// WriteDispositions has the semantics of every tracked write: chunks
// published together, unchanged rows left alone, changed ones updated and
// kept in history, nothing kept of a write that fails.
func TestWriteDispositions(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ds := func(id string, seq int, decoded string) clinical.Disposition {
			return clinical.Disposition{Study: "S1", USUBJID: id, Seq: seq, Term: decoded, Decoded: decoded, Start: "2014-03-01"}
		}
		write := func(chunks ...[]clinical.Disposition) (clinical.Summary, error) {
			w, err := s.WriteDispositions(ctx, "S1", now)
			if err != nil {
				return clinical.Summary{}, err
			}
			defer w.Abort()
			for _, c := range chunks {
				if err := w.Write(ctx, c); err != nil {
					return clinical.Summary{}, err
				}
			}
			return w.Commit(ctx)
		}
		first := []clinical.Disposition{ds("A", 1, "RANDOMIZED"), ds("A", 2, "COMPLETED"), ds("B", 1, "RANDOMIZED")}
		if sum, err := write(first[:1], first[1:]); err != nil || sum.Inserted != 3 || len(sum.Subjects) != 2 {
			t.Fatalf("first write: %+v, %v; want 3 inserted of 2 subjects", sum, err)
		}
		changed := ds("A", 2, "ADVERSE EVENT")
		sum, err := write([]clinical.Disposition{first[0], changed, first[2]})
		if err != nil || sum.Unchanged != 2 || sum.Updated != 1 || !reflect.DeepEqual(sum.Subjects, []string{"A"}) {
			t.Fatalf("second write: %+v, %v; want 2 unchanged, A's one updated", sum, err)
		}
		var before, after string
		if err := db.QueryRowContext(ctx, "SELECT before, after FROM dispositions_history WHERE usubjid = $1", "A").Scan(&before, &after); err != nil {
			t.Fatalf("history of the update: %v", err)
		}
		if !strings.Contains(before, `"decoded_term":"COMPLETED"`) || !strings.Contains(after, `"decoded_term":"ADVERSE EVENT"`) {
			t.Errorf("history before %s after %s", before, after)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM dispositions_history"); err == nil {
			t.Error("history row was deleted; it must be append-only")
		}
		// A bad chunk (a record of another study) fails the whole write.
		bad := ds("C", 1, "RANDOMIZED")
		bad.Study = "S2"
		if _, err := write([]clinical.Disposition{ds("C", 2, "COMPLETED")}, []clinical.Disposition{bad}); err == nil {
			t.Fatal("a write with a record of another study succeeded")
		}
		got, err := s.DispositionsIn(ctx, "S1")
		if err != nil || len(got) != 3 || got[1] != changed {
			t.Errorf("after a failed write: %+v, %v; want the 3 stored before", got, err)
		}
	})
}
