package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
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
	if csp != ContentSecurityPolicy || strings.Contains(csp, "unsafe") {
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
