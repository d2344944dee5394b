package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
)

// recordingAPI records the API calls a page makes and answers each with its
// handler.
type recordingAPI struct {
	mu    sync.Mutex
	calls []apiCall
	serve func(w http.ResponseWriter, r *http.Request, body []byte)
}

type apiCall struct {
	Method, Path, Query, Auth, Body string
}

func (f *recordingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, apiCall{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
	f.mu.Unlock()
	f.serve(w, r, body)
}

const session = "tw_session-token"

var monitor = auth.Identity{Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}}}

// pageReq is a page request as the access router hands it on: with the
// session cookie and the caller's identity.
func pageReq(method, target string, body io.Reader, id auth.Identity) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: session})
	return r.WithContext(auth.NewContext(r.Context(), id))
}

func serve(s *Server, r *http.Request) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	s.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestFindingsQueuePassesItsFiltersToTheAPIAndPages(t *testing.T) {
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Query().Get("page_token") != "" {
			writeJSON(w, 200, map[string]any{"signals": []any{}})
			return
		}
		writeJSON(w, 200, map[string]any{"signals": []map[string]any{{"id": 7, "site": "701", "subject": "01-701-1015",
			"rule": "HYS_LAW", "severity": "critical", "status": "new", "message": "<b>ALT</b> high", "created": time.Now()}},
			"next_page_token": "tok/+1"})
	}}
	s := New(api)
	w := serve(s, pageReq("GET", "/ui/studies/S1/findings?rule=HYS_LAW&severity=high&severity=critical&status=new,acknowledged&site=701&from=2014-01-01&sort=severity&limit=25", nil, monitor))
	if w.Code != 200 {
		t.Fatalf("queue: %d\n%s", w.Code, w.Body)
	}
	if len(api.calls) != 1 {
		t.Fatalf("%d API calls, want 1", len(api.calls))
	}
	c := api.calls[0]
	q, _ := url.ParseQuery(c.Query)
	want := url.Values{"rule": {"HYS_LAW"}, "severity": {"high,critical"}, "status": {"new,acknowledged"}, "site": {"701"},
		"from": {"2014-01-01"}, "sort": {"severity"}, "limit": {"25"}}
	if c.Path != "/api/v1/studies/S1/signals" || q.Encode() != want.Encode() || c.Auth != "Bearer "+session {
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
	if body := serve(s, pageReq("GET", "/ui/studies/S1/findings", nil, site)).Body.String(); strings.Contains(body, `name="id"`) || strings.Contains(body, "findings/review") {
		t.Error("a site user is offered the review form")
	}
}

func TestFindingsQueueShowsAFilterTheAPIRefused(t *testing.T) {
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 400, map[string]string{"error": "query parameter from: want a date such as 2014-01-31"})
	}}
	w := serve(New(api), pageReq("GET", "/ui/studies/S1/findings?from=yesterday", nil, monitor))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "query parameter from: want a date") || !strings.Contains(w.Body.String(), `value="yesterday"`) {
		t.Errorf("a refused filter: %d, the page should say why and keep the form:\n%s", w.Code, w.Body)
	}
}

func reviewForm(action, reason string, ids ...string) io.Reader {
	return strings.NewReader(url.Values{"action": {action}, "reason": {reason}, "id": ids, "back": {"/ui/studies/S1/findings?rule=X"}}.Encode())
}

func postForm(target string, body io.Reader) *http.Request {
	r := pageReq("POST", target, body, monitor)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestReviewPatchesEachFindingAndReportsEveryFailure(t *testing.T) {
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Path {
		case "/api/v1/studies/S1/signals/2":
			writeJSON(w, 409, map[string]string{"error": "a signal cannot go from closed to acknowledged"})
		case "/api/v1/studies/S1/signals/3":
			writeJSON(w, 404, map[string]string{"error": "not found"})
		case "/api/v1/studies/S1/signals/4":
			writeJSON(w, 500, map[string]string{"error": "internal error"})
		default:
			writeJSON(w, 200, map[string]any{"id": 1, "status": "acknowledged"})
		}
	}}
	w := serve(New(api), postForm("/ui/studies/S1/findings/review", reviewForm("acknowledged", "seen", "1", "2", "3", "4", "x", "1")))
	if w.Code != 200 {
		t.Fatalf("review: %d", w.Code)
	}
	var patched []string
	for _, c := range api.calls {
		if c.Method != "PATCH" || c.Auth != "Bearer "+session || c.Body != `{"reason":"seen","status":"acknowledged"}` {
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
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, 200, map[string]any{}) }}
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
		w := serve(New(api), postForm("/ui/studies/S1/findings/review", c.form))
		if w.Code != 400 || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d, want 400 saying %q", name, w.Code, c.msg)
		}
	}
	if len(api.calls) != 0 {
		t.Errorf("refused reviews called the API %d times", len(api.calls))
	}
}

func TestFindingPageShowsEvidenceAndHistory(t *testing.T) {
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, map[string]any{"id": 9, "site": "701", "subject": "01-701-1015", "rule": "HYS_LAW", "severity": "critical",
			"status": "acknowledged", "message": "Hy's law", "created": time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
			"evidence": map[string]any{"alt_xuln": 4.5, "results": []any{"LB:1", "LB:2"}, "peak": map[string]any{"date": "2014-01-08"}},
			"history":  []map[string]any{{"at": time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), "actor": "mon", "from": "new", "to": "acknowledged", "reason": "looking"}}})
	}}
	w := serve(New(api), pageReq("GET", "/ui/studies/S1/findings/9", nil, monitor))
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
	if w := serve(New(api), pageReq("GET", "/ui/studies/S1/findings/abc", nil, monitor)); w.Code != 404 {
		t.Errorf("finding abc: %d, want 404", w.Code)
	}
}

func TestExportStreamsTheAPIsCSV(t *testing.T) {
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Query().Get("format") != "csv" || r.URL.Query().Has("limit") || r.URL.Query().Has("page_token") {
			writeJSON(w, 400, map[string]string{"error": "query parameter limit: an export has every signal"})
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="signals-S1.csv"`)
		w.Write([]byte("id,rule\n"))
		w.(http.Flusher).Flush()
		w.Write([]byte("7,HYS_LAW\n"))
	}}
	w := serve(New(api), pageReq("GET", "/ui/studies/S1/findings.csv?rule=HYS_LAW&limit=25&page_token=abc", nil, monitor))
	if w.Code != 200 || w.Body.String() != "id,rule\n7,HYS_LAW\n" || !strings.Contains(w.Header().Get("Content-Disposition"), "signals-S1.csv") || !w.Flushed {
		t.Errorf("export: %d %q %v flushed %v", w.Code, w.Body, w.Header(), w.Flushed)
	}
	api.serve = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 400, map[string]string{"error": "query parameter rule: unknown rule"})
	}
	w = serve(New(api), pageReq("GET", "/ui/studies/S1/findings.csv?rule=NOPE", nil, monitor))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "query parameter rule: unknown rule") || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("a refused export: %d %s, want the API's reason on an error page", w.Code, w.Body)
	}
}

func TestUploadStreamsTheBodyToTheAPI(t *testing.T) {
	var got []string
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
		mr, err := multipart.NewReader(bytes.NewReader(body), mustBoundary(r.Header.Get("Content-Type"))), error(nil)
		for err == nil {
			var p *multipart.Part
			if p, err = mr.NextPart(); err == nil {
				b, _ := io.ReadAll(p)
				got = append(got, p.FileName()+":"+string(b))
			}
		}
		writeJSON(w, 422, map[string]any{"error": "nothing stored: 1 problem(s) in the upload",
			"problems": []map[string]any{{"file": "lb.csv", "line": 3, "column": "LBSTRESN", "message": "not a number"}}})
	}}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "lb.csv")
	fw.Write([]byte("STUDYID,DOMAIN\nS1,LB\n"))
	mw.Close()
	site := auth.Identity{Name: "site", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "701"}}}
	r := pageReq("POST", "/ui/studies/S1/uploads", &b, site)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	w := serve(New(api), r)
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"column":"LBSTRESN"`) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("upload: %d %s", w.Code, w.Body)
	}
	if len(got) != 1 || got[0] != "lb.csv:STUDYID,DOMAIN\nS1,LB\n" || api.calls[0].Path != "/api/v1/studies/S1/uploads" || api.calls[0].Auth != "Bearer "+session {
		t.Errorf("the API got %q in %+v", got, api.calls)
	}
	r = pageReq("POST", "/ui/studies/S1/uploads", strings.NewReader("x"), site)
	r.Header.Set("Content-Type", "text/csv")
	if w := serve(New(api), r); w.Code != 400 || len(api.calls) != 1 {
		t.Errorf("a body that is not a form: %d, %d API calls", w.Code, len(api.calls))
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
	api := &recordingAPI{serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, map[string]any{"records": []map[string]any{{"seq": 5, "at": time.Now(), "actor": "mon", "role": "monitor",
			"entity": "signal", "entity_id": "9", "action": "status", "old": `{"status":"new","reason":""}`,
			"new": `{"status":"closed","reason":"duplicate"}`}}, "next_after": 5})
	}}
	w := serve(New(api), pageReq("GET", "/ui/studies/S1/audit?entity=signal&from=2026-01-01&to=2026-01-31&limit=50", nil, monitor))
	q, _ := url.ParseQuery(api.calls[0].Query)
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

// opsExposition is a piece of /metrics as the checker's node writes it.
const opsExposition = `# TYPE trialwatch_check_queue_depth gauge
trialwatch_check_queue_depth 12
# TYPE trialwatch_check_queue_oldest_due_seconds gauge
trialwatch_check_queue_oldest_due_seconds 42.4
# TYPE trialwatch_checks_in_flight gauge
trialwatch_checks_in_flight 2
# TYPE trialwatch_check_jobs_total counter
trialwatch_check_jobs_total{outcome="complete"} 300
# TYPE trialwatch_upstream_call_duration_seconds histogram
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="0.01"} 80
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="0.1"} 90
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="+Inf"} 90
trialwatch_upstream_call_duration_seconds_sum{service="subjects",status="ok"} 0.9
trialwatch_upstream_call_duration_seconds_count{service="subjects",status="ok"} 90
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="0.01"} 0
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="0.1"} 0
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="+Inf"} 10
trialwatch_upstream_call_duration_seconds_sum{service="subjects",status="timeout"} 50
trialwatch_upstream_call_duration_seconds_count{service="subjects",status="timeout"} 10
`

func TestOpsPageReadsTheAdminHandlerWithTheSession(t *testing.T) {
	var auths []string
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/history":
			writeJSON(w, 200, map[string]any{"every_seconds": 15, "samples": []map[string]any{
				{"at": time.Now().Add(-time.Minute), "goroutines": 40, "in_flight": 1}, {"at": time.Now(), "goroutines": 55, "in_flight": 3}}})
		case "/debug/leaks":
			writeJSON(w, 200, map[string]any{"status": "suspect", "goroutines": 55, "reasons": []string{"grew by 15"}})
		case "/metrics":
			w.Write([]byte(opsExposition))
		}
	})
	ops := auth.Identity{Name: "ops", Role: auth.RoleOps}
	w := serve(New(http.NotFoundHandler(), WithAdmin(admin)), pageReq("GET", "/ui/ops", nil, ops))
	if w.Code != 200 {
		t.Fatalf("ops page: %d", w.Code)
	}
	for _, a := range auths {
		if a != "Bearer "+session {
			t.Errorf("the admin handler was called with %q, want the session's token", a)
		}
	}
	body := w.Body.String()
	for _, s := range []string{`"goroutines":[40,55]`, `"in_flight":[1,3]`, "suspect", "grew by 15", "<dd>12; the check due longest has waited 42 s</dd>", "<dd>2</dd>", "300 complete",
		`<th scope="row">subjects</th><td class="num">100</td><td class="num">10</td>`, "10.00", "90 ok, 10 timeout", "&gt; 100.0",
		"vendor/chart.umd.min.js", "ops.js"} {
		if !strings.Contains(body, s) {
			t.Errorf("ops page lacks %q", s)
		}
	}
}

func TestQuantileInterpolatesWithinItsBucket(t *testing.T) {
	p := &opsPage{}
	exp := strings.ReplaceAll(opsExposition, `status="timeout"`, `status="error"`)
	exp = strings.ReplaceAll(exp, `le="+Inf"} 10`, `le="+Inf"} 0`)
	exp = strings.ReplaceAll(exp, `_count{service="subjects",status="error"} 10`, `_count{service="subjects",status="error"} 0`)
	exp = strings.ReplaceAll(exp, `_sum{service="subjects",status="error"} 50`, `_sum{service="subjects",status="error"} 0`)
	if err := p.readMetrics([]byte(exp)); err != nil {
		t.Fatal(err)
	}
	// 90 calls: 80 within 10ms, 10 more within 100ms; the 95th
	// percentile (rank 85.5) is 55% into the second bucket.
	if u := p.Upstream[0]; u.Calls != 90 || u.P95IsBucketTop || u.P95MS < 59.4 || u.P95MS > 59.6 || u.MeanMS != 10 {
		t.Errorf("upstream %+v, want 90 calls, p95 59.5 ms, mean 10 ms", u)
	}
}
