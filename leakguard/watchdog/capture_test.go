package watchdog

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
)

// concurrentDump renders the service the way capture.Stacks does above
// its pause budget when no full dump taught it creators: each stack once
// under a "# count:" line, goroutine ID 0, no wait times, no creators.
func (s *service) concurrentDump() []byte {
	var b strings.Builder
	b.WriteString("# leakguard: goroutine profile\n\n")
	byStack := map[string]int{}
	for name, n := range s.counts {
		st := stacks[name]
		byStack[st.state+"\x00"+st.frames] += n
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range byStack {
			if !yield(k) {
				return
			}
		}
	}) {
		state, frames, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(&b, "# count: %d\ngoroutine 0 [%s]:\n%s\n", byStack[k], state, frames)
	}
	return []byte(b.String())
}

// switchingCapture serves full dumps until concurrent is set, then
// concurrent ones, as Capture does when the service outgrows the pause.
func (s *service) switchingCapture(concurrent *bool) Option {
	return func(c *config) {
		c.capture = func(budget time.Duration) capture.Dump {
			if *concurrent {
				return capture.Dump{Text: s.concurrentDump(), Goroutines: s.goroutines(), FullPause: 200 * time.Millisecond}
			}
			return capture.Dump{Text: s.dump(), Full: true, Goroutines: s.goroutines(), FullPause: time.Millisecond}
		}
	}
}

// A pool started from two go statements is two sites in a full dump and
// one stack without a creator in the concurrent profile. When captures
// switch from one to the other during a leak, the pool must not read as a
// site that appeared from nothing: only the leak is named.
func TestSwitchToConcurrentCaptureNamesOnlyTheLeak(t *testing.T) {
	s := newService(12)
	s.load = 3
	s.counts["worker"] = 40
	s.counts["workerB"] = 40
	concurrent := false
	// Captures only on suspicion: the healthy baseline is the full dump of
	// the first tick, and the first concurrent capture is diffed against it.
	h := start(t, append(s.opts(), WithDeepCheckInterval(0), s.switchingCapture(&concurrent))...)
	expect(t, h, 12*3, report.Healthy, "warm-up on full dumps", nil)

	concurrent = true
	var r report.Report
	for i := 0; i < 24 && r.Status != report.Leaking; i++ {
		s.counts["leak"] += 3
		r = h.step()
	}
	if r.Status != report.Leaking || !r.WaitTimesSkipped {
		t.Fatalf("leak never confirmed from concurrent captures: %+v", r)
	}
	for _, g := range r.Growing {
		if g.Location != "/src/svc/fan.go:17" {
			t.Errorf("growing group %s at %s (+%d): only the leak grew", g.Function, g.Location, g.Delta)
		}
	}
	if r.Confirmed > s.counts["leak"] {
		t.Errorf("confirmed %d goroutines, only %d leaked", r.Confirmed, s.counts["leak"])
	}

	// Back on full dumps the leak is still the only leaking site.
	concurrent = false
	r = expect(t, h, 12, report.Leaking, "full dumps again", nil)
	if r.WaitTimesSkipped || len(r.Growing) != 1 || r.Growing[0].Location != "/src/svc/fan.go:17" {
		t.Errorf("after switching back: skipped %v, growing %+v", r.WaitTimesSkipped, r.Growing)
	}
}

// Wait times come only with full dumps: while captures cannot take them
// the report and the log say so, instead of reporting the blocked
// goroutines as gone.
func TestReportsSkippedWaitTimes(t *testing.T) {
	const blocked = `goroutine 1 [running]:
main.main()
	/src/main.go:10 +0x1d

goroutine 7 [chan receive, 25 minutes]:
example.com/svc.wait(...)
	/src/svc/wait.go:9
created by example.com/svc.start in goroutine 1
	/src/svc/start.go:4 +0x1d
`
	full := true
	extra := 0 // goroutines started since the last capture
	var logs bytes.Buffer
	h := start(t,
		WithGoroutineCounter(func() int { return 2 }),
		WithDeepCheckInterval(5*time.Second),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		func(c *config) {
			c.capture = func(budget time.Duration) capture.Dump {
				if budget != 3*time.Millisecond {
					t.Errorf("capture pause %s, want the configured 3ms", budget)
				}
				if full {
					return capture.Dump{Text: []byte(blocked), Full: true, Goroutines: 2}
				}
				return capture.Dump{Text: []byte("# count: 1\ngoroutine 0 [chan receive]:\nexample.com/svc.wait(...)\n\t/src/svc/wait.go:9\n"),
					Goroutines: 2_000 + extra, FullPause: 4 * time.Millisecond}
			}
			c.proven = noProven
		},
		WithCapturePause(3*time.Millisecond),
	)
	r := h.step()
	if r.Status != report.Suspect || r.Suspected != 1 || len(r.Blocked) != 1 || r.WaitTimesSkipped {
		t.Fatalf("full dump: %+v", r)
	}

	full = false
	r = h.step()
	const reason = "wait times skipped: a full dump of 2000 goroutines would stop the world ~4ms, over the 3ms capture pause; goroutines blocked longer than 10m0s are not looked for"
	if !r.WaitTimesSkipped || len(r.Blocked) != 0 || !slices.Contains(r.Reasons, reason) {
		t.Fatalf("concurrent capture: skipped %v, blocked %+v, reasons %q", r.WaitTimesSkipped, r.Blocked, r.Reasons)
	}
	extra = 100 // another reason text: still the same state, logged once
	h.step()
	if n := strings.Count(logs.String(), "wait times skipped"); n != 1 {
		t.Errorf("logged the skip %d times, want once:\n%s", n, logs.String())
	}

	full = true
	r = h.step()
	if r.WaitTimesSkipped || len(r.Blocked) != 1 || slices.Contains(r.Reasons, reason) {
		t.Fatalf("full dump again: %+v", r)
	}
	if !strings.Contains(logs.String(), "wait times taken again") {
		t.Errorf("resuming not logged:\n%s", logs.String())
	}
}

// When the group that leaks is one whose creator the concurrent capture
// cannot know, its growth is still counted from its healthy level in the
// full dumps.
func TestSwitchToConcurrentCaptureCountsGrowthFromHealthyLevel(t *testing.T) {
	s := newService(12)
	s.load = 3
	s.counts["worker"] = 40
	s.counts["workerB"] = 40
	concurrent := false
	h := start(t, append(s.opts(), WithDeepCheckInterval(0), s.switchingCapture(&concurrent))...)
	expect(t, h, 12*3, report.Healthy, "warm-up on full dumps", nil)

	concurrent = true
	var r report.Report
	for i := 0; i < 24 && r.Status != report.Leaking; i++ {
		s.counts["workerB"] += 3
		r = h.step()
	}
	grown := s.counts["workerB"] - 40
	if r.Status != report.Leaking || len(r.Growing) != 1 {
		t.Fatalf("pool leak not confirmed alone: %s, growing %+v", r.Status, r.Growing)
	}
	if g := r.Growing[0]; g.Location != "/src/svc/pool.go:88" || g.Before != 80 || g.Delta != grown || g.CreatedBy != "" {
		t.Errorf("growing %+v, want pool.go:88 from 80 by %d without a creator", g, grown)
	}
	if r.Confirmed != grown {
		t.Errorf("confirmed %d, want the %d it grew", r.Confirmed, grown)
	}
}

// A concurrent capture's creators are what earlier full dumps saw; the
// report says so, and how old they are, or that there are none.
func TestReportsWhereCreatorsComeFrom(t *testing.T) {
	learned := 0
	from := time.Now().Add(-90 * time.Minute)
	full := false
	h := start(t,
		WithGoroutineCounter(func() int { return 2 }),
		WithDeepCheckInterval(5*time.Second),
		func(c *config) {
			c.capture = func(time.Duration) capture.Dump {
				if full {
					return capture.Dump{Text: []byte("goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d\n"), Full: true, Goroutines: 2}
				}
				return capture.Dump{Text: []byte("# count: 2\ngoroutine 0 [chan receive]:\nexample.com/svc.wait(...)\n\t/src/svc/wait.go:9\n"),
					Goroutines: 5_000, FullPause: 12 * time.Millisecond, LearnedCreators: learned, CreatorsFrom: from}
			}
			c.proven = noProven
		},
	)
	r := h.step()
	if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, "creators unknown: ") }) {
		t.Errorf("no learned creators: reasons %q", r.Reasons)
	}
	learned = 3
	r = h.step()
	want := "creators (created by) of 3 stacks are from full dumps taken since " + from.UTC().Format(time.RFC3339) + " (1h30m"
	if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, want) }) {
		t.Errorf("learned creators: reasons %q, want one starting %q", r.Reasons, want)
	}
	full = true
	r = h.step()
	if slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "creators") }) {
		t.Errorf("full dump: reasons %q mention creators", r.Reasons)
	}
}

// A due capture that would start a GC cycle waits for one, saying so in
// the report, and is taken once it fits, or after maxPostpone whatever.
func TestPostponesCaptureThatWouldStartGC(t *testing.T) {
	startsGC := true
	captures := 0
	h := start(t,
		WithGoroutineCounter(func() int { return 100_000 }),
		WithDeepCheckInterval(5*time.Second),
		func(c *config) {
			c.capture = func(time.Duration) capture.Dump {
				captures++
				return capture.Dump{Text: []byte("# count: 2\ngoroutine 0 [chan receive]:\nexample.com/svc.wait(...)\n\t/src/svc/wait.go:9\n"),
					Goroutines: 100_000, FullPause: 200 * time.Millisecond}
			}
			c.wouldStartGC = func() bool { return startsGC }
			c.proven = noProven
		},
	)
	r := h.step()
	if captures != 0 || !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, "capture postponed since ") }) {
		t.Fatalf("capture that would start a GC: %d captures, reasons %q", captures, r.Reasons)
	}
	startsGC = false
	r = h.step()
	if captures != 1 || slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, "capture postponed") }) {
		t.Fatalf("after a GC cycle: %d captures, reasons %q", captures, r.Reasons)
	}
	// No GC cycle comes: the capture waits at most maxPostpone.
	startsGC = true
	waited := time.Duration(0)
	for captures == 1 {
		h.step()
		waited += 5 * time.Second
		if waited > maxPostpone+10*time.Second {
			t.Fatalf("still postponed after %s", waited)
		}
	}
	if waited < maxPostpone {
		t.Errorf("capture taken after %s, want it postponed %s", waited, maxPostpone)
	}
}

// WithFullDumpEvery raises the capture pause for one full dump at most
// once per period; captures between keep to the capture pause.
func TestFullDumpEveryBoundsLongPauses(t *testing.T) {
	var budgets []time.Duration
	h := start(t,
		WithGoroutineCounter(func() int { return 2 }),
		WithDeepCheckInterval(5*time.Second),
		WithFullDumpEvery(time.Minute, 300*time.Millisecond),
		func(c *config) {
			c.capture = func(budget time.Duration) capture.Dump {
				budgets = append(budgets, budget)
				if budget >= 200*time.Millisecond {
					return capture.Dump{Text: []byte("goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d\n"), Full: true, Goroutines: 100_000, FullPause: 200 * time.Millisecond}
				}
				return capture.Dump{Text: []byte("# count: 2\ngoroutine 0 [chan receive]:\nexample.com/svc.wait(...)\n\t/src/svc/wait.go:9\n"),
					Goroutines: 100_000, FullPause: 200 * time.Millisecond}
			}
			c.proven = noProven
		},
	)
	var skipped []bool
	for range 25 { // two minutes and five seconds of deep checks
		skipped = append(skipped, h.step().WaitTimesSkipped)
	}
	long := 0
	for i, b := range budgets {
		switch b {
		case 300 * time.Millisecond:
			long++
			if i%12 != 0 || skipped[i] {
				t.Errorf("capture %d: the long pause, skipped %v; want it only every 12th, with wait times", i, skipped[i])
			}
		case capture.DefaultPauseBudget:
			if !skipped[i] {
				t.Errorf("capture %d within the capture pause claims wait times", i)
			}
		default:
			t.Errorf("capture %d: budget %s", i, b)
		}
	}
	if long != 3 || len(budgets) != 25 {
		t.Errorf("%d captures, %d with the long pause; want 25 and 3 (at 0, 1m and 2m)", len(budgets), long)
	}
}

// A snapshot whose pprof profile would start a GC cycle keeps the text
// dump alone.
func TestSnapshotWithoutProto(t *testing.T) {
	dir := t.TempDir()
	path, err := writeSnapshot(dir, t0, 1, []byte(idleDump), false, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != idleDump {
		t.Errorf("text snapshot %q: %q, %v", path, b, err)
	}
	if protos, _ := filepath.Glob(filepath.Join(dir, "*"+snapProto)); len(protos) != 0 {
		t.Errorf("proto written: %v", protos)
	}
}
