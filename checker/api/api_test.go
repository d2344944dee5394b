package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	study     = "CDISCPILOT01"
	subjectID = "01-701-1015"
)

// A check keeps the subject's eDISH point, served per study and site, and
// the study's settings choose the CTCAE version.
func TestSettingsAndEDISH(t *testing.T) {
	ctx := context.Background()
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	store := st.Signals
	labs := []clinical.LabResult{
		// A pre-dose ALT of 2×ULN: the subject is on the mDISH plot too.
		{Study: study, USUBJID: subjectID, Seq: 4, TestCode: "ALT", Value: 80, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-01-01"},
		{Study: study, USUBJID: subjectID, Seq: 1, TestCode: "ALT", Value: 160, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-02-01"},
		{Study: study, USUBJID: subjectID, Seq: 2, TestCode: "BILI", Value: 60, HasValue: true, Unit: "umol/L", High: 20, HasHigh: true, Date: "2014-02-01"},
		{Study: study, USUBJID: subjectID, Seq: 3, TestCode: "ALP", Value: 100, HasValue: true, Unit: "U/L", High: 120, HasHigh: true, Date: "2014-02-01"},
	}
	if _, err := st.Labs.PutLabs(ctx, study, labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	up := checkertest.Upstream{Site: "701", FirstDose: "2014-01-02"}
	c := st.Checker(up.Sources(), checker.WithStudyData(store))
	h := checkertest.As(checkertest.Monitor("monitor1", study), st.Mux(c, up))
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewBufferString(body)))
		return rec
	}
	base := "/api/v1/studies/" + study
	if rec := do(http.MethodGet, base+"/settings", ""); !bytes.Contains(rec.Body.Bytes(), []byte(string(ctcae.V50))) {
		t.Errorf("default settings: %s; want CTCAE v5.0", rec.Body)
	}
	if rec := do(http.MethodPut, base+"/settings", `{"ctcae":"ctcae-v9"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown CTCAE version: %d, want 400", rec.Code)
	}
	if rec := do(http.MethodPatch, base+"/settings", `{"ctcae":"ctcae-v4.03","ae_terms":{"ALT":["LIVER INJURY"]}}`); rec.Code != http.StatusOK {
		t.Fatalf("put settings: %d %s", rec.Code, rec.Body)
	}
	if cfg, _ := store.Settings(ctx, study); cfg.Criteria != ctcae.V403 || cfg.AETerms["ALT"][0] != "LIVER INJURY" {
		t.Errorf("stored settings %+v", cfg)
	}

	if rec := do(http.MethodPost, base+"/subjects/"+subjectID+"/checks", ""); rec.Code != http.StatusOK ||
		!bytes.Contains(rec.Body.Bytes(), []byte("HYS_LAW")) {
		t.Fatalf("check of a Hy's law case: %d %s", rec.Code, rec.Body)
	}
	rec := do(http.MethodGet, base+"/edish?site=701", "")
	var got struct {
		Subjects []struct {
			Subject   string  `json:"subject"`
			ALT       float64 `json:"alt_xuln"`
			Bilirubin float64 `json:"bilirubin_xuln"`
			ALP       float64 `json:"alp_xuln"`
			ALPSeq    int     `json:"alp_lbseq"`
			ALTDate   string  `json:"alt_date"`
			Quadrant  string  `json:"quadrant"`
			MDISH     *struct {
				BaselineALT float64 `json:"baseline_alt_xuln"`
				ALT         float64 `json:"alt_xbaseline"`
				Quadrant    string  `json:"quadrant"`
			} `json:"mdish"`
		} `json:"subjects"`
		MDISHX float64 `json:"mdish_x_limit_xbaseline"`
	}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if len(got.Subjects) != 1 || got.Subjects[0].ALT != 4 || got.Subjects[0].Bilirubin != 3 || got.Subjects[0].Quadrant != "hys-law" {
		t.Fatalf("eDISH: %s; want the subject at ALT 4×ULN, bilirubin 3×ULN in the Hy's law quadrant", rec.Body)
	}
	if p := got.Subjects[0]; p.ALP != 100.0/120 || p.ALPSeq != 3 || p.ALTDate != "2014-02-01" || got.MDISHX != 3 ||
		p.MDISH == nil || p.MDISH.BaselineALT != 2 || p.MDISH.ALT != 2 || p.MDISH.Quadrant != "normal" {
		t.Errorf("eDISH detail: %s; want ALP, its LBSEQ, the peak date and the mDISH point (ALT 2× a baseline of 2×ULN)", rec.Body)
	}
	if rec := do(http.MethodGet, base+"/edish?site=702", ""); bytes.Contains(rec.Body.Bytes(), []byte(subjectID)) {
		t.Errorf("eDISH of site 702 lists a 701 subject: %s", rec.Body)
	}
}

// countingUpstream is checkertest.Upstream counting subject lookups:
// every check makes one, and so does the API for a caller limited to
// some sites.
type countingUpstream struct {
	checkertest.Upstream
	lookups atomic.Int64
}

func (u *countingUpstream) Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error) {
	u.lookups.Add(1)
	return u.Upstream.Subject(ctx, study, usubjid)
}

func (u *countingUpstream) SubjectsIn(ctx context.Context, study string) ([]clinical.Subject, error) {
	u.lookups.Add(1)
	s, err := u.Upstream.Subject(ctx, study, "A")
	return []clinical.Subject{s}, err
}

// The API mounted without the access router fails closed: a request with
// no identity gets 401 and one whose identity has no access to the study
// 404, on every route, and neither changes anything or runs a check. The
// same requests with access succeed, so each is a route the API serves
// and the state compared would show a change.
func TestAPIRefusesRequestsWithoutAccess(t *testing.T) {
	ctx := context.Background()
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	labs := []clinical.LabResult{ // a Hy's law case: a check stores signals and an eDISH point
		{Study: "S", USUBJID: "A", Seq: 1, TestCode: "ALT", Value: 160, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-02-01"},
		{Study: "S", USUBJID: "A", Seq: 2, TestCode: "BILI", Value: 60, HasValue: true, Unit: "umol/L", High: 20, HasHigh: true, Date: "2014-02-01"},
	}
	if _, err := st.Labs.PutLabs(ctx, "S", labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	sigs := []clinical.Signal{checkertest.Signal("B", "701", "LB:1", clinical.SeverityHigh)}
	if err := st.Signals.SaveSignals(ctx, sigs, time.Now()); err != nil {
		t.Fatal(err)
	}
	up := &countingUpstream{Upstream: checkertest.Upstream{Site: "701", FirstDose: "2014-01-02"}}
	c := st.Checker(checker.Sources{Subjects: up, Exposure: up, Events: up}, checker.WithStudyData(st.Signals))
	mux := st.Mux(c, up)

	signal := "/api/v1/studies/S/signals/" + strconv.FormatInt(sigs[0].ID, 10)
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/studies/S/subjects/A/checks", ""},
		{http.MethodGet, "/api/v1/studies/S/signals", ""},
		{http.MethodGet, signal, ""},
		{http.MethodPatch, signal, `{"status":"acknowledged","reason":"looking"}`},
		{http.MethodGet, "/api/v1/studies/S/edish", ""},
		{http.MethodGet, "/api/v1/studies/S/settings", ""},
		{http.MethodPut, "/api/v1/studies/S/settings", checkertest.FullSettings},
		{http.MethodPatch, "/api/v1/studies/S/settings", `{"ae_terms":{"ALT":["LIVER INJURY"]}}`},
		{http.MethodGet, "/api/v1/studies/S/signals/summary", ""},
		{http.MethodGet, "/api/v1/studies/S/signals?format=csv", ""},
		{http.MethodGet, "/api/v1/studies/S/subjects", ""},
		{http.MethodGet, "/api/v1/studies/S/subjects/A", ""},
	}
	// state is everything a route could change or start.
	type state struct {
		Signals  []clinical.Signal
		History  []signals.StatusChange
		Settings any
		EDISH    any
		Lookups  int64
	}
	now := func() state {
		t.Helper()
		var s state
		var err error
		if s.Signals, _, err = st.Signals.Signals(ctx, signals.Filter{Study: "S", Limit: 100}); err != nil {
			t.Fatal(err)
		}
		if s.History, err = st.Signals.History(ctx, sigs[0].ID); err != nil {
			t.Fatal(err)
		}
		if s.Settings, err = st.Signals.Settings(ctx, "S"); err != nil {
			t.Fatal(err)
		}
		if s.EDISH, err = st.Signals.EDISH(ctx, "S", ""); err != nil {
			t.Fatal(err)
		}
		s.Lookups = up.lookups.Load()
		return s
	}
	do := func(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewBufferString(body)))
		return rec
	}
	before := now()

	refused := []struct {
		who  string
		h    http.Handler
		code int
	}{
		{"no identity", mux, http.StatusUnauthorized},
		{"a monitor of another study", checkertest.As(checkertest.Monitor("monitor2", "T"), mux), http.StatusNotFound},
		{"ops granted the study", checkertest.As(auth.Identity{Name: "ops1", Role: auth.RoleOps,
			Grants: []auth.Grant{{Study: "S", Site: auth.AllSites}}}, mux), http.StatusNotFound},
	}
	for _, who := range refused {
		for _, r := range routes {
			rec := do(who.h, r.method, r.path, r.body)
			var body struct{ Error string }
			if rec.Code != who.code || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
				t.Errorf("%s: %s %s: %d %s, want %d with an error message", who.who, r.method, r.path, rec.Code, rec.Body, who.code)
			}
		}
	}
	if after := now(); !reflect.DeepEqual(after, before) {
		t.Errorf("refused requests changed something:\nbefore %+v\nafter  %+v", before, after)
	}

	monitor := checkertest.As(checkertest.Monitor("monitor1", "S"), mux)
	for _, r := range routes {
		if rec := do(monitor, r.method, r.path, r.body); rec.Code != http.StatusOK {
			t.Errorf("with access: %s %s: %d %s, want 200", r.method, r.path, rec.Code, rec.Body)
		}
	}
	after := now()
	// Subject lookups: the check's, the subject list's and the profile's.
	if after.Lookups != 3 || len(after.Signals) <= len(before.Signals) || len(after.History) != 1 ||
		reflect.DeepEqual(after.Settings, before.Settings) || reflect.DeepEqual(after.EDISH, before.EDISH) {
		t.Errorf("the requests with access did not run a check, review the signal and change the settings:\nbefore %+v\nafter  %+v", before, after)
	}
}
