package plotpages

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// get renders a plot page over api, checking what every page must be
// (pagetest.Get).
func get(t *testing.T, api http.Handler, path string) (int, string) {
	t.Helper()
	return pagetest.Get(t, New(page.NewAPIClient(api), slog.New(slog.DiscardHandler)), path)
}

func subjects(n int) map[string]any {
	var rows []map[string]any
	for i := range n {
		site := []string{"701", "702"}[i%2]
		open := 0
		if i%10 == 0 {
			open = i / 10
		}
		rows = append(rows, map[string]any{"subject": fmt.Sprintf("S-%04d", i), "site": site, "sex": "F", "age": 70, "arm": []string{"Placebo", "High"}[i%2],
			"first_dose": "2014-01-02", "open_findings": map[string]int{"high": open}, "open_findings_total": open})
	}
	return map[string]any{"study": "S", "subjects": rows}
}

func TestSubjectListPages(t *testing.T) {
	api := pagetest.FakeAPI{"/api/v1/studies/S/subjects": subjects(250)}
	code, body := get(t, api, "/ui/studies/S/subjects")
	if code != 200 || strings.Count(body, `href="/ui/studies/S/subjects/S-`) != subjectsPerPage ||
		!strings.Contains(body, "Subjects 1–100 of 250") || !strings.Contains(body, `href="?page=2"`) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("first page: %d\n%s", code, body)
	}
	_, body = get(t, api, "/ui/studies/S/subjects?page=3")
	if !strings.Contains(body, "Subjects 201–250 of 250") || strings.Contains(body, `rel="next"`) || !strings.Contains(body, `href="?page=2"`) {
		t.Errorf("last page:\n%s", body)
	}
	// Filtered and ordered: site 702's subjects with open findings, most first.
	_, body = get(t, api, "/ui/studies/S/subjects?site=702&open=1&sort=open")
	if strings.Contains(body, "S-0000") || !strings.Contains(body, "of 0") && !strings.Contains(body, "No subject matches") {
		t.Errorf("site 702 with open findings: every one of its subjects has an odd number, none has open findings:\n%s", body)
	}
	_, body = get(t, api, "/ui/studies/S/subjects?open=1&sort=open")
	if i, j := strings.Index(body, "S-0240"), strings.Index(body, "S-0010"); !strings.Contains(body, "of 24") || i < 0 || j < 0 || i > j {
		t.Errorf("subjects with open findings, most first: S-0240 (24) at %d, S-0010 (1) at %d", i, j)
	}
	// A node that cannot list subjects says so on the page.
	code, body = get(t, pagetest.FakeAPI{"/api/v1/studies/S/subjects": http.StatusNotImplemented}, "/ui/studies/S/subjects")
	if code != 200 || !strings.Contains(body, "cannot list a study&#39;s subjects") {
		t.Errorf("subject list without a lister: %d\n%s", code, body)
	}
}

const profileJSON = `{"study": "S", "subject": "A", "site": "701", "sex": "F", "age": 70, "arm": "Placebo",
 "first_dose": "2014-01-10", "reference_start": "2014-01-10", "ctcae": "ctcae-v5.0", "complete": false,
 "sources": {"subject": "ok", "exposure": "unavailable", "adverse_events": "ok", "labs": "ok"},
 "labs": [
  {"seq": 1, "test_code": "ALT", "test": "Alanine Aminotransferase", "date": "2014-01-05", "value": 30, "unit": "U/L", "low": 6, "high": 40, "baseline_flag": true, "baseline_seq": 1, "grades": [{"term": "ALT increased", "direction": "high", "grade": 0}]},
  {"seq": 2, "test_code": "ALT", "test": "Alanine Aminotransferase", "date": "2014-01-20T08:00", "value": 160, "unit": "U/L", "low": 6, "high": 40, "baseline_seq": 1, "out_of_range": "high", "grades": [{"term": "ALT increased", "direction": "high", "grade": 2}]},
  {"seq": 3, "test_code": "COLOR", "test": "Color", "date": "2014-01-20", "value": null, "unit": "", "grades": []}],
 "doses": [], "adverse_events": [{"seq": 1, "term": "LIVER INJURY", "decoded": "Drug-induced liver injury", "severity": "SEVERE", "serious": true, "start": "2014-01-21", "end": ""}],
 "findings": [{"id": 7, "rule": "CTCAE_GRADE", "severity": "medium", "status": "new", "message": "ALT grade 2", "evidence": {"results": ["LB:2"], "baseline_lbseq": 1}}],
 "grade_bands": [{"test_code": "ALT", "term": "ALT increased", "direction": "high", "unit": "U/L", "seq": 2, "limits": [{"grade": 1, "value": 40}, {"grade": 2, "value": 120}, {"grade": 3, "value": 200}, {"grade": 4, "value": 800}]}]}`

func TestSubjectPage(t *testing.T) {
	api := pagetest.FakeAPI{"/api/v1/studies/S/subjects/A": profileJSON, "/api/v1/studies/S/subjects/B": http.StatusNotFound}
	code, body := get(t, api, "/ui/studies/S/subjects/A")
	if code != 200 || !strings.Contains(body, `href="/ui/studies/S/findings/7"`) || !strings.Contains(body, "exposure (unavailable)") ||
		!strings.Contains(body, `<tr class="finding">`) {
		t.Fatalf("subject page: %d\n%s", code, body)
	}
	var plot subjectPlot
	pagetest.PlotOf(t, body, &plot)
	if len(plot.Tests) != 2 || plot.Tests[0].Code != "ALT" || len(plot.Tests[0].Points) != 2 || len(plot.Tests[1].Points) != 0 {
		t.Fatalf("tests: %+v", plot.Tests)
	}
	base, peak := plot.Tests[0].Points[0], plot.Tests[0].Points[1]
	// Days since first dose: 5 days before it, and 10 days and 8 hours after.
	if !base.Baseline || base.Finding || base.X != -5 || !peak.Finding || peak.Baseline || peak.X != 10.33 || *peak.Grade != 2 {
		t.Errorf("ALT points: baseline %+v, peak %+v", base, peak)
	}
	if b := plot.Tests[0].Bands; len(b) != 1 || fmt.Sprint(b[0].Limits) != "[40 120 200 800]" || fmt.Sprint(b[0].Grades) != "[1 2 3 4]" {
		t.Errorf("ALT grade bands: %+v", b)
	}
	if len(plot.Events) != 1 || !plot.Events[0].Open || !plot.Events[0].Serious || plot.Events[0].From != 11 || plot.Events[0].Severity != "severe" {
		t.Errorf("the adverse event on the timeline: %+v", plot.Events)
	}
	if plot.Range != [2]float64{-6, 13} {
		t.Errorf("x range %v, want [-6 13]", plot.Range)
	}
	// Not found by the API (another site's subject, to a site user, or
	// none): the page is not found.
	if code, body := get(t, api, "/ui/studies/S/subjects/B"); code != http.StatusNotFound || !strings.Contains(body, "not found") {
		t.Errorf("a subject the API does not find: %d\n%s", code, body)
	}
}

func TestEDISHPage(t *testing.T) {
	var pts []map[string]any
	for i := range 1200 {
		p := map[string]any{"subject": fmt.Sprintf("S-%04d", i), "site": "701", "alt_xuln": 0.5, "ast_xuln": 0.4, "transaminase_xuln": 0.5,
			"bilirubin_xuln": 0.3, "quadrant": "normal"}
		if i == 1100 { // no arm, ALP or mDISH: the arm comes from the subject list
			p["alt_xuln"], p["transaminase_xuln"], p["bilirubin_xuln"], p["quadrant"] = 8.0, 8.0, 3.0, "hys-law"
		}
		if i == 1101 { // with ALP, dates and an mDISH point
			p["alp_xuln"], p["alt_date"] = 4.0, "2014-02-01"
			p["mdish"] = map[string]any{"alt_xbaseline": 4.0, "ast_xbaseline": 1.0, "transaminase_xbaseline": 4.0, "bilirubin_xbaseline": 1.5,
				"quadrant": "temples-corollary", "ceiling_reached": true}
		}
		pts = append(pts, p)
	}
	api := pagetest.FakeAPI{"/api/v1/studies/S/edish": map[string]any{"x_limit_xuln": 3, "y_limit_xuln": 2, "subjects": pts},
		"/api/v1/studies/S/subjects": subjects(1200)}
	code, body := get(t, api, "/ui/studies/S/edish")
	if code != 200 {
		t.Fatalf("eDISH page: %d\n%s", code, body)
	}
	var plot struct {
		Study  string       `json:"study"`
		Lines  []float64    `json:"lines"`
		Points []edishPoint `json:"points"`
	}
	pagetest.PlotOf(t, body, &plot)
	if len(plot.Points) != 1200 || fmt.Sprint(plot.Lines) != "[3 2 3 2]" {
		t.Fatalf("%d points, lines %v", len(plot.Points), plot.Lines)
	}
	hy, liver := plot.Points[1100], plot.Points[1101]
	if hy.Arm != "Placebo" || hy.RClass != "unknown" || hy.MDISH != nil {
		t.Errorf("a point without arm or ALP: %+v", hy)
	}
	if liver.Arm != "High" || liver.R == nil || *liver.R != 0.125 || liver.RClass != "cholestatic" || liver.Dates[0] != "2014-02-01" ||
		liver.MDISH == nil || liver.MDISH.Tr != 4 || liver.MDISH.Quadrant != "temples-corollary" || !liver.MDISH.Ceiling {
		t.Errorf("a point with ALP, dates and mDISH: %+v %+v", liver, liver.MDISH)
	}
	// The table: capped, Hy's law first; every point is in the plot data.
	rows := strings.Count(body, `<th scope="row"><a href="/ui/studies/S/subjects/`)
	if rows != edishTableRows || strings.Index(body, "S-1100") > strings.Index(body, "S-0000") || !strings.Contains(body, "the first 1000") {
		t.Errorf("table: %d rows, S-1100 (Hy's law) not first", rows)
	}
	if !strings.Contains(body, `<option value="mdish">`) {
		t.Error("mDISH is not offered though a subject has an mDISH point")
	}
}

const kriListJSON = `{"as_of": "2026-01-01T00:00:00Z", "computed_at": "2026-01-01T00:00:01Z",
 "kris": [{"kri": "kri0001", "site": "701", "numerator": 10, "denominator": 100, "metric": 0.1, "score": 2.5, "flag": 1, "flagged_in_a_row": 3},
          {"kri": "kri0001", "site": "702", "numerator": 1, "denominator": 10, "metric": 0.1, "score": null, "flag": null, "flagged_in_a_row": 0}],
 "risk_scores": [{"site": "702", "score": 0, "red": 0, "amber": 0}, {"site": "701", "score": 12.5, "red": 0, "amber": 1}], "qtls": []}`

const kriDetailJSON = `{"kri": "kri0001", "name": "Adverse event rate", "numerator": "AE records", "denominator": "days on study", "model": "rate",
 "thresholds": [-2, -1, 2, 3], "flags": [-2, -1, 0, 1, 2], "study_metric": 0.1, "sites": ` + `[{"kri": "kri0001", "site": "701", "numerator": 10, "denominator": 100, "metric": 0.1, "score": 2.5, "flag": 1, "flagged_in_a_row": 3},
 {"kri": "kri0001", "site": "702", "numerator": 1, "denominator": 10, "metric": 0.1, "score": null, "flag": null, "flagged_in_a_row": 0}],
 "bounds": [{"denominator": 100, "expected": 0.1, "limits": {"-2": 0.04, "-1": 0.07, "2": 0.16, "3": 0.19}},
            {"denominator": 10, "expected": 0.1, "limits": {"-2": null, "-1": 0.0, "2": 0.3, "3": 0.4}}]}`

func TestKRIPages(t *testing.T) {
	api := pagetest.FakeAPI{"/api/v1/studies/S/kris": kriListJSON, "/api/v1/studies/S/kris/kri0001": kriDetailJSON,
		"/api/v1/studies/S/kris/kri0001/sites/701/history?limit=50": `{"kri": "kri0001", "site": "701", "flagged_in_a_row": 3, "history": [
		  {"snapshot": 3, "as_of": "2026-01-03T00:00:00Z", "kri": "kri0001", "site": "701", "metric": 0.1, "flag": 1, "score": 2.5, "flagged_in_a_row": 3},
		  {"snapshot": 2, "as_of": "2026-01-02T00:00:00Z", "kri": "kri0001", "site": "701", "metric": 0.09, "flag": 1, "score": 2.1, "flagged_in_a_row": 2}]}`}
	code, body := get(t, api, "/ui/studies/S/kris")
	if code != 200 || strings.Index(body, `sites/701">701`) > strings.Index(body, `sites/702">702`) {
		t.Fatalf("KRI page: %d, or site 701 (risk 12.5) not before 702:\n%s", code, body)
	}
	var plot funnelPlot
	pagetest.PlotOf(t, body, &plot)
	if len(plot.KRIs) != 1 || len(plot.KRIs[0].Sites) != 2 {
		t.Fatalf("funnels: %+v", plot.KRIs)
	}
	f := plot.KRIs[0]
	// The outer thresholds (−2 and 3) flag ±2: red; the inner, amber.
	if got := fmt.Sprint(f.Lines); got != "[{-2 -2 true} {-1 -1 false} {2 2 false} {3 3 true}]" {
		t.Errorf("funnel lines %s", got)
	}
	if f.Bounds[0].X != 10 || f.Bounds[0].Limits[0] != nil || *f.Bounds[0].Limits[3] != 0.4 || *f.Bounds[1].Limits[2] != 0.16 {
		t.Errorf("bounds, by denominator, each threshold's: %+v", f.Bounds)
	}

	code, body = get(t, api, "/ui/studies/S/sites/701")
	if code != 200 || !strings.Contains(body, "Flagged 3 times in a row") || !strings.Contains(body, "Adverse event rate") {
		t.Errorf("site page: %d\n%s", code, body)
	}
	var sp sitePlot
	pagetest.PlotOf(t, body, &sp)
	if len(sp.KRIs) != 1 || len(sp.KRIs[0].Points) != 2 || sp.KRIs[0].Points[0].AsOf != "2026-01-02 00:00" {
		t.Errorf("site history, oldest first: %+v", sp.KRIs)
	}
	// A site the user does not see (or that does not exist) is not found.
	if code, _ := get(t, api, "/ui/studies/S/sites/703"); code != http.StatusNotFound {
		t.Errorf("another site's page: %d, want 404", code)
	}
	// KRIs never computed: a page saying so.
	if code, body := get(t, pagetest.FakeAPI{}, "/ui/studies/S/kris"); code != http.StatusNotFound || !strings.Contains(body, "never computed") {
		t.Errorf("KRIs never computed: %d\n%s", code, body)
	}
}
