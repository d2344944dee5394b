// Package capture takes goroutine dumps of this process, in the text form
// stackdump parses, within a stop-the-world budget: a full runtime.Stack
// dump when the learned per-goroutine cost fits the budget, otherwise a
// rendering of the goroutine profile, which the runtime collects
// concurrently, with creators learned from earlier full dumps. It paces
// itself against the GC (WouldStartGC) so that at 100,000 goroutines a
// capture does not start a GC cycle the service would feel.
package capture

import (
	"runtime"
	"sync/atomic"
	"time"
)

// DefaultPauseBudget is how long Stacks may stop the world. A full
// runtime.Stack dump stops it for the whole walk, 1.5-2.5µs per goroutine:
// within budget up to about 2,000 goroutines.
const DefaultPauseBudget = 5 * time.Millisecond

// Dump is a captured goroutine dump and what it holds.
type Dump struct {
	// Text is in the form stackdump.Parse and stackdump.ParseBytes read.
	Text []byte
	// Full is set for a runtime.Stack dump, which has everything: goroutine
	// IDs, wait times and creators. A dump taken from the concurrent
	// goroutine profile has none of them; its goroutines all have ID 0 and
	// Wait 0, and a creator only where an earlier full dump saw the same
	// stack started by a single go statement (see Within).
	Full bool
	// Goroutines is runtime.NumGoroutine when the capture began.
	Goroutines int
	// FullPause is how long a full dump stopped the world (when Full) or
	// would have, as estimated from the goroutine count (when not).
	FullPause time.Duration
	// LabelsSkipped is set for a dump from the concurrent profile that did
	// not read pprof labels: the last labelled profile had none, or reading
	// it would have started a GC cycle (see WouldStartGC).
	LabelsSkipped bool
	// LearnedCreators counts the distinct stacks of a dump from the
	// concurrent profile whose creator comes from an earlier full dump;
	// CreatorsFrom is when the oldest of those dumps was taken.
	LearnedCreators int
	CreatorsFrom    time.Time
}

// Stacks returns the stacks of all goroutines of this process, in the
// form stackdump.ParseBytes reads, stopping the world for at most
// DefaultPauseBudget. It is Within(DefaultPauseBudget).Text.
func Stacks() []byte { return Within(DefaultPauseBudget).Text }

// Within captures all goroutines, stopping the world for about
// budget at most.
//
// When a full runtime.Stack dump is estimated to fit the budget it takes
// one; otherwise it reads the goroutine profile, which the runtime collects
// concurrently (the world stops twice, briefly, whatever the goroutine
// count), and renders it as a dump. That dump has the same groups, counts,
// frames (file:line) and labels as a full one, and the state each
// goroutine waits in, derived from the runtime function it parked in; it
// lacks goroutine IDs and wait times, which only the full dump has, and
// "created by" lines, which no concurrent API of the runtime records (Go
// 1.26 and 1.27: not the goroutine profiles, not runtime/trace, which has
// creators only of goroutines started while it traces). Those are filled
// in from what earlier full dumps of this process saw: a stack that was
// always started by the same go statement gets that creator, and the dump
// says how many stacks got one and since when (LearnedCreators,
// CreatorsFrom).
//
// Of the two goroutine profiles it reads runtime.GoroutineProfile, which
// allocates a third of what runtime/pprof's does, unless the last
// runtime/pprof profile had pprof labels or a stack deeper than 32 frames
// (which runtime.GoroutineProfile cuts), every eighth capture, and when
// the heap has room to spare; LabelsSkipped says when labels were not
// read. Allocation is what matters at 100,000 goroutines: a capture that
// starts a GC cycle stops the process for longer than it does itself.
// WouldStartGC tells a caller that can wait when that would happen.
//
// The estimate is learned from the full dumps taken so far, so the first
// call may overrun the budget by the difference between this machine and
// the default per-goroutine cost.
func Within(budget time.Duration) Dump {
	n := runtime.NumGoroutine()
	est := estimatePause(n)
	if est > budget && time.Duration(n)*defaultNsPerGoroutine <= budget {
		// The learned cost may come from a busy moment; without full dumps
		// it would never be measured again. Let it drift back, so one is
		// tried, and measured, after a few captures.
		decayCost()
	}
	if est <= budget {
		if text, pause, ok := captureFull(n, budget); ok {
			return Dump{Text: text, Full: true, Goroutines: n, FullPause: pause}
		}
	}
	text, info := captureConcurrentInfo(n, est, budget)
	return Dump{
		Text: text, Goroutines: n, FullPause: est, LabelsSkipped: info.labelsSkipped,
		LearnedCreators: info.creators.stacks, CreatorsFrom: info.creators.since,
	}
}

// Full returns a runtime.Stack dump of all goroutines whatever it
// costs: the world stops for the whole walk, ~0.2s at 100,000 goroutines.
// It is for tests and tools that need goroutine IDs or wait times, not for
// a live service; there use Stacks.
func Full() []byte {
	text, _, _ := captureFull(runtime.NumGoroutine(), -1)
	return text
}

// Learned costs of a full dump, updated after each one. They start at what
// 2-core CI machines measure, rounded up.
var (
	nsPerGoroutine    atomic.Int64 // stop-the-world time per goroutine
	bytesPerGoroutine atomic.Int64 // dump size per goroutine
)

const defaultNsPerGoroutine = 2500

func init() {
	nsPerGoroutine.Store(defaultNsPerGoroutine)
	bytesPerGoroutine.Store(400)
}

func decayCost() {
	old := nsPerGoroutine.Load()
	if old > defaultNsPerGoroutine {
		nsPerGoroutine.CompareAndSwap(old, old-(old-defaultNsPerGoroutine)/4-1)
	}
}

func estimatePause(n int) time.Duration {
	return time.Duration(int64(n) * nsPerGoroutine.Load())
}

// captureFull takes a runtime.Stack dump into a buffer sized from the
// learned dump size. If the dump outgrows the buffer it retries with a
// larger one, but only while the pauses so far and the next one fit the
// budget (budget < 0: always).
func captureFull(n int, budget time.Duration) (text []byte, pause time.Duration, ok bool) {
	size := int(int64(n)*bytesPerGoroutine.Load()*5/4) + 16<<10
	for {
		buf := make([]byte, size)
		start := time.Now()
		written := runtime.Stack(buf, true)
		took := time.Since(start)
		pause += took
		if written < len(buf) {
			learnFullCost(n, written, took)
			learnCreators(buf[:written], start)
			return buf[:written], pause, true
		}
		// runtime.Stack truncates silently, so a full buffer means "maybe
		// more". The retry pauses about as long again.
		raiseCost(&nsPerGoroutine, int64(took)/int64(max(n, 1)))
		if budget >= 0 && pause+took > budget {
			return nil, pause, false
		}
		size *= 2
	}
}

func learnFullCost(n, written int, took time.Duration) {
	if n <= 0 {
		return
	}
	raiseCost(&bytesPerGoroutine, int64(written/n))
	// Rise at once, fall by halves: one quick dump on an idle machine must not
	// make the next one on a busy machine overrun the budget.
	per := int64(took) / int64(n)
	if per >= nsPerGoroutine.Load() {
		raiseCost(&nsPerGoroutine, per)
		return
	}
	old := nsPerGoroutine.Load()
	nsPerGoroutine.CompareAndSwap(old, (old+per)/2)
}

func raiseCost(c *atomic.Int64, v int64) {
	for {
		old := c.Load()
		if v <= old || c.CompareAndSwap(old, v) {
			return
		}
	}
}

// captureStopTheWorld is how Stacks worked before it had a budget: full
// dumps from a 64 KiB buffer, doubled after every truncated pass, each pass
// stopping the world. The benchmark keeps it as the baseline.
func captureStopTheWorld() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
