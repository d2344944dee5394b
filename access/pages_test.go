package access

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/auth"
)

func pageRouter(t *testing.T) *Router {
	r := NewRouter(map[string]Rule{
		"GET /ui/s/{study}/page":  {Page: true, Roles: []auth.Role{auth.RoleSite, auth.RoleMonitor}},
		"POST /ui/s/{study}/page": {Page: true, Roles: []auth.Role{auth.RoleMonitor}},
	})
	r.Attach(tokens{
		monitorToken: {UserID: 1, Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}}, TokenID: 1},
		siteToken:    {UserID: 2, Name: "site", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "701"}}, TokenID: 2},
	}, nil)
	ok := func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.FromContext(r.Context())
		w.Write([]byte("ok " + id.Name))
	}
	r.HandleFunc("GET /ui/s/{study}/page", ok)
	r.HandleFunc("POST /ui/s/{study}/page", ok)
	return r
}

// pageRequest is a browser's request: the session cookie, and for a form
// its fields; header sets more headers.
func pageRequest(method, path, session string, form url.Values, header map[string]string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: session})
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func TestPageRoutesTakeTheSessionCookieAndTheAntiForgeryToken(t *testing.T) {
	r := pageRouter(t)
	csrf := CSRFToken(monitorToken)
	for _, c := range []struct {
		name   string
		req    *http.Request
		status int
		body   string
	}{
		{"no session: to the login page, coming back here", pageRequest("GET", "/ui/s/S1/page?x=1", "", nil, nil), 303, ""},
		{"a bearer header is not a session", func() *http.Request {
			req := pageRequest("GET", "/ui/s/S1/page", "", nil, nil)
			req.Header.Set("Authorization", "Bearer "+monitorToken)
			return req
		}(), 303, ""},
		{"unknown session", pageRequest("GET", "/ui/s/S1/page", siteToken[:len(siteToken)-1]+"B", nil, nil), 303, ""},
		{"session", pageRequest("GET", "/ui/s/S1/page", siteToken, nil, nil), 200, "ok site"},
		{"another study", pageRequest("GET", "/ui/s/S2/page", siteToken, nil, nil), 404, ""},
		{"post without a session", pageRequest("POST", "/ui/s/S1/page", "", url.Values{CSRFField: {csrf}}, nil), 401, ""},
		{"post without the token", pageRequest("POST", "/ui/s/S1/page", monitorToken, url.Values{}, nil), 403, "missing anti-forgery token"},
		{"post with another session's token", pageRequest("POST", "/ui/s/S1/page", monitorToken, url.Values{CSRFField: {CSRFToken(siteToken)}}, nil), 403, "wrong anti-forgery token"},
		{"post with the form's token", pageRequest("POST", "/ui/s/S1/page", monitorToken, url.Values{CSRFField: {csrf}}, nil), 200, "ok mon"},
		{"post with the header", pageRequest("POST", "/ui/s/S1/page", monitorToken, nil, map[string]string{CSRFHeader: csrf}), 200, "ok mon"},
		{"post from another site, token or not", pageRequest("POST", "/ui/s/S1/page", monitorToken, url.Values{CSRFField: {csrf}},
			map[string]string{"Sec-Fetch-Site": "cross-site"}), 403, "cross-site"},
		{"post by a role the route is not for", pageRequest("POST", "/ui/s/S1/page", siteToken, url.Values{CSRFField: {CSRFToken(siteToken)}}, nil), 403, "not for the site role"},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, c.req)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, w.Code, w.Body.String(), c.status, c.body)
		}
		if c.status == 303 {
			if loc := w.Header().Get("Location"); loc != LoginPath+"?next="+url.QueryEscape(c.req.URL.RequestURI()) {
				t.Errorf("%s: sent to %q", c.name, loc)
			}
		}
	}
}
