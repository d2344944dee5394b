package exposure

import (
	"context"
	"fmt"
	"reflect"
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
		want := []clinical.Dose{
			{Study: "S1", USUBJID: "A", Seq: 1, Treatment: "PLACEBO", Dose: 0, HasDose: true, Unit: "mg", Route: "TRANSDERMAL", Start: "2014-01-02", End: "2014-01-16"},
			{Study: "S1", USUBJID: "A", Seq: 2, Treatment: "XANOMELINE", Unit: "mg", Start: "2014-01-17"},
		}
		// Stored out of order to prove the read orders by EXSEQ.
		if _, err := s.Put(ctx, "S1", []clinical.Dose{want[1], want[0]}, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Doses(ctx, "S1", "A")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Doses = %+v, %v; want %+v", got, err, want)
		}
		if got, err := s.Doses(ctx, "S1", "nobody"); err != nil || len(got) != 0 {
			t.Errorf("unknown subject: %v, %v; want none", got, err)
		}
		// The batch read answers each subject as Doses does, in one query
		// however many, and only of the study asked.
		other := clinical.Dose{Study: "S1", USUBJID: "B", Seq: 1, Treatment: "PLACEBO", Start: "2014-01-05"}
		if _, err := s.Put(ctx, "S1", []clinical.Dose{other}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "S2", []clinical.Dose{{Study: "S2", USUBJID: "A", Seq: 9, Treatment: "X"}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		many := []string{"nobody", "B", "A"}
		for i := range 600 { // more than one statement's IN list
			many = append(many, fmt.Sprint("absent-", i))
		}
		batch, err := s.DosesOf(ctx, "S1", append(many, "A"))
		wantBatch := map[string][]clinical.Dose{"A": want, "B": {other}}
		if err != nil || !reflect.DeepEqual(batch, wantBatch) {
			t.Errorf("DosesOf = %+v, %v; want %+v", batch, err, wantBatch)
		}
	})
}
