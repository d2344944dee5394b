package reviewpages

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPages is the review pages over api.
func newPages(api http.Handler) *Pages {
	return New(page.NewAPIClient(api), slog.New(slog.DiscardHandler), time.Now)
}

func TestFindingsQueuePassesItsFiltersToTheAPIAndPages(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Query().Get("page_token") != "" {
			pagetest.WriteJSON(w, 200, map[string]any{"signals": []any{}})
			return
		}
		pagetest.WriteJSON(w, 200, map[string]any{"signals": []map[string]any{{"id": 7, "site": "701", "subject": "01-701-1015",
			"rule": "HYS_LAW", "severity": "critical", "status": "new", "message": "<b>ALT</b> high", "created": time.Now()}},
			"next_page_token": "tok/+1"})
	}}
	s := newPages(api)
	w := pagetest.Serve(s, pagetest.Request("GET", "/ui/studies/S1/findings?rule=HYS_LAW&severity=high&severity=critical&status=new,acknowledged&site=701&from=2014-01-01&sort=severity&limit=25", nil, pagetest.Monitor))
	if w.Code != 200 {
		t.Fatalf("queue: %d\n%s", w.Code, w.Body)
	}
	if len(api.Calls()) != 1 {
		t.Fatalf("%d API calls, want 1", len(api.Calls()))
	}
	c := api.Calls()[0]
	q, _ := url.ParseQuery(c.Query)
	want := url.Values{"rule": {"HYS_LAW"}, "severity": {"high,critical"}, "status": {"new,acknowledged"}, "site": {"701"},
		"from": {"2014-01-01"}, "sort": {"severity"}, "limit": {"25"}}
	if c.Path != "/api/v1/studies/S1/signals" || q.Encode() != want.Encode() || c.Auth != "Bearer "+pagetest.Session {
		t.Errorf("API call %+v, want the filters %v with the session's token", c, want)
	}
	body := w.Body.String()
	for _, s := range []string{
		`href="/ui/studies/S1/findings/7"`, `href="/ui/studies/S1/subjects/01-701-1015"`,
		`&lt;b&gt;ALT&lt;/b&gt; high`, // the API's text is never HTML
		`name="id" value="7"`,         // a monitor may review
		"page_token=tok%2F%2B1",       // the next page keeps the filters and the API's token
		`href="/ui/studies/S1/findings.csv?`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the queue lacks %s", s)
		}
	}
	next := body[strings.Index(body, `rel="next"`)-400 : strings.Index(body, `rel="next"`)]
	if !strings.Contains(next, "rule=HYS_LAW") || !strings.Contains(next, "limit=25") {
		t.Errorf("the next page forgets the filters: %s", next)
	}

	site := auth.Identity{Name: "site", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "701"}}}
	if body := pagetest.Serve(s, pagetest.Request("GET", "/ui/studies/S1/findings", nil, site)).Body.String(); strings.Contains(body, `name="id"`) || strings.Contains(body, "findings/review") {
		t.Error("a site user is offered the review form")
	}
}

func TestFindingsQueueShowsAFilterTheAPIRefused(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		pagetest.WriteJSON(w, 400, map[string]string{"error": "query parameter from: want a date such as 2014-01-31"})
	}}
	w := pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/findings?from=yesterday", nil, pagetest.Monitor))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "query parameter from: want a date") || !strings.Contains(w.Body.String(), `value="yesterday"`) {
		t.Errorf("a refused filter: %d, the page should say why and keep the form:\n%s", w.Code, w.Body)
	}
}

func reviewForm(action, reason string, ids ...string) io.Reader {
	return strings.NewReader(url.Values{"action": {action}, "reason": {reason}, "id": ids, "back": {"/ui/studies/S1/findings?rule=X"}}.Encode())
}

func postForm(target string, body io.Reader) *http.Request {
	r := pagetest.Request("POST", target, body, pagetest.Monitor)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestReviewPatchesEachFindingAndReportsEveryFailure(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Path {
		case "/api/v1/studies/S1/signals/2":
			pagetest.WriteJSON(w, 409, map[string]string{"error": "a signal cannot go from closed to acknowledged"})
		case "/api/v1/studies/S1/signals/3":
			pagetest.WriteJSON(w, 404, map[string]string{"error": "not found"})
		case "/api/v1/studies/S1/signals/4":
			pagetest.WriteJSON(w, 500, map[string]string{"error": "internal error"})
		default:
			pagetest.WriteJSON(w, 200, map[string]any{"id": 1, "status": "acknowledged"})
		}
	}}
	w := pagetest.Serve(newPages(api), postForm("/ui/studies/S1/findings/review", reviewForm("acknowledged", "seen", "1", "2", "3", "4", "x", "1")))
	if w.Code != 200 {
		t.Fatalf("review: %d", w.Code)
	}
	var patched []string
	for _, c := range api.Calls() {
		if c.Method != "PATCH" || c.Auth != "Bearer "+pagetest.Session || c.Body != `{"status":"acknowledged","reason":"seen"}` {
			t.Errorf("API call %+v", c)
		}
		patched = append(patched, c.Path)
	}
	if strings.Join(patched, " ") != "/api/v1/studies/S1/signals/1 /api/v1/studies/S1/signals/2 /api/v1/studies/S1/signals/3 /api/v1/studies/S1/signals/4" {
		t.Errorf("patched %v: want each id once, in order, and nothing for a bad id", patched)
	}
	body := w.Body.String()
	for _, s := range []string{"Review: 1 finding acknowledged", "4 not changed", "a signal cannot go from closed to acknowledged",
		"no such finding in this study", "the server failed to change it", "not a finding id", `href="/ui/studies/S1/findings?rule=X"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the review page lacks %q:\n%s", s, body)
		}
	}
}

func TestReviewRefusesBeforeChangingAnything(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) { pagetest.WriteJSON(w, 200, map[string]any{}) }}
	many := make([]string, maxReview+1)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	for name, c := range map[string]struct {
		form io.Reader
		msg  string
	}{
		"nothing chosen":        {reviewForm("acknowledged", ""), "no finding chosen"},
		"too many":              {reviewForm("acknowledged", "", many...), fmt.Sprintf("review at most %d", maxReview)},
		"closing with no why":   {reviewForm("closed", "  ", "1"), "closing needs a reason"},
		"an action of no kind":  {reviewForm("deleted", "x", "1"), "action: want acknowledged or closed"},
		"reopening is no place": {reviewForm("new", "x", "1"), "action: want acknowledged or closed"},
	} {
		w := pagetest.Serve(newPages(api), postForm("/ui/studies/S1/findings/review", c.form))
		if w.Code != 400 || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d, want 400 saying %q", name, w.Code, c.msg)
		}
	}
	if len(api.Calls()) != 0 {
		t.Errorf("refused reviews called the API %d times", len(api.Calls()))
	}
}

func TestFindingPageShowsEvidenceAndHistory(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		pagetest.WriteJSON(w, 200, map[string]any{"id": 9, "site": "701", "subject": "01-701-1015", "rule": "HYS_LAW", "severity": "critical",
			"status": "acknowledged", "message": "Hy's law", "created": time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
			"evidence": map[string]any{"alt_xuln": 4.5, "results": []any{"LB:1", "LB:2"}, "peak": map[string]any{"date": "2014-01-08"}},
			"history":  []map[string]any{{"at": time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), "actor": "mon", "from": "new", "to": "acknowledged", "reason": "looking"}}})
	}}
	w := pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/findings/9", nil, pagetest.Monitor))
	body := w.Body.String()
	for _, s := range []string{"<dt>alt xuln</dt>", "<dd>4.5</dd>", "<dd>LB:1, LB:2</dd>", "<dt>date</dt>", "2026-01-03 00:00 UTC", "<td>mon</td>",
		"new → acknowledged", "looking", `href="/ui/studies/S1/subjects/01-701-1015"`, `value="closed"`} {
		if !strings.Contains(body, s) {
			t.Errorf("finding page lacks %q", s)
		}
	}
	if strings.Contains(body, `value="acknowledged"`) {
		t.Error("an acknowledged finding is offered acknowledging again")
	}
	if w := pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/findings/abc", nil, pagetest.Monitor)); w.Code != 404 {
		t.Errorf("finding abc: %d, want 404", w.Code)
	}
}

func TestExportStreamsTheAPIsCSV(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Query().Get("format") != "csv" || r.URL.Query().Has("limit") || r.URL.Query().Has("page_token") {
			pagetest.WriteJSON(w, 400, map[string]string{"error": "query parameter limit: an export has every signal"})
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="signals-S1.csv"`)
		w.Write([]byte("id,rule\n"))
		w.(http.Flusher).Flush()
		w.Write([]byte("7,HYS_LAW\n"))
	}}
	w := pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/findings.csv?rule=HYS_LAW&limit=25&page_token=abc", nil, pagetest.Monitor))
	if w.Code != 200 || w.Body.String() != "id,rule\n7,HYS_LAW\n" || !strings.Contains(w.Header().Get("Content-Disposition"), "signals-S1.csv") || !w.Flushed {
		t.Errorf("export: %d %q %v flushed %v", w.Code, w.Body, w.Header(), w.Flushed)
	}
	api.Serve = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		pagetest.WriteJSON(w, 400, map[string]string{"error": "query parameter rule: unknown rule"})
	}
	w = pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/findings.csv?rule=NOPE", nil, pagetest.Monitor))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "query parameter rule: unknown rule") || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("a refused export: %d %s, want the API's reason on an error page", w.Code, w.Body)
	}
}

func TestUploadStreamsTheBodyToTheAPI(t *testing.T) {
	var got []string
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
		mr, err := multipart.NewReader(bytes.NewReader(body), mustBoundary(r.Header.Get("Content-Type"))), error(nil)
		for err == nil {
			var p *multipart.Part
			if p, err = mr.NextPart(); err == nil {
				b, _ := io.ReadAll(p)
				got = append(got, p.FileName()+":"+string(b))
			}
		}
		pagetest.WriteJSON(w, 422, map[string]any{"error": "nothing stored: 1 problem(s) in the upload",
			"problems": []map[string]any{{"file": "lb.csv", "line": 3, "column": "LBSTRESN", "message": "not a number"}}})
	}}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "lb.csv")
	fw.Write([]byte("STUDYID,DOMAIN\nS1,LB\n"))
	mw.Close()
	site := auth.Identity{Name: "site", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "701"}}}
	r := pagetest.Request("POST", "/ui/studies/S1/uploads", &b, site)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	w := pagetest.Serve(newPages(api), r)
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"column":"LBSTRESN"`) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("upload: %d %s", w.Code, w.Body)
	}
	if len(got) != 1 || got[0] != "lb.csv:STUDYID,DOMAIN\nS1,LB\n" || api.Calls()[0].Path != "/api/v1/studies/S1/uploads" || api.Calls()[0].Auth != "Bearer "+pagetest.Session {
		t.Errorf("the API got %q in %+v", got, api.Calls())
	}
	r = pagetest.Request("POST", "/ui/studies/S1/uploads", strings.NewReader("x"), site)
	r.Header.Set("Content-Type", "text/csv")
	if w := pagetest.Serve(newPages(api), r); w.Code != 400 || len(api.Calls()) != 1 {
		t.Errorf("a body that is not a form: %d, %d API calls", w.Code, len(api.Calls()))
	}
}

func mustBoundary(ct string) string {
	_, b, _ := strings.Cut(ct, "boundary=")
	return b
}

func TestLastVisit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(ago time.Duration) string { return strconv.FormatInt(now.Add(-ago).Unix(), 10) }
	for _, c := range []struct {
		name, cookie string
		since        time.Time
		stored       string
	}{
		{"first visit", "", time.Time{}, at(0)},
		{"back after a day", at(24 * time.Hour), now.Add(-24 * time.Hour), at(24*time.Hour) + "." + at(0)},
		{"a reload keeps the baseline", at(24*time.Hour) + "." + at(time.Minute), now.Add(-24 * time.Hour), at(24*time.Hour) + "." + at(0)},
		{"second view of a first sitting", at(time.Minute), time.Time{}, at(0)},
		{"a new sitting moves it", at(48*time.Hour) + "." + at(2*time.Hour), now.Add(-2 * time.Hour), at(2*time.Hour) + "." + at(0)},
		{"garbage", "x.y", time.Time{}, at(0)},
		{"from the future", at(-time.Hour), time.Time{}, at(0)},
	} {
		r := httptest.NewRequest("GET", "/ui/studies/S1/", nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: visitCookie, Value: c.cookie})
		}
		since, v := lastVisit(r, now)
		ck := v.cookie("S 1", false)
		if !since.Equal(c.since) || ck.Value != c.stored || ck.Path != "/ui/studies/S%201/" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: since %v, cookie %+v; want since %v, value %q", c.name, since, ck, c.since, c.stored)
		}
	}
}

func TestAuditPageAsksTheAPIAndReadsChanges(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		pagetest.WriteJSON(w, 200, map[string]any{"records": []map[string]any{{"seq": 5, "at": time.Now(), "actor": "mon", "role": "monitor",
			"entity": "signal", "entity_id": "9", "action": "status", "old": `{"status":"new","reason":""}`,
			"new": `{"status":"closed","reason":"duplicate"}`}}, "next_after": 5})
	}}
	w := pagetest.Serve(newPages(api), pagetest.Request("GET", "/ui/studies/S1/audit?entity=signal&from=2026-01-01&to=2026-01-31&limit=50", nil, pagetest.Monitor))
	q, _ := url.ParseQuery(api.Calls()[0].Query)
	if q.Get("to") != "2026-02-01" || q.Get("from") != "2026-01-01" || q.Get("entity") != "signal" || q.Get("limit") != "50" {
		t.Errorf("audit query %v: to includes its day, the API's to does not", q)
	}
	body := w.Body.String()
	for _, s := range []string{`<strong>status</strong>: <del>new</del> → closed`, `<strong>reason</strong>: duplicate`,
		`href="/ui/studies/S1/findings/9"`, "after=5", `href="/ui/studies/S1/audit.csv?`} {
		if !strings.Contains(body, s) {
			t.Errorf("audit page lacks %q", s)
		}
	}
}
