// Package leaktest adds to go.uber.org/goleak what it cannot do alone:
// presets for the goroutines popular libraries leave running, the
// runtime's proof of leaks (the goroutineleak profile, Go 1.26 with
// GOEXPERIMENT=goroutineleakprofile), and per-test attribution that works
// under t.Parallel.
//
// goleak.VerifyNone sees every goroutine in the process, so a parallel
// sibling's goroutines fail an innocent test. Track instead labels the
// test's goroutine with pprof labels, which every goroutine it starts
// inherits, transitively, and at cleanup looks only for goroutines that
// carry this test's label.
package leaktest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// LabelKey is the pprof label Track sets; its value is t.Name().
const LabelKey = "leaktest.test"

// VerifyNone fails t if goroutines other than the ignored ones are
// still running once the settle budget (Settle, default DefaultSettle) is
// spent, like goleak.VerifyNone. Besides goleak's options it honours
// Settle and IgnoreCreatedBy. Where the runtime can prove leaks
// (goroutineleak profile present) it also reports those, marked as proven:
// goleak can only say a goroutine is still there, the runtime can say it
// can never run again.
func VerifyNone(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if msg := leakReport(opts); msg != "" {
		t.Error("leaktest: " + msg)
	}
}

// VerifyTestMain runs the tests and, if they pass, fails the run like
// VerifyNone would, then exits; it is goleak.VerifyTestMain with Settle
// and IgnoreCreatedBy honoured and proven leaks marked. goleak.Cleanup is
// not supported here (goleak.Find rejects it); use goleak.VerifyTestMain
// for that.
func VerifyTestMain(m goleak.TestingM, opts ...goleak.Option) {
	verifyTestMain(m, os.Exit, os.Stderr, opts)
}

var goleakID = regexp.MustCompile(`Goroutine (\d+) in state`)

// goroutineIDs extracts the goroutines goleak reported, so proven leaks
// honour the same ignore options. Nil if goleak's format ever changes,
// which makes provenLeaks report all proven leaks rather than none.
func goroutineIDs(msg string) map[int64]bool {
	var ids map[int64]bool
	for _, m := range goleakID.FindAllStringSubmatch(msg, -1) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		if ids == nil {
			ids = map[int64]bool{}
		}
		ids[id] = true
	}
	return ids
}

// provenLeaks formats the runtime-proven leaks among ids (all if ids is
// nil); "" when there are none or the profile is unavailable.
func provenLeaks(ids map[int64]bool) string {
	leaked, ok, err := report.ProvenLeaks()
	if !ok {
		return ""
	}
	if err != nil {
		return "leaktest: " + err.Error()
	}
	var b strings.Builder
	n := 0
	var tests map[string][]string
	for _, g := range leaked {
		if ids != nil && !ids[g.ID] {
			continue
		}
		n++
		if tests == nil {
			tests = provenTests()
		}
		writeGoroutine(&b, g, " (leaked)"+startedBy(g, tests))
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("leaktest: runtime proved %d goroutine(s) leaked (blocked on objects no running goroutine can reach):%s", n, b.String())
}

// startedBy names the test (Track's label) whose goroutine this proven
// leak is. The debug=2 dump prints labels only on Go 1.27 (or with
// GODEBUG=tracebacklabels=1); otherwise the label is looked up by stack in
// tests, from the profile's debug=1 form, and when leaks with the same
// stack came from several tests all are named.
func startedBy(g stackdump.Goroutine, tests map[string][]string) string {
	names := tests[stackKey(g.Frames)]
	if name := g.Labels[LabelKey]; name != "" {
		names = []string{name}
	}
	if len(names) == 0 {
		return ""
	}
	return ", started by " + strings.Join(names, " or ")
}

// provenTests maps each proven-leaked stack to the tests whose labelled
// goroutines have it.
func provenTests() map[string][]string {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 1); err != nil {
		return nil
	}
	tests := map[string][]string{}
	for _, rec := range parseCountProfile(buf.Bytes()) {
		if name := rec.labels[LabelKey]; name != "" {
			key := stackKey(rec.frames)
			tests[key] = append(tests[key], name)
		}
	}
	return tests
}

func stackKey(frames []stackdump.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.Func + " " + f.Location() + "\n")
	}
	return b.String()
}

func writeFrames(b *strings.Builder, frames []stackdump.Frame) {
	for _, f := range frames {
		fmt.Fprintf(b, "%s\n\t%s\n", f.Func, f.Location())
	}
}

// TrackOption configures Track: WithTimeout, IgnorePresets,
// IgnoreFunctions, or Settle.
type TrackOption interface {
	applyTrack(*trackConfig)
}

type trackFunc func(*trackConfig)

func (f trackFunc) applyTrack(c *trackConfig) { f(c) }

type trackConfig struct {
	timeout time.Duration
	ignore  []string
}

// WithTimeout bounds how long cleanup waits for the test's goroutines to
// end (default 5s). The wait ends as soon as they are gone. Settle(d) does
// the same.
func WithTimeout(d time.Duration) TrackOption {
	return trackFunc(func(c *trackConfig) { c.timeout = d })
}

// IgnorePresets skips goroutines matched by the presets' functions,
// anywhere on their stacks.
func IgnorePresets(ps ...Preset) TrackOption {
	return trackFunc(func(c *trackConfig) {
		for _, p := range ps {
			c.ignore = append(c.ignore, p.Functions()...)
		}
	})
}

// IgnoreFunctions skips goroutines with any of these fully qualified
// functions on their stacks.
func IgnoreFunctions(fns ...string) TrackOption {
	return trackFunc(func(c *trackConfig) { c.ignore = append(c.ignore, fns...) })
}

// Track attributes goroutines to the calling test and fails it at cleanup
// if any it started (directly or through goroutines it started) are still
// running. Call it first thing in the test, from the test's own goroutine
// and before t.Cleanup registrations that stop servers or workers, so those
// run before the check (cleanups run last-registered first).
//
// It replaces any pprof labels the test goroutine already had.
// Goroutines spawned by code running on another goroutine (a pool started
// before the test, the runtime's timer goroutine) are not attributed.
func Track(t testing.TB, opts ...TrackOption) {
	t.Helper()
	cfg := trackConfig{timeout: 5 * time.Second}
	for _, o := range opts {
		o.applyTrack(&cfg)
	}
	name := t.Name()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(LabelKey, name)))
	t.Cleanup(func() {
		// The check runs on the test goroutine, which carries the label
		// itself; drop it so the test does not find itself.
		pprof.SetGoroutineLabels(context.Background())
		left := waitForLabeled(name, cfg)
		if len(left) == 0 {
			return
		}
		var b strings.Builder
		n := 0
		for _, s := range left {
			n += s.count
		}
		fmt.Fprintf(&b, "leaktest: %d goroutine(s) started by %s still running after %s:\n", n, name, cfg.timeout)
		for _, s := range left {
			fmt.Fprintf(&b, "\n%d goroutine(s):\n", s.count)
			writeFrames(&b, s.frames)
		}
		if proven := labeled("goroutineleak", name, cfg.ignore); len(proven) > 0 {
			n := 0
			for _, s := range proven {
				n += s.count
			}
			fmt.Fprintf(&b, "\nof these, the runtime proved %d leaked (blocked forever):\n", n)
			for _, s := range proven {
				fmt.Fprintf(&b, "\n%d goroutine(s):\n", s.count)
				writeFrames(&b, s.frames)
			}
		}
		t.Error(b.String())
	})
}

// waitForLabeled polls until no goroutine carries the label or the timeout
// passes, backing off so a quick exit is seen quickly and a slow one does
// not spin.
func waitForLabeled(name string, cfg trackConfig) []labeledStack {
	deadline := time.Now().Add(cfg.timeout)
	backoff := time.Millisecond
	for {
		left := labeled("goroutine", name, cfg.ignore)
		if len(left) == 0 || !time.Now().Before(deadline) {
			return left
		}
		wait := min(backoff, time.Until(deadline))
		timer := time.NewTimer(wait)
		<-timer.C
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

type labeledStack struct {
	count  int
	frames []stackdump.Frame
}

// labeled reads a goroutine profile ("goroutine", or "goroutineleak" where
// it exists) at debug=1, the text form that prints each stack's pprof
// labels in Go 1.26 without a GODEBUG setting.
func labeled(profile, name string, ignore []string) []labeledStack {
	p := pprof.Lookup(profile)
	if p == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 1); err != nil {
		return nil
	}
	var out []labeledStack
	for _, rec := range parseCountProfile(buf.Bytes()) {
		if rec.labels[LabelKey] != name || hasAny(rec.frames, ignore) {
			continue
		}
		out = append(out, labeledStack{rec.count, rec.frames})
	}
	return out
}

func hasAny(frames []stackdump.Frame, fns []string) bool {
	for _, f := range frames {
		for _, fn := range fns {
			if f.Func == fn {
				return true
			}
		}
	}
	return false
}
