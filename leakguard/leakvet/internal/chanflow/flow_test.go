package chanflow_test

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/ssa"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanflow"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const src = `
import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"time"
)

func onceLeaky() int {
	ch := make(chan int)
	go func() { ch <- 1 }()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		return 0
	}
}

func onceFixed() int {
	ch := make(chan int, 1)
	go func() { ch <- 1 }()
	return <-ch
}

func produce() chan int {
	ch := make(chan int)
	go send(ch)
	return ch
}

func send(ch chan int) { ch <- 1 }

func consume() int { return <-produce() }

func looped() {
	ch := make(chan int)
	for range 3 {
		go func() { ch <- 1 }()
	}
	for i := 0; i < 3; i++ {
		<-ch
	}
}

func stopsEarly(n int) {
	ch := make(chan int)
	for range n {
		go func() { ch <- 1 }()
	}
	for i := 0; i < n; i++ {
		if <-ch < 0 {
			return
		}
	}
}

func ranged() {
	ch := make(chan int)
	go func() {
		ch <- 1
		close(ch)
	}()
	for v := range ch {
		_ = v
	}
}

func escapes() {
	ch := make(chan int)
	fmt.Println(ch)
}

func notified() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
}

func loopedLeaky(d time.Duration) {
	ch := make(chan int)
	for range 3 {
		go func() { ch <- 1 }()
	}
	timeout := time.After(d)
	for i := 0; i < 3; i++ {
		select {
		case <-ch:
		case <-timeout:
			return
		}
	}
}

var global chan int

func stored() {
	ch := make(chan int)
	global = ch
}

func withWait() {
	var wg sync.WaitGroup
	ch := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ch <- 1
	}()
	wg.Wait()
}

func doneFirst(wg *sync.WaitGroup, ch chan int) {
	wg.Done()
	ch <- 1
}

func recovers(ch chan int) {
	defer func() { recover() }()
	ch <- 1
}

func rethrows(ch chan int) {
	defer func() {
		if r := recover(); r != nil {
			panic(r)
		}
	}()
	ch <- 1
}

func signalled() {
	ch := make(chan int)
	done := make(chan struct{})
	go func() {
		close(done)
		ch <- 1
	}()
	<-done
}

func main() {}
`

func flows(t *testing.T) (*vettest.Pkg, *chanflow.Flows) {
	t.Helper()
	p := vettest.Src(t, chanflow.Analyzer, src)
	return p, p.Result.Result.(*chanflow.Flows)
}

// flowIn returns the i-th flow owned by the function named owner.
func flowIn(t *testing.T, fl *chanflow.Flows, owner string, i int) *chanflow.Flow {
	t.Helper()
	for _, f := range fl.List {
		if f.Owner.Name() == owner {
			if i == 0 {
				return f
			}
			i--
		}
	}
	t.Fatalf("no flow owned by %s", owner)
	return nil
}

// recvWeight counts the owner's receives.
func recvWeight(op chanop.Op) int {
	if op.Kind == chanop.Recv {
		return 1
	}
	return 0
}

// skipsReceive reports what leaksend asks of a goroutine's send: whether,
// from where the goroutine starts, the owner can stop taking part without
// a receive.
func skipsReceive(t *testing.T, fl *chanflow.Flows, f *chanflow.Flow, withWait bool) bool {
	t.Helper()
	if len(f.Threads) < 2 {
		t.Fatalf("the flow in %s has no goroutine", f.Owner.Name())
	}
	ev := chanflow.OwnerEvents(f, recvWeight)
	chanflow.LoopExitsSatisfy(ev, f, fl.Lc)
	chanflow.ClosedExits(ev, f)
	g := f.Threads[1]
	res := chanflow.Query(ev, f, chanflow.AnchorIn(f, g), ssacfg.Edge{}, withWait)
	if !res.Found {
		t.Fatalf("%s: no path to where the owner stops", f.Owner.Name())
	}
	return res.Events == 0
}

// TestOwnerPaths checks the owner's path question on leaky and fixed pairs:
// a timeout case that returns without the value, once or in a counted
// loop, against a plain receive, the counted loop alone, a range to the
// close. (A loop that stops early is EarlyExit's question.)
func TestOwnerPaths(t *testing.T) {
	_, fl := flows(t)
	for _, tc := range []struct {
		owner string
		leaks bool
	}{
		{"onceLeaky", true},
		{"onceFixed", false},
		{"loopedLeaky", true},
		{"looped", false},
		{"ranged", false},
	} {
		t.Run(tc.owner, func(t *testing.T) {
			f := flowIn(t, fl, tc.owner, 0)
			if f.Escape != "" {
				t.Fatalf("flow escaped: %s", f.Escape)
			}
			if got := skipsReceive(t, fl, f, false); got != tc.leaks {
				t.Errorf("the owner can stop without a receive: %v, want %v", got, tc.leaks)
			}
		})
	}
}

// TestThreads checks what the tracking records about a channel: its
// capacity, its goroutines and their operations, where they start.
func TestThreads(t *testing.T) {
	_, fl := flows(t)
	once := flowIn(t, fl, "onceLeaky", 0)
	if once.Capacity != 0 || len(once.Threads) != 2 {
		t.Fatalf("onceLeaky: capacity %d, %d threads; want 0, 2", once.Capacity, len(once.Threads))
	}
	owner, g := once.OwnerThread(), once.Threads[1]
	if len(owner.Ops) != 1 || owner.Ops[0].Kind != chanop.Recv || !owner.Ops[0].Guarded || owner.Ops[0].SelCase != 0 {
		t.Errorf("onceLeaky's owner ops = %+v, want one guarded receive in select case 0", owner.Ops)
	}
	if !chanflow.Has(g, chanop.Send) || chanflow.Has(g, chanop.Recv, chanop.Close) || g.InLoop {
		t.Errorf("onceLeaky's goroutine ops = %+v (in loop %v), want one send, once", g.Ops, g.InLoop)
	}
	if _, ok := chanflow.AnchorIn(once, g).(*ssa.Go); !ok {
		t.Errorf("onceLeaky's goroutine starts at %v, want its go statement", chanflow.AnchorIn(once, g))
	}
	if c := flowIn(t, fl, "onceFixed", 0).Capacity; c != 1 {
		t.Errorf("onceFixed's capacity = %d, want 1", c)
	}

	looped := flowIn(t, fl, "looped", 0).Threads[1]
	if !looped.InLoop || looped.Trips != 3 {
		t.Errorf("looped's goroutine: in loop %v, trips %d; want true, 3", looped.InLoop, looped.Trips)
	}
	if early := flowIn(t, fl, "stopsEarly", 0).Threads[1]; !early.InLoop || early.Trips != 0 {
		t.Errorf("stopsEarly's goroutine: in loop %v, trips %d; want true, 0", early.InLoop, early.Trips)
	}
	if r := flowIn(t, fl, "ranged", 0).Threads[1]; !chanflow.Has(r, chanop.Close) {
		t.Errorf("ranged's goroutine ops = %+v, want a close", r.Ops)
	}
}

// TestHandedOver checks a channel a function only starts goroutines on and
// returns is owned by its caller, where the goroutine starts at the call.
func TestHandedOver(t *testing.T) {
	_, fl := flows(t)
	for _, f := range fl.List {
		if f.Owner.Name() == "produce" {
			t.Errorf("produce owns a flow; it hands the channel over")
		}
	}
	f := flowIn(t, fl, "consume", 0)
	if f.Escape != "" || len(f.Threads) != 2 || f.Threads[1].Root.Name() != "send" {
		t.Fatalf("consume's flow: escape %q, threads %d, want the goroutine running send", f.Escape, len(f.Threads))
	}
	if _, ok := chanflow.AnchorIn(f, f.Threads[1]).(*ssa.Call); !ok {
		t.Errorf("the goroutine starts at %v in consume, want the call of produce", chanflow.AnchorIn(f, f.Threads[1]))
	}
	if skipsReceive(t, fl, f, false) {
		t.Errorf("consume receives on every path, yet a path skips it")
	}
}

// TestEscape checks leakvet gives up on channels that leave what it
// follows, and says why.
func TestEscape(t *testing.T) {
	_, fl := flows(t)
	for owner, want := range map[string]string{
		"escapes":  "used by *ssa.MakeInterface",
		"notified": "passed to Notify",
		"stored":   "stored in memory leakvet does not follow",
	} {
		if got := flowIn(t, fl, owner, 0).Escape; got != want {
			t.Errorf("%s: Escape = %q, want %q", owner, got, want)
		}
	}
}

// TestEarlyExit checks EarlyExit finds the return inside stopsEarly's
// receive loop, and no way out of looped's.
func TestEarlyExit(t *testing.T) {
	_, fl := flows(t)
	for _, tc := range []struct {
		owner string
		want  bool
	}{{"stopsEarly", true}, {"looped", false}} {
		f := flowIn(t, fl, tc.owner, 0)
		ev := chanflow.OwnerEvents(f, recvWeight)
		chanflow.LoopExitsSatisfy(ev, f, fl.Lc)
		res, from, ok := chanflow.EarlyExit(f, fl.Lc, ev, f.OwnerThread().Ops[0], false)
		if ok != tc.want {
			t.Errorf("%s: EarlyExit = %v, want %v", tc.owner, ok, tc.want)
		}
		if ok {
			if _, isRet := res.Sink.(*ssa.Return); !isRet || res.Blocks[0] != from {
				t.Errorf("%s: early exit ends at %v from %v, want a return from the exit block", tc.owner, res.Sink, from)
			}
		}
	}
}

// TestWaitSink checks a Wait is where the owner stops only when asked:
// withWait's owner never receives, and waits for the sender.
func TestWaitSink(t *testing.T) {
	_, fl := flows(t)
	f := flowIn(t, fl, "withWait", 0)
	ev := chanflow.OwnerEvents(f, recvWeight)
	at := chanflow.AnchorIn(f, f.Threads[1])
	res := chanflow.Query(ev, f, at, ssacfg.Edge{}, true)
	if c, ok := res.Sink.(*ssa.Call); !ok || !ssacfg.IsWait(&c.Call) {
		t.Errorf("with waits, the path ends at %v, want the Wait", res.Sink)
	}
	if res := chanflow.Query(ev, f, at, ssacfg.Edge{}, false); func() bool { _, ok := res.Sink.(*ssa.Return); return !ok }() {
		t.Errorf("without waits, the path ends at %v, want the return", res.Sink)
	}
}

// TestFunctionFacts checks the per-function questions: a Done after the
// send, a deferred recover that swallows panics, a func main outside
// package main.
func TestFunctionFacts(t *testing.T) {
	p, fl := flows(t)
	sends := func(fn *ssa.Function) []chanop.Op {
		var ops []chanop.Op
		for _, s := range vettest.Instrs[*ssa.Send](fn) {
			ops = append(ops, chanop.Op{Kind: chanop.Send, Instr: s, At: s})
		}
		return ops
	}
	wg := flowIn(t, fl, "withWait", 0).Threads[1].Root
	if !chanflow.DoneAfter(wg, sends(wg)) {
		t.Errorf("DoneAfter: withWait's goroutine defers Done, want true")
	}
	if first := p.Func("doneFirst"); chanflow.DoneAfter(first, sends(first)) {
		t.Errorf("DoneAfter: doneFirst calls Done before its send, want false")
	}
	if !chanflow.SwallowsPanics(p.Func("recovers")) || chanflow.SwallowsPanics(p.Func("rethrows")) || chanflow.SwallowsPanics(p.Func("send")) {
		t.Errorf("SwallowsPanics: want true only for recovers")
	}
	if chanflow.IsMainMain(p.Func("main")) {
		t.Errorf("IsMainMain(p.main) = true; p is no main package")
	}
}

// TestWithSignals checks the owner's receive on a channel the goroutine
// closes first counts as hearing from it: signalled's owner takes no value
// from ch, but waits on done, which the goroutine closes.
func TestWithSignals(t *testing.T) {
	_, fl := flows(t)
	f := flowIn(t, fl, "signalled", 0)
	if f.Mk.Size.String() != "0:int" && len(f.Threads) != 2 {
		t.Fatalf("signalled's first flow is not ch")
	}
	if !chanflow.Has(f.Threads[1], chanop.Send) {
		f = flowIn(t, fl, "signalled", 1) // the flows come in make order
	}
	if !chanflow.Has(f.Threads[1], chanop.Send) {
		t.Fatalf("no flow of signalled is ch")
	}
	ev := chanflow.OwnerEvents(f, recvWeight)
	at := chanflow.AnchorIn(f, f.Threads[1])
	if res := chanflow.Query(ev, f, at, ssacfg.Edge{}, false); res.Events != 0 {
		t.Fatalf("signalled's owner receives from ch (%d events)", res.Events)
	}
	sev, any := chanflow.WithSignals(ev, fl, f, f.Threads[1])
	if !any {
		t.Fatalf("WithSignals found no signal")
	}
	if res := chanflow.Query(sev, f, at, ssacfg.Edge{}, false); res.Events == 0 {
		t.Errorf("with the done signal, a path still skips every event")
	}
}

// TestClosedExits checks the edge taken when a receive reports the channel
// closed weighs as many: there for ranged's range over the channel, none
// for onceFixed's plain receive.
func TestClosedExits(t *testing.T) {
	_, fl := flows(t)
	for _, tc := range []struct {
		owner string
		want  int
	}{{"ranged", 1}, {"onceFixed", 0}} {
		ev := chanflow.OwnerEvents(flowIn(t, fl, tc.owner, 0), func(chanop.Op) int { return 0 })
		chanflow.ClosedExits(ev, flowIn(t, fl, tc.owner, 0))
		got := 0
		for e, w := range ev.Enter {
			if w == pathsearch.Many && len(e.From.Succs) == 2 {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d closed exits, want %d", tc.owner, got, tc.want)
		}
	}
}
