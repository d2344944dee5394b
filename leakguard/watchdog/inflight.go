package watchdog

import (
	"net/http"
	"sync/atomic"
)

// InFlight counts requests in progress: the load signal that lets the
// watchdog tell a traffic peak from a leak.
//
//	var inflight watchdog.InFlight
//	handler = inflight.Middleware(handler)
//	wd := watchdog.New(watchdog.WithInFlight(inflight.Load))
type InFlight struct{ n atomic.Int64 }

// Middleware counts requests while next serves them.
func (c *InFlight) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		defer c.n.Add(-1)
		next.ServeHTTP(w, r)
	})
}

// Add adjusts the count for work that is not an http.Handler.
func (c *InFlight) Add(delta int64) { c.n.Add(delta) }

// Load returns the current count.
func (c *InFlight) Load() float64 { return float64(c.n.Load()) }
