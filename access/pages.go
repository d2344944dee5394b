package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// The browser's session is a token as POST /api/v1/login issues it, kept
// in an HttpOnly cookie that only page routes read: the JSON API takes
// tokens from the Authorization header alone, so a cookie a browser sends
// on its own can never call it across sites.
const (
	SessionCookie = "tw_session"
	// CSRFHeader or the CSRFField of a form carries a page's anti-forgery
	// token on every state-changing page request.
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
	// LoginPath is where a page request without a session is sent.
	LoginPath = "/ui/login"
)

// CSRFToken is the anti-forgery token of a session. It is derived from the
// session's token, so every replica checks it without shared state, and a
// page of another origin, which can read neither the HttpOnly cookie nor
// our pages, cannot know it.
func CSRFToken(session string) string {
	sum := sha256.Sum256([]byte("trialwatch csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SessionToken is the session token a page request carries, if any.
func SessionToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// PageErrors renders the error answer of a page route (an HTML page in the
// web UI); the default writes plain text.
type PageErrors func(w http.ResponseWriter, r *http.Request, status int, msg string)

// UsePageErrors sets how page routes answer refusals. Call it before
// serving.
func (r *Router) UsePageErrors(f PageErrors) { r.pageError = f }

func plainPageError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

var errCrossSite = errors.New("cross-site request refused")

// guardPage enforces a page route's rule: a session cookie instead of a
// bearer token, a redirect to the login page when there is none, and the
// anti-forgery token on every request that can change something.
func (r *Router) guardPage(w http.ResponseWriter, req *http.Request, pattern string, rule Rule, h http.Handler) {
	now := r.now()
	token, ok := SessionToken(req)
	var id auth.Identity
	err := auth.ErrNoCredentials
	if ok && r.authn != nil {
		id, err = r.authn.Authenticate(req.Context(), token, now)
	}
	if err != nil {
		if !errors.Is(err, auth.ErrNoCredentials) && !allowed(w, req, r.log, r.badAuth, clientAddr(req), now) {
			return
		}
		if !isCredentialError(err) {
			jsonhttp.ServerError(w, req, r.log, http.StatusInternalServerError, fmt.Errorf("authenticating a page request: %w", err))
			return
		}
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			http.Redirect(w, req, LoginPath+"?next="+url.QueryEscape(req.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		r.pageError(w, req, http.StatusUnauthorized, "your session has ended: sign in again")
		return
	}
	jsonhttp.SetUser(req.Context(), id.Name) // for the access log
	if !allowed(w, req, r.log, r.perToken, strconv.FormatInt(id.TokenID, 10), now) {
		return
	}
	if unsafeMethod(req.Method) {
		if err := checkCSRF(req, token); err != nil {
			r.log.InfoContext(req.Context(), "refused: anti-forgery check", "route", pattern, "user", id.Name, "reason", err)
			r.pageError(w, req, http.StatusForbidden, err.Error()+": reload the page and try again")
			return
		}
	}
	if !slices.Contains(rule.Roles, id.Role) {
		r.log.InfoContext(req.Context(), "refused: role not allowed", "route", pattern, "user", id.Name, "role", id.Role)
		r.pageError(w, req, http.StatusForbidden, fmt.Sprintf("this page is not for the %s role", id.Role))
		return
	}
	if study := req.PathValue("study"); study != "" && !id.HasStudy(study) {
		r.pageError(w, req, http.StatusNotFound, "not found")
		return
	}
	h.ServeHTTP(w, req.WithContext(auth.NewContext(req.Context(), id)))
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// checkCSRF wants the session's anti-forgery token in the CSRFHeader or,
// for a URL-encoded form, its CSRFField; a browser that says the request
// comes from another site is refused whatever it carries.
func checkCSRF(req *http.Request, session string) error {
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCrossSite
	}
	got := req.Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = req.PostFormValue(CSRFField)
	}
	if got == "" {
		return errors.New("missing anti-forgery token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(CSRFToken(session))) != 1 {
		return errors.New("wrong anti-forgery token")
	}
	return nil
}
