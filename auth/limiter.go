package auth

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per key (token ID, user name, client address).
// Memory is bounded by maxKeys and there is no background goroutine: each
// call drops the buckets that have refilled completely, as a full bucket
// is the same as none. When all maxKeys buckets are still in use, the one
// seen least recently is dropped: memory stays bounded at the price of
// giving that key a fresh burst, which a caller cannot exploit without
// first cycling through maxKeys other keys.
type Limiter struct {
	mu      sync.Mutex
	rate    float64       // tokens per second
	burst   float64       // bucket size
	fullIn  time.Duration // how long an empty bucket takes to fill
	maxKeys int
	buckets map[string]*list.Element
	lru     list.List // of *bucket, most recently seen first
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// CheckLimit says why rate requests per second, in bursts of up to burst,
// cannot make a Limiter, or nil if they can. Check values from users with
// it before NewLimiter, which panics on them.
func CheckLimit(rate float64, burst int) error {
	switch {
	case !(rate > 0) || math.IsInf(rate, 0):
		return fmt.Errorf("rate %v: want a positive, finite number of requests per second", rate)
	case burst < 1:
		return fmt.Errorf("burst %d: want a positive whole number", burst)
	case float64(burst)/rate >= maxFillSeconds:
		// An empty bucket must refill within a time.Duration.
		return fmt.Errorf("rate %v with burst %d: an empty bucket would take over %d years to refill", rate, burst, maxFillSeconds/(365*24*3600))
	}
	return nil
}

// maxFillSeconds bounds the time an empty bucket takes to refill, well
// within a time.Duration (292 years).
const maxFillSeconds = 100 * 365 * 24 * 3600

// NewLimiter allows rate requests per second per key, in bursts of up to
// burst, keeping at most maxKeys keys. It panics on values CheckLimit
// refuses and on a maxKeys that is not positive, which are programming
// errors.
func NewLimiter(rate float64, burst int, maxKeys int) *Limiter {
	if err := CheckLimit(rate, burst); err != nil {
		panic("auth.NewLimiter: " + err.Error())
	}
	if maxKeys < 1 {
		panic("auth.NewLimiter: maxKeys must be positive")
	}
	return &Limiter{
		rate:    rate,
		burst:   float64(burst),
		fullIn:  time.Duration(float64(burst) / rate * float64(time.Second)),
		maxKeys: maxKeys,
		buckets: make(map[string]*list.Element),
	}
}

// Allow takes one token from key's bucket at time now. When the bucket is
// empty it answers false and how long until a token is there.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	var b *bucket
	if e, found := l.buckets[key]; found {
		b = e.Value.(*bucket)
		if d := now.Sub(b.last); d > 0 { // a clock stepping back refills nothing
			b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
			b.last = now
		}
		l.lru.MoveToFront(e)
	} else {
		if len(l.buckets) >= l.maxKeys {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// prune drops the least recently seen buckets that are full by now. The
// list is in order of last use, so it stops at the first one still filling:
// each bucket is dropped once, making the work per call constant on average.
func (l *Limiter) prune(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if now.Sub(e.Value.(*bucket).last) < l.fullIn {
			return
		}
		l.remove(e)
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.buckets, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// Len reports how many keys the limiter holds.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
