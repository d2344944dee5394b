package page_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func renderer() *page.Renderer {
	return page.NewRenderer(fstest.MapFS{
		"templates/hello.html": {Data: []byte(`{{define "content"}}<p>{{.Data}}</p>{{end}}`)},
	}, slog.New(slog.DiscardHandler))
}

// routed is r as a mux hands it on: with its path values.
func routed(pattern string, r *http.Request, h http.HandlerFunc) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.HandleFunc(pattern, h)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestRenderPutsThePageInTheLayoutUnderThePolicy(t *testing.T) {
	rd := renderer()
	w := routed("GET /ui/studies/{study}/x", pagetest.Request("GET", "/ui/studies/S1/x", nil, pagetest.Monitor), func(w http.ResponseWriter, r *http.Request) {
		rd.Render(w, r, http.StatusTeapot, "hello", page.Page{Title: "Hi", Nav: "findings", Data: "<b>text</b>"})
	})
	body := w.Body.String()
	if w.Code != http.StatusTeapot || w.Header().Get("Content-Security-Policy") != page.ContentSecurityPolicy ||
		w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("render: %d %v", w.Code, w.Header())
	}
	for _, s := range []string{"<p>&lt;b&gt;text&lt;/b&gt;</p>", "<title>Hi · trialwatch</title>",
		`<meta name="csrf-token" content="` + access.CSRFToken(pagetest.Session) + `">`, // the session's
		`<a href="/ui/studies/S1/findings" aria-current="page">Findings</a>`,            // the study from the path, the user from the context
		"mon (monitor)"} {
		if !strings.Contains(body, s) {
			t.Errorf("the page lacks %s:\n%s", s, body)
		}
	}
}

func TestAPIFailedShowsRefusalsAndHidesServerErrors(t *testing.T) {
	rd := renderer()
	failWith := func(err error) *httptest.ResponseRecorder {
		return routed("GET /", pagetest.Request("GET", "/", nil, pagetest.Monitor), func(w http.ResponseWriter, r *http.Request) {
			rd.APIFailed(w, r, err)
		})
	}
	w := failWith(&page.APIError{Status: http.StatusNotFound, Message: "no subject <X>"})
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no subject &lt;X&gt;") || w.Header().Get("Content-Security-Policy") != page.ContentSecurityPolicy {
		t.Errorf("a refusal: %d, want the API's reason on the error page:\n%s", w.Code, w.Body)
	}
	for _, err := range []error{&page.APIError{Status: http.StatusBadGateway, Message: "upstream secret"}, errors.New("db secret")} {
		w := failWith(err)
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), "Request id") {
			t.Errorf("%v: %d %q, want a generic 500 with the request id", err, w.Code, w.Body)
		}
	}
}

func TestAPIClientCallsAsTheSession(t *testing.T) {
	api := &pagetest.RecordingAPI{Serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path == "/refused" {
			pagetest.WriteJSON(w, http.StatusConflict, map[string]string{"error": "cannot go from closed to new"})
			return
		}
		pagetest.WriteJSON(w, http.StatusOK, map[string]string{"got": r.URL.RawQuery})
	}}
	c := page.NewAPIClient(api)
	r := pagetest.Request("GET", "/ui/", nil, pagetest.Monitor)
	var out struct{ Got string }
	if err := c.Get(r, page.Query("/ok", "a", "x y", "empty", "", "b", "1"), &out); err != nil || out.Got != "a=x+y&b=1" {
		t.Errorf("Get: %v, %+v", err, out)
	}
	err := c.Send(r, http.MethodPatch, "/refused", map[string]string{"status": "new"}, nil)
	var ae *page.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Message != "cannot go from closed to new" {
		t.Errorf("Send to a refusing API: %v", err)
	}
	for _, call := range api.Calls() {
		if call.Auth != "Bearer "+pagetest.Session {
			t.Errorf("%s %s called with %q, want the session's token", call.Method, call.Path, call.Auth)
		}
	}
}

func TestForwardWritesNothingOfAFailedAnswer(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", "attachment")
		pagetest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "query parameter x: unknown"})
	})
	w := httptest.NewRecorder()
	err := page.NewAPIClient(api).Forward(w, pagetest.Request("GET", "/ui/x.csv", nil, pagetest.Monitor), "/x")
	var ae *page.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message != "query parameter x: unknown" {
		t.Errorf("Forward of a refusal: %v", err)
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("a refused export wrote %v %q", w.Header(), w.Body)
	}
}

func TestStudyAPIEscapesEachPart(t *testing.T) {
	if got := page.StudyAPI("S 1", "subjects", "01/701"); got != "/api/v1/studies/S%201/subjects/01%2F701" {
		t.Errorf("StudyAPI: %s", got)
	}
}
