package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSafeNextKeepsOnlyPagesOfTheUI(t *testing.T) {
	for next, want := range map[string]string{
		"/ui/studies/S1/":         "/ui/studies/S1/",
		"":                        "",
		"https://evil.example/ui": "",
		"//evil.example/ui/":      "",
		"/api/v1/signals":         "",
		"/ui/\\evil":              "",
		"/ui/x\r\nSet-Cookie: a":  "",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestPagesCarryTheStrictPolicy(t *testing.T) {
	s := New(http.NotFoundHandler())
	mux := http.NewServeMux()
	s.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/ui/login?next=/ui/studies/S1/", nil))
	if w.Code != 200 {
		t.Fatalf("login page: %d", w.Code)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if csp != page.ContentSecurityPolicy || strings.Contains(csp, "unsafe") {
		t.Errorf("login page policy %q", csp)
	}
	body := w.Body.String()
	if !strings.Contains(body, `name="next" value="/ui/studies/S1/"`) || strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Errorf("login page: no next field, or inline script or style:\n%s", body)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == loginCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || !strings.Contains(body, cookie.Value) {
		t.Errorf("login form token cookie %+v is not the form's", cookie)
	}
}

func TestHomeLinksEachStudyToItsFirstPageForTheRole(t *testing.T) {
	for _, c := range []struct {
		id   auth.Identity
		want []string
	}{
		{auth.Identity{Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}, {Study: "S 2", Site: "*"}}},
			[]string{`<a href="/ui/studies/S1/">S1</a>`, `<a href="/ui/studies/S%202/">S 2</a>`}},
		{auth.Identity{Name: "adm", Role: auth.RoleAdmin, Grants: []auth.Grant{{Study: "S1", Site: "*"}, {Study: "S2", Site: "*"}}},
			[]string{`<a href="/ui/studies/S1/audit">S1</a>`, `<a href="/ui/studies/S2/audit">S2</a>`}},
	} {
		w := pagetest.Serve(New(http.NotFoundHandler()), pagetest.Request("GET", "/ui/", nil, c.id))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: home: %d", c.id.Name, w.Code)
		}
		for _, link := range c.want {
			if !strings.Contains(w.Body.String(), link) {
				t.Errorf("%s: home lacks %s:\n%s", c.id.Name, link, w.Body)
			}
		}
	}
}

// TestRegisterMountsEveryUIRoute checks that the page packages' routes,
// together, are the UI's rules in access.Rules: none lost in the split
// into packages, none without its rule.
func TestRegisterMountsEveryUIRoute(t *testing.T) {
	var mounted []string
	New(http.NotFoundHandler()).Register(muxFunc(func(pattern string, _ func(http.ResponseWriter, *http.Request)) {
		mounted = append(mounted, pattern)
	}))
	var want []string
	for pattern, rule := range access.Rules() {
		if rule.Page || strings.Contains(pattern, " /ui/") || pattern == "GET /{$}" {
			want = append(want, pattern)
		}
	}
	slices.Sort(mounted)
	slices.Sort(want)
	if !slices.Equal(mounted, want) {
		t.Errorf("mounted %q\nwant the UI's rules %q", mounted, want)
	}
}

type muxFunc func(pattern string, h func(http.ResponseWriter, *http.Request))

func (f muxFunc) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	f(pattern, h)
}
