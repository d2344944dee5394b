package capture

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCapture measures how long each way of capturing stops the
// process with n parked goroutines:
//
//	max-gap-ms  the longest a probe goroutine woken by a 1 ms ticker went
//	            without running, over the gaps that overlap a capture (1
//	            when nothing stopped it). It includes GC pauses and, on a
//	            loaded machine, threads the OS did not run.
//	p99-gap-ms  the 99th percentile of the same gaps
//	stw-ms      the longest stop-the-world pause not for GC the runtime
//	            recorded during a capture (upper bound of its histogram
//	            bucket): the pause the capture itself causes.
//	stopping-ms the longest of the same pauses' time to stop: waiting for
//	            every thread to reach a safe point, which on a loaded
//	            machine includes threads the OS is not running.
//	gc-stw-ms   the same as stw-ms for GC pauses during the captures.
//	gc/op       GC cycles that ran during a capture, per capture
//	paced/op    GC cycles run between captures because WouldStartGC said
//	            the next capture would start one: what the watchdog waits
//	            for instead (only the paced method)
//	B/op        bytes allocated by one capture
//
// ms/op is the wall time of one capture.
//
//	idle            nothing for 50 ms: the probe's noise floor on this
//	                machine at this moment
//	busy            50 ms of CPU work that neither allocates nor stops
//	                the world: what any busy goroutine costs the probe
//	gc              one GC cycle (runtime.GC), which marks every
//	                goroutine's stack: what a capture that starts a GC
//	                cycle costs the probe
//	stop-the-world  the first Capture: runtime.Stack from a 64 KiB
//	                buffer, doubled and retried, each pass stopping the world
//	full            Full: one runtime.Stack pass into a sized buffer
//	labelled        the labelled goroutine profile (runtime/pprof) rendered
//	                as a dump: the concurrent Capture before it chose
//	                between profiles and paced itself
//	plain           runtime.GoroutineProfile into the kept buffer, rendered
//	Capture         the budgeted Stacks (5 ms), paced as the watchdog
//	                paces it: when WouldStartGC, a GC cycle first, outside
//	                the measured capture
func BenchmarkCapture(b *testing.B) {
	methods := []struct {
		name    string
		capture func() []byte
		paced   bool
	}{
		{"idle", func() []byte { time.Sleep(50 * time.Millisecond); return []byte{0} }, false},
		{"busy", func() []byte { return busy(50 * time.Millisecond) }, false},
		{"gc", func() []byte { runtime.GC(); return []byte{0} }, false},
		{"stop-the-world", captureStopTheWorld, false},
		{"full", Full, false},
		{"labelled", func() []byte {
			text, _, _ := appendProfile(nil, pprof.Lookup("goroutine"), &learnedUse{})
			return text
		}, false},
		{"plain", func() []byte { text, _ := appendPlainProfile(nil, &learnedUse{}); return text }, false},
		{"Capture", Stacks, true},
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
				b.ReportAllocs()
				var windows []window
				var stw, stopping, gcSTW time.Duration
				var during, paced uint64
				p := startLatencyProbe(time.Millisecond)
				for b.Loop() {
					if m.paced && WouldStartGC() {
						b.StopTimer()
						runtime.GC()
						paced++
						// Let the probe tick once, so the gap the cycle caused
						// does not reach into the capture's window.
						time.Sleep(3 * time.Millisecond)
						b.StartTimer()
					}
					before, cycles := readPauses(), gcCycles()
					start := time.Now()
					if len(m.capture()) == 0 {
						b.Fatal("empty capture")
					}
					windows = append(windows, window{start, time.Now()})
					after := readPauses()
					during += gcCycles() - cycles
					stw = max(stw, longestNew(before.other, after.other))
					stopping = max(stopping, longestNew(before.stopping, after.stopping))
					gcSTW = max(gcSTW, longestNew(before.gc, after.gc))
				}
				worst, p99 := p.stop(windows)
				b.ReportMetric(ms(worst), "max-gap-ms")
				b.ReportMetric(ms(p99), "p99-gap-ms")
				b.ReportMetric(ms(stw), "stw-ms")
				b.ReportMetric(ms(stopping), "stopping-ms")
				b.ReportMetric(ms(gcSTW), "gc-stw-ms")
				b.ReportMetric(float64(during)/float64(b.N), "gc/op")
				if m.paced {
					b.ReportMetric(float64(paced)/float64(b.N), "paced/op")
				}
			})
		}
		close(release)
		exited.Wait()
	}
}

type window struct{ start, end time.Time }

// latencyProbe is a goroutine that wakes every tick and records the time
// between two wake-ups: how long the scheduler could not run it.
type latencyProbe struct {
	done   chan struct{}
	result chan []probeGap
}

type probeGap struct {
	end time.Time
	d   time.Duration
}

func startLatencyProbe(tick time.Duration) *latencyProbe {
	p := &latencyProbe{done: make(chan struct{}), result: make(chan []probeGap)}
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
	// Allocated up front, so the probe does not allocate while measuring.
	gaps := make([]probeGap, 0, 1<<17)
	close(ready)
	for {
		select {
		case <-p.done:
			now := time.Now()
			p.result <- append(gaps, probeGap{now, now.Sub(last)})
			return
		case <-t.C:
			now := time.Now()
			if len(gaps) < cap(gaps) {
				gaps = append(gaps, probeGap{now, now.Sub(last)})
			}
			last = now
		}
	}
}

// stop ends the probe and returns the longest and the 99th percentile of
// the gaps that overlap one of the windows.
func (p *latencyProbe) stop(windows []window) (worst, p99 time.Duration) {
	close(p.done)
	var in []time.Duration
	for _, g := range <-p.result {
		start := g.end.Add(-g.d)
		for _, w := range windows {
			if start.Before(w.end) && g.end.After(w.start) {
				in = append(in, g.d)
				break
			}
		}
	}
	if len(in) == 0 {
		return 0, 0
	}
	slices.Sort(in)
	return in[len(in)-1], in[(len(in)-1)*99/100]
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
