package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// ContentSecurityPolicy is every page's policy: scripts, styles and data
// only from this server, no inline script or style, no eval, no framing.
// Plots read their data from a JSON block (<script type=
// "application/json">), which the browser never runs.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Page is what every template gets: who is signed in, where they are, the
// session's anti-forgery token, and the page's own data.
type Page struct {
	Title string
	User  auth.Identity
	// Study is the study the page is about ("" outside one); Nav names
	// the menu entry to mark as current.
	Study, Nav string
	CSRF       string
	// Data is the page's own content; Plot, if set, is written as a JSON
	// block (id "plot-data") for the page's plot script.
	Data    any
	Plot    any
	Scripts []string
	// Flash is a one-line message above the content (after an action).
	Flash string
}

// parsePages parses each page template with the layout around it.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		pages[strings.TrimSuffix(base, ".html")] = template.Must(template.Must(layout.Clone()).ParseFS(files, name))
	}
	return pages
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"studyHome": studyHome,
	"pathEsc":   url.PathEscape,
	"roleIs": func(id auth.Identity, roles ...string) bool {
		for _, r := range roles {
			if string(id.Role) == r {
				return true
			}
		}
		return false
	},
}

// render writes page name with status, under the UI's security policy.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := s.pages[name]
	if !ok {
		s.fail(w, r, errors.New("no page template "+name))
		return
	}
	if p.User.Name == "" {
		p.User, _ = auth.FromContext(r.Context())
	}
	if token, ok := access.SessionToken(r); ok && p.CSRF == "" {
		p.CSRF = access.CSRFToken(token)
	}
	if p.Study == "" {
		p.Study = r.PathValue("study")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// PageError answers a page request with an error page; it is also the
// router's answer to refused page requests (access.WithPageErrors).
func (s *Server) PageError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", Page{Title: http.StatusText(status), Data: errorPage{Status: status, Message: msg}})
}

type errorPage struct {
	Status  int
	Message string
}

// fail answers a page whose work failed on the server: a generic page and
// the request id, the detail only in the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := jsonhttp.RequestID(r.Context())
	s.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "error", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte("Something went wrong on the server. Request id: " + id + "\n"))
}

// apiFailed shows what the API refused (its 4xx message), or fails the
// page on a server error.
func (s *Server) apiFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status < 500 {
		s.PageError(w, r, ae.Status, ae.Message)
		return
	}
	s.fail(w, r, err)
}
