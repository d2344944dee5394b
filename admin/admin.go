// Package admin serves a trialwatch process's operator endpoints on their
// own listener: health and readiness for anyone, and Prometheus metrics
// and leakguard's profiles and leak reports for callers its guard admits.
package admin

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/leakguard/debughttp"
)

// Health tracks whether a process is ready for traffic. The zero value is
// alive and not ready.
type Health struct{ ready atomic.Bool }

// SetReady marks the process ready (true) or draining (false).
func (h *Health) SetReady(v bool) { h.ready.Store(v) }

// Register mounts /healthz (the process runs) and /readyz (it takes
// traffic) on mux; both listeners of a process carry them.
func (h *Health) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.ready.Load() {
			// Not a failure: starting or draining. Nothing to log.
			jsonhttp.ServerError(w, r, nil, http.StatusServiceUnavailable, nil)
			return
		}
		w.Write([]byte("ready\n"))
	})
}

// Config is what the admin listener serves.
type Config struct {
	// Guard lets through the callers allowed to read metrics, profiles
	// and leak reports; nil refuses every such request.
	Guard    func(http.Handler) http.Handler
	Gatherer prometheus.Gatherer
	Health   *Health
	// Leaks answers /debug/leaks; nil takes a live snapshot per request.
	Leaks debughttp.Reporter
	// History, if set, answers GET /history (guarded): the last hour of
	// goroutines and in-flight requests.
	History *History
}

// Handler returns the admin listener's handler.
func Handler(c Config) http.Handler {
	guard := c.Guard
	if guard == nil {
		guard = refuseAll
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", guard(promhttp.HandlerFor(c.Gatherer, promhttp.HandlerOpts{})))
	if c.History != nil {
		mux.Handle("GET /history", guard(c.History))
	}
	c.Health.Register(mux)
	opts := []debughttp.Option{debughttp.WithAuth(guard)}
	if c.Leaks != nil {
		opts = append(opts, debughttp.WithReporter(c.Leaks))
	}
	mux.Handle("/debug/", debughttp.Handler(opts...))
	return mux
}

func refuseAll(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no credentials are configured for the admin listener", http.StatusUnauthorized)
	})
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorsGo(), collectorsProcess())
	return reg
}
