package events

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

// WriteEvents stages chunks and publishes them together: all at Commit,
// none after Abort. (internal/staged's tests cover the writer in depth.)
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

// AdverseEventsIn answers a whole study ordered by USUBJID then AESEQ,
// each event with the days from its onset to when it was first stored:
// set on insert, kept through updates, unknown for a partial onset or an
// event stored before the lag was recorded. Enough events go in one write
// that PostgreSQL inserts them through COPY and merges the changed ones.
func TestAdverseEventsInEntryLag(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		day := func(d int) time.Time { return time.Date(2014, 3, 1, 15, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
		ev := func(id string, seq int, start clinical.Date) clinical.AdverseEvent {
			return clinical.AdverseEvent{Study: "S1", USUBJID: id, Seq: seq, Term: "NAUSEA", Severity: "MILD", Start: start}
		}
		var first []clinical.AdverseEvent
		for i := range 100 {
			first = append(first, ev(fmt.Sprintf("S-%03d", 99-i), 1, "2014-02-19")) // 10 days before day 0
		}
		first = append(first, ev("P", 2, "2014-02"), ev("P", 1, "2014-02-28T23:00"), ev("Old", 1, "2014-01-01"))
		if _, err := s.Put(ctx, "S1", first, day(0)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE adverse_events_rows SET entry_lag = NULL WHERE subject_id IN (SELECT id FROM adverse_events_subjects WHERE usubjid = 'Old')`); err != nil {
			t.Fatal(err)
		}
		// Twenty days later every event changes (its onset too) and one is new.
		var again []clinical.AdverseEvent
		for _, e := range first {
			e.Severity, e.Start = "SEVERE", "2014-02-01"
			again = append(again, e)
		}
		again = append(again, ev("P", 3, "2014-03-11"))
		sum, err := s.Put(ctx, "S1", again, day(20))
		if err != nil || sum.Updated != len(first) || sum.Inserted != 1 {
			t.Fatalf("second put: %+v, %v; want %d updated, 1 inserted", sum, err, len(first))
		}
		got, err := s.AdverseEventsIn(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(again) {
			t.Fatalf("%d events, want %d", len(got), len(again))
		}
		lags := map[string]string{}
		for i, e := range got {
			if e.Seq != 3 && (e.Severity != "SEVERE" || e.Start == "2014-02-19") {
				t.Errorf("event %s/%d not updated: %+v", e.USUBJID, e.Seq, e)
			}
			if i > 0 && (got[i-1].USUBJID > e.USUBJID || got[i-1].USUBJID == e.USUBJID && got[i-1].Seq >= e.Seq) {
				t.Errorf("event %d (%s/%d) out of order", i, e.USUBJID, e.Seq)
			}
			lag := "unknown"
			if e.HasEntryLag {
				lag = fmt.Sprint(e.EntryLag)
			}
			lags[fmt.Sprintf("%s/%d", e.USUBJID, e.Seq)] = lag
		}
		want := map[string]string{"S-000/1": "10", "S-099/1": "10", "P/1": "1", "P/2": "unknown", "P/3": "10", "Old/1": "unknown"}
		for k, w := range want {
			if lags[k] != w {
				t.Errorf("entry lag of %s = %s, want %s", k, lags[k], w)
			}
		}
		if again, err := s.Put(ctx, "S1", again, day(40)); err != nil || again.Unchanged != len(got) {
			t.Errorf("identical put later: %+v, %v; want all unchanged", again, err)
		}
		if none, err := s.AdverseEventsIn(ctx, "S2"); err != nil || none == nil || len(none) != 0 {
			t.Errorf("a study without events: %v, %v; want an empty list", none, err)
		}
	})
}
