package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// loginCookie carries the login form's anti-forgery token before there is
// a session: the form must send back what this browser was given.
const loginCookie = "tw_login"

type loginForm struct {
	User, Next, Token string
	Error             string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, loginForm{Next: safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the form with a fresh anti-forgery token.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	f.Token = rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: f.Token, Path: "/ui/login", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	s.pages.Render(w, r, status, "login", page.Page{Title: "Sign in", Data: f, CSRF: f.Token})
}

// login trades the form's user name and password for a session through
// POST /api/v1/login, which rate-limits, hashes in its bounded pool and
// audits every attempt as it does for scripts.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	f := loginForm{User: r.PostFormValue("user"), Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	if site := r.Header.Get("Sec-Fetch-Site"); (site != "" && site != "same-origin" && site != "none") ||
		err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(access.CSRFField))) != 1 {
		f.Error = "The sign-in form expired. Please try again."
		s.showLogin(w, r, http.StatusForbidden, f)
		return
	}
	body, _ := json.Marshal(map[string]string{"user": f.User, "password": r.PostFormValue("password")})
	a := s.api.Do(r, http.MethodPost, "/api/v1/login", "application/json", strings.NewReader(string(body)))
	switch {
	case a.Status == http.StatusOK:
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusBadRequest:
		f.Error = "Wrong user name or password."
		s.showLogin(w, r, http.StatusUnauthorized, f)
		return
	case a.Status == http.StatusTooManyRequests:
		f.Error = "Too many sign-in attempts. Wait " + retryAfter(a.Header) + " and try again."
		w.Header().Set("Retry-After", a.Header.Get("Retry-After"))
		s.showLogin(w, r, http.StatusTooManyRequests, f)
		return
	default:
		s.pages.Fail(w, r, a.Err())
		return
	}
	var out struct {
		Token    string        `json:"token"`
		Expires  time.Time     `json:"expires"`
		Identity auth.Identity `json:"identity"`
	}
	if err := json.Unmarshal(a.Body, &out); err != nil || out.Token == "" {
		s.pages.Fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/ui/login", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: access.SessionCookie, Value: out.Token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, Expires: out.Expires})
	next := f.Next
	if next == "" {
		next = "/ui/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout revokes the session's token and forgets the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.api.Send(r, http.MethodPost, "/api/v1/logout", struct{}{}, nil); err != nil {
		s.log.WarnContext(r.Context(), "signing out: revoking the session failed", "error", err)
	}
	http.SetCookie(w, &http.Cookie{Name: access.SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, access.LoginPath, http.StatusSeeOther)
}

// safeNext keeps a post-login destination only if it is a page of this UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

func retryAfter(h http.Header) string {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 {
		return "a moment"
	}
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}

// home sends each role where its work is: ops to the operations page,
// everyone else to their study, or a list when they have several.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.FromContext(r.Context())
	if id.Role == auth.RoleOps {
		http.Redirect(w, r, "/ui/ops", http.StatusSeeOther)
		return
	}
	studies := studiesOf(id)
	if len(studies) == 1 {
		http.Redirect(w, r, studyHome(id, studies[0]), http.StatusSeeOther)
		return
	}
	links := make([]studyLink, len(studies))
	for i, st := range studies {
		links[i] = studyLink{Study: st, Href: studyHome(id, st)}
	}
	s.pages.Render(w, r, http.StatusOK, "home", page.Page{Title: "Studies", Data: links})
}

// studyLink is a study on the home page and where it opens.
type studyLink struct{ Study, Href string }

// openStudy opens the study a user with access to every study named.
func (s *Server) openStudy(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.FromContext(r.Context())
	study := strings.TrimSpace(r.URL.Query().Get("study"))
	if study == "" {
		s.pages.Error(w, r, http.StatusBadRequest, "name a study to open")
		return
	}
	http.Redirect(w, r, studyHome(id, study), http.StatusSeeOther)
}

// studyHome is the first page of a study for a role: admins manage
// access and settings and read the audit trail, they see no findings.
func studyHome(id auth.Identity, study string) string {
	if id.Role == auth.RoleAdmin {
		return "/ui/studies/" + url.PathEscape(study) + "/audit"
	}
	return "/ui/studies/" + url.PathEscape(study) + "/"
}

// studiesOf lists the studies an identity has grants for, in grant order.
func studiesOf(id auth.Identity) []string {
	var out []string
	for _, g := range id.Grants {
		if !slices.Contains(out, g.Study) {
			out = append(out, g.Study)
		}
	}
	return out
}
