package kris

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// A study is due once uploads have paused for the quiet period and its
// queued checks are done, or once it has waited MaxWait.
func TestRecomputerWaitsForQuietAndChecks(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	store, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := NewRecomputer(NewService(Sources{}, store, nil), WithQuiet(10*time.Second), WithMaxWait(time.Minute))
	r.now = func() time.Time { return now }
	r.Trigger("A")
	now = now.Add(5 * time.Second)
	r.Trigger("A") // a second upload restarts the quiet period
	r.Trigger("B")
	now = now.Add(9 * time.Second)
	if got := r.ready(ctx); got != nil {
		t.Fatalf("due %v 9 s after the last upload; want none", got)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO check_jobs (study, usubjid, enqueued_at, not_before) VALUES ('B', 'x', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := r.ready(ctx); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("due %v; want A (B has a check queued)", got)
	}
	if got := r.ready(ctx); got != nil {
		t.Fatalf("due %v again; a study is taken once per trigger", got)
	}
	now = now.Add(time.Minute)
	if got := r.ready(ctx); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("due %v; want B once it waited MaxWait", got)
	}
}

// Started, the Recomputer recomputes a triggered study in its goroutine,
// which Stop ends (the package's TestMain checks no goroutine is left).
func TestRecomputerRunsAndStops(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	store, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signals.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	study := &memStudy{}
	r := NewRecomputer(NewService(Sources{Subjects: study, Events: study, Dispositions: study, LabLags: study}, store, sigs), WithQuiet(time.Millisecond))
	r.Start(ctx)
	defer r.Stop()
	r.Trigger("S")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := store.Latest(ctx, "S"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot 10 s after a trigger")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memStudy is a study with one subject and nothing else.
type memStudy struct{}

func (memStudy) SubjectsIn(context.Context, string) ([]clinical.Subject, error) {
	return []clinical.Subject{{Study: "S", USUBJID: "A", Site: "1"}}, nil
}
func (memStudy) DispositionsIn(context.Context, string) ([]clinical.Disposition, error) {
	return nil, nil
}
func (memStudy) AdverseEventsIn(context.Context, string) ([]clinical.AdverseEvent, error) {
	return nil, nil
}
func (memStudy) EntryLags(context.Context, string) (map[string]kri.EntryLags, error) { return nil, nil }

// A node starting with checks queued (an import, a restart) has the
// KRIs of exactly those studies recomputed once the checks are done.
func TestTriggerQueued(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	store, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO check_jobs (study, usubjid, enqueued_at, not_before) VALUES ('B', 'x', 0, 0), ('C', 'y', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := NewRecomputer(NewService(Sources{}, store, nil), WithQuiet(time.Second), WithMaxWait(time.Minute))
	r.now = func() time.Time { return now }
	if err := r.TriggerQueued(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM check_jobs`); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	got := r.ready(ctx)
	slices.Sort(got) // ready lists them in no particular order
	if !slices.Equal(got, []string{"B", "C"}) {
		t.Errorf("due %v, want the studies that had checks queued, B and C", got)
	}
}
