// Package heldoutfp holds the shapes of the false positives leakvet reported
// on the held-out modules (leakvet/triage/TRIAGE.md): none may be reported.
package heldoutfp

import (
	"sync"
	"testing"
	"time"
)

// go-libp2p p2p/net/swarm/limiter_test.go: a for range K receive loop, which
// go/ssa rotates (its test sits at the bottom, after a constant guard).
func waitAll(t *testing.T, work func()) {
	success := make(chan struct{})
	for range 20 {
		go func() {
			work()
			success <- struct{}{}
		}()
	}
	for range 20 {
		select {
		case <-success:
		case <-time.After(time.Minute):
			t.Fatal("expected a success within a minute")
		}
	}
}

// pgx pgxpool/pool_test.go: the same with a loop of one block (the receive
// and the counter test share it) and a count in a variable.
func collect(check func(error)) {
	errs := make(chan error)
	count := 5000
	for range count {
		go func() { errs <- nil }()
	}
	for range count {
		check(<-errs)
	}
}

// badger db.go doWrites: a semaphore taken before each goroutine starts and
// released by it.
func writeBatches(batches <-chan []int, write func([]int)) {
	pending := make(chan struct{}, 1)
	writeBatch := func(b []int) {
		write(b)
		<-pending
	}
	for b := range batches {
		pending <- struct{}{}
		go writeBatch(b)
	}
	pending <- struct{}{}
}

// caddy reverseproxy hosts.go: a cleaner started once for the process by a
// function literal that captures nothing.
var (
	cleanerOnce sync.Once
	mu          sync.Mutex
	seen        = map[string]time.Time{}
)

func touch(addr string) {
	mu.Lock()
	seen[addr] = time.Now()
	mu.Unlock()
	cleanerOnce.Do(func() {
		go func() {
			for {
				time.Sleep(time.Minute)
				mu.Lock()
				for a, at := range seen {
					if time.Since(at) > time.Hour {
						delete(seen, a)
					}
				}
				mu.Unlock()
			}
		}()
	})
}

// go-zero core/discov/publisher_test.go (a module the rules were tuned on):
// the keep-alive loop may stop without taking resume, but here the starter
// of the sending goroutine takes the value itself.
type publisher struct {
	resume chan struct{}
	quit   chan struct{}
}

func (p *publisher) Resume() { p.resume <- struct{}{} }

func (p *publisher) keepAlive() {
	for {
		select {
		case <-p.resume:
		case <-p.quit:
			return
		}
	}
}

func (p *publisher) Stop() { close(p.quit) }

func resumeOnce() {
	p := &publisher{resume: make(chan struct{}), quit: make(chan struct{})}
	go p.Resume()
	<-p.resume
}
