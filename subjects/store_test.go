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
			FirstDose: "2014-01-02", LastDose: "2014-07-02", EndOfStudy: "2014-07-02T11:45"}
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

// WriteSubjects stores chunks in one transaction: all at Commit, none
// after Abort. (internal/txwriter's tests cover the writer in depth.)
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
