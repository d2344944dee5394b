package capture

import (
	"context"
	"fmt"
	"maps"
	"net"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

//go:noinline
func parkedForCapture(stop chan struct{}) { <-stop }

func TestFullGrowsBuffer(t *testing.T) {
	// Enough goroutines that the dump outgrows a buffer sized for fewer.
	const n = 3000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { parkedForCapture(stop) })
	}
	defer wg.Wait()
	defer close(stop)

	saved := bytesPerGoroutine.Load()
	t.Cleanup(func() { bytesPerGoroutine.Store(saved) })
	bytesPerGoroutine.Store(1) // as if the last dump had been tiny
	var g stackdump.Group
	deadline := time.Now().Add(10 * time.Second)
	for g.Count != n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines seen parked", g.Count, n)
		}
		gs, err := stackdump.ParseBytes(Full())
		if err != nil {
			t.Fatal(err)
		}
		g = findGroup(stackdump.GroupGoroutines(gs), "parkedForCapture", "chan receive")
	}
	if !strings.HasSuffix(g.Top.File, "capture_test.go") || g.Creator == nil || g.Creator.Func == "" {
		t.Errorf("group = %+v", g)
	}
	if bytesPerGoroutine.Load() < 100 {
		t.Errorf("learned %d bytes per goroutine from a dump of %d", bytesPerGoroutine.Load(), n)
	}
}

func findGroup(groups []stackdump.Group, fn, state string) stackdump.Group {
	for _, g := range groups {
		if strings.HasSuffix(g.Top.Func, fn) && g.State == state {
			return g
		}
	}
	return stackdump.Group{}
}

// parked starts goroutines blocked in every common way, each kind from
// its own go statement in this file, and returns how many of each and a
// function that releases them and waits until they have exited.
type parked struct {
	stop     chan struct{}
	send     chan int
	lns      []net.Listener // one per accepting goroutine
	mu, cmu  sync.Mutex
	rw       sync.RWMutex
	rw2      [perKind]sync.RWMutex // one per writer: a second would wait on the first
	wg       sync.WaitGroup        // one parked waiter
	cond     *sync.Cond
	released bool
	exited   sync.WaitGroup
}

//go:noinline
func recvTwice(stop chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	<-stop
}

//go:noinline
func recvOnce(stop chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	<-stop
}

//go:noinline
func selecting(stop chan struct{}, never chan int) {
	select {
	case <-stop:
	case <-never:
	}
}

//go:noinline
func deep(n int, stop chan struct{}) {
	if n == 0 {
		<-stop
		return
	}
	deep(n-1, stop)
}

//go:noinline
func labelled(stop chan struct{}) { <-stop }

func parkedOf[T any](stop chan struct{}, _ T) { <-stop }

const perKind = 3

// wantParked is, for each function the parked goroutines block in, the
// state a full dump shows for it.
var wantParked = map[string]string{
	"parkedForCapture":   "chan receive",
	"recvTwice":          "chan receive",
	"recvOnce":           "chan receive",
	"selecting":          "select",
	"deep":               "chan receive",
	"labelled":           "chan receive",
	"parkedOf[...]":      "chan receive",
	"(*parked).sending":  "chan send",
	"(*parked).accept":   "IO wait",
	"(*parked).lock":     "sync.Mutex.Lock",
	"(*parked).rlock":    "sync.RWMutex.RLock",
	"(*parked).wlock":    "sync.RWMutex.Lock",
	"(*parked).wgWait":   "sync.WaitGroup.Wait",
	"(*parked).condWait": "sync.Cond.Wait",
}

//go:noinline
func (p *parked) sending() { p.send <- 1 }

//go:noinline
func (p *parked) accept(ln net.Listener) {
	if c, err := ln.Accept(); err == nil {
		c.Close()
	}
}

//go:noinline
func (p *parked) lock() { p.mu.Lock(); p.mu.Unlock() }

//go:noinline
func (p *parked) rlock() { p.rw.RLock(); p.rw.RUnlock() }

//go:noinline
func (p *parked) wlock(rw *sync.RWMutex) { rw.Lock(); rw.Unlock() }

//go:noinline
func (p *parked) wgWait() { p.wg.Wait() }

//go:noinline
func (p *parked) condWait() {
	p.cmu.Lock()
	for !p.released {
		p.cond.Wait()
	}
	p.cmu.Unlock()
}

func startParked(t *testing.T) *parked {
	p := &parked{stop: make(chan struct{}), send: make(chan int)}
	for range perKind {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.lns = append(p.lns, ln)
	}
	p.cond = sync.NewCond(&p.cmu)
	p.mu.Lock()
	p.rw.Lock()
	for i := range p.rw2 {
		p.rw2[i].RLock()
	}
	p.wg.Add(1)
	// Every goroutine ends in release below.
	for i := range perKind {
		p.exited.Go(func() { parkedForCapture(p.stop) })
		p.exited.Add(3)
		go recvOnce(p.stop, &p.exited)
		go recvTwice(p.stop, &p.exited) // two go statements,
		go recvTwice(p.stop, &p.exited) // one stack
		p.exited.Go(func() { selecting(p.stop, nil) })
		p.exited.Go(func() { deep(110, p.stop) })
		p.exited.Go(func() { parkedOf(p.stop, 1.5) })
		pprof.Do(context.Background(), pprof.Labels("handler", "checkout", "tenant id", `acme "corp"`), func(context.Context) {
			p.exited.Go(func() { labelled(p.stop) })
		})
		p.exited.Go(p.sending)
		p.exited.Go(func() { p.accept(p.lns[i]) })
		p.exited.Go(p.lock)
		p.exited.Go(p.rlock)
		p.exited.Go(func() { p.wlock(&p.rw2[i]) })
		p.exited.Go(p.wgWait)
		p.exited.Go(p.condWait)
	}
	t.Cleanup(p.release)
	return p
}

func (p *parked) release() {
	close(p.stop)
	for range perKind {
		<-p.send
	}
	for _, ln := range p.lns {
		ln.Close()
	}
	p.mu.Unlock()
	p.rw.Unlock()
	for i := range p.rw2 {
		p.rw2[i].RUnlock()
	}
	p.wg.Done()
	p.cmu.Lock()
	p.released = true
	p.cond.Broadcast()
	p.cmu.Unlock()
	p.exited.Wait()
}

// parkedGroups returns the groups whose goroutines block in this file's
// parked functions, by the function's name: the innermost frame of this
// package.
func parkedGroups(groups []stackdump.Group) map[string][]stackdump.Group {
	m := map[string][]stackdump.Group{}
	for _, g := range groups {
		for _, f := range g.Frames {
			_, fn, ok := strings.Cut(f.Func, "leakguard/stackdump/capture.")
			if !ok {
				continue
			}
			if _, ok := wantParked[fn]; ok {
				m[fn] = append(m[fn], g)
			}
			break
		}
	}
	return m
}

func countOf(gs []stackdump.Group) int {
	n := 0
	for _, g := range gs {
		n += g.Count
	}
	return n
}

// waitParked polls full dumps until every parked goroutine is in its
// final state and returns the groups of the last one.
func waitParked(t *testing.T) map[string][]stackdump.Group {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs, err := stackdump.ParseBytes(Full())
		if err != nil {
			t.Fatal(err)
		}
		m := parkedGroups(stackdump.GroupGoroutines(gs))
		ready := true
		for fn, state := range wantParked {
			want := perKind
			if fn == "recvTwice" {
				want = 2 * perKind
			}
			if countOf(m[fn]) != want || m[fn][0].State != state {
				ready = false
			}
		}
		if ready {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines not parked in time: %v", parkedSummary(m))
		}
	}
}

func TestCaptureConcurrentMatchesFullDump(t *testing.T) {
	startParked(t)
	full := waitParked(t) // taking full dumps also teaches the creators

	gs, err := stackdump.ParseBytes(captureConcurrent(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.ID != 0 || g.Wait != 0 || g.CreatorID != 0 {
			t.Fatalf("concurrent capture claims an ID, wait or creator ID: %+v", g)
		}
	}
	conc := parkedGroups(stackdump.GroupGoroutines(gs))

	for fn, fullGroups := range full {
		concGroups := conc[fn]
		if fn == "recvTwice" {
			// One stack from two go statements: the full dump has a group
			// per creator, the profile cannot tell them apart and must not
			// guess.
			if len(fullGroups) != 2 || len(concGroups) != 1 || concGroups[0].Creator != nil ||
				concGroups[0].Count != 2*perKind || !slices.Equal(concGroups[0].Frames, fullGroups[0].Frames) {
				t.Errorf("recvTwice: full %+v\nconcurrent %+v", fullGroups, concGroups)
			}
			continue
		}
		if len(fullGroups) != 1 || len(concGroups) != 1 {
			t.Errorf("%s: %d full groups and %d concurrent, want 1 each", fn, len(fullGroups), len(concGroups))
			continue
		}
		f, c := fullGroups[0], concGroups[0]
		// Signature holds state, frames with file:line, elision and creator.
		if c.Signature != f.Signature || c.Count != f.Count {
			t.Errorf("%s: concurrent group (%d)\n%s\nfull dump (%d)\n%s", fn, c.Count, c.Signature, f.Count, f.Signature)
		}
		if c.Creator == nil || *c.Creator != *f.Creator {
			t.Errorf("%s: creator %v, full dump %v", fn, c.Creator, f.Creator)
		}
	}
	// runtime.Stack prints at most 100 frames, 50 innermost and 50 outermost.
	if g := conc["deep"]; len(g) != 1 || len(g[0].Frames) != 100 {
		t.Errorf("deep stack not elided to 100 frames: %+v", g)
	}
	// Go 1.26 prints labels in full dumps only with GODEBUG=tracebacklabels=1;
	// the profile always has them.
	want := map[string]string{"handler": "checkout", "tenant id": `acme "corp"`}
	if g := conc["labelled"]; len(g) != 1 || !maps.Equal(g[0].Labels, want) {
		t.Errorf("labelled group = %+v, want labels %v", g, want)
	}
}

func TestCaptureConcurrentWithoutFullDumpHasNoCreators(t *testing.T) {
	startParked(t)
	waitParked(t)
	forgetCreators(t)

	gs, err := stackdump.ParseBytes(captureConcurrent(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	groups := parkedGroups(stackdump.GroupGoroutines(gs))
	for fn, state := range wantParked {
		if len(groups[fn]) != 1 || groups[fn][0].State != state || groups[fn][0].Creator != nil {
			t.Errorf("%s: %+v, want one group in %q without creator", fn, groups[fn], state)
		}
	}
}

// forgetCreators empties what full dumps taught, for the rest of the test.
func forgetCreators(t *testing.T) {
	creators.Lock()
	saved := creators.byStack
	creators.byStack = nil
	creators.Unlock()
	t.Cleanup(func() {
		creators.Lock()
		creators.byStack = saved
		creators.Unlock()
	})
}

func TestWithinBudget(t *testing.T) {
	startParked(t)
	waitParked(t)

	d := Within(time.Hour)
	if !d.Full || d.FullPause <= 0 || !strings.HasPrefix(string(d.Text), "goroutine ") {
		t.Errorf("generous budget: Full=%v FullPause=%s, text starts %.40q", d.Full, d.FullPause, d.Text)
	}
	// NumGoroutine is approximate while goroutines of earlier tests finish
	// exiting: compare once it has settled.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d = Within(0)
		if d.Full || d.FullPause <= 0 || !strings.Contains(string(d.Text), "# leakguard: goroutine profile") {
			t.Fatalf("zero budget: Full=%v FullPause=%s, text starts %.200q", d.Full, d.FullPause, d.Text)
		}
		gs, err := stackdump.ParseBytes(d.Text)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) >= d.Goroutines-10 && len(gs) <= d.Goroutines+10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("concurrent capture holds %d goroutines, NumGoroutine said %d", len(gs), d.Goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func parkedSummary(m map[string][]stackdump.Group) map[string][]string {
	out := map[string][]string{}
	for fn, gs := range m {
		for _, g := range gs {
			out[fn] = append(out[fn], fmt.Sprintf("%d in %s", g.Count, g.State))
		}
	}
	return out
}

// A cost learned at a busy moment must not rule out full dumps for good:
// captures that skip one let the estimate drift back until one is taken
// and measured again.
func TestCaptureRecoversFromHighCostEstimate(t *testing.T) {
	saved := nsPerGoroutine.Load()
	t.Cleanup(func() { nsPerGoroutine.Store(saved) })
	nsPerGoroutine.Store(int64(time.Second)) // as if one dump had crawled

	full := 0
	for i := range 200 {
		d := Within(DefaultPauseBudget)
		if d.Full {
			full++
		} else if i == 0 && d.FullPause < time.Second {
			t.Fatalf("first capture estimated %s, want the learned second per goroutine", d.FullPause)
		}
		if nsPerGoroutine.Load() < int64(time.Millisecond) {
			return
		}
	}
	t.Fatalf("after 200 captures (%d full) the cost is still %s per goroutine", full, time.Duration(nsPerGoroutine.Load()))
}
