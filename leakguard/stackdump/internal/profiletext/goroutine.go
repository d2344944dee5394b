// Package profiletext renders goroutine profiles, this process's or
// another's in pprof's protocol-buffer form, as the goroutine dump text
// runtime.Stack writes: one goroutine per distinct stack under a
// "# count: N" line, the state derived from where it parked, frames hidden
// as the runtime hides them. stackdump (ProtoDump) and stackdump/capture
// both render profiles with it, so the parser does not depend on capture.
package profiletext

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// The runtime prints at most this many frames of a goroutine, the
// innermost and outermost halves, with an elision marker between them.
const (
	innerFrames = 50
	outerFrames = 50
)

// Record is one distinct stack of a goroutine profile.
type Record struct {
	Count  int    // goroutines with the stack
	Labels []byte // "{…}" as pprof prints it; nil if none
}

// CreatorFunc returns the go statement known to have started every
// goroutine with the shown frames, if one is.
type CreatorFunc func(shown []runtime.Frame) (runtime.Frame, bool)

// AppendGoroutine writes one profile record the way runtime.Stack writes a
// goroutine, with all its frames innermost first, hiding the frames
// runtime.Stack hides; marker follows the state (" (leaked)"). With
// creator, it names the creator creator knows for the stack.
func AppendGoroutine(out []byte, rec Record, all []runtime.Frame, marker string, creator CreatorFunc) []byte {
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
	if rec.Count > 1 {
		out = fmt.Appendf(out, "# count: %d\n", rec.Count)
	}
	out = append(out, "goroutine 0 ["...)
	out = append(out, state...)
	out = append(out, ']')
	if len(rec.Labels) > 0 {
		out = append(out, ' ')
		out = append(out, rec.Labels...)
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
	} else if creator != nil {
		if c, ok := creator(shown); ok {
			out = appendFrame(out, "created by ", c)
		}
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
	if !strings.Contains(name, ".") {
		return false
	}
	rest, ok := strings.CutPrefix(name, "runtime.")
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
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}
