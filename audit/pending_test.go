package audit_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// A pending record is written once: in the change's transaction when the
// store writes it, else by Flush; and a rolled-back change takes its
// record with it.
func TestPendingRecordIsWrittenOnce(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		count := func() int {
			recs, err := l.Query(t.Context(), audit.Filter{AllStudies: true})
			if err != nil {
				t.Fatal(err)
			}
			return len(recs)
		}
		start := audit.Record{Actor: "jane", Role: "monitor", Study: "S", Entity: "signal", Action: "status"}

		p := audit.NewPending(l, start)
		ctx := audit.WithPending(t.Context(), p)
		audit.Describe(ctx, "", "7", map[string]string{"status": "new"}, map[string]string{"status": "closed"})
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return audit.WriteTx(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Fatalf("written in the transaction, then flushed: %d records, want 1", n)
		}
		recs, _ := l.Query(t.Context(), audit.Filter{AllStudies: true})
		if r := recs[0]; r.EntityID != "7" || r.Old != `{"status":"new"}` || r.New != `{"status":"closed"}` {
			t.Errorf("record %+v", r)
		}

		p = audit.NewPending(l, start)
		ctx = audit.WithPending(t.Context(), p)
		boom := errors.New("change failed")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := audit.WriteTx(ctx, tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || count() != 1 {
			t.Fatalf("rolled-back change: %v, %d records, want the change's error and still 1", err, count())
		}

		p = audit.NewPending(l, start)
		if err := p.Flush(t.Context()); err != nil || count() != 2 {
			t.Fatalf("flush of an unwritten record: %v, %d records, want 2", err, count())
		}
		if err := p.Flush(t.Context()); err != nil || count() != 2 {
			t.Fatalf("second flush: %v, %d records, want still 2", err, count())
		}
		// Outside a request nothing is pending: stores work as before.
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return audit.WriteTx(t.Context(), tx) }); err != nil || count() != 2 {
			t.Fatalf("WriteTx without a pending record: %v, %d records", err, count())
		}
		if err := audit.NewPending(nil, start).Flush(t.Context()); err == nil {
			t.Error("flushing with no trail to write to succeeded")
		}
	})
}
