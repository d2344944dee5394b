package rpc_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/events"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
	"github.com/trialwatch/trialwatch/rpc"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"github.com/trialwatch/trialwatch/subjects"
)

// writeAll writes records through a streamed writer in chunks of size
// and commits them.
func writeAll[T any](t *testing.T, w clinical.RecordWriter[T], records []T, size int) clinical.Summary {
	t.Helper()
	defer w.Abort()
	ctx := context.Background()
	for start := 0; start < len(records); start += size {
		if err := w.Write(ctx, records[start:min(start+size, len(records))]); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// DS and CM stream to their services like DM, EX and AE: stored at a
// clean end with change detection, nothing kept of a stream cut short.
func TestDispositionAndConMedWrites(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := startServices(t, db, nil)
		now := time.Now()
		var ds []clinical.Disposition
		var cms []clinical.ConMed
		for i := range 600 {
			id := fmt.Sprintf("01-%03d", i/3)
			ds = append(ds, clinical.Disposition{Study: "S1", USUBJID: id, Seq: i%3 + 1, Term: "RANDOMIZED", Decoded: "RANDOMIZED",
				Category: "PROTOCOL MILESTONE", Epoch: "SCREENING", Start: "2014-01-02"})
			cms = append(cms, clinical.ConMed{Study: "S1", USUBJID: id, Seq: i%3 + 1, Term: "ASPIRIN", Decoded: "ACETYLSALICYLIC ACID",
				Start: "2003", End: "2014-02-01"})
		}
		open := func() (clinical.RecordWriter[clinical.Disposition], clinical.RecordWriter[clinical.ConMed]) {
			dw, err := s.subjects.WriteDispositions(ctx, "S1", now)
			if err != nil {
				t.Fatal(err)
			}
			cw, err := s.exposure.WriteConMeds(ctx, "S1", now)
			if err != nil {
				t.Fatal(err)
			}
			return dw, cw
		}
		dw, cw := open()
		if sum := writeAll(t, dw, ds, 250); sum.Inserted != 600 || len(sum.Subjects) != 200 {
			t.Errorf("DS: %+v, want 600 inserted of 200 subjects", sum)
		}
		if sum := writeAll(t, cw, cms, 250); sum.Inserted != 600 || len(sum.Subjects) != 200 {
			t.Errorf("CM: %+v, want 600 inserted of 200 subjects", sum)
		}
		ds[10].Decoded, cms[20].End = "COMPLETED", "2014-03-01"
		dw, cw = open()
		if sum := writeAll(t, dw, ds, 250); sum.Updated != 1 || sum.Unchanged != 599 {
			t.Errorf("DS again: %+v, want 1 updated, 599 unchanged", sum)
		}
		if sum := writeAll(t, cw, cms, 250); sum.Updated != 1 || sum.Unchanged != 599 {
			t.Errorf("CM again: %+v, want 1 updated, 599 unchanged", sum)
		}
		got, err := s.subjects.DispositionsIn(ctx, "S1")
		if err != nil || !reflect.DeepEqual(got, ds) {
			t.Errorf("DispositionsIn over Connect: %d records, %v; want the %d written", len(got), err, len(ds))
		}
		// Aborted half way: nothing of either is kept.
		dw, cw = open()
		more := clinical.Disposition{Study: "S1", USUBJID: "01-999", Seq: 1, Term: "X", Decoded: "X"}
		if err := dw.Write(ctx, []clinical.Disposition{more}); err != nil {
			t.Fatal(err)
		}
		if err := cw.Write(ctx, []clinical.ConMed{{Study: "S1", USUBJID: "01-999", Seq: 1, Term: "X"}}); err != nil {
			t.Fatal(err)
		}
		dw.Abort()
		cw.Abort()
		s.waitHandled(t)
		if n, m := s.count(t, "dispositions"), s.count(t, "con_meds"); n != 600 || m != 600 {
			t.Errorf("after aborted writes: %d DS and %d CM records, want 600 each", n, m)
		}
		if n, m := s.count(t, "dispositions_history"), s.count(t, "con_meds_history"); n != 1 || m != 1 {
			t.Errorf("history: %d DS and %d CM records, want 1 each", n, m)
		}
	})
}

// The study-wide reads answer over Connect what the stores answer, in
// order, entry lags included, in messages of at most a few thousand
// records; a study with nothing is an empty list.
func TestStudyReads(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := startServices(t, db, nil)
		var subs []clinical.Subject
		var aes []clinical.AdverseEvent
		for i := range 4500 {
			id := fmt.Sprintf("01-%04d", i)
			subs = append(subs, clinical.Subject{Study: "S1", USUBJID: id, Site: fmt.Sprint(700 + i%17), Sex: "F", Age: 60 + i%20,
				Arm: "Placebo", RefStart: "2014-01-02", RefEnd: "2014-07-02", FirstDose: "2014-01-02", BirthDate: clinical.Date(fmt.Sprintf("19%02d-06", 40+i%20))})
			start := clinical.Date(fmt.Sprintf("2014-02-%02d", 1+i%28))
			if i%10 == 0 {
				start = "2014-02"
			}
			aes = append(aes, clinical.AdverseEvent{Study: "S1", USUBJID: id, Seq: 1, Term: "NAUSEA", Severity: "MILD", Start: start})
		}
		if sum := writeAll(t, mustOpen(s.subjects.WriteSubjects(ctx, "S1", time.Now())), subs, 1000); sum.Inserted != len(subs) {
			t.Fatalf("subjects: %+v", sum)
		}
		evs, err := events.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := evs.Put(ctx, "S1", aes, time.Date(2014, 3, 1, 12, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		store, err := subjects.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		wantSubs, err := store.SubjectsIn(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		gotSubs, err := s.subjects.SubjectsIn(ctx, "S1")
		if err != nil || !reflect.DeepEqual(gotSubs, wantSubs) || !reflect.DeepEqual(gotSubs, subs) {
			t.Errorf("SubjectsIn over Connect: %d subjects, %v; want the %d written", len(gotSubs), err, len(subs))
		}
		wantAEs, err := evs.AdverseEventsIn(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		gotAEs, err := s.events.AdverseEventsIn(ctx, "S1")
		if err != nil || !reflect.DeepEqual(gotAEs, wantAEs) {
			t.Errorf("AdverseEventsIn over Connect: %d events, %v; want %d as stored", len(gotAEs), err, len(wantAEs))
		}
		if e := gotAEs[1]; !e.HasEntryLag || e.EntryLag != 27 || gotAEs[0].HasEntryLag { // 2014-02-02 to 2014-03-01
			t.Errorf("entry lags over Connect: %+v and %+v; want none (partial onset), then 27 days", gotAEs[0], e)
		}
		// The stream's messages are of at most 2,000 records.
		raw := trialwatchv1connect.NewAdverseEventServiceClient(s.hc, s.srv.URL)
		stream, err := raw.ListStudyAdverseEvents(ctx, connect.NewRequest(&v1.ListStudyAdverseEventsRequest{Study: "S1"}))
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for stream.Receive() {
			sizes = append(sizes, len(stream.Msg().GetEvents()))
		}
		stream.Close()
		if err := stream.Err(); err != nil || !reflect.DeepEqual(sizes, []int{2000, 2000, 500}) {
			t.Errorf("message sizes %v, %v; want 2000, 2000, 500", sizes, err)
		}
		for what, read := range map[string]func() (int, error){
			"subjects":     func() (int, error) { l, err := s.subjects.SubjectsIn(ctx, "none"); return lenOrMinus(l), err },
			"dispositions": func() (int, error) { l, err := s.subjects.DispositionsIn(ctx, "none"); return lenOrMinus(l), err },
			"events":       func() (int, error) { l, err := s.events.AdverseEventsIn(ctx, "none"); return lenOrMinus(l), err },
		} {
			if n, err := read(); n != 0 || err != nil {
				t.Errorf("%s of a study with none: %d (-1: nil), %v; want an empty list", what, n, err)
			}
		}
		if _, err := s.subjects.SubjectsIn(ctx, ""); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("a read without a study: %v, want refused", err)
		}
	})
}

func mustOpen[T any](w clinical.RecordWriter[T], err error) clinical.RecordWriter[T] {
	if err != nil {
		panic(err)
	}
	return w
}

func lenOrMinus[T any](l []T) int {
	if l == nil {
		return -1
	}
	return len(l)
}

// A service whose store cannot read whole studies says so (Unimplemented)
// rather than answering an empty study.
func TestStudyReadsUnimplemented(t *testing.T) {
	db := sqldbtest.SQLite(t)
	store, err := subjects.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	path, h := rpc.SubjectHandler(struct{ rpc.SubjectStore }{store}) // hides SubjectsIn
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := rpc.NewSubjectClient(srv.Client(), srv.URL)
	if _, err := c.SubjectsIn(context.Background(), "S1"); connect.CodeOf(err) != connect.CodeUnimplemented {
		t.Errorf("SubjectsIn of a store without it: %v, want Unimplemented", err)
	}
}
