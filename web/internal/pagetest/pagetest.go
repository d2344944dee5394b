// Package pagetest holds what the tests of the UI's page packages share:
// fake JSON APIs, page requests as the access router hands them on, and
// checks every page must pass.
package pagetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// Session is the session token of every page request made here.
const Session = "tw_session-token"

// Monitor is a monitor of study S1, every site.
var Monitor = auth.Identity{Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}}}

// Registrar is a page package's server: it mounts its routes on a mux.
type Registrar interface{ Register(jsonhttp.Mux) }

// RecordingAPI records the API calls a page makes and answers each with
// Serve.
type RecordingAPI struct {
	Serve func(w http.ResponseWriter, r *http.Request, body []byte)

	mu    sync.Mutex
	calls []Call
}

// Call is one request the API got.
type Call struct {
	Method, Path, Query, Auth, Body string
}

func (f *RecordingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, Call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
	f.mu.Unlock()
	f.Serve(w, r, body)
}

// Calls are the requests the API got, in order.
func (f *RecordingAPI) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// FakeAPI answers API paths (with their query) from a table: a JSON body
// (a string is sent as it is), or a status with an error message when the
// entry is an int.
type FakeAPI map[string]any

func (f FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, ok := f[r.URL.RequestURI()]
	if !ok {
		v, ok = f[r.URL.Path]
	}
	w.Header().Set("Content-Type", "application/json")
	switch v := v.(type) {
	case int:
		w.WriteHeader(v)
		fmt.Fprintf(w, `{"error": %q}`, strings.ToLower(http.StatusText(v)))
	case string:
		fmt.Fprint(w, v)
	default:
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error": "not found"}`)
			return
		}
		json.NewEncoder(w).Encode(v)
	}
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Request is a page request as the access router hands it on: with the
// session cookie and the caller's identity.
func Request(method, target string, body io.Reader, id auth.Identity) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: Session})
	return r.WithContext(auth.NewContext(r.Context(), id))
}

// Serve answers r with the routes of pages.
func Serve(pages Registrar, r *http.Request) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	pages.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

// Get renders the page at path, signed in as no one, checking what every
// page must be: under the strict policy, with no inline style.
func Get(t testing.TB, pages Registrar, path string) (int, string) {
	t.Helper()
	w := Serve(pages, httptest.NewRequest("GET", path, nil))
	body := w.Body.String()
	if w.Code < 500 && (w.Header().Get("Content-Security-Policy") != page.ContentSecurityPolicy || strings.Contains(body, "style=")) {
		t.Errorf("%s: no strict policy, or an inline style", path)
	}
	return w.Code, body
}

// PlotOf decodes the page's plot data block into v.
func PlotOf(t testing.TB, body string, v any) {
	t.Helper()
	_, rest, ok := strings.Cut(body, `<script type="application/json" id="plot-data">`)
	text, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		t.Fatalf("no plot data in the page")
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("plot data: %v\n%s", err, text)
	}
}
