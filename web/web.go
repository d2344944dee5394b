// Package web serves trialwatch's browser UI: pages rendered from Go
// templates, with plots drawn by one vendored library (Chart.js), every
// file embedded in the binary.
//
// The UI holds no data and decides no access of its own. Every page reads
// and changes data through the JSON API, in process, with the session's
// token (see page.APIClient): the API's scoping by study and site, its
// rate limits and its audit trail apply to a browser exactly as to a
// script. Who may open each page is in access.Rules, like every other
// route.
//
// This package signs users in and out, sends them to their study and
// serves the static files; the pages live in internal packages, by what
// they are for: reviewpages (findings, review, audit trail, uploads),
// plotpages (subjects, eDISH, KRIs) and opspage (operations), all
// rendered by package page.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/opspage"
	"github.com/trialwatch/trialwatch/web/internal/page"
	"github.com/trialwatch/trialwatch/web/internal/plotpages"
	"github.com/trialwatch/trialwatch/web/internal/reviewpages"
)

// files are the static files every page loads (assets: the stylesheet,
// the page scripts, Chart.js) and the templates of this package's pages.
//
//go:embed assets templates
var files embed.FS

// Server serves the UI's pages.
type Server struct {
	api    *page.APIClient
	pages  *page.Renderer
	assets http.Handler
	log    *slog.Logger
	now    func() time.Time
	// admin is the admin listener's handler, for the operations page.
	admin http.Handler

	review *reviewpages.Pages
	plots  *plotpages.Pages
	ops    *opspage.Ops
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
	s.api = page.NewAPIClient(api)
	s.pages = page.NewRenderer(files, s.log)
	s.review = reviewpages.New(s.api, s.log, s.now)
	s.plots = plotpages.New(s.api, s.log)
	s.ops = opspage.New(s.admin, s.log)
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
		"GET /{$}":           s.root,
		"GET /ui/static/":    s.assets.ServeHTTP,
		"GET /ui/login":      s.loginPage,
		"POST /ui/login":     s.login,
		"POST /ui/logout":    s.logout,
		"GET /ui/{$}":        s.home,
		"GET /ui/open-study": s.openStudy,
	} {
		mux.HandleFunc(pattern, h)
	}
	s.review.Register(mux)
	s.plots.Register(mux)
	s.ops.Register(mux)
}

// PageError answers a page request with an error page; it is also the
// router's answer to refused page requests (access.Router.UsePageErrors).
func (s *Server) PageError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.pages.Error(w, r, status, msg)
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
