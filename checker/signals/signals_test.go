package signals_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSignalsAreStoredOnceAndListed(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		first := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh), checkertest.Signal("A", "701", "LB:2", clinical.SeverityLow), checkertest.Signal("B", "702", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, first, t0); err != nil {
			t.Fatal(err)
		}
		again := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, again, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if again[0].ID != first[0].ID || !again[0].Created.Equal(t0) {
			t.Errorf("re-raised signal got ID %d created %v, want the original %d created %v", again[0].ID, again[0].Created, first[0].ID, t0)
		}
		all, next, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 10})
		if err != nil || len(all) != 3 || next != 0 {
			t.Fatalf("all: %d signals, next %d, err %v; want 3, 0, nil", len(all), next, err)
		}
		if all[2].Severity != clinical.SeverityCritical || all[2].Evidence["lbseq"] != "LB:1" {
			t.Errorf("refreshed signal reads back as %+v", all[2])
		}
		cases := []struct {
			name string
			f    signals.Filter
			want []int64
		}{
			{"site", signals.Filter{Site: "702"}, []int64{first[2].ID}},
			{"subject", signals.Filter{USUBJID: "A"}, []int64{first[1].ID, first[0].ID}},
			{"min severity", signals.Filter{MinSeverity: clinical.SeverityHigh}, []int64{first[2].ID, first[0].ID}},
			{"other study", signals.Filter{Study: "T"}, nil},
		}
		for _, c := range cases {
			f := c.f
			if f.Study == "" {
				f.Study = "S"
			}
			f.Limit = 10
			got, _, err := s.Signals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Errorf("%s: ids %v, want %v", c.name, ids, c.want)
			}
		}
		// Paging walks every signal once, newest first.
		var seen []int64
		var before int64
		for {
			page, next, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 2, BeforeID: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				seen = append(seen, p.ID)
			}
			if next == 0 {
				break
			}
			before = next
		}
		if want := []int64{first[2].ID, first[1].ID, first[0].ID}; !reflect.DeepEqual(seen, want) {
			t.Errorf("paged ids %v, want %v", seen, want)
		}
	})
}

// What a batch of checks found is written in its transaction as
// SaveSignals and PutEDISH would write it one by one: a signal raised
// twice is stored once with the values of the last, a signal stored
// before keeps its ID and creation time, a subject's eDISH point given
// twice keeps the last.
func TestPrepareFindingsWritesAsOneByOne(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		before := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityLow)}
		if err := s.SaveSignals(ctx, before, t0); err != nil {
			t.Fatal(err)
		}
		found := []clinical.Signal{
			checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh),
			checkertest.Signal("B", "702", "LB:2", clinical.SeverityLow),
			checkertest.Signal("B", "702", "LB:2", clinical.SeverityCritical),
		}
		points := []rules.EDISHPoint{
			{Study: "S", Site: "701", USUBJID: "A", ALT: 1, Transaminase: 1, Bilirubin: 1, Quadrant: rules.QuadrantNormal},
			{Study: "S", Site: "702", USUBJID: "B", ALT: 2, Transaminase: 2, Bilirubin: 1, Quadrant: rules.QuadrantNormal},
			{Study: "S", Site: "701", USUBJID: "A", ALT: 4, Transaminase: 4, Bilirubin: 3, Quadrant: rules.QuadrantHysLaw},
		}
		write, err := s.PrepareFindings(found, points, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return write(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		all, _, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 10})
		if err != nil || len(all) != 2 {
			t.Fatalf("%d signals, %v; want 2", len(all), err)
		}
		got := map[string]clinical.Signal{}
		for _, sg := range all {
			got[sg.USUBJID] = sg
		}
		if a := got["A"]; a.ID != before[0].ID || !a.Created.Equal(t0) || a.Severity != clinical.SeverityHigh {
			t.Errorf("signal stored before: %+v; want ID %d created %v, severity refreshed to high", a, before[0].ID, t0)
		}
		if b := got["B"]; b.Severity != clinical.SeverityCritical || b.Site != "702" || b.Message != "m LB:2" {
			t.Errorf("signal raised twice: %+v; want the last, critical", b)
		}
		edish, err := s.EDISH(ctx, "S", "")
		if err != nil || len(edish) != 2 || edish[0].USUBJID != "A" || edish[0].ALT != 4 || edish[0].Quadrant != rules.QuadrantHysLaw || edish[1].ALT != 2 {
			t.Errorf("eDISH points %+v, %v; want A's last and B's", edish, err)
		}
	})
}
