// Package admin serves a trialwatch process's operator endpoints on their
// own listener: Prometheus metrics, health and readiness, and profiling
// behind a bearer token.
package admin

import (
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health tracks whether a process is ready for traffic. The zero value is
// alive and not ready.
type Health struct{ ready atomic.Bool }

// SetReady marks the process ready (true) or draining (false).
func (h *Health) SetReady(v bool) { h.ready.Store(v) }

// Register mounts /healthz (the process runs) and /readyz (it takes
// traffic) on mux; both listeners of a process carry them.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
}

// RequireBearer lets a request through only with "Authorization: Bearer
// <token>". An empty token refuses everyone: a process started without a
// token never serves its debug endpoints.
func RequireBearer(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch admin"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <admin token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Pprof returns net/http/pprof's handlers on their usual paths under
// /debug/pprof/, without touching http.DefaultServeMux.
func Pprof() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Config is what the admin listener serves.
type Config struct {
	Token    string
	Gatherer prometheus.Gatherer
	Health   *Health
	// Debug serves /debug/ (profiles, leak reports); it is wrapped in the
	// token check here. Nil means Pprof().
	Debug http.Handler
}

// Handler returns the admin listener's handler.
func Handler(c Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.Gatherer, promhttp.HandlerOpts{}))
	c.Health.Register(mux)
	debug := c.Debug
	if debug == nil {
		debug = Pprof()
	}
	mux.Handle("/debug/", RequireBearer(c.Token, debug))
	return mux
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorsGo(), collectorsProcess())
	return reg
}
