package events

import (
	"context"
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
		want := []clinical.AdverseEvent{
			{Study: "S1", USUBJID: "A", Seq: 1, Term: "APPLICATION SITE ERYTHEMA", Decoded: "APPLICATION SITE ERYTHEMA", Severity: "MILD", Start: "2014-01-03"},
			{Study: "S1", USUBJID: "A", Seq: 2, Term: "SYNCOPE", Decoded: "SYNCOPE", Severity: "SEVERE", Serious: true, Start: "2014-02", Recorded: "2014-02-20"},
		}
		if _, err := s.Put(ctx, "S1", want, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.AdverseEvents(ctx, "S1", "A")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("AdverseEvents = %+v, %v; want %+v", got, err, want)
		}
		// The batch read answers each subject as AdverseEvents does, in
		// one query, and only of the study asked.
		other := clinical.AdverseEvent{Study: "S1", USUBJID: "B", Seq: 1, Term: "HEADACHE", Decoded: "HEADACHE", Start: "2014-01-04"}
		if _, err := s.Put(ctx, "S1", []clinical.AdverseEvent{other}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "S2", []clinical.AdverseEvent{{Study: "S2", USUBJID: "A", Seq: 7, Term: "X"}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		batch, err := s.AdverseEventsOf(ctx, "S1", []string{"B", "nobody", "A"})
		wantBatch := map[string][]clinical.AdverseEvent{"A": want, "B": {other}}
		if err != nil || !reflect.DeepEqual(batch, wantBatch) {
			t.Errorf("AdverseEventsOf = %+v, %v; want %+v", batch, err, wantBatch)
		}
	})
}

// WriteEvents stores chunks in one transaction: all at Commit, none
// after Abort. (internal/txwriter's tests cover the writer in depth.)
func TestWriteEvents(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		ev := func(id string, seq int) clinical.AdverseEvent {
			return clinical.AdverseEvent{Study: "S1", USUBJID: id, Seq: seq, Term: "SYNCOPE", Severity: "MILD"}
		}
		aborted, err := s.WriteEvents(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := aborted.Write(ctx, []clinical.AdverseEvent{ev("X", 1)}); err != nil {
			t.Fatal(err)
		}
		aborted.Abort()
		w, err := s.WriteEvents(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for _, chunk := range [][]clinical.AdverseEvent{{ev("A", 1), ev("A", 2)}, {ev("B", 1)}} {
			if err := w.Write(ctx, chunk); err != nil {
				t.Fatal(err)
			}
		}
		if sum, err := w.Commit(ctx); err != nil || sum.Inserted != 3 || !reflect.DeepEqual(sum.Subjects, []string{"A", "B"}) {
			t.Fatalf("Commit = %+v, %v; want 3 events of A and B inserted", sum, err)
		}
		for id, want := range map[string]int{"A": 2, "B": 1, "X": 0} {
			if got, err := s.AdverseEvents(ctx, "S1", id); err != nil || len(got) != want {
				t.Errorf("subject %s: %d events, %v; want %d", id, len(got), err, want)
			}
		}
	})
}
