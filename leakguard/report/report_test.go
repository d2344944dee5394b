package report

import (
	"context"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// TestProvenLeaks leaks this on purpose: a proven leak cannot end.
		goleak.IgnoreTopFunction("github.com/trialwatch/trialwatch/leakguard/report.leakForever.func1"),
	)
}

const dump = `goroutine 1 [running]:
main.main()
	/src/main.go:10 +0x1d

goroutine 7 [semacquire, 15 minutes]:
sync.runtime_SemacquireWaitGroup(0x0?, 0x0?)
	/go/src/runtime/sema.go:114 +0x2e
sync.(*WaitGroup).Wait(0x0?)
	/go/src/sync/waitgroup.go:206 +0x85
example.com/svc.(*Batch).flush(0x0?)
	/src/svc/batch.go:55 +0x25
created by example.com/svc.New in goroutine 1
	/src/svc/svc.go:40 +0x9a

goroutine 8 [semacquire, 11 minutes]:
sync.runtime_SemacquireWaitGroup(0x0?, 0x0?)
	/go/src/runtime/sema.go:114 +0x2e
sync.(*WaitGroup).Wait(0x0?)
	/go/src/sync/waitgroup.go:206 +0x85
example.com/svc.(*Batch).flush(0x0?)
	/src/svc/batch.go:55 +0x25
created by example.com/svc.New in goroutine 1
	/src/svc/svc.go:40 +0x9a

goroutine 9 [select, 2 minutes]:
example.com/svc.loop()
	/src/svc/loop.go:5 +0x25
created by example.com/svc.New in goroutine 1
	/src/svc/svc.go:41 +0x9a
`

func parse(t *testing.T) []stackdump.Goroutine {
	t.Helper()
	gs, err := stackdump.ParseBytes([]byte(dump))
	if err != nil || len(gs) != 4 {
		t.Fatalf("fixture: %v, %d goroutines", err, len(gs))
	}
	return gs
}

// The group is named by the code a person can change, not by the
// WaitGroup or semaphore it parks in.
func TestFromGroupNamesUserFrame(t *testing.T) {
	groups := FromGroups(stackdump.GroupGoroutines(parse(t)), 0)
	var flush *Group
	for i := range groups {
		if groups[i].Count == 2 {
			flush = &groups[i]
		}
	}
	if flush == nil {
		t.Fatalf("no group of 2 in %+v", groups)
	}
	if flush.Function != "example.com/svc.(*Batch).flush" || flush.Location != "/src/svc/batch.go:55" || flush.State != "semacquire" {
		t.Errorf("group = %s at %s [%s]", flush.Function, flush.Location, flush.State)
	}
	if flush.MaxWaitSeconds != (15*time.Minute).Seconds() || !strings.HasPrefix(flush.CreatedBy, "example.com/svc.New /src/svc/svc.go:40") {
		t.Errorf("wait %v, created by %q", flush.MaxWaitSeconds, flush.CreatedBy)
	}
	if len(flush.Stack) != 3 {
		t.Errorf("stack = %q", flush.Stack)
	}
	if groups[0].Count != 2 {
		t.Errorf("largest group not first: %+v", groups)
	}
	if got := FromGroups(stackdump.GroupGoroutines(parse(t)), 1); len(got) != 1 {
		t.Errorf("top 1 returned %d groups", len(got))
	}
}

func TestBlocked(t *testing.T) {
	groups, total := Blocked(parse(t), 10*time.Minute, 10)
	if total != 2 || len(groups) != 1 || groups[0].Location != "/src/svc/batch.go:55" {
		t.Errorf("blocked = %d, %+v", total, groups)
	}
	if _, total := Blocked(parse(t), time.Minute, 10); total != 3 {
		t.Errorf("blocked over 1m = %d, want 3", total)
	}
}

func TestFromChangesKeepsGrowthOnly(t *testing.T) {
	gs := parse(t)
	before := stackdump.GroupGoroutines(gs)
	grown := stackdump.GroupGoroutines(append(append([]stackdump.Goroutine{}, gs...), gs[1], gs[1]))
	changes := FromChanges(stackdump.Diff(before, grown), 10)
	if len(changes) != 1 {
		t.Fatalf("changes = %+v", changes)
	}
	c := changes[0]
	if c.Location != "/src/svc/batch.go:55" || c.Before != 2 || c.Count != 4 || c.Delta != 2 {
		t.Errorf("change = %+v", c)
	}
	if got := FromChanges(stackdump.Diff(grown, before), 10); len(got) != 0 {
		t.Errorf("shrinking groups reported as growth: %+v", got)
	}
}

//go:noinline
func parkedInReportTest(ch chan struct{}) { <-ch }

func TestSnapshot(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	for range 4 {
		go parkedInReportTest(ch) // ended by close(ch)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := Snapshot(context.Background(), 50, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r.Source != "snapshot" || r.Goroutines < 5 || r.LeakProfile != LeakProfileAvailable() {
			t.Fatalf("report = %+v", r)
		}
		for _, g := range r.Top {
			if strings.HasSuffix(g.Function, ".parkedInReportTest") && g.Count == 4 && strings.Contains(g.Location, "report_test.go:") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked goroutines missing from %+v", r.Top)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Too many goroutines for a full dump within the pause budget: the
// snapshot still groups them, and says it did not look for blocked ones.
func TestSnapshotSkipsWaitTimesAboveThePauseBudget(t *testing.T) {
	const n = 20_000 // a full dump would take 20-50ms
	ch := make(chan struct{})
	var exited sync.WaitGroup
	defer exited.Wait()
	defer close(ch)
	for range n {
		exited.Go(func() { parkedInReportTest(ch) }) // ended by close(ch)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := Snapshot(context.Background(), 5, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !r.WaitTimesSkipped || len(r.Reasons) == 0 || !strings.HasPrefix(r.Reasons[0], "wait times skipped: a full dump of ") || r.Status != Healthy {
			t.Fatalf("report of %d goroutines = %+v", r.Goroutines, r)
		}
		if len(r.Top) > 0 && strings.HasSuffix(r.Top[0].Function, ".parkedInReportTest") && r.Top[0].Count == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked goroutines missing from %+v", r.Top)
		}
	}
}

func TestSnapshotHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Snapshot(ctx, 10, 0); err == nil {
		t.Error("Snapshot ignored a cancelled context")
	}
}

//go:noinline
func leakForever() {
	go func() {
		c := make(chan int) // unreachable from anything else
		<-c
	}()
}

func TestProvenLeaks(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		if _, ok, err := ProvenLeaks(); ok || err != nil {
			t.Errorf("without the profile: ok=%v err=%v", ok, err)
		}
		t.Skip("runtime leak profile unavailable; build with GOEXPERIMENT=goroutineleakprofile")
	}
	leakForever()
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked, ok, err := ProvenLeaks()
		if !ok || err != nil {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		for _, g := range leaked {
			if len(g.Frames) > 0 && strings.HasSuffix(g.Frames[0].Func, "leakForever.func1") && g.State == "chan receive" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak not proven: %+v", leaked)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
