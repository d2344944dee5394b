package subjectapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api/subjectapi"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// studyData is a fake of the three data services for study S: subjects
// A and B at site 701, C at 702, D at 703; A has a dose and an AE.
type studyData struct {
	subjects  []clinical.Subject
	exposure  error // what Doses fails with, if anything
	listCalls int
	doseStart clinical.Date // A's dose start, when set; else 2014-01-02
}

func newStudyData() *studyData {
	return &studyData{subjects: []clinical.Subject{
		{Study: "S", USUBJID: "A", Site: "701", Sex: "F", Age: 70, Arm: "Placebo", ConsentDate: "2013-12-20", FirstDose: "2014-01-02"},
		{Study: "S", USUBJID: "B", Site: "701", Sex: "M", Arm: "Xanomeline High Dose", FirstDose: "2014-01-05"},
		{Study: "S", USUBJID: "C", Site: "702", Sex: "F", Age: 64, Arm: "Placebo"},
		{Study: "S", USUBJID: "D", Site: "703", Sex: "M", Age: 80, Arm: "Placebo"},
	}}
}

func (d *studyData) Subject(_ context.Context, study, usubjid string) (clinical.Subject, error) {
	for _, s := range d.subjects {
		if s.Study == study && s.USUBJID == usubjid {
			return s, nil
		}
	}
	return clinical.Subject{}, fmt.Errorf("subject %s: %w", usubjid, clinical.ErrNotFound)
}

func (d *studyData) SubjectsIn(_ context.Context, study string) ([]clinical.Subject, error) {
	d.listCalls++
	var out []clinical.Subject
	for _, s := range d.subjects {
		if s.Study == study {
			out = append(out, s)
		}
	}
	return out, nil
}

func (d *studyData) Doses(_ context.Context, study, usubjid string) ([]clinical.Dose, error) {
	if d.exposure != nil {
		return nil, d.exposure
	}
	if usubjid != "A" {
		return nil, nil
	}
	start := d.doseStart
	if start == "" {
		start = "2014-01-02"
	}
	return []clinical.Dose{{Study: study, USUBJID: "A", Seq: 1, Treatment: "PLACEBO", Dose: 0, HasDose: true, Unit: "mg", Route: "TRANSDERMAL",
		Start: start, End: "2014-02-15"}}, nil
}

func (d *studyData) AdverseEvents(_ context.Context, study, usubjid string) ([]clinical.AdverseEvent, error) {
	if usubjid != "A" {
		return nil, nil
	}
	return []clinical.AdverseEvent{{Study: study, USUBJID: "A", Seq: 1, Term: "LIVER INJURY", Decoded: "Drug-induced liver injury",
		BodySystem: "HEPATOBILIARY DISORDERS", Severity: "SEVERE", Serious: true, Start: "2014-02-01", Recorded: "2014-02-03"}}, nil
}

// subjectOnly is a subject source that cannot list a study's subjects.
type subjectOnly struct{ d *studyData }

func (s subjectOnly) Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error) {
	return s.d.Subject(ctx, study, usubjid)
}

type subjectsFixture struct {
	t       *testing.T
	data    *studyData
	sigs    []clinical.Signal
	mux     http.Handler
	monitor http.Handler
	site    http.Handler
}

func newSubjectsFixture(t *testing.T) *subjectsFixture {
	db := sqldbtest.SQLite(t)
	st := checkertest.Open(t, db)
	f := &subjectsFixture{t: t, data: newStudyData(), sigs: st.StoreFindings(t, db, checkertest.Findings)}
	alt := func(seq int, value float64, date clinical.Date, baseline bool) clinical.LabResult {
		return clinical.LabResult{Study: "S", USUBJID: "A", Seq: seq, TestCode: "ALT", Test: "Alanine Aminotransferase", Category: "CHEMISTRY",
			Value: value, HasValue: true, Unit: "U/L", Low: 6, HasLow: true, High: 40, HasHigh: true, Baseline: baseline, Date: date, Visit: "V"}
	}
	labs := []clinical.LabResult{
		alt(1, 80, "2014-01-01", true), // an abnormal baseline: 2×ULN
		alt(2, 160, "2014-02-01T08:30", false),
		{Study: "S", USUBJID: "A", Seq: 3, TestCode: "XYZ", Test: "Something", Category: "OTHER", Unit: "", Date: "2014-02-01"},
	}
	if _, err := st.Labs.PutLabs(t.Context(), "S", labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.mux = st.MuxWith(st.Checker(checker.Sources{}), subjectapi.Sources{Subjects: f.data, Exposure: f.data, Events: f.data})
	f.monitor = checkertest.As(checkertest.Monitor("monitor1", "S"), f.mux)
	f.site = checkertest.As(checkertest.SiteUser("site701", "S", "701"), f.mux)
	return f
}

type subjectList struct {
	Subjects []struct {
		Subject   string         `json:"subject"`
		Site      string         `json:"site"`
		Sex       string         `json:"sex"`
		Age       *int           `json:"age"`
		Arm       string         `json:"arm"`
		FirstDose string         `json:"first_dose"`
		Open      map[string]int `json:"open_findings"`
		OpenTotal int            `json:"open_findings_total"`
	} `json:"subjects"`
}

func (f *subjectsFixture) list(h http.Handler, query string) subjectList {
	f.t.Helper()
	rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/subjects?"+query, "")
	if rec.Code != http.StatusOK {
		f.t.Fatalf("subjects?%s: %d %s", query, rec.Code, rec.Body)
	}
	var l subjectList
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
		f.t.Fatal(err)
	}
	return l
}

func (l subjectList) String() string {
	s := ""
	for _, x := range l.Subjects {
		s += fmt.Sprintf("%s@%s:%d ", x.Subject, x.Site, x.OpenTotal)
	}
	return s
}

func TestSubjectList(t *testing.T) {
	f := newSubjectsFixture(t)
	l := f.list(f.monitor, "")
	// Open: new or acknowledged. A has 0 (critical, new) and 1 (high,
	// acknowledged); 2 is closed. B's 3 is resolved by data.
	if got, want := l.String(), "A@701:2 B@701:1 C@702:2 D@703:1 "; got != want {
		t.Errorf("monitor's list: %s, want %s", got, want)
	}
	a := l.Subjects[0]
	wantOpen := map[string]int{"info": 0, "low": 0, "medium": 0, "high": 1, "critical": 1}
	if a.Sex != "F" || a.Age == nil || *a.Age != 70 || a.Arm != "Placebo" || a.FirstDose != "2014-01-02" || !reflect.DeepEqual(a.Open, wantOpen) {
		t.Errorf("subject A: %+v", a)
	}
	if l.Subjects[1].Age != nil {
		t.Errorf("B's age is not recorded: %v, want null", *l.Subjects[1].Age)
	}
	for _, c := range []struct {
		who   http.Handler
		query string
		want  string
	}{
		{f.monitor, "site=702", "C@702:2 "},
		{f.site, "", "A@701:2 B@701:1 "},
		{f.site, "site=701", "A@701:2 B@701:1 "},
		{f.site, "site=702", ""},
	} {
		if got := f.list(c.who, c.query).String(); got != c.want {
			t.Errorf("subjects?%s: %s, want %s", c.query, got, c.want)
		}
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/subjects?arm=Placebo", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("subjects?arm=: %d, want 400", rec.Code)
	}

	// A subject source that cannot list subjects: 501, saying so.
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	h := checkertest.As(checkertest.Monitor("monitor1", "S"), st.MuxWith(st.Checker(checker.Sources{}), subjectapi.Sources{Subjects: subjectOnly{f.data}}))
	if rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/subjects", ""); rec.Code != http.StatusNotImplemented ||
		!strings.Contains(rec.Body.String(), "cannot list a study's subjects") {
		t.Errorf("subjects without a source that lists them: %d %s, want 501", rec.Code, rec.Body)
	}
	if rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/subjects/A", ""); rec.Code != http.StatusOK {
		t.Errorf("one subject without a source that lists them: %d %s, want 200", rec.Code, rec.Body)
	}
}

type profile struct {
	Subject  string `json:"subject"`
	Site     string `json:"site"`
	Arm      string `json:"arm"`
	Consent  string `json:"consent_date"`
	CTCAE    string `json:"ctcae"`
	Complete bool   `json:"complete"`
	Sources  map[string]string
	Labs     []struct {
		Seq         int      `json:"seq"`
		TestCode    string   `json:"test_code"`
		Value       *float64 `json:"value"`
		Low         *float64 `json:"low"`
		High        *float64 `json:"high"`
		BaselineSeq *int     `json:"baseline_seq"`
		OutOfRange  string   `json:"out_of_range"`
		Ratio       float64  `json:"ratio"`
		Grades      []struct {
			Term      string `json:"term"`
			Direction string `json:"direction"`
			Grade     *int   `json:"grade"`
		} `json:"grades"`
	} `json:"labs"`
	Doses         []map[string]any `json:"doses"`
	AdverseEvents []map[string]any `json:"adverse_events"`
	Findings      []struct {
		ID int64 `json:"id"`
	} `json:"findings"`
	GradeBands []struct {
		TestCode  string `json:"test_code"`
		Direction string `json:"direction"`
		Seq       int    `json:"seq"`
		Limits    []struct {
			Grade int     `json:"grade"`
			Value float64 `json:"value"`
		} `json:"limits"`
	} `json:"grade_bands"`
}

// bands is the grade thresholds of test in direction dir, "grade:value" each.
func (p profile) bands(test, dir string) string {
	s := ""
	for _, b := range p.GradeBands {
		if b.TestCode == test && b.Direction == dir {
			s += fmt.Sprintf("seq %d:", b.Seq)
			for _, l := range b.Limits {
				s += fmt.Sprintf(" %d>%g", l.Grade, l.Value)
			}
		}
	}
	return s
}

func (f *subjectsFixture) profile(h http.Handler, subject string) (int, profile, string) {
	rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/subjects/"+subject, "")
	var p profile
	json.Unmarshal(rec.Body.Bytes(), &p)
	return rec.Code, p, rec.Body.String()
}

// grade is lab seq's grade in direction dir, -1 when not graded.
func (p profile) grade(seq int, dir string) int {
	for _, l := range p.Labs {
		for _, g := range l.Grades {
			if l.Seq == seq && g.Direction == dir && g.Grade != nil {
				return *g.Grade
			}
		}
	}
	return -1
}

func TestSubjectProfile(t *testing.T) {
	f := newSubjectsFixture(t)
	code, p, body := f.profile(f.monitor, "A")
	if code != http.StatusOK || !p.Complete || p.Site != "701" || p.Arm != "Placebo" || p.Consent != "2013-12-20" || p.CTCAE != "ctcae-v5.0" {
		t.Fatalf("profile of A: %d %s", code, body)
	}
	if len(p.Labs) != 3 || len(p.Doses) != 1 || len(p.AdverseEvents) != 1 || p.AdverseEvents[0]["serious"] != true {
		t.Errorf("profile of A: %d labs, %d doses, %d AEs; want 3, 1, 1: %s", len(p.Labs), len(p.Doses), len(p.AdverseEvents), body)
	}
	byseq := map[int]int{}
	for i, l := range p.Labs {
		byseq[l.Seq] = i
	}
	peak := p.Labs[byseq[2]] // labs come by date, then LBSEQ
	if peak.Seq != 2 || *peak.Value != 160 || *peak.Low != 6 || *peak.High != 40 || peak.OutOfRange != "high" || peak.Ratio != 4 ||
		peak.BaselineSeq == nil || *peak.BaselineSeq != 1 {
		t.Errorf("ALT 160 U/L: %+v", peak)
	}
	// CTCAE v5.0 grades a liver test against an abnormal baseline: 160
	// is 2× the baseline of 80, grade 1. v4.03 grades it by ×ULN: 4×ULN,
	// grade 2.
	if g := p.grade(2, "high"); g != 1 {
		t.Errorf("ALT 160 U/L after a baseline of 80, v5.0: grade %d, want 1", g)
	}
	if other := p.Labs[byseq[3]]; other.Value != nil || len(other.Grades) != 0 || other.OutOfRange != "" {
		t.Errorf("a test CTCAE does not grade, with no value: %+v", other)
	}
	if got, want := []int64{p.Findings[0].ID, p.Findings[1].ID, p.Findings[2].ID}, []int64{f.sigs[2].ID, f.sigs[1].ID, f.sigs[0].ID}; len(p.Findings) != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("A's findings %v, want %v newest first", got, want)
	}
	// The grade bands of the plot are the grader's thresholds for ALT's
	// last record: v5.0 after an abnormal baseline of 80 U/L grades by
	// ×baseline (>1.5, >3, >5, >20 × 80); v4.03 by ×ULN (>40, >3, >5,
	// >20 × 40). ALT has no "low" term.
	if got, want := p.bands("ALT", "high"), "seq 2: 1>120 2>240 3>400 4>1600"; got != want {
		t.Errorf("ALT grade bands, v5.0: %q, want %q", got, want)
	}
	if got := p.bands("ALT", "low") + p.bands("XYZ", "high"); got != "" {
		t.Errorf("grade bands of terms CTCAE does not have: %q", got)
	}
	if rec := checkertest.Call(f.monitor, http.MethodPatch, "/api/v1/studies/S/settings", `{"ctcae": "ctcae-v4.03"}`); rec.Code != http.StatusOK {
		t.Fatalf("PATCH settings: %d %s", rec.Code, rec.Body)
	}
	if _, p, body := f.profile(f.monitor, "A"); p.CTCAE != "ctcae-v4.03" || p.grade(2, "high") != 2 {
		t.Errorf("after the study chose v4.03: %s %d, want grade 2: %s", p.CTCAE, p.grade(2, "high"), body)
	} else if got, want := p.bands("ALT", "high"), "seq 2: 1>40 2>120 3>200 4>800"; got != want {
		t.Errorf("ALT grade bands, v4.03: %q, want %q", got, want)
	}

	// The study's baseline convention decides what the profile grades
	// against, as in the rules: with the first dose moved before the
	// flagged baseline, ADaM's last pre-dose value does not exist, and
	// v5.0, which grades a liver test against an abnormal baseline,
	// cannot grade ALT 160 (4×ULN) without knowing it.
	f.data.doseStart = "2013-12-15"
	if rec := checkertest.Call(f.monitor, http.MethodPatch, "/api/v1/studies/S/settings", `{"ctcae": "ctcae-v5.0", "baseline": "adam-last-predose"}`); rec.Code != http.StatusOK {
		t.Fatalf("PATCH settings: %d %s", rec.Code, rec.Body)
	}
	if _, p, body := f.profile(f.monitor, "A"); p.grade(2, "high") != -1 || p.Labs[byseq[2]].BaselineSeq != nil {
		t.Errorf("ADaM baseline, no value before the first dose: grade %d, want none: %s", p.grade(2, "high"), body)
	}
	if rec := checkertest.Call(f.monitor, http.MethodPatch, "/api/v1/studies/S/settings", `{"baseline": "sdtm"}`); rec.Code != http.StatusOK {
		t.Fatalf("PATCH settings: %d %s", rec.Code, rec.Body)
	}
	if _, p, body := f.profile(f.monitor, "A"); p.grade(2, "high") != 1 {
		t.Errorf("SDTM baseline (LBBLFL) again: grade %d, want 1: %s", p.grade(2, "high"), body)
	}
	f.data.doseStart = ""

	// Another site's subject is, to a site user, one that does not exist.
	_, _, unknown := f.profile(f.monitor, "Z")
	for who, h := range map[string]http.Handler{"monitor": f.monitor, "site user": f.site} {
		if code, _, body := f.profile(h, "Z"); code != http.StatusNotFound || body != unknown {
			t.Errorf("%s, unknown subject: %d %s", who, code, body)
		}
	}
	if code, _, body := f.profile(f.site, "C"); code != http.StatusNotFound || body != unknown {
		t.Errorf("site user, another site's subject: %d %s, want the 404 of an unknown one", code, body)
	}
	if code, p, _ := f.profile(f.site, "B"); code != http.StatusOK || p.Site != "701" {
		t.Errorf("site user, own subject: %d %+v", code, p)
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/subjects/A?labs=no", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("profile with a parameter: %d, want 400", rec.Code)
	}

	// Exposure down: the rest, and which source failed.
	f.data.exposure = fmt.Errorf("connection refused: %w", clinical.ErrUnavailable)
	code, p, body = f.profile(f.monitor, "A")
	if code != http.StatusOK || p.Complete || p.Sources["exposure"] != "unavailable" || p.Sources["adverse_events"] != "ok" ||
		len(p.Doses) != 0 || len(p.Labs) != 3 || len(p.AdverseEvents) != 1 {
		t.Errorf("profile with exposure down: %d %s", code, body)
	}
}
