package kris_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/checker/kris/kristest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// switches is the signal store with the study's rule switches set here.
type switches struct {
	*signals.Store
	off map[clinical.Rule]bool
}

func (s switches) Settings(ctx context.Context, study string) (rules.Config, error) {
	cfg, err := s.Store.Settings(ctx, study)
	cfg.Rules = map[clinical.Rule]bool{}
	for r := range s.off {
		cfg.Rules[r] = false
	}
	return cfg, err
}

type fixture struct {
	study   *kristest.Study
	svc     *kris.Service
	signals *signals.Store
	sw      *switches
	now     time.Time
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := kris.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signals.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{study: &kristest.Study{}, signals: sigs, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.sw = &switches{Store: sigs, off: map[clinical.Rule]bool{}}
	f.svc = kris.NewService(f.study.Sources(), store, f.sw, kris.WithClock(func() time.Time { return f.now }))
	return f
}

func (f *fixture) setSites(aes ...int) {
	subs, ds, evs := kristest.Sites(aes...)
	f.study.Set(subs, ds, evs, nil)
}

// siteFindings are the study's stored findings without a subject, by key.
func (f *fixture) siteFindings(t *testing.T) map[string]clinical.Signal {
	t.Helper()
	all, _, err := f.signals.Signals(context.Background(), signals.Filter{Study: "S", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]clinical.Signal{}
	for _, s := range all {
		if s.USUBJID == "" {
			out[s.Key] = s
		}
	}
	return out
}

func (f *fixture) recompute(t *testing.T) kris.Snapshot {
	t.Helper()
	f.now = f.now.Add(time.Hour)
	snap, err := f.svc.Recompute(context.Background(), "S")
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// A red flag raises one finding, which later recomputes refresh without
// duplicating, the data resolves when the flag clears and reopen when it
// returns; the snapshots keep the history and the streak.
func TestFlagRaisesResolvesAndReopensASiteFinding(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.setSites(10, 10, 10, 10, 10, 10, 10, 10, 10, 40)
		if _, err := f.svc.Latest(ctx, "S"); err == nil || !strings.Contains(err.Error(), "never computed") {
			t.Fatalf("latest before any recompute: %v; want not found", err)
		}

		snap := f.recompute(t)
		ae := snap.KRIs[0]
		if ae.Spec.ID != kri.AERate || len(ae.Sites) != 10 {
			t.Fatalf("first KRI %s with %d sites; want kri0001 with 10", ae.Spec.ID, len(ae.Sites))
		}
		if r := ae.Sites[9]; r.Site != "10" || r.Flag != 2 || snap.Streak(kri.AERate, "10") != 1 {
			t.Fatalf("site 10: %+v, streak %d; want flag 2, streak 1", r, snap.Streak(kri.AERate, "10"))
		}
		found := f.siteFindings(t)
		fl, ok := found["KRI:kri0001:10"]
		if len(found) != 1 || !ok || fl.Site != "10" || fl.Rule != clinical.RuleSiteKRIFlag || fl.Severity != clinical.SeverityHigh || fl.Status != clinical.StatusNew {
			t.Fatalf("site findings %+v; want one new high SITE_KRI_FLAG for site 10", found)
		}
		if want := "site 10: Adverse event rate 400.00 per 1,000 (40 of 100) is above the study's 130.00 per 1,000: score 3.00, flag 2 (red), flagged 1 time(s) in a row"; fl.Message != want {
			t.Errorf("message %q, want %q", fl.Message, want)
		}
		if fl.Evidence["flag"] != float64(2) || fl.Evidence["flagged_in_a_row"] != float64(1) {
			t.Errorf("evidence %v; want flag 2, flagged once", fl.Evidence)
		}

		snap = f.recompute(t)
		if snap.Streak(kri.AERate, "10") != 2 {
			t.Errorf("streak %d after two flagged snapshots, want 2", snap.Streak(kri.AERate, "10"))
		}
		again := f.siteFindings(t)
		if len(again) != 1 || again["KRI:kri0001:10"].ID != fl.ID || again["KRI:kri0001:10"].Evidence["flagged_in_a_row"] != float64(2) {
			t.Fatalf("after a second recompute: %+v; want the same finding, refreshed", again)
		}

		f.setSites(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
		snap = f.recompute(t)
		if snap.Streak(kri.AERate, "10") != 0 || snap.KRIs[0].Sites[9].Flag != 0 {
			t.Errorf("site 10 after the flag cleared: %+v, streak %d", snap.KRIs[0].Sites[9], snap.Streak(kri.AERate, "10"))
		}
		gone := f.siteFindings(t)["KRI:kri0001:10"]
		if gone.Status != clinical.StatusResolvedByData {
			t.Errorf("cleared flag's finding is %s, want resolved_by_data", gone.Status)
		}

		f.setSites(10, 10, 10, 10, 10, 10, 10, 10, 10, 40)
		f.recompute(t)
		back := f.siteFindings(t)["KRI:kri0001:10"]
		if back.ID != fl.ID || back.Status != clinical.StatusNew {
			t.Errorf("returned flag's finding: id %d status %s; want %d reopened as new", back.ID, back.Status, fl.ID)
		}
		hist, err := f.signals.History(ctx, fl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].To != clinical.StatusResolvedByData || hist[1].To != clinical.StatusNew || hist[0].Actor != signals.Actor {
			t.Errorf("review history %+v; want resolved_by_data then new, by trialwatch", hist)
		}

		pts, err := f.svc.History(ctx, "S", kri.AERate, "10", 10)
		if err != nil {
			t.Fatal(err)
		}
		var flags, streaks []int
		for _, p := range pts {
			flags, streaks = append(flags, p.Flag), append(streaks, p.Streak)
		}
		if len(pts) != 4 || !equal(flags, []int{2, 0, 2, 2}) || !equal(streaks, []int{1, 0, 2, 1}) || !pts[0].DataCut.After(pts[1].DataCut) {
			t.Errorf("history flags %v streaks %v; want newest first: 2 0 2 2, streaks 1 0 2 1", flags, streaks)
		}

		latest, err := f.svc.Latest(ctx, "S")
		if err != nil {
			t.Fatal(err)
		}
		if latest.ID != pts[0].SnapshotID || len(latest.KRIs) != len(kri.Specs()) || len(latest.RiskScores) != 10 {
			t.Fatalf("latest %d with %d KRIs and %d risk scores", latest.ID, len(latest.KRIs), len(latest.RiskScores))
		}
		// kri0001 at +2 weighs 2 of 32; of the site's other KRIs only
		// kri0002 (100 days, no SAE anywhere: flag 0 of 8) and kri0015
		// (flag 0 of 16) reach their minimum denominators.
		if rs := latest.RiskScores[9]; rs.Site != "10" || rs.Raw != 2 || rs.Max != 32+8+16 || rs.Red != 1 {
			t.Errorf("site 10's risk score %+v; want 2 of 56", rs)
		}
	})
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQTLFindingAndRuleSwitches(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		subs, ds, evs := kristest.Sites(10, 10, 10, 10, 10, 10, 10, 10, 10, 40)
		ds = append(ds, clinical.Disposition{Study: "S", USUBJID: "S-3", Seq: 2, Decoded: "WITHDRAWAL BY SUBJECT", Category: "DISPOSITION EVENT"})
		f.study.Set(subs, ds, evs, nil)
		f.sw.off[clinical.RuleSiteKRIFlag] = true
		snap := f.recompute(t)
		if q := snap.QTLs; len(q) != 1 || q[0].Exceeded || q[0].Metric != 0.1 {
			t.Fatalf("QTLs %+v; want kri0006 at 1 of 10, within 0.30", q)
		}
		if found := f.siteFindings(t); len(found) != 0 {
			t.Fatalf("findings %+v with SITE_KRI_FLAG off and no QTL crossed", found)
		}
		if err := f.svc.PutSettings(ctx, "S", kri.Settings{QTLs: map[string]float64{kri.StudyDiscontinued: 0.05}}, f.now); err != nil {
			t.Fatal(err)
		}
		f.recompute(t)
		found := f.siteFindings(t)
		q, ok := found["QTL:kri0006"]
		if len(found) != 1 || !ok || q.Site != "" || q.Rule != clinical.RuleQTLExceeded || q.Evidence["limit"] != 0.05 {
			t.Fatalf("findings %+v; want only the QTL_EXCEEDED of kri0006 (site flags are off)", found)
		}
		delete(f.sw.off, clinical.RuleSiteKRIFlag)
		f.recompute(t)
		if found := f.siteFindings(t); len(found) != 2 {
			t.Errorf("findings %+v; want the QTL and site 10's flag once the rule is on", found)
		}
		err := f.svc.PutSettings(ctx, "S", kri.Settings{QTLs: map[string]float64{"kri0006": -1}}, f.now)
		if err == nil || !strings.Contains(err.Error(), "qtls.kri0006") {
			t.Errorf("negative limit: %v; want refused naming qtls.kri0006", err)
		}
		set, err := f.svc.Settings(ctx, "S")
		if err != nil || set.QTLs[kri.StudyDiscontinued] != 0.05 {
			t.Errorf("settings read back %+v, %v", set, err)
		}
	})
}

// Each subject's findings are counted for the KRIs: late SAEs, open
// findings past 30 days, and none the data resolved.
func TestSubjectFindingsCounts(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		sig := func(subject string, rule clinical.Rule, key string) clinical.Signal {
			return clinical.Signal{Study: "S", Site: "1", USUBJID: subject, Rule: rule, Key: key, Evidence: map[string]any{}}
		}
		if err := f.signals.SaveSignals(ctx, []clinical.Signal{sig("A", rules.SAELate, "AE:1"), sig("A", rules.LabAEUnreconciled, "LB:1")}, old); err != nil {
			t.Fatal(err)
		}
		recent := []clinical.Signal{sig("A", rules.LabAEUnreconciled, "LB:2"), sig("B", rules.CTCAEGrade, "LB:3")}
		if err := f.signals.SaveSignals(ctx, recent, f.now.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE signals SET status = 'resolved_by_data' WHERE evidence_key = 'LB:2'`); err != nil {
			t.Fatal(err)
		}
		got, err := f.signals.SubjectFindings(ctx, "S", f.now)
		if err != nil {
			t.Fatal(err)
		}
		if got["A"] != (kri.Findings{LateSAE: 1, Unreconciled: 1, Open30Days: 2, Total: 2}) || got["B"] != (kri.Findings{Total: 1}) {
			t.Errorf("findings %+v", got)
		}
	})
}

// countingLags counts the reads of the study's lab entry lags.
type countingLags struct {
	kris.LabEntryLags
	n int
}

func (c *countingLags) EntryLags(ctx context.Context, study string) (map[string]kri.EntryLags, error) {
	c.n++
	return c.LabEntryLags.EntryLags(ctx, study)
}

// The lab entry lags are read again only once a write of lab results
// moved the study's lab versions.
func TestLabLagsReadAgainOnlyAfterLabWrites(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.setSites(10, 10, 10)
		lags := &countingLags{LabEntryLags: f.study}
		src := f.study.Sources()
		src.LabLags = lags
		store, err := kris.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		svc := kris.NewService(src, store, f.sw)
		recompute := func() {
			t.Helper()
			if _, err := svc.Recompute(ctx, "S"); err != nil {
				t.Fatal(err)
			}
		}
		recompute()
		recompute()
		if lags.n != 1 {
			t.Fatalf("lags read %d times over two recomputes without lab writes, want 1", lags.n)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO lab_subjects (study, usubjid, version) VALUES ('S', 'S-1', 1)`); err != nil {
			t.Fatal(err)
		}
		recompute()
		if _, err := db.ExecContext(ctx, `UPDATE lab_subjects SET version = version + 1 WHERE study = 'S'`); err != nil {
			t.Fatal(err)
		}
		recompute()
		recompute()
		if lags.n != 3 {
			t.Errorf("lags read %d times; want again after the new subject and after the write, 3 in all", lags.n)
		}
	})
}
