package admin

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Health tracks whether a process is ready for traffic, what it serves and
// what it depends on. The zero value is alive, not ready, and serves
// nothing.
type Health struct {
	ready    atomic.Bool
	services atomic.Pointer[[]string]
	mu       sync.Mutex
	deps     []Dependency
}

// Dependency is something the process needs to serve: its database, a data
// service it calls.
type Dependency struct {
	Name string // "database", "subjects", …
	// Target says what it is, such as "sqlite" or a data service's URL;
	// never a credential.
	Target string
	// Check answers nil when the dependency serves; it must return once
	// ctx is done.
	Check func(ctx context.Context) error
}

// dependencyTimeout bounds each dependency's check.
const dependencyTimeout = 2 * time.Second

// SetReady marks the process ready (true) or draining (false).
func (h *Health) SetReady(v bool) { h.ready.Store(v) }

// SetServices says which services the process runs, for /readyz.
func (h *Health) SetServices(services []string) {
	s := slices.Clone(services)
	h.services.Store(&s)
}

// AddDependency adds d to what /readyz/dependencies checks.
func (h *Health) AddDependency(d Dependency) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deps = append(h.deps, d)
}

func (h *Health) readiness() map[string]any {
	services := []string{}
	if s := h.services.Load(); s != nil {
		services = *s
	}
	return map[string]any{"ready": h.ready.Load(), "services": services}
}

// Register mounts /healthz (the process runs) and /readyz (it takes
// traffic, and which services it runs) on mux; both listeners of a
// process carry them. Neither names a dependency: they are public.
func (h *Health) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.ready.Load() {
			// Not a failure: starting or draining. Nothing to log.
			jsonhttp.ServerErrorWith(w, r, nil, http.StatusServiceUnavailable, nil, h.readiness())
			return
		}
		jsonhttp.Write(w, http.StatusOK, h.readiness())
	})
}

// DependencyStatus is one dependency's state, as /readyz/dependencies
// reports it.
type DependencyStatus struct {
	Name      string  `json:"name"`
	Target    string  `json:"target"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// CheckDependencies checks every dependency at once, each within
// dependencyTimeout, and reports them in the order they were added.
func (h *Health) CheckDependencies(ctx context.Context) []DependencyStatus {
	h.mu.Lock()
	deps := slices.Clone(h.deps)
	h.mu.Unlock()
	out := make([]DependencyStatus, len(deps))
	var wg sync.WaitGroup
	for i, d := range deps {
		// Each check returns within dependencyTimeout (its context's
		// deadline); Wait below ends them all before the answer.
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, dependencyTimeout)
			defer cancel()
			start := time.Now()
			err := d.Check(ctx)
			out[i] = DependencyStatus{Name: d.Name, Target: d.Target, OK: err == nil,
				LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				out[i].Error = err.Error()
			}
		})
	}
	wg.Wait()
	return out
}

// serveDependencies answers the dependencies' states: 200 whether or not
// they serve (the answer is the report; "ok" is false when any fails).
func (h *Health) serveDependencies(w http.ResponseWriter, r *http.Request) {
	deps := h.CheckDependencies(r.Context())
	ok := true
	for _, d := range deps {
		ok = ok && d.OK
	}
	body := h.readiness()
	body["ok"], body["dependencies"] = ok, deps
	jsonhttp.Write(w, http.StatusOK, body)
}
