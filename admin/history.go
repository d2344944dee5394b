package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Sample is one moment of a process: its goroutines and the requests it
// was serving.
type Sample struct {
	At         time.Time `json:"at"`
	Goroutines int       `json:"goroutines"`
	InFlight   float64   `json:"in_flight"`
}

// History keeps the last hour of samples for the operations page: the
// leak watchdog keeps only the few minutes it fits its trend over. It is
// a fixed ring, so its memory does not grow however long the process
// runs.
type History struct {
	every      time.Duration
	goroutines func() int
	load       func() float64
	now        func() time.Time

	mu     sync.Mutex
	ring   []Sample // capacity is the whole history
	next   int      // where the next sample goes once the ring is full
	cancel context.CancelFunc
	done   chan struct{}
}

// Default history: a sample every 15 seconds, an hour of them.
const (
	DefaultSampleEvery = 15 * time.Second
	DefaultHistory     = time.Hour
)

// NewHistory samples goroutines (runtime.NumGoroutine) and load (e.g.
// in-flight requests) every interval, keeping span of them; zero takes
// the defaults. It samples nothing until Start.
func NewHistory(goroutines func() int, load func() float64, every, span time.Duration) *History {
	if every <= 0 {
		every = DefaultSampleEvery
	}
	if span <= 0 {
		span = DefaultHistory
	}
	return &History{every: every, goroutines: goroutines, load: load, now: time.Now,
		ring: make([]Sample, 0, max(1, int(span/every)))}
}

// Start takes a sample now and then one every interval, in a goroutine
// that ends on Stop or when ctx ends. Starting a started history does
// nothing.
func (h *History) Start(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel != nil {
		return
	}
	ctx, h.cancel = context.WithCancel(ctx)
	h.done = make(chan struct{})
	h.add()
	go h.run(ctx) // ends when ctx ends: Stop cancels it and waits on h.done
}

// Stop ends sampling and waits until the sampler has exited. It is safe
// before Start and more than once.
func (h *History) Stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (h *History) run(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.mu.Lock()
			h.add()
			h.mu.Unlock()
		}
	}
}

// add takes one sample; h.mu is held.
func (h *History) add() {
	s := Sample{At: h.now().UTC(), Goroutines: h.goroutines()}
	if h.load != nil {
		s.InFlight = h.load()
	}
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, s)
		return
	}
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
}

// Samples returns the samples kept, oldest first.
func (h *History) Samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Sample, 0, len(h.ring))
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

// ServeHTTP answers the samples as JSON: {"every_seconds": 15, "samples": [...]}.
func (h *History) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		Every   float64  `json:"every_seconds"`
		Samples []Sample `json:"samples"`
	}{h.every.Seconds(), h.Samples()})
}
