// Package admin serves a trialwatch process's operator endpoints on their
// own listener: health and readiness for anyone, and Prometheus metrics,
// leakguard's profiles and leak reports and the state of the process's
// dependencies for callers its guard admits.
package admin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trialwatch/trialwatch/leakguard/debughttp"
)

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
	mux.Handle("GET /readyz/dependencies", guard(http.HandlerFunc(c.Health.serveDependencies)))
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
