// Package drill is a leak drill: a small HTTP service with two classic
// goroutine leaks and their fixed twins, wired to leakguard so that the
// leaks can be watched being found.
//
//	/leak/orphan-receiver     a goroutine waits on a channel nobody sends on
//	/leak/abandoned-fanout    fan-out workers block sending to a caller that left
//	/fixed/orphan-receiver    the same work, cancelled and awaited
//	/fixed/abandoned-fanout   the same work, errgroup + buffered channel
//	/drill/release            POST: unblock what the leaky routes stranded
//	/debug/                   leakguard's debughttp (pprof, /debug/leaks)
//
// The drill routes are counted by a watchdog.InFlight, which is the
// watchdog's load signal. /debug/ and /drill/release require the bearer
// token.
package drill

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/debughttp"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

// Service is the drill wired to leakguard.
type Service struct {
	Drill    *Drill
	Watchdog *watchdog.Watchdog
	InFlight *watchdog.InFlight
	// Handler serves every route.
	Handler http.Handler
}

// NewService builds the service. token guards /debug/ and /drill/release
// (an empty token refuses them); opts configure the watchdog, which is fed
// the in-flight count of the drill routes and is not started yet.
func NewService(cfg Config, token string, opts ...watchdog.Option) *Service {
	s := &Service{Drill: New(cfg), InFlight: new(watchdog.InFlight)}
	s.Watchdog = watchdog.New(append([]watchdog.Option{watchdog.WithInFlight(s.InFlight.Load)}, opts...)...)

	drillMux := http.NewServeMux()
	drillMux.HandleFunc("GET /leak/orphan-receiver", s.Drill.LeakyOrphanReceiver)
	drillMux.HandleFunc("GET /leak/abandoned-fanout", s.Drill.LeakyAbandonedFanout)
	drillMux.HandleFunc("GET /fixed/orphan-receiver", s.Drill.FixedOrphanReceiver)
	drillMux.HandleFunc("GET /fixed/abandoned-fanout", s.Drill.FixedAbandonedFanout)

	mux := http.NewServeMux()
	// Only the drill's own routes are load; a debug scrape is not.
	mux.Handle("/leak/", s.InFlight.Middleware(drillMux))
	mux.Handle("/fixed/", s.InFlight.Middleware(drillMux))
	mux.Handle("POST /drill/release", requireBearer(token, http.HandlerFunc(s.release)))
	mux.Handle("/debug/", debughttp.Handler(
		debughttp.WithBearerToken(token),
		debughttp.WithReporter(s.Watchdog),
	))
	mux.HandleFunc("GET /{$}", index)
	s.Handler = mux
	return s
}

// Start starts the watchdog; it runs until Stop or until ctx is done.
func (s *Service) Start(ctx context.Context) error { return s.Watchdog.Start(ctx) }

// Stop stops the watchdog and releases every stranded goroutine. Call it
// once no request is in flight any more.
func (s *Service) Stop() {
	s.Watchdog.Stop()
	s.Drill.Release()
}

func (s *Service) release(w http.ResponseWriter, _ *http.Request) {
	n := s.Drill.Stranded()
	s.Drill.Release()
	fmt.Fprintf(w, "released %d goroutines\n", n)
}

func requireBearer(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="drill"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func index(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, `leak drill
  GET  /leak/orphan-receiver     leaks one goroutine per request (after the first)
  GET  /leak/abandoned-fanout    leaks the slow shard's worker; ?fail=1 leaks all but one
  GET  /fixed/orphan-receiver    fixed twin
  GET  /fixed/abandoned-fanout   fixed twin
  POST /drill/release            unblock stranded goroutines (bearer token)
  GET  /debug/leaks?format=json  leakguard report (bearer token)
`)
}
