// Package stackdump parses, groups and diffs Go goroutine dumps: the text
// written by runtime.Stack(buf, true), by the "goroutine" and
// "goroutineleak" pprof profiles at debug=2, and by a crashing program.
//
// It is the foundation of leakguard: a leak shows up as a group of
// goroutines with an identical stack whose count keeps growing, so the
// package reduces tens of thousands of goroutines to a few groups and ranks
// how those groups changed between two dumps.
//
// Parse understands what Go 1.20 through 1.27 print: "created by" with and
// without "in goroutine N", both frame-elision markers, the "(leaked)"
// marker of the goroutineleak profile, "gp=… m=…" headers of
// GOTRACEBACK=system and crashes, the " fp=… sp=… pc=…" frame suffixes,
// and pprof labels in headers in both the Go 1.26 form
// ("[select labels:{"k": "v"}]:", with GODEBUG=tracebacklabels=1) and the
// Go 1.27 form ("[select] {k: v}:"). testdata holds real captures of each,
// made by leakguard/internal/fixturegen. It also reads the dumps package
// capture (leakguard/stackdump/capture) renders from the concurrent
// goroutine profile, where a "# count: N" line before a goroutine stands
// for N identical ones, and pprof's protocol-buffer goroutine profiles.
//
// The package imports nothing outside the standard library but protowire
// (for those profiles) so that it can be embedded in any service.
package stackdump

import (
	"strconv"
	"time"
)

// Frame is one call in a goroutine's stack.
type Frame struct {
	// Func is the fully qualified function name as printed by the runtime,
	// e.g. "net/http.(*conn).serve" or "main.Map[...]", with the argument
	// list stripped so that frames compare equal across goroutines.
	Func string
	File string
	Line int
}

// Location returns "file:line", the form editors and CI logs link to.
func (f Frame) Location() string {
	return f.File + ":" + strconv.Itoa(f.Line)
}

// Goroutine is one goroutine of a dump.
type Goroutine struct {
	// ID is 0 in a dump rendered from a goroutine profile, which does not
	// record IDs.
	ID int64
	// State is the wait reason or status, e.g. "chan receive", "select",
	// "IO wait", "running", "sleep", without the "(leaked)" marker, the wait
	// duration or "locked to thread".
	State string
	// Wait is how long the goroutine has been blocked. The runtime prints it
	// in whole minutes, and only once a GC has observed the goroutine
	// blocked, so it is 0 for anything younger than a minute.
	Wait time.Duration
	// Leaked reports the "(leaked)" marker printed for goroutines that the
	// goroutine leak detector (the goroutineleak profile) proved unreachable.
	Leaked         bool
	LockedToThread bool
	// Labels are the pprof labels printed in the header (Go 1.27 by default,
	// Go 1.26 with GODEBUG=tracebacklabels=1); nil if none were printed.
	Labels map[string]string
	// Frames are innermost first.
	Frames []Frame
	// Elided reports that the runtime dropped frames from a deep stack.
	Elided bool
	// CreatedBy is the go statement that started the goroutine; nil for the
	// main goroutine and for dumps that omit it.
	CreatedBy *Frame
	// CreatorID is the goroutine that ran that go statement (Go 1.21+); 0 if
	// the dump does not say.
	CreatorID int64
}
