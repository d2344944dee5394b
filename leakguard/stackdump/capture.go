package stackdump

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPauseBudget is how long Capture may stop the world. A full
// runtime.Stack dump stops it for the whole walk, 1.5-2.5µs per goroutine:
// within budget up to about 2,000 goroutines.
const DefaultPauseBudget = 5 * time.Millisecond

// Dump is a captured goroutine dump and what it holds.
type Dump struct {
	// Text is in the form Parse and ParseBytes read.
	Text []byte
	// Full is set for a runtime.Stack dump, which has everything: goroutine
	// IDs, wait times and creators. A dump taken from the concurrent
	// goroutine profile has none of them; its goroutines all have ID 0 and
	// Wait 0, and a creator only where an earlier full dump saw the same
	// stack started by a single go statement (see CaptureWithin).
	Full bool
	// Goroutines is runtime.NumGoroutine when the capture began.
	Goroutines int
	// FullPause is how long a full dump stopped the world (when Full) or
	// would have, as estimated from the goroutine count (when not).
	FullPause time.Duration
}

// Capture returns the stacks of all goroutines of this process, in the
// form ParseBytes reads, stopping the world for at most
// DefaultPauseBudget. It is CaptureWithin(DefaultPauseBudget).Text.
func Capture() []byte { return CaptureWithin(DefaultPauseBudget).Text }

// CaptureWithin captures all goroutines, stopping the world for about
// budget at most.
//
// When a full runtime.Stack dump is estimated to fit the budget it takes
// one; otherwise it reads the goroutine profile, which the runtime collects
// concurrently (the world stops twice, briefly, whatever the goroutine
// count), and renders it as a dump. That dump has the same groups, counts,
// frames (file:line) and labels as a full one, and the state each
// goroutine waits in, derived from the runtime function it parked in; it
// lacks goroutine IDs and wait times, which only the full dump has, and
// "created by" lines, which the profile does not record. Those are filled
// in from what earlier full dumps of this process saw: a stack that was
// always started by the same go statement gets that creator.
//
// The estimate is learned from the full dumps taken so far, so the first
// call may overrun the budget by the difference between this machine and
// the default per-goroutine cost.
func CaptureWithin(budget time.Duration) Dump {
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
	return Dump{Text: captureConcurrent(n, est, budget), Goroutines: n, FullPause: est}
}

// CaptureFull returns a runtime.Stack dump of all goroutines whatever it
// costs: the world stops for the whole walk, ~0.2s at 100,000 goroutines.
// It is for tests and tools that need goroutine IDs or wait times, not for
// a live service; there use Capture.
func CaptureFull() []byte {
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
			learnCreators(buf[:written])
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

// captureStopTheWorld is how Capture worked before it had a budget: full
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

// captureConcurrent renders the goroutine profile as a dump, under a
// header that says why it is not a full one.
func captureConcurrent(n int, est, budget time.Duration) []byte {
	header := fmt.Appendf(nil, "# leakguard: goroutine profile of %d goroutines, collected concurrently: a full dump would stop the world ~%s, over the %s budget.\n"+
		"# Goroutine IDs (0 here) and wait times are not known; creators only for stacks an earlier full dump saw.\n\n",
		n, est.Round(time.Microsecond), budget)
	text, err := appendProfile(header, pprof.Lookup("goroutine"))
	if err != nil {
		// Writes to a bytes.Buffer do not fail; keep the reason in the dump
		// rather than return nothing.
		return fmt.Appendf(text, "# goroutine profile: %v\n", err)
	}
	return text
}

// ProfileDump renders a goroutine profile of this process, "goroutine" or
// "goroutineleak", as a dump ParseBytes reads, the way CaptureWithin does
// when a full dump does not fit its budget: without goroutine IDs, wait
// times, or creators other than learned ones. Goroutines of the
// goroutineleak profile carry the "(leaked)" marker. Neither profile stops
// the world for longer than a moment at debug=1, which is what it reads;
// at debug=2 both are full dumps.
func ProfileDump(p *pprof.Profile) ([]byte, error) {
	return appendProfile(nil, p)
}

// Identical goroutines are written once, after a "# count: N" line that
// ParseBytes expands, so the text stays small however many goroutines
// share a stack.
func appendProfile(out []byte, p *pprof.Profile) ([]byte, error) {
	var prof bytes.Buffer
	// debug=1 is the aggregated text form: "N @ pc pc …" per distinct stack
	// and label set, with "# labels: {…}" under it. The PCs are this
	// process's, so they are symbolized here, runtime frames included, which
	// is what says what a goroutine is waiting for.
	if err := p.WriteTo(&prof, 1); err != nil {
		return out, err
	}
	marker := ""
	if p.Name() == "goroutineleak" {
		marker = " (leaked)"
	}
	out = slices.Grow(out, prof.Len()*2)
	var frames []runtime.Frame
	for rec := range profileRecords(prof.Bytes()) {
		frames = symbolize(frames[:0], rec.pcs)
		out = appendGoroutine(out, rec, frames, marker)
	}
	return out, nil
}

type profileRecord struct {
	count  int
	pcs    []uintptr
	labels []byte // "{…}" as pprof prints it; nil if none
}

// profileRecords yields the records of a debug=1 goroutine profile.
func profileRecords(b []byte) func(yield func(profileRecord) bool) {
	return func(yield func(profileRecord) bool) {
		var rec profileRecord
		have := false
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line, b = b[:i], b[i+1:]
			} else {
				b = nil
			}
			if labels, ok := bytes.CutPrefix(line, []byte("# labels: ")); ok && have {
				rec.labels = labels
				continue
			}
			countText, pcsText, ok := bytes.Cut(line, []byte(" @ "))
			if !ok {
				continue
			}
			count, err := strconv.Atoi(string(countText))
			if err != nil {
				continue
			}
			if have && !yield(rec) {
				return
			}
			rec = profileRecord{count: count}
			for f := range bytes.FieldsSeq(pcsText) {
				if pc, err := strconv.ParseUint(string(bytes.TrimPrefix(f, []byte("0x"))), 16, 64); err == nil {
					rec.pcs = append(rec.pcs, uintptr(pc))
				}
			}
			have = true
		}
		if have {
			yield(rec)
		}
	}
}

func symbolize(dst []runtime.Frame, pcs []uintptr) []runtime.Frame {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		dst = append(dst, f)
		if !more {
			return dst
		}
	}
}

// The runtime prints at most this many frames of a goroutine, the
// innermost and outermost halves, with an elision marker between them.
const (
	innerFrames = 50
	outerFrames = 50
)

// appendGoroutine writes one profile record the way runtime.Stack writes a
// goroutine, hiding the frames it hides.
func appendGoroutine(out []byte, rec profileRecord, all []runtime.Frame, marker string) []byte {
	state := waitState(all) + marker
	// The profile's stacks stop at a fixed depth; one that does not end in
	// runtime.goexit was cut short.
	truncated := len(all) > 0 && all[len(all)-1].Function != "runtime.goexit"
	shown := visibleFrames(all)
	elided := 0
	if len(shown) > innerFrames+outerFrames {
		elided = len(shown) - innerFrames - outerFrames
		shown = append(shown[:innerFrames:innerFrames], shown[len(shown)-outerFrames:]...)
	}
	if rec.count > 1 {
		out = fmt.Appendf(out, "# count: %d\n", rec.count)
	}
	out = append(out, "goroutine 0 ["...)
	out = append(out, state...)
	out = append(out, ']')
	if len(rec.labels) > 0 {
		out = append(out, ' ')
		out = append(out, rec.labels...)
	}
	out = append(out, ":\n"...)
	for i, f := range shown {
		if elided > 0 && i == innerFrames {
			out = fmt.Appendf(out, "...%d frames elided...\n", elided)
		}
		out = appendFrame(out, "", f)
	}
	if truncated {
		out = append(out, "...additional frames elided...\n"...)
	} else if c, ok := knownCreator(shown); ok {
		out = appendFrame(out, "created by ", runtime.Frame{Function: c.Func, File: c.File, Line: c.Line})
	}
	return append(out, '\n')
}

func appendFrame(out []byte, prefix string, f runtime.Frame) []byte {
	out = append(out, prefix...)
	out = append(out, f.Function...)
	if prefix == "" {
		out = append(out, "(...)"...)
	}
	out = append(out, "\n\t"...)
	out = append(out, f.File...)
	out = append(out, ':')
	out = strconv.AppendInt(out, int64(f.Line), 10)
	return append(out, '\n')
}

// visibleFrames applies runtime.Stack's rule for which frames to print:
// none from the runtime except its exported functions and a gopanic below
// other frames, or all of them if that would leave none.
func visibleFrames(all []runtime.Frame) []runtime.Frame {
	var shown []runtime.Frame
	for i, f := range all {
		if shownFrame(f.Function, i == 0) {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		for _, f := range all {
			if f.Function != "" {
				shown = append(shown, f)
			}
		}
	}
	return shown
}

// shownFrame mirrors runtime.showfuncinfo at the default traceback level.
// Wrapper frames need no rule: the profile already leaves them out.
func shownFrame(name string, first bool) bool {
	switch {
	case name == "runtime.gopanic":
		return !first
	case name == "runtime.runFinalizers" || name == "runtime.runCleanups":
		return true
	}
	if !containsByte(name, '.') {
		return false
	}
	rest, ok := cutPrefix(name, "runtime.")
	return !ok || isExportedRuntime(rest)
}

// isExportedRuntime reports an exported runtime function or method of an
// exported type, given the name after "runtime.".
func isExportedRuntime(name string) bool {
	rcvr := ""
	i := len(name) - 1
	for i >= 0 && name[i] != '.' {
		i--
	}
	if i >= 0 {
		rcvr, name = name[:i], name[i+1:]
		if len(rcvr) >= 3 && rcvr[0] == '(' && rcvr[1] == '*' && rcvr[len(rcvr)-1] == ')' {
			rcvr = rcvr[2 : len(rcvr)-1]
		}
	}
	upper := func(s string) bool { return len(s) > 0 && 'A' <= s[0] && s[0] <= 'Z' }
	return upper(name) && (rcvr == "" || upper(rcvr))
}

func containsByte(s string, b byte) bool {
	for i := range len(s) {
		if s[i] == b {
			return true
		}
	}
	return false
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// parkers maps the function that called gopark (or a semaphore's user) to
// the wait reason the runtime records for it. A goroutine's state in a
// full dump is that reason; the profile records only the stack, whose
// innermost frames below gopark say which it was.
var parkers = map[string]string{
	"runtime.chanrecv":                      "chan receive",
	"runtime.chansend":                      "chan send",
	"runtime.selectgo":                      "select",
	"runtime.block":                         "select (no cases)",
	"runtime.netpollblock":                  "IO wait",
	"time.Sleep":                            "sleep",
	"internal/sync.runtime_SemacquireMutex": "sync.Mutex.Lock",
	"sync.runtime_SemacquireRWMutexR":       "sync.RWMutex.RLock",
	"sync.runtime_SemacquireRWMutex":        "sync.RWMutex.Lock",
	"sync.runtime_SemacquireWaitGroup":      "sync.WaitGroup.Wait",
	"sync.runtime_Semacquire":               "semacquire",
	"internal/poll.runtime_Semacquire":      "semacquire",
	"sync.runtime_notifyListWait":           "sync.Cond.Wait",
	"runtime.gcWaitOnMark":                  "wait for GC cycle",
	"runtime.gcParkAssist":                  "GC assist wait",
	"runtime.coroswitch":                    "coroutine",
	"runtime.runFinalizers":                 "finalizer wait",
	"runtime.(*cleanupQueue).dequeue":       "cleanup wait",
	// The goroutine taking the profile records itself from here.
	"runtime.goroutineProfileWithLabels": "running",
}

// parkFrames sit between a parker and the scheduler.
var parkFrames = map[string]bool{
	"runtime.gopark":         true,
	"runtime.goparkunlock":   true,
	"runtime.semacquire1":    true,
	"runtime.notifyListWait": true,
	"runtime.mcall":          true,
	"runtime.park_m":         true,
}

// waitState derives the state a full dump would print from a goroutine's
// frames, innermost first: the reason of the first known parker, "syscall"
// in a system call, "runnable" for a goroutine that was preempted.
// Reasons that depend on more than the stack (a nil channel's "chan
// receive (nil chan)") come out as their common form.
func waitState(all []runtime.Frame) string {
	parked := false
	for _, f := range all {
		if r, ok := parkers[f.Function]; ok {
			return r
		}
		if parkFrames[f.Function] {
			parked = true
			continue
		}
		if isSyscallFunc(f.Function) {
			return "syscall"
		}
		break
	}
	if parked {
		return "waiting"
	}
	return "runnable"
}

func isSyscallFunc(fn string) bool {
	for _, p := range []string{"syscall.", "internal/runtime/syscall.", "runtime.entersyscall", "runtime.cgocall", "runtime.exitsyscall"} {
		if len(fn) >= len(p) && fn[:len(p)] == p {
			return true
		}
	}
	return false
}

// Creators learned from full dumps: a stack (its shown frames) maps to
// the go statement that started every goroutine seen with it. A stack seen
// started from two places is ambiguous and gets no creator, since the
// profile cannot tell which of its goroutines came from where.
var creators struct {
	sync.Mutex
	byStack map[string]creatorSeen
}

type creatorSeen struct {
	frame     Frame
	ambiguous bool
}

// maxCreatorStacks bounds the memory the creators of distinct stacks take;
// stacks beyond it are not remembered.
const maxCreatorStacks = 1 << 14

func learnCreators(dump []byte) {
	gs, _ := ParseBytes(dump)
	creators.Lock()
	defer creators.Unlock()
	if creators.byStack == nil {
		creators.byStack = make(map[string]creatorSeen)
	}
	var key []byte
	for i := range gs {
		g := &gs[i]
		if g.CreatedBy == nil {
			continue
		}
		key = stackKey(key[:0], g.Frames)
		seen, ok := creators.byStack[string(key)]
		switch {
		case !ok && len(creators.byStack) < maxCreatorStacks:
			creators.byStack[string(key)] = creatorSeen{frame: *g.CreatedBy}
		case ok && !seen.ambiguous && seen.frame != *g.CreatedBy:
			creators.byStack[string(key)] = creatorSeen{ambiguous: true}
		}
	}
}

func knownCreator(shown []runtime.Frame) (Frame, bool) {
	fs := make([]Frame, len(shown))
	for i, f := range shown {
		fs[i] = Frame{Func: f.Function, File: f.File, Line: f.Line}
	}
	key := stackKey(nil, fs)
	creators.Lock()
	defer creators.Unlock()
	seen, ok := creators.byStack[string(key)]
	return seen.frame, ok && !seen.ambiguous
}

func stackKey(dst []byte, frames []Frame) []byte {
	for _, f := range frames {
		dst = append(dst, f.Func...)
		dst = append(dst, 0)
		dst = append(dst, f.File...)
		dst = append(dst, 0)
		dst = strconv.AppendInt(dst, int64(f.Line), 10)
		dst = append(dst, '\n')
	}
	return dst
}
