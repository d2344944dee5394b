// Package page is what every page of the browser UI shares: the layout
// and error page every template renders in, under the UI's
// Content-Security-Policy, and the in-process client of the JSON API
// (APIClient) through which pages read and change data as the signed-in
// user.
package page

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

//go:embed templates
var layoutFiles embed.FS

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

// Renderer writes a package's pages, each in the layout, and the error
// page.
type Renderer struct {
	pages map[string]*template.Template
	log   *slog.Logger
}

// NewRenderer parses the page templates of a package, templates/*.html
// in files (its embedded tree), each named by its file's name without
// ".html" and defining "content", with the layout around it; log gets
// what a page could not do.
func NewRenderer(files fs.FS, log *slog.Logger) *Renderer {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(layoutFiles, "templates/layout.html"))
	r := &Renderer{pages: map[string]*template.Template{}, log: log}
	add := func(fsys fs.FS, pattern string) {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			panic(err) // the embedded trees are fixed at build time
		}
		for _, name := range names {
			base := path.Base(name)
			if base != "layout.html" {
				r.pages[strings.TrimSuffix(base, ".html")] = template.Must(template.Must(layout.Clone()).ParseFS(fsys, name))
			}
		}
	}
	add(layoutFiles, "templates/error.html")
	add(files, "templates/*.html")
	return r
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"pathEsc": url.PathEscape,
	"roleIs": func(id auth.Identity, roles ...string) bool {
		for _, r := range roles {
			if string(id.Role) == r {
				return true
			}
		}
		return false
	},
}

// Render writes page name with status, under the UI's security policy.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := rd.pages[name]
	if !ok {
		rd.Fail(w, r, errors.New("no page template "+name))
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
		rd.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Error answers a page request with an error page; it is also the
// router's answer to refused page requests (access.Router.UsePageErrors).
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	rd.Render(w, r, status, "error", Page{Title: http.StatusText(status), Data: errorPage{Status: status, Message: msg}})
}

type errorPage struct {
	Status  int
	Message string
}

// Fail answers a page whose work failed on the server: a generic page and
// the request id, the detail only in the log.
func (rd *Renderer) Fail(w http.ResponseWriter, r *http.Request, err error) {
	id := jsonhttp.RequestID(r.Context())
	rd.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "error", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte("Something went wrong on the server. Request id: " + id + "\n"))
}

// APIFailed shows what the API refused (its 4xx message), or fails the
// page on a server error.
func (rd *Renderer) APIFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status < 500 {
		rd.Error(w, r, ae.Status, ae.Message)
		return
	}
	rd.Fail(w, r, err)
}
