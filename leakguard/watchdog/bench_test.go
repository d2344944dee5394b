package watchdog

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// parkGoroutines starts n goroutines blocked on a channel and returns the
// function that ends them.
func parkGoroutines(n int) (stop func()) {
	ch := make(chan struct{})
	started := make(chan struct{}, n)
	for range n {
		go func() { // ended by stop
			started <- struct{}{}
			<-ch
		}()
	}
	for range n {
		<-started
	}
	return func() { close(ch) }
}

func benchWatchdog() *Watchdog {
	w := New(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithDeepCheckInterval(time.Hour))
	w.cfg.inFlight = func() float64 { return 10 }
	return w
}

// BenchmarkSample is the per-interval cost: count goroutines, read load,
// refit the window. It does not depend on the goroutine count.
func BenchmarkSample(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			stop := parkGoroutines(n)
			defer stop()
			w := benchWatchdog()
			now := t0
			for range 24 { // a full 2m window at 5s
				now = now.Add(5 * time.Second)
				w.tick(now)
			}
			b.ResetTimer()
			for b.Loop() {
				now = now.Add(5 * time.Second)
				w.tick(now)
			}
		})
	}
}

// BenchmarkDeepCheck is the cost of a suspicion: capture all stacks, parse
// and group them, find blocked goroutines and diff against the baseline
// (no snapshot files, no leak profile).
func BenchmarkDeepCheck(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			stop := parkGoroutines(n)
			defer stop()
			w := benchWatchdog()
			w.cfg.proven = noProven
			w.deepCheck(t0, false, fit{}, 0) // baseline
			now := t0
			b.ResetTimer()
			for b.Loop() {
				now = now.Add(5 * time.Second)
				w.deepCheck(now, true, fit{}, 0)
			}
		})
	}
}

func noProven() ([]stackdump.Goroutine, bool, error) { return nil, false, nil }
