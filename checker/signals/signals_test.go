package signals_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
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
		if err != nil || len(all) != 3 || !next.IsZero() {
			t.Fatalf("all: %d signals, next %+v, err %v; want 3, none, nil", len(all), next, err)
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
		var after signals.Cursor
		for {
			page, next, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				seen = append(seen, p.ID)
			}
			if next.IsZero() {
				break
			}
			after = next
		}
		if want := []int64{first[2].ID, first[1].ID, first[0].ID}; !reflect.DeepEqual(seen, want) {
			t.Errorf("paged ids %v, want %v", seen, want)
		}
	})
}

// assessed is an assessment of subject at site in which every rule ran.
func assessed(subject, site string, sigs ...clinical.Signal) *rules.Assessment {
	return &rules.Assessment{Subject: clinical.Subject{Study: "S", USUBJID: subject, Site: site}, Signals: sigs, Ran: rules.Rules}
}

// A batch's assessments are written in its transaction: a finding stored
// before keeps its ID and creation time and has its values refreshed, a
// subject's eDISH point and grade counts are stored.
func TestPrepareFindingsWritesABatch(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		before := assessed("A", "701", checkertest.Signal("A", "701", "LB:1", clinical.SeverityLow))
		if err := s.SaveAssessment(ctx, before, t0); err != nil {
			t.Fatal(err)
		}
		a := assessed("A", "701", checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh))
		mdish := &liver.MDISHPoint{BaselineALT: 2, ALT: 2, ALTSeq: 7, Transaminase: 2, Bilirubin: 2.5, BilirubinSeq: 9, Quadrant: liver.QuadrantHyperbilirubinemia}
		a.Point, a.HasPoint = liver.EDISHPoint{Study: "S", Site: "701", USUBJID: "A", Arm: "Placebo", ALT: 4, ALTSeq: 7, ALTDate: "2014-02-01T10:00+01:00",
			Transaminase: 4, Bilirubin: 3, BilirubinSeq: 9, BilirubinDate: "2014-02-03", ALP: 1.5, ALPSeq: 8, ALPDate: "2014-02-01",
			Quadrant: liver.QuadrantHysLaw, MDISH: mdish}, true
		a.Graded, a.Severe = 10, 2
		b := assessed("B", "702", checkertest.Signal("B", "702", "LB:2", clinical.SeverityCritical))
		b.Point, b.HasPoint = liver.EDISHPoint{Study: "S", Site: "702", USUBJID: "B", ALT: 2, Transaminase: 2, Bilirubin: 1, Quadrant: liver.QuadrantNormal}, true
		write, err := s.PrepareFindings([]*rules.Assessment{a, b}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := pipeline.Run(ctx, db, write); err != nil {
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
		if a := got["A"]; a.ID != before.Signals[0].ID || !a.Created.Equal(t0) || a.Severity != clinical.SeverityHigh {
			t.Errorf("signal stored before: %+v; want ID %d created %v, severity refreshed to high", a, before.Signals[0].ID, t0)
		}
		if b := got["B"]; b.Severity != clinical.SeverityCritical || b.Site != "702" || b.Message != "m LB:2" {
			t.Errorf("new signal: %+v", b)
		}
		edish, err := s.EDISH(ctx, "S", "")
		if err != nil || len(edish) != 2 || edish[0].USUBJID != "A" || edish[0].ALT != 4 || edish[0].Quadrant != liver.QuadrantHysLaw || edish[1].ALT != 2 {
			t.Fatalf("eDISH points %+v, %v; want A's and B's", edish, err)
		}
		// Arm, ALP, the peaks' dates and the mDISH point come back as stored.
		if p := edish[0]; p.MDISH == nil || *p.MDISH != *mdish || p.Arm != "Placebo" || p.ALP != 1.5 || p.ALPSeq != 8 || p.ALPDate != "2014-02-01" ||
			p.ALTDate != "2014-02-01T10:00+01:00" || p.BilirubinDate != "2014-02-03" {
			t.Errorf("eDISH point of A: %+v (mDISH %+v)", p, p.MDISH)
		}
		if edish[1].MDISH != nil {
			t.Errorf("B has an mDISH point: %+v", edish[1].MDISH)
		}
		var graded, severe int
		if err := db.QueryRowContext(ctx, `SELECT graded, grade3plus FROM subject_lab_grades WHERE study = 'S' AND usubjid = 'A'`).Scan(&graded, &severe); err != nil || graded != 10 || severe != 2 {
			t.Errorf("grade counts %d, %d, %v; want 10, 2", graded, severe, err)
		}
	})
}

// A finding the data no longer supports is withdrawn, never deleted; a
// reviewer's closing stands; a finding that returns reopens; a rule that
// did not run leaves its findings alone. Each change is in the history.
func TestFindingsFollowTheData(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		x := checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh)
		x.Evidence = map[string]any{"results": []string{"LB:1"}}
		y := checkertest.Signal("A", "701", "LB:2", clinical.SeverityLow)
		z := checkertest.Signal("A", "701", "LB:3", clinical.SeverityLow)
		z.Rule = rules.CTCAEGrade
		first := assessed("A", "701", x, y, z)
		if err := s.SaveAssessment(ctx, first, t0); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for _, sg := range first.Signals {
			ids[sg.Key] = sg.ID
			if sg.Status != clinical.StatusNew {
				t.Errorf("%s: status %s, want new", sg.Key, sg.Status)
			}
		}
		if _, err := s.SetStatus(ctx, "S", ids["LB:2"], clinical.StatusClosed, "mona", "known", t0); err != nil {
			t.Fatal(err)
		}
		// The value behind x was corrected; y is still closed; CTCAE_GRADE
		// did not run (turned off), so z stays as it is.
		second := assessed("A", "701")
		second.Ran = []clinical.Rule{clinical.RuleLabOutOfRange}
		if err := s.SaveAssessment(ctx, second, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		status := func(key string) clinical.SignalStatus {
			sg, err := s.Signal(ctx, "S", ids[key])
			if err != nil {
				t.Fatal(err)
			}
			return sg.Status
		}
		if st := status("LB:1"); st != clinical.StatusResolvedByData {
			t.Errorf("withdrawn finding: %s, want resolved_by_data", st)
		}
		if st := status("LB:2"); st != clinical.StatusClosed {
			t.Errorf("closed finding: %s, want closed", st)
		}
		if st := status("LB:3"); st != clinical.StatusNew {
			t.Errorf("finding of a rule that did not run: %s, want new", st)
		}
		h, err := s.History(ctx, ids["LB:1"])
		if err != nil || len(h) != 1 || h[0].Actor != signals.Actor || h[0].To != clinical.StatusResolvedByData ||
			!strings.Contains(h[0].Reason, "its records now read: LB:1") {
			t.Fatalf("history %+v, %v; want the withdrawal saying what LB:1 holds now", h, err)
		}
		// x returns: it reopens as new, with the same ID.
		third := assessed("A", "701", x)
		if err := s.SaveAssessment(ctx, third, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if third.Signals[0].ID != ids["LB:1"] || third.Signals[0].Status != clinical.StatusNew {
			t.Errorf("returned finding: %+v; want ID %d, new", third.Signals[0], ids["LB:1"])
		}
		if h, _ := s.History(ctx, ids["LB:1"]); len(h) != 2 || h[1].From != clinical.StatusResolvedByData || h[1].To != clinical.StatusNew {
			t.Errorf("history after reopening %+v", h)
		}
		// A reviewer may still close a finding the data resolved.
		if _, err := s.SetStatus(ctx, "S", ids["LB:3"], clinical.StatusAcknowledged, "mona", "", t0); err != nil {
			t.Fatal(err)
		}
	})
}
