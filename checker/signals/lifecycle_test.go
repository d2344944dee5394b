package signals_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

const lifeStudy = "CDISCPILOT01"

// withEvents is an upstream whose subject has events.
type withEvents struct {
	checkertest.Upstream
	events []clinical.AdverseEvent
}

func (u withEvents) AdverseEvents(context.Context, string, string) ([]clinical.AdverseEvent, error) {
	return u.events, nil
}

func (u withEvents) sources() checker.Sources {
	return checker.Sources{Subjects: u, Exposure: u, Events: u}
}

// findingOf returns the one stored finding of rule, failing t otherwise.
func findingOf(t *testing.T, s *signals.Store, rule clinical.Rule) clinical.Signal {
	t.Helper()
	sigs, _, err := s.Signals(context.Background(), signals.Filter{Study: lifeStudy, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []clinical.Signal
	for _, sg := range sigs {
		if sg.Rule == rule {
			out = append(out, sg)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s findings, want 1: %+v", len(out), rule, out)
	}
	return out[0]
}

// A corrected lab value withdraws the Hy's law case it raised (before:
// the critical HYS_LAW stayed new beside the new finding), and the
// withdrawal's history says what the value is now.
func TestCorrectedValueWithdrawsItsFindings(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := checkertest.Open(t, db)
		const subject = "01-701-1015"
		labs := []clinical.LabResult{
			{Study: lifeStudy, USUBJID: subject, Seq: 11, TestCode: "ALT", Value: 150, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-02-01"},
			{Study: lifeStudy, USUBJID: subject, Seq: 12, TestCode: "BILI", Value: 60, HasValue: true, Unit: "umol/L", High: 20, HasHigh: true, Date: "2014-02-01"},
		}
		if _, err := st.Labs.PutLabs(ctx, lifeStudy, labs, time.Now()); err != nil {
			t.Fatal(err)
		}
		c := st.Checker(checkertest.Upstream{Site: "701", FirstDose: "2014-01-02"}.Sources(), checker.WithStudyData(st.Signals))
		if res := c.Check(ctx, lifeStudy, subject); res.Err != nil {
			t.Fatal(res.Err)
		}
		hy := findingOf(t, st.Signals, liver.HysLaw)
		if hy.Status != clinical.StatusNew || hy.Severity != clinical.SeverityCritical {
			t.Fatalf("Hy's law finding %+v", hy)
		}

		labs[0].Value = 60 // the site corrects ALT 150 → 60
		if _, err := st.Labs.PutLabs(ctx, lifeStudy, labs, time.Now()); err != nil {
			t.Fatal(err)
		}
		if res := c.Check(ctx, lifeStudy, subject); res.Err != nil {
			t.Fatal(res.Err)
		}
		after, err := st.Signals.Signal(ctx, lifeStudy, hy.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != clinical.StatusResolvedByData {
			t.Errorf("Hy's law after the correction: %s, want resolved_by_data", after.Status)
		}
		h, err := st.Signals.History(ctx, hy.ID)
		if err != nil || len(h) != 1 || !strings.Contains(h[0].Reason, "LB:11 ALT 60 U/L") {
			t.Errorf("history %+v, %v; want the withdrawal naming ALT 60", h, err)
		}
		// The new finding stands beside the withdrawn one: HYPERBILIRUBINEMIA.
		if hb := findingOf(t, st.Signals, liver.Hyperbilirubinemia); hb.Status != clinical.StatusNew {
			t.Errorf("new finding %+v", hb)
		}
	})
}

// A settings change that reconciles a lab with an AE re-checks the study,
// and the re-check withdraws the LAB_AE_UNRECONCILED finding (before: it
// stayed new).
func TestSettingsChangeWithdrawsReconciledFindings(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := checkertest.Open(t, db)
		const subject = "01-701-1015"
		labs := []clinical.LabResult{
			{Study: lifeStudy, USUBJID: subject, Seq: 5, TestCode: "ALT", Value: 300, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-02-01"},
		}
		if _, err := st.Labs.PutLabs(ctx, lifeStudy, labs, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := st.Signals.PutSettings(ctx, lifeStudy, rules.Config{Criteria: ctcae.V403}, time.Now()); err != nil {
			t.Fatal(err)
		}
		up := withEvents{checkertest.Upstream{Site: "701", FirstDose: "2014-01-02"},
			[]clinical.AdverseEvent{{Study: lifeStudy, USUBJID: subject, Seq: 1, Term: "LIVER TROUBLE", Start: "2014-02-02"}}}
		c := st.Checker(up.sources(), checker.WithStudyData(st.Signals))
		if res := c.Check(ctx, lifeStudy, subject); res.Err != nil {
			t.Fatal(res.Err)
		}
		un := findingOf(t, st.Signals, rules.LabAEUnreconciled)
		if un.Status != clinical.StatusNew {
			t.Fatalf("unreconciled finding %+v", un)
		}
		// Drain the queue the upload filled, then change the settings.
		for {
			j, ok, err := st.Queue.Claim(ctx, time.Now(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if err := st.Queue.Complete(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		cfg := rules.Config{Criteria: ctcae.V403, AETerms: map[string][]string{"ALT": {"LIVER TROUBLE"}}}
		if err := st.Signals.PutSettings(ctx, lifeStudy, cfg, time.Now()); err != nil {
			t.Fatal(err)
		}
		j, ok, err := st.Queue.Claim(ctx, time.Now(), time.Minute)
		if err != nil || !ok || j.USUBJID != subject {
			t.Fatalf("after the settings change: job %+v, %v, %v; want the subject queued", j, ok, err)
		}
		if res := c.Check(ctx, lifeStudy, subject); res.Err != nil {
			t.Fatal(res.Err)
		}
		if after, err := st.Signals.Signal(ctx, lifeStudy, un.ID); err != nil || after.Status != clinical.StatusResolvedByData {
			t.Errorf("unreconciled finding after the AE term was mapped: %+v, %v; want resolved_by_data", after, err)
		}
	})
}
