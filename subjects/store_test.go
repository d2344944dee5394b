package subjects

import (
	"context"
	"errors"
	"testing"

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
		if err := s.Put(ctx, []clinical.Subject{want}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Subject(ctx, "S1", "01-701-1015")
		if err != nil || got != want {
			t.Fatalf("Subject = %+v, %v; want %+v", got, err, want)
		}
		want.Age = 64
		if err := s.Put(ctx, []clinical.Subject{want}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Subject(ctx, "S1", "01-701-1015"); got.Age != 64 {
			t.Errorf("re-put did not update: age %d", got.Age)
		}
		if _, err := s.Subject(ctx, "S2", "01-701-1015"); !errors.Is(err, clinical.ErrNotFound) {
			t.Errorf("other study: err = %v, want ErrNotFound", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Subject(cancelled, "S1", "01-701-1015"); err == nil {
			t.Error("read with a cancelled context succeeded")
		}
	})
}
