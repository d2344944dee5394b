package kris

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// LabEntryLags tells, per subject, how many lab results have a full date
// and how many of them were first stored more than kri.LateEntryDays
// after it. The checker's lab store answers it (the wiring adapts its
// type).
type LabEntryLags interface {
	EntryLags(ctx context.Context, study string) (map[string]kri.EntryLags, error)
}

// Sources are the study-wide reads a recompute needs of the data
// services (a store in the same database or a Connect client) and of the
// checker's lab store.
type Sources struct {
	Subjects     clinical.StudySubjects
	Events       clinical.StudyEvents
	Dispositions clinical.StudyDispositions
	LabLags      LabEntryLags
}

// FindingStore is what the KRIs need of the signal store
// (signals.Store): the study's rule switches, each subject's findings,
// and writing site findings into the review workflow.
type FindingStore interface {
	Settings(ctx context.Context, study string) (rules.Config, error)
	SubjectFindings(ctx context.Context, study string, asOf time.Time) (map[string]kri.Findings, error)
	SyncSiteFindingsTx(ctx context.Context, tx *sql.Tx, study string, rule clinical.Rule, raised []clinical.Signal, now time.Time) (opened, resolved int, err error)
}

// Service recomputes a study's KRIs.
type Service struct {
	src      Sources
	store    *Store
	findings FindingStore
	now      func() time.Time
	log      *slog.Logger
	// studies serialises recomputes of one study in this process, so
	// streaks count each snapshot once.
	mu      sync.Mutex
	studies map[string]*sync.Mutex
	// lags keeps each study's last lab entry lags with the lab versions
	// they were read at (see labLags).
	lags map[string]cachedLags
}

type cachedLags struct {
	versions LabVersions
	lags     map[string]kri.EntryLags
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger logs recomputes.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns the service recomputing KRIs from src into store,
// raising findings through findings.
func NewService(src Sources, store *Store, findings FindingStore, opts ...Option) *Service {
	s := &Service{src: src, store: store, findings: findings, now: time.Now, log: slog.New(slog.DiscardHandler), studies: map[string]*sync.Mutex{},
		lags: map[string]cachedLags{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store is the service's snapshot store.
func (s *Service) Store() *Store { return s.store }

func (s *Service) lock(study string) func() {
	s.mu.Lock()
	m := s.studies[study]
	if m == nil {
		m = &sync.Mutex{}
		s.studies[study] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// Inputs reads a study's data as of asOf. The six reads run at once:
// the data services' answers travel while the checker's database counts
// lab entry lags (on a large study, most of a recompute). Each read
// writes only its own result; Inputs returns once all have returned, all
// bounded by ctx.
func (s *Service) Inputs(ctx context.Context, study string, asOf time.Time) (kri.Inputs, error) {
	var in kri.Inputs
	reads := []struct {
		what string
		read func() error
	}{
		{"the subjects", func() (err error) { in.Subjects, err = s.src.Subjects.SubjectsIn(ctx, study); return err }},
		{"the dispositions", func() (err error) { in.Dispositions, err = s.src.Dispositions.DispositionsIn(ctx, study); return err }},
		{"the adverse events", func() (err error) { in.Events, err = s.src.Events.AdverseEventsIn(ctx, study); return err }},
		{"the lab entry lags", func() (err error) { in.LabLags, err = s.labLags(ctx, study); return err }},
		{"the lab grades", func() (err error) { in.LabGrades, err = s.store.LabGrades(ctx, study); return err }},
		{"the findings", func() (err error) { in.Findings, err = s.findings.SubjectFindings(ctx, study, asOf); return err }},
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, r := range reads {
		wg.Go(func() { errs[i] = r.read() }) // returns with its call, which ctx bounds; waited for below
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return kri.Inputs{}, fmt.Errorf("reading %s: %w", reads[i].what, err)
		}
	}
	return in, nil
}

// labLags reads the study's lab entry lags, or reuses those last read
// while its lab versions have not moved. Counting them reads every lab
// result of the study (10 million rows: seconds); the versions, one row
// per subject, move with every write of a subject's lab results and a
// result's lag never changes once stored, so unmoved versions mean the
// same lags. The versions are read first: a write between the two reads
// is in the lags and moves the versions, so it is read again next time.
func (s *Service) labLags(ctx context.Context, study string) (map[string]kri.EntryLags, error) {
	v, err := s.store.LabVersions(ctx, study)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.lags[study]
	s.mu.Unlock()
	if ok && c.versions == v {
		return c.lags, nil
	}
	lags, err := s.src.LabLags.EntryLags(ctx, study)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lags[study] = cachedLags{versions: v, lags: lags}
	s.mu.Unlock()
	return lags, nil
}

// Recompute computes the study's KRIs from its data now, stores them as a
// snapshot, and, as the study's rule switches allow, raises a
// SITE_KRI_FLAG finding per flagged site and KRI and a QTL_EXCEEDED one
// per crossed limit, resolving those no longer raised, in the same
// transaction.
func (s *Service) Recompute(ctx context.Context, study string) (Snapshot, error) {
	defer s.lock(study)()
	start := s.now()
	in, err := s.Inputs(ctx, study, start)
	if err != nil {
		return Snapshot{}, fmt.Errorf("KRIs of study %s: %w", study, err)
	}
	set, err := s.store.Settings(ctx, study)
	if err != nil {
		return Snapshot{}, fmt.Errorf("KRIs of study %s: reading the settings: %w", study, err)
	}
	cfg, err := s.findings.Settings(ctx, study)
	if err != nil {
		return Snapshot{}, fmt.Errorf("KRIs of study %s: reading the rule switches: %w", study, err)
	}
	report := kri.Compute(set, in)
	var opened, resolved int
	snap, err := s.store.Save(ctx, study, start, s.now(), report, func(ctx context.Context, tx *sql.Tx, snap Snapshot) error {
		for rule, raised := range map[clinical.Rule][]clinical.Signal{
			clinical.RuleSiteKRIFlag: SiteFlagFindings(snap),
			clinical.RuleQTLExceeded: QTLFindings(snap),
		} {
			if !cfg.Enabled(rule) {
				continue // switched off: its findings are left as they are
			}
			o, r, err := s.findings.SyncSiteFindingsTx(ctx, tx, study, rule, raised, snap.Computed)
			if err != nil {
				return fmt.Errorf("storing %s findings: %w", rule, err)
			}
			opened, resolved = opened+o, resolved+r
		}
		return audit.WriteTx(ctx, tx) // a request's audit record commits with the snapshot
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("KRIs of study %s: %w", study, err)
	}
	s.log.Info("KRIs recomputed", "study", study, "snapshot", snap.ID, "subjects", len(in.Subjects),
		"findings_opened", opened, "findings_resolved", resolved, "elapsed", s.now().Sub(start))
	return snap, nil
}

// SiteFlagFindings are the SITE_KRI_FLAG findings of a snapshot: one per
// site and KRI with a flag other than 0 (red, ±2, is high; amber, ±1,
// medium), keyed "KRI:<kri>:<site>".
func SiteFlagFindings(snap Snapshot) []clinical.Signal {
	var out []clinical.Signal
	for _, a := range snap.KRIs {
		for _, r := range a.Sites {
			if !r.Scored || r.Flag == 0 {
				continue
			}
			sev, colour := clinical.SeverityMedium, "amber"
			if r.Flag == 2 || r.Flag == -2 {
				sev, colour = clinical.SeverityHigh, "red"
			}
			streak := snap.Streak(a.Spec.ID, r.Site)
			what := describe(a.Spec.Model, r.Numerator, r.Denominator, r.Metric)
			if a.Spec.Model != kri.Identity {
				dir := "above"
				if r.Flag < 0 {
					dir = "below"
				}
				what += fmt.Sprintf(" is %s the study's %s", dir, describe(a.Spec.Model, 0, 0, a.Overall))
			}
			out = append(out, clinical.Signal{
				Study: snap.Study, Site: r.Site, Rule: clinical.RuleSiteKRIFlag, Severity: sev,
				Key: "KRI:" + a.Spec.ID + ":" + r.Site,
				Message: fmt.Sprintf("site %s: %s %s: score %.2f, flag %d (%s), flagged %d time(s) in a row",
					r.Site, a.Spec.Name, what, r.Score, r.Flag, colour, streak),
				Evidence: map[string]any{
					"kri": a.Spec.ID, "name": a.Spec.Name, "site": r.Site, "numerator": r.Numerator, "denominator": r.Denominator,
					"metric": r.Metric, "study_metric": a.Overall, "score": round(r.Score), "flag": r.Flag, "flagged_in_a_row": streak,
					"snapshot": snap.ID, "data_cut": snap.DataCut.Format(time.RFC3339),
				},
			})
		}
	}
	return out
}

// QTLFindings are the QTL_EXCEEDED findings of a snapshot: one per limit
// crossed, keyed "QTL:<kri>", without a site.
func QTLFindings(snap Snapshot) []clinical.Signal {
	var out []clinical.Signal
	for _, q := range snap.QTLs {
		if !q.Exceeded {
			continue
		}
		sp, _ := kri.SpecFor(q.ID)
		out = append(out, clinical.Signal{
			Study: snap.Study, Rule: clinical.RuleQTLExceeded, Severity: clinical.SeverityHigh, Key: "QTL:" + q.ID,
			Message: fmt.Sprintf("study %s: %s %s exceeds its quality tolerance limit of %s",
				snap.Study, q.Name, describe(sp.Model, q.Numerator, q.Denominator, q.Metric), describe(sp.Model, 0, 0, q.Limit)),
			Evidence: map[string]any{"qtl": q.ID, "name": q.Name, "numerator": q.Numerator, "denominator": q.Denominator,
				"metric": q.Metric, "limit": q.Limit, "snapshot": snap.ID, "data_cut": snap.DataCut.Format(time.RFC3339)},
		})
	}
	return out
}

// describe shows a proportion as a percentage, a rate per 1,000 units of
// its denominator and a count as a number, with the counts it rests on
// when den is not 0.
func describe(m kri.Model, num, den, metric float64) string {
	var s string
	switch m {
	case kri.Binary:
		s = fmt.Sprintf("%.1f%%", metric*100)
	case kri.Rate:
		s = fmt.Sprintf("%.2f per 1,000", metric*1000)
	default:
		return fmt.Sprintf("%g of %g", num, den)
	}
	if den != 0 {
		s += fmt.Sprintf(" (%g of %g)", num, den)
	}
	return s
}

// round keeps scores readable in evidence.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// Latest reads the study's newest snapshot (Store.Latest).
func (s *Service) Latest(ctx context.Context, study string) (Snapshot, error) {
	return s.store.Latest(ctx, study)
}

// History lists a site's results of one KRI, newest first (Store.History).
func (s *Service) History(ctx context.Context, study, id, site string, limit int) ([]Point, error) {
	return s.store.History(ctx, study, id, site, limit)
}

// Settings reads what the study changed of the KRI defaults.
func (s *Service) Settings(ctx context.Context, study string) (kri.Settings, error) {
	return s.store.Settings(ctx, study)
}

// PutSettings validates and stores what the study changes of the KRI
// defaults; the next recompute uses them.
func (s *Service) PutSettings(ctx context.Context, study string, set kri.Settings, now time.Time) error {
	if err := set.Validate(); err != nil {
		return err
	}
	return s.store.PutSettings(ctx, study, set, now)
}
