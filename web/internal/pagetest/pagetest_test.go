package pagetest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(h http.Handler, target string) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w.Code, w.Body.String()
}

// TestFakeAPI checks the table's answers: a value as JSON, a string as it
// is, an int as that status with its error, the entry for the path with
// its query first, and 404 for a path not in the table.
func TestFakeAPI(t *testing.T) {
	api := pagetest.FakeAPI{
		"/api/v1/me":          map[string]string{"name": "mon"},
		"/api/v1/raw":         `{"raw": true}`,
		"/api/v1/down":        http.StatusServiceUnavailable,
		"/api/v1/list?page=2": `["second"]`,
		"/api/v1/list":        `["first"]`,
	}
	for target, want := range map[string]struct {
		code int
		body string
	}{
		"/api/v1/me":          {200, `{"name":"mon"}` + "\n"},
		"/api/v1/raw":         {200, `{"raw": true}`},
		"/api/v1/down":        {503, `{"error": "service unavailable"}`},
		"/api/v1/list?page=2": {200, `["second"]`},
		"/api/v1/list?page=3": {200, `["first"]`},
		"/api/v1/nothing":     {404, `{"error": "not found"}`},
	} {
		if code, body := get(api, target); code != want.code || body != want.body {
			t.Errorf("GET %s = %d %q, want %d %q", target, code, body, want.code, want.body)
		}
	}
}

func TestRecordingAPI(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
		pagetest.WriteJSON(w, http.StatusCreated, map[string]string{"got": string(body)})
	}}
	r := httptest.NewRequest("POST", "/api/v1/x?a=1", strings.NewReader("hello"))
	r.Header.Set("Authorization", "Bearer t")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code != http.StatusCreated || w.Body.String() != `{"got":"hello"}`+"\n" {
		t.Errorf("answer %d %q", w.Code, w.Body.String())
	}
	want := []pagetest.Call{{Method: "POST", Path: "/api/v1/x", Query: "a=1", Auth: "Bearer t", Body: "hello"}}
	if got := api.Calls(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("Calls = %+v, want %+v", got, want)
	}
}

// TestRequest checks a page request carries the session cookie and the
// identity, as the access router hands it on.
func TestRequest(t *testing.T) {
	r := pagetest.Request("GET", "/studies", nil, pagetest.Monitor)
	c, err := r.Cookie(access.SessionCookie)
	if err != nil || c.Value != pagetest.Session {
		t.Errorf("session cookie %v, %v", c, err)
	}
	if id, ok := auth.FromContext(r.Context()); !ok || id.Name != pagetest.Monitor.Name {
		t.Errorf("identity %+v, %v; want the monitor", id, ok)
	}
}

// pages is a page package serving one page, with the strict policy
// unless sloppy, and body.
type pages struct {
	sloppy bool
	body   string
}

func (p pages) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		if !p.sloppy {
			w.Header().Set("Content-Security-Policy", page.ContentSecurityPolicy)
		}
		io.WriteString(w, p.body)
	})
}

// errorsTB records what Get reports.
type errorsTB struct {
	testing.TB
	errs []string
}

func (e *errorsTB) Helper()                        {}
func (e *errorsTB) Errorf(format string, a ...any) { e.errs = append(e.errs, format) }

// TestGet checks Get renders a page through its routes and fails a page
// without the strict policy or with an inline style.
func TestGet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     pages
		fails bool
	}{
		{"strict", pages{body: `<p class="x">ok</p>`}, false},
		{"no policy", pages{sloppy: true, body: `<p>ok</p>`}, true},
		{"inline style", pages{body: `<p style="color: red">ok</p>`}, true},
	} {
		rec := &errorsTB{TB: t}
		code, body := pagetest.Get(rec, tc.p, "/page")
		if code != 200 || body != tc.p.body {
			t.Errorf("%s: Get = %d %q, want the page", tc.name, code, body)
		}
		if failed := len(rec.errs) > 0; failed != tc.fails {
			t.Errorf("%s: Get reported %v, want a failure: %v", tc.name, rec.errs, tc.fails)
		}
	}
}

func TestPlotOf(t *testing.T) {
	body := `<main></main><script type="application/json" id="plot-data">{"x": [1, 2]}</script>`
	var v struct{ X []int }
	pagetest.PlotOf(t, body, &v)
	if len(v.X) != 2 || v.X[1] != 2 {
		t.Errorf("PlotOf = %+v, want x [1 2]", v)
	}
}
