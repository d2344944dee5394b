package stackdump

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// BenchmarkCapture measures how long each way of capturing stops the
// process with n parked goroutines:
//
//	max-gap-ms  the longest a probe goroutine woken by a 1 ms ticker went
//	            without running while the captures ran (1 when nothing
//	            stopped it). It includes GC pauses, which any allocation
//	            causes in a process of 100k goroutines, and, on a loaded
//	            machine, threads the OS did not run.
//	stw-ms      the longest stop-the-world pause not for GC the runtime
//	            recorded during a capture (upper bound of its histogram
//	            bucket): the pause the capture itself causes.
//	stopping-ms the longest of the same pauses' time to stop: waiting for
//	            every thread to reach a safe point, which on a loaded
//	            machine includes threads the OS is not running.
//	gc-stw-ms   the same as stw-ms for GC pauses during the captures.
//	gc/op       GC cycles per capture: the benchmark's heap is small, so
//	            the garbage a capture leaves starts GC cycles that a
//	            service with a larger heap would start less often.
//
// ms/op is the wall time of one capture.
//
//	idle            nothing for 50 ms: the probe's noise floor on this
//	                machine at this moment
//	busy            50 ms of CPU work that neither allocates nor stops
//	                the world: what any busy goroutine costs the probe
//	gc              one GC cycle (runtime.GC), which marks every
//	                goroutine's stack: what the GC cycles a capture's
//	                garbage may start cost the probe anyway
//	stop-the-world  the old Capture: runtime.Stack from a 64 KiB buffer,
//	                doubled and retried, each pass stopping the world
//	full            CaptureFull: one runtime.Stack pass into a sized buffer
//	Capture         the budgeted Capture (5 ms)
func BenchmarkCapture(b *testing.B) {
	methods := []struct {
		name    string
		capture func() []byte
	}{
		{"idle", func() []byte { time.Sleep(50 * time.Millisecond); return []byte{0} }},
		{"busy", func() []byte { return busy(50 * time.Millisecond) }},
		{"gc", func() []byte { runtime.GC(); return []byte{0} }},
		{"stop-the-world", captureStopTheWorld},
		{"full", CaptureFull},
		{"Capture", Capture},
	}
	for _, n := range []int{10_000, 100_000} {
		release := make(chan struct{})
		var started, exited sync.WaitGroup
		started.Add(n)
		for range n {
			exited.Go(func() { parkForBench(release, &started) }) // ends when release closes below
		}
		started.Wait()
		for _, m := range methods {
			b.Run(fmt.Sprintf("%s/%dk", m.name, n/1000), func(b *testing.B) {
				cycles := gcCycles()
				p := startLatencyProbe(time.Millisecond)
				var stw, stopping, gcSTW time.Duration
				for b.Loop() {
					before := readPauses()
					if len(m.capture()) == 0 {
						b.Fatal("empty capture")
					}
					after := readPauses()
					stw = max(stw, longestNew(before.other, after.other))
					stopping = max(stopping, longestNew(before.stopping, after.stopping))
					gcSTW = max(gcSTW, longestNew(before.gc, after.gc))
				}
				b.ReportMetric(ms(p.stop()), "max-gap-ms")
				b.ReportMetric(ms(stw), "stw-ms")
				b.ReportMetric(ms(stopping), "stopping-ms")
				b.ReportMetric(ms(gcSTW), "gc-stw-ms")
				b.ReportMetric(float64(gcCycles()-cycles)/float64(b.N), "gc/op")
			})
		}
		close(release)
		exited.Wait()
	}
}

// latencyProbe is a goroutine that wakes every tick and keeps the longest
// time between two wake-ups: how long the scheduler could not run it.
type latencyProbe struct {
	done   chan struct{}
	result chan time.Duration
}

func startLatencyProbe(tick time.Duration) *latencyProbe {
	p := &latencyProbe{done: make(chan struct{}), result: make(chan time.Duration)}
	ready := make(chan struct{})
	go p.run(tick, ready) // ends when stop closes p.done
	<-ready
	return p
}

func (p *latencyProbe) run(tick time.Duration, ready chan<- struct{}) {
	t := time.NewTicker(tick)
	defer t.Stop()
	<-t.C
	last := time.Now()
	close(ready)
	var maxGap time.Duration
	for {
		select {
		case <-p.done:
			p.result <- max(maxGap, time.Since(last))
			return
		case <-t.C:
			now := time.Now()
			maxGap = max(maxGap, now.Sub(last))
			last = now
		}
	}
}

// stop ends the probe and returns the longest gap it saw.
func (p *latencyProbe) stop() time.Duration {
	close(p.done)
	return <-p.result
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type pauses struct{ gc, other, stopping *metrics.Float64Histogram }

// readPauses reads the runtime's histograms of stop-the-world pauses
// (stopping plus stopped, and stopping alone), which reading does not
// itself cause.
func readPauses() pauses {
	s := []metrics.Sample{
		{Name: "/sched/pauses/total/gc:seconds"},
		{Name: "/sched/pauses/total/other:seconds"},
		{Name: "/sched/pauses/stopping/other:seconds"},
	}
	metrics.Read(s)
	return pauses{gc: s[0].Value.Float64Histogram(), other: s[1].Value.Float64Histogram(), stopping: s[2].Value.Float64Histogram()}
}

// longestNew returns the upper bound of the highest bucket that gained
// pauses between two reads of a histogram.
func longestNew(before, after *metrics.Float64Histogram) time.Duration {
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			return time.Duration(after.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// busy hashes for d without allocating.
func busy(d time.Duration) []byte {
	var buf [4096]byte
	h := sha256.New()
	for start := time.Now(); time.Since(start) < d; {
		for range 64 {
			h.Write(buf[:])
		}
	}
	return h.Sum(buf[:0])
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
