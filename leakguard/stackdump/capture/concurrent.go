package capture

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump/internal/profiletext"
)

// A concurrent capture stops the world only twice, briefly, but it
// allocates: runtime/pprof's goroutine profile ~270 bytes per goroutine
// (27MB at 100,000), runtime.GoroutineProfile ~90. At 100,000 goroutines a
// GC cycle keeps both cores of a small machine marking stacks and delays
// other goroutines by tens of milliseconds, so a capture that starts one
// is what the rest of the process feels. Two things keep that from
// happening:
//
//   - the labelled profile (runtime/pprof) is read only when this process
//     needs it: when the last one showed pprof labels or a stack deeper
//     than runtime.StackRecord holds, every eighth capture to look again,
//     or when the heap has room to spare. Otherwise runtime.GoroutineProfile
//     fills a buffer kept from one capture to the next, and only distinct
//     stacks are symbolized and rendered;
//   - WouldStartGC tells a caller that can wait (the watchdog) that the
//     capture's expected allocation does not fit what the heap may grow
//     before the next GC cycle starts.

// Learned allocation per goroutine of each kind of concurrent capture,
// from the heap's allocation counter around it; rises at once, falls by
// halves. Other goroutines allocating meanwhile make it an over-estimate,
// the safe side. Starting values: measured at 100k parked goroutines,
// rounded up.
var (
	labelledBytes atomic.Int64
	plainBytes    atomic.Int64
)

func init() {
	labelledBytes.Store(320)
	plainBytes.Store(120)
}

// pcKey is a stack as runtime.GoroutineProfile records it, PCs
// zero-padded; plainDepth is how many it keeps, so a stack this deep may
// have been cut.
type pcKey = [len(runtime.StackRecord{}.Stack0)]uintptr

const plainDepth = len(pcKey{})

// labelRecheck is how often (every how many concurrent captures) the
// labelled profile is read even though the last one needed it not.
const labelRecheck = 8

// labelledWant records what the last labelled profile showed.
var labelledWant struct {
	sync.Mutex
	known    bool // a labelled profile was read
	needed   bool // it had labels or a stack plainDepth deep or deeper
	captures int  // concurrent captures since
}

// plain holds runtime.GoroutineProfile's buffer between captures, so that
// a capture allocates only what the runtime allocates inside it, plus the
// distinct stacks.
var plain struct {
	sync.Mutex
	records []runtime.StackRecord
	index   map[pcKey]int // stack -> position in stacks
	stacks  []plainStack
}

type plainStack struct {
	first int // index of a record with this stack
	count int
}

// concurrentKind is which profile a concurrent capture reads.
type concurrentKind int

const (
	labelledProfile concurrentKind = iota
	plainProfile
)

// chooseProfile picks the profile for a concurrent capture of n
// goroutines: the labelled one when the last showed it was needed, when
// it is time to look again, or when the heap has room for it three times
// over; else the plain one.
func chooseProfile(n int) concurrentKind {
	labelledWant.Lock()
	defer labelledWant.Unlock()
	labelledWant.captures++
	cost := int64(n) * labelledBytes.Load()
	switch {
	case !labelledWant.known, labelledWant.needed, labelledWant.captures >= labelRecheck:
	case heapRoom() >= 3*cost:
	default:
		return plainProfile
	}
	labelledWant.captures = 0
	return labelledProfile
}

func learnLabelled(needed bool) {
	labelledWant.Lock()
	defer labelledWant.Unlock()
	labelledWant.known, labelledWant.needed = true, needed
}

// WouldStartGC reports whether a concurrent capture now is expected to
// start a GC cycle: what it allocates does not fit what the heap may grow
// before the runtime starts the next one. A caller that can wait (the
// watchdog's scheduled captures) captures after the next cycle instead;
// the service's own allocation, or the runtime's forced cycle every two
// minutes, brings it. With goroutines few enough for a full dump within
// DefaultPauseBudget it reports false: that dump allocates little.
//
// The estimate is for the capture alone. Read it with
// stackdump.ParseGroups, which allocates for its distinct stacks only;
// stackdump.ParseBytes adds ~150 bytes a goroutine.
func WouldStartGC() bool {
	n := runtime.NumGoroutine()
	if estimatePause(n) <= DefaultPauseBudget {
		return false
	}
	cost := plainBytes.Load()
	labelledWant.Lock()
	if !labelledWant.known || labelledWant.needed || labelledWant.captures+1 >= labelRecheck {
		cost = labelledBytes.Load()
	}
	labelledWant.Unlock()
	return heapRoom() < int64(n)*cost
}

var heapMetrics = struct {
	sync.Mutex
	samples []metrics.Sample
}{samples: []metrics.Sample{
	{Name: "/gc/heap/goal:bytes"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/heap/allocs:bytes"},
}}

// heapRoom is how many bytes may be allocated before the next GC cycle
// starts, at the least: the runtime starts it somewhere between 70% and
// 95% of the way from the heap marked live to the goal, here taken as
// 70%.
// A runtime without the metrics, or with GC off, has no limit to report.
var heapRoom = func() int64 {
	goal, live, inUse, _ := readHeap()
	if goal == 0 || goal < live {
		return math.MaxInt64
	}
	trigger := live + (goal-live)/64*45
	return int64(min(trigger, math.MaxInt64)) - int64(min(inUse, math.MaxInt64))
}

// readHeap returns zeros on a runtime without these metrics.
func readHeap() (goal, live, inUse, allocated uint64) {
	heapMetrics.Lock()
	defer heapMetrics.Unlock()
	s := heapMetrics.samples
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 0, 0, 0, 0
		}
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
}

func learnAllocation(c *atomic.Int64, n int, before uint64) {
	if n <= 0 {
		return
	}
	_, _, _, after := readHeap()
	per := int64(after-before) / int64(n)
	if per >= c.Load() {
		raiseCost(c, per)
		return
	}
	old := c.Load()
	c.CompareAndSwap(old, (old+per)/2)
}

// captureConcurrent renders a goroutine profile as a dump, under a header
// that says why it is not a full one and what it lacks.
func captureConcurrent(n int, est, budget time.Duration) []byte {
	text, _ := captureConcurrentInfo(n, est, budget)
	return text
}

// concurrentInfo is what a concurrent capture leaves out.
type concurrentInfo struct {
	labelsSkipped bool
	creators      learnedUse
}

func captureConcurrentInfo(n int, est, budget time.Duration) ([]byte, concurrentInfo) {
	header := fmt.Appendf(nil, "# leakguard: goroutine profile of %d goroutines, collected concurrently: a full dump would stop the world ~%s, over the %s budget.\n",
		n, est.Round(time.Microsecond), budget)
	var info concurrentInfo
	_, _, _, before := readHeap()
	if chooseProfile(n) == plainProfile {
		text, complete := appendPlainProfile(nil, &info.creators)
		learnAllocation(&plainBytes, n, before)
		if !complete {
			// Read the labelled profile from now on (and count its cost in
			// WouldStartGC), until one shows no stack that deep.
			learnLabelled(true)
		}
		switch {
		case complete:
			info.labelsSkipped = true
			header = append(header, "# pprof labels not read: the last labelled profile had none (read again every 8th capture).\n"...)
			return append(append(header, creatorsNote(info.creators)...), text...), info
		case heapRoom() < int64(n)*labelledBytes.Load():
			info.labelsSkipped = true
			header = fmt.Appendf(header, "# pprof labels not read and stacks cut at %d frames: the labelled profile would start a GC cycle.\n", plainDepth)
			return append(append(header, creatorsNote(info.creators)...), text...), info
		}
		// A stack was cut: read the labelled profile, which has all of it.
		info.creators = learnedUse{}
		_, _, _, before = readHeap()
	}
	text, needed, err := appendProfile(nil, pprof.Lookup("goroutine"), &info.creators)
	learnAllocation(&labelledBytes, n, before)
	if err == nil {
		learnLabelled(needed)
	} else {
		// Writes to a bytes.Buffer do not fail; keep the reason in the dump
		// rather than return nothing.
		text = fmt.Appendf(text, "# goroutine profile: %v\n", err)
	}
	return append(append(header, creatorsNote(info.creators)...), text...), info
}

// creatorsNote is the header line that says where a concurrent dump's
// creators come from.
func creatorsNote(u learnedUse) []byte {
	if u.stacks == 0 {
		return []byte("# Goroutine IDs (0 here) and wait times are not known; nor are creators: no earlier full dump saw these stacks.\n\n")
	}
	return fmt.Appendf(nil, "# Goroutine IDs (0 here) and wait times are not known; the creators of %d stacks are from full dumps taken since %s.\n\n",
		u.stacks, u.since.UTC().Format(time.RFC3339))
}

// appendPlainProfile renders runtime.GoroutineProfile as a dump. It
// reports false when a stack filled a record, so may have been cut.
func appendPlainProfile(out []byte, used *learnedUse) ([]byte, bool) {
	plain.Lock()
	defer plain.Unlock()
	var recs []runtime.StackRecord
	for {
		// The runtime allocates a record header for each element it is
		// given, so it is given what it needs with a margin, not the whole
		// buffer.
		need := runtime.NumGoroutine() + 64
		if cap(plain.records) < need || cap(plain.records) > 4*need {
			// Kept between captures (256 bytes a goroutine), shrunk when
			// the goroutines are a quarter of what it was sized for.
			plain.records = make([]runtime.StackRecord, need+need/4)
		}
		n, ok := runtime.GoroutineProfile(plain.records[:need])
		if ok {
			recs = plain.records[:n]
			break
		}
	}
	if plain.index == nil {
		plain.index = make(map[pcKey]int)
	}
	clear(plain.index)
	plain.stacks = plain.stacks[:0]
	complete := true
	for i := range recs {
		if recs[i].Stack0[plainDepth-1] != 0 {
			complete = false
		}
		j, ok := plain.index[recs[i].Stack0]
		if !ok {
			j = len(plain.stacks)
			plain.index[recs[i].Stack0] = j
			plain.stacks = append(plain.stacks, plainStack{first: i})
		}
		plain.stacks[j].count++
	}
	// Largest groups first, as the labelled profile lists them.
	slices.SortStableFunc(plain.stacks, func(a, b plainStack) int { return b.count - a.count })
	var frames []runtime.Frame
	for _, s := range plain.stacks {
		frames = symbolize(frames[:0], recs[s.first].Stack())
		out = profiletext.AppendGoroutine(out, profiletext.Record{Count: s.count}, frames, "", used.creator)
	}
	return out, complete
}
