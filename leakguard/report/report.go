// Package report holds the leak report that the watchdog produces and that
// the debug handlers and metrics render. It lives apart from both so that
// debughttp and metrics can depend on the data without depending on the
// watchdog's lifecycle.
package report

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
)

// Status summarises a report in one word so dashboards and alerts need not
// re-derive it from the numbers.
type Status string

const (
	// Healthy means no unexplained growth, no blocked suspects, no leaks.
	// Growth that pools explain (they shrink when idle) is healthy.
	Healthy Status = "healthy"
	// Suspect means the numbers look like a leak but nothing confirms it:
	// goroutines blocked past the threshold, or a growth trend no capture
	// has put in a group yet.
	Suspect Status = "suspect"
	// Leaking means the runtime's goroutineleak profile proved at least one
	// goroutine can never run again, or groups that are not pools grew
	// without load (Confirmed). It holds while those groups stay above
	// their healthy level, after the growth has stopped, until they come
	// back down or a person acknowledges them.
	Leaking Status = "leaking"
)

// Report is one look at the process's goroutines.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Source is "watchdog" for a report backed by a trend over time and
	// "snapshot" for a one-off capture, which cannot know about growth.
	Source     string `json:"source"`
	Status     Status `json:"status"`
	Goroutines int    `json:"goroutines"`

	// Trend fields are zero for a snapshot report.
	Load            float64 `json:"load"`
	Samples         int     `json:"samples"`
	WindowSeconds   float64 `json:"window_seconds"`
	GrowthPerMinute float64 `json:"growth_per_minute"`
	// ExcessPerMinute is the growth of goroutines beyond what the load
	// explains; this, not raw growth, is what marks a leak.
	ExcessPerMinute float64 `json:"excess_per_minute"`
	BaselinePerLoad float64 `json:"baseline_per_load"`

	// LeakProfile reports whether the runtime's goroutineleak profile was
	// available, i.e. whether ProvenLeaks can be non-zero at all.
	LeakProfile bool `json:"leak_profile"`
	ProvenLeaks int  `json:"proven_leaks"`
	Suspected   int  `json:"suspected"`
	// Confirmed counts the goroutines above their healthy level in groups
	// that grew without load; non-zero keeps Status leaking.
	Confirmed int `json:"confirmed"`
	// WaitTimesSkipped reports that the last capture has no wait times: a
	// full dump of all goroutines would have stopped the process longer
	// than the capture pause allows. Blocked goroutines were not looked
	// for, so Blocked is empty and Suspected leaves them out: unknown, not
	// zero.
	WaitTimesSkipped bool `json:"wait_times_skipped,omitempty"`

	Reasons []string `json:"reasons,omitempty"`
	// Leaked are the groups the runtime proved leaked.
	Leaked []Group `json:"leaked,omitempty"`
	// Growing are groups that grew since the last healthy snapshot: while
	// leaking, those of the confirmed leak.
	Growing []Group `json:"growing,omitempty"`
	// Blocked are groups waiting longer than the blocked threshold.
	Blocked []Group `json:"blocked,omitempty"`
	// Top are the largest groups in the latest capture.
	Top []Group `json:"top,omitempty"`

	Snapshots    int    `json:"snapshots"`
	LastSnapshot string `json:"last_snapshot,omitempty"`
}

// Group is a set of goroutines with the same stack, reduced to what a
// person (or a metric label) needs.
type Group struct {
	// Function and Location name the first frame outside the runtime, which
	// is the code a person can change; the runtime's parking frames are the
	// same for every blocked goroutine and say nothing.
	Function string `json:"function"`
	Location string `json:"location"`
	State    string `json:"state"`
	Count    int    `json:"count"`
	// Before and Delta are set for groups that come from a diff.
	Before         int               `json:"before,omitempty"`
	Delta          int               `json:"delta,omitempty"`
	MaxWaitSeconds float64           `json:"max_wait_seconds,omitempty"`
	Leaked         int               `json:"leaked,omitempty"`
	CreatedBy      string            `json:"created_by,omitempty"`
	Stack          []string          `json:"stack,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
}

// maxStackFrames bounds each group's stack so a deep recursion does not
// turn a report into megabytes.
const maxStackFrames = 32

// FromGroup converts a parsed group.
func FromGroup(g stackdump.Group) Group {
	fn, loc := Interesting(g.Frames)
	if fn == "" {
		fn, loc = g.Top.Func, g.Top.Location()
	}
	out := Group{
		Function:       fn,
		Location:       loc,
		State:          g.State,
		Count:          g.Count,
		MaxWaitSeconds: g.MaxWait.Seconds(),
		Leaked:         g.Leaked,
		Labels:         g.Labels,
	}
	if g.Creator != nil {
		out.CreatedBy = g.Creator.Func + " " + g.Creator.Location()
	}
	for i, f := range g.Frames {
		if i == maxStackFrames {
			out.Stack = append(out.Stack, fmt.Sprintf("... %d more frames", len(g.Frames)-i))
			break
		}
		out.Stack = append(out.Stack, f.Func+" "+f.Location())
	}
	return out
}

// FromGroups converts and keeps at most n of the largest groups (n <= 0
// keeps all).
func FromGroups(gs []stackdump.Group, n int) []Group {
	out := make([]Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, FromGroup(g))
	}
	SortByCount(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// FromChanges converts the growing entries of a diff, largest growth first.
func FromChanges(cs []stackdump.Change, n int) []Group {
	var out []Group
	for _, c := range cs {
		if c.Delta <= 0 {
			continue
		}
		g := FromGroup(c.Group)
		g.Count, g.Before, g.Delta = c.After, c.Before, c.Delta
		out = append(out, g)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Delta != out[j].Delta {
			return out[i].Delta > out[j].Delta
		}
		return out[i].Location < out[j].Location
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// SortByCount orders groups largest first with a stable tie-break so
// reports and metric series do not flap between equal groups.
func SortByCount(gs []Group) {
	sort.SliceStable(gs, func(i, j int) bool {
		if gs[i].Count != gs[j].Count {
			return gs[i].Count > gs[j].Count
		}
		if gs[i].Location != gs[j].Location {
			return gs[i].Location < gs[j].Location
		}
		return gs[i].State < gs[j].State
	})
}

// Interesting returns the first frame a person can act on: the innermost
// frame outside the runtime and the standard library's parking machinery.
// Frames from the standard library still count when nothing else is on the
// stack (e.g. net/http's own loops).
func Interesting(frames []stackdump.Frame) (fn, location string) {
	for _, f := range frames {
		if !isRuntime(f.Func) {
			return f.Func, f.Location()
		}
	}
	return "", ""
}

func isRuntime(fn string) bool {
	for _, p := range []string{"runtime.", "internal/", "sync.", "sync/atomic.", "time.Sleep"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// LeakProfileAvailable reports whether the runtime was built with
// GOEXPERIMENT=goroutineleakprofile (Go 1.26+).
func LeakProfileAvailable() bool { return pprof.Lookup("goroutineleak") != nil }

// ProvenLeaks runs the runtime's leak detection and returns the goroutines
// it proved leaked, i.e. blocked on something no live goroutine can reach.
// ok is false when the profile does not exist in this build.
//
// The profile's Count is stale until the profile is written, because the
// detection runs as part of writing it; so this writes it (at debug=2,
// which dumps all goroutines with "(leaked)" on the proven ones) and parses
// the dump rather than trusting Count.
func ProvenLeaks() (leaked []stackdump.Goroutine, ok bool, err error) {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return nil, false, nil
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 2); err != nil {
		return nil, true, fmt.Errorf("write goroutineleak profile: %w", err)
	}
	gs, err := stackdump.ParseBytes(buf.Bytes())
	if err != nil {
		return nil, true, fmt.Errorf("parse goroutineleak profile: %w", err)
	}
	for _, g := range gs {
		if g.Leaked {
			leaked = append(leaked, g)
		}
	}
	return leaked, true, nil
}

// Snapshot builds a report from one live capture. It is what the debug
// handler serves when no watchdog is wired in: it can show what is there
// and what the runtime proves leaked, but not what is growing.
func Snapshot(ctx context.Context, top int, blockedAfter time.Duration) (Report, error) {
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	dump := capture.Within(capture.DefaultPauseBudget)
	gs, err := stackdump.ParseBytes(dump.Text)
	if err != nil {
		return Report{}, fmt.Errorf("parse goroutine dump: %w", err)
	}
	r := Report{
		GeneratedAt: time.Now(),
		Source:      "snapshot",
		Status:      Healthy,
		Goroutines:  runtime.NumGoroutine(),
	}
	groups := stackdump.GroupGoroutines(gs)
	r.Top = FromGroups(groups, top)
	if blockedAfter > 0 && !dump.Full {
		r.WaitTimesSkipped = true
		r.Reasons = append(r.Reasons, fmt.Sprintf("wait times skipped: a full dump of %d goroutines would stop the world ~%s; goroutines blocked longer than %s are not looked for",
			dump.Goroutines, dump.FullPause.Round(time.Millisecond), blockedAfter))
	}
	if blockedAfter > 0 && dump.Full {
		r.Blocked, r.Suspected = Blocked(gs, blockedAfter, top)
		if r.Suspected > 0 {
			r.Status = Suspect
			r.Reasons = append(r.Reasons, fmt.Sprintf("%d goroutines blocked longer than %s", r.Suspected, blockedAfter))
		}
	}
	leaked, ok, err := ProvenLeaks()
	if err != nil {
		return r, err
	}
	r.LeakProfile = ok
	if len(leaked) > 0 {
		r.ProvenLeaks = len(leaked)
		r.Leaked = FromGroups(stackdump.GroupGoroutines(leaked), top)
		r.Status = Leaking
		r.Reasons = append(r.Reasons, fmt.Sprintf("runtime proved %d goroutines leaked", len(leaked)))
	}
	return r, nil
}

// Blocked groups the goroutines that have waited at least d and returns
// the n largest groups and how many goroutines they hold in total. The
// runtime reports waits in whole minutes, so d below a minute acts as one.
func Blocked(gs []stackdump.Goroutine, d time.Duration, n int) (groups []Group, total int) {
	var blocked []stackdump.Goroutine
	for _, g := range gs {
		if g.Wait > 0 && g.Wait >= d {
			blocked = append(blocked, g)
		}
	}
	if len(blocked) == 0 {
		return nil, 0
	}
	return FromGroups(stackdump.GroupGoroutines(blocked), n), len(blocked)
}
