package exposure

import (
	"context"
	"fmt"
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

// WriteConMeds has the semantics of every tracked write: chunks published
// together, unchanged rows left alone, changed ones updated and kept
// in history, nothing kept of a write that fails.
func TestWriteConMeds(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cm := func(id string, seq int, term string) clinical.ConMed {
			return clinical.ConMed{Study: "S1", USUBJID: id, Seq: seq, Term: term, Decoded: term, Start: "2014", End: "2014-02-03"}
		}
		write := func(chunks ...[]clinical.ConMed) (clinical.Summary, error) {
			w, err := s.WriteConMeds(ctx, "S1", now)
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
		stored := func() []clinical.ConMed {
			rows, err := db.QueryContext(ctx, `SELECT study, usubjid, seq, term, decoded_term, start_date, end_date FROM con_meds ORDER BY usubjid, seq`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []clinical.ConMed
			for rows.Next() {
				var c clinical.ConMed
				if err := rows.Scan(&c.Study, &c.USUBJID, &c.Seq, &c.Term, &c.Decoded, &c.Start, &c.End); err != nil {
					t.Fatal(err)
				}
				out = append(out, c)
			}
			return out
		}
		first := []clinical.ConMed{cm("A", 1, "ASPIRIN"), cm("A", 2, "MYLANTA"), cm("B", 1, "ASPIRIN")}
		if sum, err := write(first[:2], first[2:]); err != nil || sum.Inserted != 3 || len(sum.Subjects) != 2 {
			t.Fatalf("first write: %+v, %v; want 3 inserted of 2 subjects", sum, err)
		}
		if got := stored(); !reflect.DeepEqual(got, first) {
			t.Errorf("stored %+v, want %+v", got, first)
		}
		changed := cm("B", 1, "IBUPROFEN")
		sum, err := write([]clinical.ConMed{first[0], first[1]}, []clinical.ConMed{changed})
		if err != nil || sum.Unchanged != 2 || sum.Updated != 1 || !reflect.DeepEqual(sum.Subjects, []string{"B"}) {
			t.Fatalf("second write: %+v, %v; want 2 unchanged, B's one updated", sum, err)
		}
		var before, after string
		if err := db.QueryRowContext(ctx, "SELECT before, after FROM con_meds_history WHERE usubjid = $1", "B").Scan(&before, &after); err != nil {
			t.Fatalf("history of the update: %v", err)
		}
		if !strings.Contains(before, `"term":"ASPIRIN"`) || !strings.Contains(after, `"term":"IBUPROFEN"`) {
			t.Errorf("history before %s after %s", before, after)
		}
		if _, err := db.ExecContext(ctx, "UPDATE con_meds_history SET after = 'x'"); err == nil {
			t.Error("history row was rewritten; it must be append-only")
		}
		bad := cm("C", 1, "X")
		bad.Study = "S2"
		if _, err := write([]clinical.ConMed{cm("C", 2, "Y")}, []clinical.ConMed{bad}); err == nil {
			t.Fatal("a write with a record of another study succeeded")
		}
		if got := stored(); len(got) != 3 || got[2] != changed {
			t.Errorf("after a failed write: %+v; want the 3 stored before", got)
		}
	})
}
