// Package web serves trialwatch's browser UI: pages rendered from Go
// templates, with plots drawn by one vendored library (Chart.js), every
// file embedded in the binary.
//
// The UI holds no data and decides no access of its own. Every page reads
// and changes data through the JSON API, in process, with the session's
// token (see APIClient): the API's scoping by study and site, its rate
// limits and its audit trail apply to a browser exactly as to a script.
// Who may open each page is in access.Rules, like every other route.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

//go:embed assets templates
var files embed.FS

// Server serves the UI's pages.
type Server struct {
	api    *APIClient
	pages  map[string]*template.Template
	assets http.Handler
	log    *slog.Logger
	now    func() time.Time
	// admin is the admin listener's handler, for the operations page.
	admin http.Handler
}

// Option configures a Server.
type Option func(*Server)

// WithLogger logs what a page could not do.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithAdmin gives the operations page the admin listener's handler (the
// watchdog's status and leak report, metrics), which it calls with the ops
// user's session token.
func WithAdmin(h http.Handler) Option { return func(s *Server) { s.admin = h } }

// New returns the UI, calling api (the public listener's router) for
// everything it shows.
func New(api http.Handler, opts ...Option) *Server {
	s := &Server{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.api = &APIClient{h: api}
	s.pages = parsePages()
	static, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s.assets = http.StripPrefix("/ui/static/", staticFiles(http.FileServerFS(static)))
	return s
}

// Register mounts the UI's routes on mux; each needs its rule in
// access.Rules.
func (s *Server) Register(mux jsonhttp.Mux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /{$}":                    s.root,
		"GET /ui/static/":             s.assets.ServeHTTP,
		"GET /ui/login":               s.loginPage,
		"POST /ui/login":              s.login,
		"POST /ui/logout":             s.logout,
		"GET /ui/{$}":                 s.home,
		"GET /ui/open-study":          s.openStudy,
		"GET /ui/studies/{study}/{$}": s.overview,
		// The plot pages (subjects.go, edish.go, kris.go).
		"GET /ui/studies/{study}/subjects":           s.subjectList,
		"GET /ui/studies/{study}/subjects/{subject}": s.subjectPage,
		"GET /ui/studies/{study}/edish":              s.edish,
		"GET /ui/studies/{study}/kris":               s.kris,
		"GET /ui/studies/{study}/sites/{site}":       s.sitePage,
		// Findings, audit trail, uploads, operations (findings.go,
		// audit.go, uploads.go, ops.go).
		"GET /ui/studies/{study}/findings":         s.findings,
		"GET /ui/studies/{study}/findings.csv":     s.exportFindings,
		"POST /ui/studies/{study}/findings/review": s.review,
		"GET /ui/studies/{study}/findings/{id}":    s.finding,
		"GET /ui/studies/{study}/audit":            s.audit,
		"GET /ui/studies/{study}/audit.csv":        s.exportAudit,
		"GET /ui/studies/{study}/uploads":          s.uploadsPage,
		"POST /ui/studies/{study}/uploads":         s.upload,
		"GET /ui/ops":                              s.ops,
	} {
		mux.HandleFunc(pattern, h)
	}
}

// root sends a browser that opened the server's address to the UI.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// staticFiles lets browsers keep the embedded files for a day: they
// change only with the binary.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}
