package capture

import (
	"fmt"
	"sync"
	"testing"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"go.uber.org/goleak"
)

// parkForBench blocks until release is closed; the live benchmarks park
// thousands of goroutines here.
func parkForBench(release <-chan struct{}, started *sync.WaitGroup) {
	started.Done()
	<-release
}

// BenchmarkLiveScan compares, on a live process with n parked goroutines,
// leakguard's capture + parse + group with goleak.Find told to ignore the
// parked ones (its cost when it finds nothing, the best case for it).
func BenchmarkLiveScan(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		release := make(chan struct{})
		var started, exited sync.WaitGroup
		started.Add(n)
		for range n {
			exited.Go(func() { parkForBench(release, &started) }) // ends when release closes below
		}
		started.Wait()
		name := fmt.Sprintf("%dk", n/1000)
		b.Run("stackdump/"+name, func(b *testing.B) {
			for b.Loop() {
				gs, err := stackdump.ParseBytes(Stacks())
				if err != nil {
					b.Fatal(err)
				}
				if len(gs) < n {
					b.Fatalf("parsed %d goroutines, want at least %d", len(gs), n)
				}
				stackdump.GroupGoroutines(gs)
			}
		})
		b.Run("goleak.Find/"+name, func(b *testing.B) {
			for b.Loop() {
				if err := goleak.Find(goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/trialwatch/trialwatch/leakguard/stackdump/capture.parkForBench")); err != nil {
					b.Fatal(err)
				}
			}
		})
		close(release)
		exited.Wait()
	}
}
