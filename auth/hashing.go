package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy: every password-hashing turn is taken and the queue for them is
// full. The caller answers at once, asking the client to retry later
// (BusyError says when), rather than wait behind work it cannot speed up.
var ErrBusy = errors.New("password checks are at capacity")

// BusyError is ErrBusy with how long the queue ahead should take to clear.
type BusyError struct{ RetryAfter time.Duration }

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v: retry in %v", ErrBusy, e.RetryAfter)
}

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// DefaultHashQueue is how many password checks may wait for a hashing
// turn before more are refused with ErrBusy: at bcrypt cost 12 and one
// turn, four seconds' work.
const DefaultHashQueue = 16

// DefaultHashWorkers is how many bcrypt hashes run at once: half the
// CPUs, at least one, so that a flood of logins leaves the other half to
// the rest of the API.
func DefaultHashWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// hashing bounds the CPU that bcrypt takes. A hash runs on the caller's
// goroutine, but only with one of the pool's turns; callers beyond the
// turns wait in a queue of bounded length, and callers beyond that get a
// BusyError at once, before any hashing. No goroutine of its own: nothing
// to start or stop.
type hashing struct {
	turns    chan struct{} // a send takes a turn, a receive gives it back
	capacity int64         // turns + queue: callers admitted at once
	admitted atomic.Int64  // callers hashing or waiting to
	lastCost atomic.Int64  // nanoseconds the last hash took, for RetryAfter
}

func newHashing(workers, queue int) *hashing {
	if workers < 1 || queue < 0 {
		panic(fmt.Sprintf("auth: password hashing with %d workers and a queue of %d: want at least one worker and a queue of zero or more", workers, queue))
	}
	return &hashing{turns: make(chan struct{}, workers), capacity: int64(workers + queue)}
}

// do runs fn, which hashes, within a turn. It answers a BusyError at once
// when the queue is full, and ctx's error if ctx ends while it waits.
func (h *hashing) do(ctx context.Context, fn func()) error {
	if n := h.admitted.Add(1); n > h.capacity {
		h.admitted.Add(-1)
		return &BusyError{RetryAfter: h.retryAfter(n)}
	}
	defer h.admitted.Add(-1)
	select {
	case h.turns <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.turns }()
	start := time.Now()
	fn()
	h.lastCost.Store(int64(time.Since(start)))
	return nil
}

// retryAfter is about how long the n-1 callers ahead take to be served,
// at least a second.
func (h *hashing) retryAfter(n int64) time.Duration {
	cost := time.Duration(h.lastCost.Load())
	if cost <= 0 {
		cost = 250 * time.Millisecond // bcrypt cost 12 on a current CPU core
	}
	wait := time.Duration(n-1) * cost / time.Duration(cap(h.turns))
	return max(time.Second, wait)
}
