package ssacfg_test

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const loopsSrc = `
func counted(ch chan int) {
	for i := 0; i < 3; i++ {
		ch <- i
	}
}

func ranged(ch chan int) {
	for range 5 {
		ch <- 0
	}
}

func unbounded(ch chan int, n int) {
	for i := 0; i < n; i++ {
		ch <- i
	}
}

func literal(ch chan string) {
	for _, s := range []string{"a", "b", "c"} {
		ch <- s
	}
}

func array(ch chan int) {
	for _, v := range [4]int{1, 2, 3, 4} {
		ch <- v
	}
}

func straight(ch chan int) {
	ch <- 1
}

func nested(ch chan int, n int) {
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			ch <- j
		}
	}
}
`

// TestLoops checks what LoopCache decides about the loop around a send:
// whether it is in one, its constant trip count, its header, nesting.
func TestLoops(t *testing.T) {
	p := vettest.SSA(t, loopsSrc)
	for _, tc := range []struct {
		fn      string
		inCycle bool
		trips   int
		nested  bool
	}{
		{"counted", true, 3, false},
		{"ranged", true, 5, false},
		{"literal", true, 3, false},
		{"array", true, 4, false},
		{"unbounded", true, 0, false},
		{"straight", false, 0, false},
		{"nested", true, 0, true},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			fn := p.Func(tc.fn)
			send := vettest.First[*ssa.Send](t, fn)
			lc := ssacfg.LoopCache{}
			if got := lc.InCycle(send); got != tc.inCycle {
				t.Fatalf("InCycle = %v, want %v", got, tc.inCycle)
			}
			l := lc.Of(fn)
			if got := l.ConstTrips(send.Block()); got != tc.trips {
				t.Errorf("ConstTrips = %d, want %d", got, tc.trips)
			}
			if !tc.inCycle {
				return
			}
			if got := l.Nested(send.Block()); got != tc.nested {
				t.Errorf("Nested = %v, want %v", got, tc.nested)
			}
			h := l.Header(send.Block())
			if h == nil || !l.Same(h, send.Block()) || !h.Dominates(send.Block()) {
				t.Errorf("Header = %v, want a block of the send's loop dominating it", h)
			}
			if l.Same(fn.Blocks[0], send.Block()) {
				t.Errorf("the entry block is in the send's loop")
			}
		})
	}
}

// TestSelectCaseEdges checks each case of a select maps to the edge into
// its own body, even when two empty cases share a target block.
func TestSelectCaseEdges(t *testing.T) {
	p := vettest.SSA(t, `
func sel(a, b, c chan int) int {
	select {
	case <-a:
		return 1
	case <-b:
	case <-c:
	}
	return 0
}
`)
	fn := p.Func("sel")
	edges := ssacfg.SelectCaseEdges(vettest.First[*ssa.Select](t, fn))
	if len(edges) != 3 {
		t.Fatalf("got %d case edges, want 3: %v", len(edges), edges)
	}
	// Case 0's body returns 1; the others fall through to return 0.
	if ret := returnedConst(edges[0].To); ret != "1:int" {
		t.Errorf("case 0 leads to a block returning %q, want 1", ret)
	}
	if edges[1] == edges[2] {
		t.Errorf("the empty cases 1 and 2 share the edge %v", edges[1])
	}
}

// returnedConst follows b's single successors to a return and names the
// constant it returns.
func returnedConst(b *ssa.BasicBlock) string {
	for range 10 {
		if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
			if c, ok := ret.Results[0].(*ssa.Const); ok {
				return c.String()
			}
			return ret.Results[0].String()
		}
		if len(b.Succs) != 1 {
			return ""
		}
		b = b.Succs[0]
	}
	return ""
}

// TestCalls checks the call classifiers on the calls of a snippet: which
// are WaitGroup methods, group starts, waits, calls that end a path.
func TestCalls(t *testing.T) {
	p := vettest.Run(t, buildssa.Analyzer, map[string]string{
		"p.go": `
import (
	"log"
	"os"
	"runtime"
	"sync"
)

type Group struct{}

func (*Group) Wait() {}

func calls(wg *sync.WaitGroup, g *Group, ch chan int) {
	wg.Add(1)
	wg.Go(func() {})
	wg.Wait()
	g.Wait()
	close(ch)
	_ = len(ch)
}

func exits() { os.Exit(1) }

func fatal() { log.Fatal("x") }

func goexit() { runtime.Goexit() }

func prints() { log.Print("x") }

func panics() { panic("x") }
`,
		"p_test.go": `
import (
	"errors"
	"testing"
)

func fails(t *testing.T) { t.Fatal("x") }

func errs(t *testing.T) { t.Errorf("x") }

func logs(t *testing.T) { t.Log("x") }

func helperErr() error { return errors.New("x") }

func helperNil() error { return nil }
`})
	calls := vettest.Instrs[*ssa.Call](p.Func("calls"))
	if len(calls) != 6 {
		t.Fatalf("calls has %d calls, want 6", len(calls))
	}
	add, goCall, wgWait, gWait, closeCall, lenCall := &calls[0].Call, &calls[1].Call, &calls[2].Call, &calls[3].Call, &calls[4].Call, &calls[5].Call
	for _, tc := range []struct {
		name      string
		got, want bool
	}{
		{"IsMethod(wg.Add, Add)", ssacfg.IsMethod(add, "sync", "WaitGroup", "Add"), true},
		{"IsMethod(wg.Add, Done)", ssacfg.IsMethod(add, "sync", "WaitGroup", "Done"), false},
		{"IsMethod(g.Wait, sync.WaitGroup)", ssacfg.IsMethod(gWait, "sync", "WaitGroup", "Wait"), false},
		{"IsGroupGo(wg.Go)", ssacfg.IsGroupGo(goCall), true},
		{"IsGroupGo(wg.Add)", ssacfg.IsGroupGo(add), false},
		{"IsWait(wg.Wait)", ssacfg.IsWait(wgWait), true},
		{"IsWait(a Wait of another Group)", ssacfg.IsWait(gWait), false},
		{"close is close", ssacfg.BuiltinName(closeCall) == "close", true},
		{"len is len", ssacfg.BuiltinName(lenCall) == "len", true},
		{"wg.Add is no builtin", ssacfg.BuiltinName(add) == "", true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	for _, tc := range []struct {
		fn                  string
		endsPath, failsTest bool
	}{
		{"exits", true, false},
		{"fatal", true, false},
		{"goexit", true, false},
		{"prints", false, false},
		{"panics", true, false},
		{"fails", true, true},
		{"errs", false, true},
		{"logs", false, false},
	} {
		ends, fails := false, false
		for _, b := range p.Func(tc.fn).Blocks {
			for _, instr := range b.Instrs {
				ends = ends || ssacfg.EndsPath(instr)
				fails = fails || ssacfg.FailsTest(instr)
			}
		}
		if ends != tc.endsPath || fails != tc.failsTest {
			t.Errorf("%s: EndsPath %v, FailsTest %v; want %v, %v", tc.fn, ends, fails, tc.endsPath, tc.failsTest)
		}
	}

	for _, tc := range []struct {
		fn   string
		want bool
	}{{"helperErr", true}, {"helperNil", false}} {
		ret := vettest.First[*ssa.Return](t, p.Func(tc.fn))
		if got := ssacfg.FailingReturn(ret); got != tc.want {
			t.Errorf("FailingReturn in %s = %v, want %v", tc.fn, got, tc.want)
		}
	}
}

// TestFailingReturnOutsideTests checks a non-nil error returned by a
// function of a non-test file is no failing test.
func TestFailingReturnOutsideTests(t *testing.T) {
	p := vettest.SSA(t, `
import "errors"

func helperErr() error { return errors.New("x") }
`)
	if ssacfg.FailingReturn(vettest.First[*ssa.Return](t, p.Func("helperErr"))) {
		t.Error("FailingReturn holds for a function outside a _test.go file")
	}
}

// TestGoTargetAndDone checks GoTarget sees through a method value to the
// method, and CallsDone finds a Done only where there is one.
func TestGoTargetAndDone(t *testing.T) {
	p := vettest.SSA(t, `
import "sync"

type worker struct{ wg *sync.WaitGroup }

func (w *worker) run() { w.wg.Done() }

func (w *worker) idle() {}

func start(w *worker) {
	f := w.run
	go f()
	go w.idle()
}
`)
	gos := vettest.Instrs[*ssa.Go](p.Func("start"))
	if len(gos) != 2 {
		t.Fatalf("want 2 go statements, got %d", len(gos))
	}
	for i, want := range []struct {
		target string
		done   bool
	}{{"run", true}, {"idle", false}} {
		got := ssacfg.GoTarget(&gos[i].Call)
		if got == nil || got.Name() != want.target {
			t.Errorf("go statement %d: GoTarget = %v, want %s", i, got, want.target)
			continue
		}
		if ssacfg.CallsDone(got) != want.done {
			t.Errorf("CallsDone(%s) = %v, want %v", got.Name(), !want.done, want.done)
		}
	}
}

// TestTimerChan checks IsTimerChan tells the channels of time's tickers
// and timers, also through a variable and a helper, from other channels,
// and RecvOkFromTimer the ok of a receive from one.
func TestTimerChan(t *testing.T) {
	p := vettest.SSA(t, `
import "time"

func tick() <-chan time.Time { return time.Tick(time.Second) }

func ticker(fake chan time.Time) {
	tk := time.NewTicker(time.Second)
	<-tk.C
	<-time.After(time.Second)
	<-tick()
	<-fake
}

func captured() {
	c := time.After(time.Second)
	func() { <-c }()
	if _, ok := <-c; !ok {
		return
	}
}

func notTimer(fake chan time.Time) {
	if _, ok := <-fake; !ok {
		return
	}
}
`)
	recvs := recvChans(p.Func("ticker"))
	want := []bool{true, true, true, false}
	if len(recvs) != len(want) {
		t.Fatalf("ticker: %d receives, want %d", len(recvs), len(want))
	}
	for i, v := range recvs {
		if got := ssacfg.IsTimerChan(v); got != want[i] {
			t.Errorf("ticker's receive %d from %v: IsTimerChan = %v, want %v", i, v, got, want[i])
		}
	}
	if got := recvChans(p.Func("captured$1")); len(got) != 1 || !ssacfg.IsTimerChan(got[0]) {
		t.Errorf("the time.After captured by a closure is no timer channel (%v)", got)
	}
	for _, tc := range []struct {
		fn   string
		want bool
	}{{"captured", true}, {"notTimer", false}} {
		iff := vettest.First[*ssa.If](t, p.Func(tc.fn))
		cond := iff.Cond
		if u, ok := cond.(*ssa.UnOp); ok {
			cond = u.X
		}
		if got := ssacfg.RecvOkFromTimer(cond); got != tc.want {
			t.Errorf("%s: RecvOkFromTimer = %v, want %v", tc.fn, got, tc.want)
		}
	}
}

func recvChans(fn *ssa.Function) []ssa.Value {
	var out []ssa.Value
	for _, u := range vettest.Instrs[*ssa.UnOp](fn) {
		if u.Op.String() == "<-" {
			out = append(out, u.X)
		}
	}
	return out
}
