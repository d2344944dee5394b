// Package debughttp serves net/http/pprof and a goroutine leak report from
// one http.Handler that mounts on any mux, behind one auth check.
//
//	mux.Handle("/debug/", debughttp.Handler(
//		debughttp.WithBearerToken(os.Getenv("DEBUG_TOKEN")),
//		debughttp.WithReporter(wd),
//	))
//
// Routes, relative to the prefix (default "/debug/"):
//
//	pprof/               net/http/pprof index
//	pprof/cmdline, pprof/profile, pprof/symbol, pprof/trace
//	pprof/{name}         every runtime/pprof profile, incl. goroutineleak
//	leaks                leak report: HTML, or JSON with Accept:
//	                     application/json or ?format=json
//	leaks/ack            POST: acknowledge leaking groups (form values
//	                     group=FUNCTION or FILE:LINE, repeatable, or all=1),
//	                     when the reporter is an Acknowledger
//
// Importing this package imports net/http/pprof, whose init registers its
// handlers on http.DefaultServeMux. This package never uses that mux, but a
// program that serves http.DefaultServeMux (http.ListenAndServe(addr, nil))
// exposes those unauthenticated: serve your own mux.
package debughttp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

// Reporter produces the leak report; *watchdog.Watchdog implements it.
type Reporter interface {
	Report(ctx context.Context) (report.Report, error)
}

// Acknowledger takes a person's word that leaking groups were looked at;
// *watchdog.Watchdog implements it. No names means every leaking group.
type Acknowledger interface {
	Acknowledge(ctx context.Context, names ...string) (int, error)
}

// Option configures Handler.
type Option func(*config)

type config struct {
	prefix   string
	auth     func(http.Handler) http.Handler
	authSet  bool
	reporter Reporter
	top      int
	blocked  time.Duration
}

// WithBearerToken requires "Authorization: Bearer <token>". An empty token
// refuses every request: a token read from an unset environment variable
// must not turn auth off.
func WithBearerToken(token string) Option {
	return WithAuth(bearer(token))
}

// WithAuth puts the caller's own middleware in front of every route
// (mTLS checks, session auth, an IP allow-list...).
func WithAuth(mw func(http.Handler) http.Handler) Option {
	return func(c *config) {
		c.auth = mw
		c.authSet = true
	}
}

// WithoutAuth serves without any check. Only for listeners that nothing
// untrusted can reach (e.g. bound to localhost); without this or another
// auth option the handler refuses everything.
func WithoutAuth() Option {
	return WithAuth(func(h http.Handler) http.Handler { return h })
}

// WithReporter sets the source of the leak report. Without one the handler
// captures a live snapshot per request, which shows what is there but
// cannot show growth.
func WithReporter(r Reporter) Option {
	return func(c *config) { c.reporter = r }
}

// WithPrefix sets the path the handler is mounted at (default "/debug/").
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if !strings.HasPrefix(prefix, "/") {
			prefix = "/" + prefix
		}
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		c.prefix = prefix
	}
}

// WithSnapshotOptions tunes the reporter-less snapshot: how many groups to
// show and after how long a blocked goroutine counts as a suspect.
func WithSnapshotOptions(top int, blockedAfter time.Duration) Option {
	return func(c *config) { c.top, c.blocked = top, blockedAfter }
}

// Handler returns the debug handler. Mount it at the prefix, e.g.
// mux.Handle("/debug/", Handler(...)).
func Handler(opts ...Option) http.Handler {
	c := config{prefix: "/debug/", top: 20, blocked: 10 * time.Minute}
	for _, o := range opts {
		o(&c)
	}
	// Dispatch by hand rather than with a ServeMux: a mux's trailing-slash
	// redirects would drop the mount prefix, and pprof's own Index only
	// dispatches under the literal /debug/pprof/.
	routes := stripPrefix(c.prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/":
			c.serveIndex(w, r)
		case p == "/leaks":
			c.serveLeaks(w, r)
		case p == "/leaks/ack":
			c.serveAck(w, r)
		case strings.HasPrefix(p, "/pprof/"):
			servePprof(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	if !c.authSet {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "debughttp: no auth configured (use WithBearerToken, WithAuth or WithoutAuth)", http.StatusForbidden)
		})
	}
	if c.auth == nil {
		return bearer("")(routes)
	}
	return c.auth(routes)
}

func stripPrefix(prefix string, h http.Handler) http.Handler {
	trimmed := strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, trimmed)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			http.NotFound(w, r)
			return
		}
		if rest == "" {
			rest = "/"
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		h.ServeHTTP(w, r2)
	})
}

func bearer(token string) func(http.Handler) http.Handler {
	want := []byte(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			// ConstantTimeCompare returns 0 early only on length mismatch,
			// which leaks the length, not the token. An empty configured
			// token never matches anything.
			if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="debug"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func servePprof(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/pprof/")
	switch name {
	case "":
		pprof.Index(w, r)
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		// Handler answers 404 for names runtime/pprof does not know, so
		// goroutineleak appears exactly when the runtime provides it.
		pprof.Handler(name).ServeHTTP(w, r)
	}
}

func (c *config) serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = indexTmpl.Execute(w, c.prefix)
}

func (c *config) serveLeaks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var (
		rep report.Report
		err error
	)
	if c.reporter != nil {
		rep, err = c.reporter.Report(r.Context())
	} else {
		rep, err = report.Snapshot(r.Context(), c.top, c.blocked)
	}
	if err != nil {
		http.Error(w, "leak report: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = leaksTmpl.Execute(w, rep)
}

// serveAck acknowledges leaking groups. It is a POST behind the same auth
// as every route, since it silences an alert.
func (c *config) serveAck(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed: POST group=FUNCTION or FILE:LINE (repeatable), or all=1", http.StatusMethodNotAllowed)
		return
	}
	ack, ok := c.reporter.(Acknowledger)
	if !ok {
		http.Error(w, "the leak reporter does not take acknowledgements (no watchdog configured)", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	groups := r.Form["group"]
	all := r.Form.Get("all") == "1"
	switch {
	case all && len(groups) > 0:
		http.Error(w, "give either group=... or all=1, not both", http.StatusBadRequest)
		return
	case !all && len(groups) == 0:
		http.Error(w, "missing group: name a leaking group (group=FUNCTION or FILE:LINE, from /leaks) or send all=1", http.StatusBadRequest)
		return
	}
	n, err := ack.Acknowledge(r.Context(), groups...)
	if err != nil {
		http.Error(w, "acknowledge: "+err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Acknowledged int `json:"acknowledged"`
	}{n})
}

func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "json"
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return true
		}
	}
	return false
}
