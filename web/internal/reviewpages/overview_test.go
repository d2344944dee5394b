package reviewpages

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

// overviewAPI answers what the overview reads of study S1: open findings
// by site, at 701 (HYS_LAW critical 2, CTCAE_GRADE low 1) and 702
// (CTCAE_GRADE low 4), the sites' KRIs, findings raised and withdrawn
// around since, and one acknowledgement in the audit trail.
func overviewAPI(t *testing.T, since time.Time) *pagetest.RecordingAPI {
	open := []map[string]any{
		{"site": "701", "rule": "HYS_LAW", "severity": "critical", "status": "new", "count": 2},
		{"site": "701", "rule": "CTCAE_GRADE", "severity": "low", "status": "new", "count": 1},
		{"site": "702", "rule": "CTCAE_GRADE", "severity": "low", "status": "acknowledged", "count": 4},
	}
	return &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/api/v1/studies/S1/signals/summary":
			if q.Get("status") != "new,acknowledged" || q.Get("by") != "site" || q.Has("site") {
				t.Errorf("summary?%s, want the open findings of every site, by site", r.URL.RawQuery)
			}
			pagetest.WriteJSON(w, 200, map[string]any{"counts": open})
		case "/api/v1/studies/S1/kris":
			pagetest.WriteJSON(w, 200, map[string]any{"as_of": since,
				"kris":        []map[string]any{{"kri": "kri0001", "site": "701", "flag": 0}, {"kri": "kri0001", "site": "702", "flag": 2, "flagged_in_a_row": 3}},
				"risk_scores": []map[string]any{{"site": "701", "score": 5}, {"site": "702", "score": 20, "red": 1}}})
		case "/api/v1/studies/S1/signals":
			if q.Get("status") == "resolved_by_data" {
				pagetest.WriteJSON(w, 200, map[string]any{"signals": []map[string]any{
					{"id": 3, "severity": "low", "created": since.Add(-time.Hour), "updated": since.Add(time.Hour)},
					{"id": 2, "severity": "low", "created": since.Add(-time.Hour), "updated": since.Add(-time.Minute)}}})
				return
			}
			pagetest.WriteJSON(w, 200, map[string]any{"signals": []map[string]any{
				{"id": 9, "rule": "HYS_LAW", "severity": "critical", "subject": "01-701-1015", "message": "Hy's law", "created": since.Add(time.Hour)},
				{"id": 8, "rule": "CTCAE_GRADE", "severity": "low", "created": since.Add(-time.Hour)}}})
		case "/api/v1/studies/S1/audit":
			pagetest.WriteJSON(w, 200, map[string]any{"records": []map[string]any{{"new": `{"status":"acknowledged","reason":"seen"}`}}})
		default:
			t.Errorf("unexpected API call %s", r.URL)
			pagetest.WriteJSON(w, 404, map[string]string{"error": "not found"})
		}
	}}
}

func TestOverviewCountsOpenFindingsBySiteAndShowsChanges(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	since := now.Add(-24 * time.Hour)
	api := overviewAPI(t, since)
	s := New(page.NewAPIClient(api), slog.New(slog.DiscardHandler), func() time.Time { return now })
	r := pagetest.Request("GET", "/ui/studies/S1/", nil, pagetest.Monitor)
	r.AddCookie(&http.Cookie{Name: visitCookie, Value: strconv.FormatInt(since.Unix(), 10)})
	w := pagetest.Serve(s, r)
	if w.Code != 200 {
		t.Fatalf("overview: %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		"Open findings by rule and severity (7)",
		`findings?rule=HYS_LAW&amp;severity=critical&amp;status=new,acknowledged">2</a>`,
		`findings?rule=CTCAE_GRADE&amp;severity=low&amp;status=new,acknowledged">5</a>`,
		`<span class="flag-red">Adverse event rate (red, 3 in a row)</span>`,
		`findings?site=702&amp;status=new,acknowledged">4</a>`,
		"HYS_LAW 2, CTCAE_GRADE 1", // site 701's rules, most first
		"1 finding raised", `<span class="sev-critical">1 critical</span>`, "1 withdrawn", "1 acknowledged",
		`href="/ui/studies/S1/findings/9"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	if i, j := strings.Index(body, `findings?rule=CTCAE_GRADE&amp;status`), strings.Index(body, `findings?rule=HYS_LAW&amp;status`); i < 0 || j < 0 || i > j {
		t.Errorf("the rules are not in name order")
	}
	if i, j := strings.Index(body, `sites/702"`), strings.Index(body, `sites/701"`); i < 0 || j < 0 || i > j {
		t.Errorf("site 702 (risk 20) is not listed before 701 (risk 5)")
	}
	var visits string
	for _, c := range w.Result().Cookies() {
		if c.Name == visitCookie {
			visits = c.Value
		}
	}
	if visits != strconv.FormatInt(since.Unix(), 10)+"."+strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("visit cookie %q, want the last visit and now", visits)
	}
	summaries := 0
	for _, c := range api.Calls() {
		if c.Path == "/api/v1/studies/S1/signals/summary" {
			summaries++
		}
		if c.Path == "/api/v1/studies/S1/audit" {
			if q, _ := url.ParseQuery(c.Query); q.Get("from") != since.Format(time.RFC3339) {
				t.Errorf("review steps read from %q, want since", q.Get("from"))
			}
		}
	}
	if summaries != 1 {
		t.Errorf("%d summaries asked for, want one for every site", summaries)
	}
}
