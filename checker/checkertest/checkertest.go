// Package checkertest sets up the checker's packages for their tests: the
// three stores on one database, a checker over them, an upstream that
// answers at once, and requests that carry an identity.
package checkertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Stores are the checker's stores, all on one database, as the binary
// opens them.
type Stores struct {
	Labs    *labs.Store
	Signals *signals.Store
	Queue   *queue.Store
}

// Open opens the checker's three stores on db, failing t if one fails.
func Open(t testing.TB, db *sqldb.DB) Stores {
	t.Helper()
	ctx := context.Background()
	var s Stores
	var err error
	if s.Labs, err = labs.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	if s.Queue, err = queue.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	if s.Signals, err = signals.Open(ctx, db, signals.WithRecheck(s.Queue.EnqueueStudyTx)); err != nil {
		t.Fatal(err)
	}
	return s
}

// Checker is a checker over src reading labs from s and storing its
// signals in s.
func (s Stores) Checker(src checker.Sources, opts ...checker.Option) *checker.Checker {
	return checker.New(src, s.Labs, s.Signals, opts...)
}

// Upstream answers every call at once: the subject at Site, first dosed
// on FirstDose, with no dose records and no adverse events.
type Upstream struct {
	Site      string
	FirstDose clinical.Date
}

func (u Upstream) Subject(_ context.Context, study, usubjid string) (clinical.Subject, error) {
	return clinical.Subject{Study: study, USUBJID: usubjid, Site: u.Site, FirstDose: u.FirstDose}, nil
}

func (Upstream) Doses(context.Context, string, string) ([]clinical.Dose, error) { return nil, nil }

func (Upstream) AdverseEvents(context.Context, string, string) ([]clinical.AdverseEvent, error) {
	return nil, nil
}

// Sources are u as all three of a check's upstreams.
func (u Upstream) Sources() checker.Sources {
	return checker.Sources{Subjects: u, Exposure: u, Events: u}
}

// Signal is a lab signal of study S, its evidence and message named after key.
func Signal(subject, site, key string, sev clinical.Severity) clinical.Signal {
	return clinical.Signal{Study: "S", Site: site, USUBJID: subject, Rule: clinical.RuleLabOutOfRange, Severity: sev,
		Key: key, Evidence: map[string]any{"lbseq": key}, Message: "m " + key}
}

// Monitor is a monitor of every site of study.
func Monitor(name, study string) auth.Identity {
	return auth.Identity{Name: name, Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: study, Site: auth.AllSites}}}
}

// SiteUser is a site user named name of the given sites of study.
func SiteUser(name, study string, sites ...string) auth.Identity {
	id := auth.Identity{Name: name, Role: auth.RoleSite}
	for _, s := range sites {
		id.Grants = append(id.Grants, auth.Grant{Study: study, Site: s})
	}
	return id
}

// Call serves one request to h, with body, and returns the answer.
func Call(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

// FullSettings is a whole settings document of a study (every field
// given, none at its default), as PUT .../settings needs it.
const FullSettings = `{"ctcae": "ctcae-v4.03", "grading_context": "number-only", "ae_terms": {"ALT": ["DRUG-INDUCED LIVER INJURY"]}, "rules": {"HYS_LAW_QUADRANT": false},
	"out_of_range": {"tolerance": 0.2, "high_xuln": {"medium": 2, "high": 3, "critical": 5}, "low_xlln": {"medium": 0.75, "high": 0.5, "critical": 0.25}, "graded_tests": false},
	"baseline": "adam-last-predose"}`

// As serves h to requests acting for id, as the access router does once
// it has authenticated them.
func As(id auth.Identity, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// Mux mounts the checker's API on a new mux: checks run with c, the sites
// of subjects come from subjects, signals and study data from s. Its
// routes answer only requests that carry an identity (see As).
func (s Stores) Mux(c *checker.Checker, subjects clinical.SubjectSource) *http.ServeMux {
	return s.MuxWith(c, api.Sources{Subjects: subjects})
}

// MuxWith is Mux reading subjects and their records from src; labs come
// from s unless src names a lab source.
func (s Stores) MuxWith(c *checker.Checker, src api.Sources) *http.ServeMux {
	if src.Labs == nil {
		src.Labs = s.Labs
	}
	mux := http.NewServeMux()
	api.New(c, src, s.Signals, nil).Register(mux)
	return mux
}

// Finding is a stored signal as a test sets it up: a lab signal of study
// S (see Signal) with the rule, status and dates given.
type Finding struct {
	Subject, Site string
	Rule          clinical.Rule
	Severity      clinical.Severity
	Status        clinical.SignalStatus
	First, Last   clinical.Date
}

// StoreFindings saves fs in order, so that their IDs follow it, with
// evidence keys K:<index>, then sets their statuses as checks and
// monitors would have left them. It returns them as stored.
func (s Stores) StoreFindings(t testing.TB, db *sqldb.DB, fs []Finding) []clinical.Signal {
	t.Helper()
	ctx := context.Background()
	sigs := make([]clinical.Signal, len(fs))
	for i, f := range fs {
		sigs[i] = Signal(f.Subject, f.Site, fmt.Sprintf("K:%d", i), f.Severity)
		sigs[i].Rule, sigs[i].First, sigs[i].Last = f.Rule, f.First, f.Last
	}
	if err := s.Signals.SaveSignals(ctx, sigs, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if f.Status == "" || f.Status == clinical.StatusNew {
			continue
		}
		// Only checks set resolved_by_data: set directly.
		if _, err := db.ExecContext(ctx, `UPDATE signals SET status = $1 WHERE id = $2`, string(f.Status), sigs[i].ID); err != nil {
			t.Fatal(err)
		}
		sigs[i].Status = f.Status
	}
	return sigs
}

// Findings cover every filter of a signal listing: three sites, four
// subjects, several rules, every severity and status, and dates full,
// with a time, partial and unknown. Their IDs follow their order.
var Findings = []Finding{
	{"A", "701", "HYS_LAW", clinical.SeverityCritical, clinical.StatusNew, "2014-01-10", "2014-01-20"},
	{"A", "701", "CTCAE_GRADE", clinical.SeverityHigh, clinical.StatusAcknowledged, "2014-02-01T08:30", "2014-02-01T08:30"},
	{"A", "701", clinical.RuleLabOutOfRange, clinical.SeverityLow, clinical.StatusClosed, "2014-03", "2014-03"},
	{"B", "701", clinical.RuleLabOutOfRange, clinical.SeverityMedium, clinical.StatusResolvedByData, "2014-01-05", "2014-01-09"},
	{"B", "701", "SAE_LATE", clinical.SeverityHigh, clinical.StatusNew, "", ""},
	{"C", "702", "CTCAE_GRADE", clinical.SeverityCritical, clinical.StatusNew, "2014-01-20", ""},
	{"C", "702", clinical.RuleLabOutOfRange, clinical.SeverityInfo, clinical.StatusNew, "2013-12-30", "2014-01-02"},
	{"D", "703", "HYS_LAW", clinical.SeverityHigh, clinical.StatusAcknowledged, "2014", "2014"},
}
