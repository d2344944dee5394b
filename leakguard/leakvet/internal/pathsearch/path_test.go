package pathsearch_test

import (
	"go/token"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/ssa"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const src = `
func leaky(ch chan int, err error) {
	if err != nil {
		return
	}
	<-ch
}

func fixed(ch chan int, err bool) {
	if err {
		<-ch
		return
	}
	<-ch
}

func panics(ch chan int, err bool) {
	if err {
		panic("no return")
	}
	<-ch
}

func selectLeaky(ch chan int, done chan struct{}) {
	select {
	case <-ch:
	case <-done:
	}
}

func selectFixed(ch chan int, done chan struct{}) {
	select {
	case <-ch:
	case <-done:
		<-ch
	}
}

func drained(ch chan int, n int) {
	for i := 0; i < n; i++ {
		<-ch
	}
}

func breaksEarly(ch chan int, n int) {
	for i := 0; i < n; i++ {
		if <-ch < 0 {
			break
		}
	}
}

func counted(a, b chan int) {
	done := 0
	for {
		select {
		case <-a:
			done++
		case <-b:
			done++
		}
		if done == 2 {
			return
		}
	}
}

func polled(ch chan int, idle func()) {
	for range 3 {
		select {
		case <-ch:
		default:
			idle()
		}
	}
}

func notCounted(a chan int, x, y int) {
	for {
		<-a
		if x == y {
			return
		}
	}
}

func flagged(ch chan int,
	quit bool) {
	seen := false
	for range 3 {
		select {
		case <-ch:
			seen = true
		default:
		}
	}
	if quit {
		return
	}
	if !seen {
		return
	}
	<-ch
}

func flagOnly(ch chan int, idle func()) {
	seen := false
	for range 3 {
		select {
		case <-ch:
			seen = true
		default:
			idle()
		}
	}
	if seen {
		return
	}
	<-ch
}

func closePair(tick func(), a0, a1 func()) {
	close0Ch := make(chan bool)
	close1Ch := make(chan bool)
	go func() { a0(); close0Ch <- true }()
	go func() { a1(); close1Ch <- true }()
	a0closed, a1closed := false, false
	for range 100 {
		tick()
		select {
		case a0closed = <-close0Ch:
			if a1closed {
				return
			}
		case a1closed = <-close1Ch:
			if a0closed {
				return
			}
		default:
		}
	}
	<-close0Ch
}

func eitherTwice(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
	select {
	case <-a:
	case <-b:
	}
}

func plainTwice(a, b chan int, x bool) {
	if x {
		<-b
		<-b
		return
	}
	<-a
}
`

// recvQuery asks for fn's path from its entry to a return passing the
// fewest receives, plus ev's edge weights (nil: none).
func recvQuery(fn *ssa.Function, ev *pathsearch.Events) pathsearch.Result {
	return pathsearch.Query{
		Start: ssacfg.Edge{To: fn.Blocks[0]},
		Weight: func(i ssa.Instruction) int {
			if u, ok := i.(*ssa.UnOp); ok && u.Op == token.ARROW {
				return 1
			}
			return 0
		},
		Enter: func(e ssacfg.Edge) int {
			if ev == nil {
				return 0
			}
			return ev.Enter[e]
		},
		Sink: func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
	}.Run()
}

// TestQuery checks the path search finds a return that skips the receive
// when there is one, and counts the receive when every path passes it; a
// panic is no way out.
func TestQuery(t *testing.T) {
	p := vettest.SSA(t, src)
	for _, tc := range []struct {
		fn     string
		events int
		path   string // DescribePath's result, with the lines of the snippet
	}{
		{"leaky", 0, "branch at line 5 → return at line 6"},
		// A bare parameter or flag is named at its if, not its declaration.
		{"flagged", 0, "branch at line 99 → return at line 100"},
		// A select case's body: not after the loads of the later cases.
		{"closePair", 0, "select case at line 133 → branch at line 134 → return at line 135"},
		{"flagOnly", 0, "select case at line 112 → branch at line 118 → return at line 119"},
		{"fixed", 1, ""},
		{"panics", 1, ""},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			fn := p.Func(tc.fn)
			res := recvQuery(fn, nil)
			if !res.Found || res.Events != tc.events {
				t.Fatalf("found %v with %d events, want %d", res.Found, res.Events, tc.events)
			}
			if _, ok := res.Sink.(*ssa.Return); !ok {
				t.Errorf("sink %v is no return", res.Sink)
			}
			if res.Blocks[0] != fn.Blocks[0] || res.Blocks[len(res.Blocks)-1] != res.Sink.Block() {
				t.Errorf("path %v does not run from the entry to the sink's block", res.Blocks)
			}
			if tc.path != "" {
				if got := pathsearch.DescribePath(p.Pass().Fset, res.Blocks, res.Sink); got != tc.path {
					t.Errorf("DescribePath = %q, want %q", got, tc.path)
				}
			}
		})
	}
}

// TestQueryStopAt checks the path may not enter the blocks StopAt names.
func TestQueryStopAt(t *testing.T) {
	p := vettest.SSA(t, src)
	fn := p.Func("leaky")
	early := recvQuery(fn, nil).Sink.Block()
	res := pathsearch.Query{
		Start:  ssacfg.Edge{To: fn.Blocks[0]},
		Weight: func(ssa.Instruction) int { return 0 },
		Enter:  func(ssacfg.Edge) int { return 0 },
		Sink:   func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
		StopAt: func(b *ssa.BasicBlock) bool { return b == early },
	}.Run()
	if !res.Found || res.Sink.Block() == early {
		t.Errorf("with the early return's block stopped, the path ends at %v (found %v), want the other return", res.Sink, res.Found)
	}
}

// TestSelectCases checks a select case weighs on the edge into its body:
// with a done case, a path takes no receive from ch.
func TestSelectCases(t *testing.T) {
	p := vettest.SSA(t, src)
	for _, tc := range []struct {
		fn     string
		events int
	}{{"selectLeaky", 0}, {"selectFixed", 1}} {
		fn := p.Func(tc.fn)
		sel := vettest.First[*ssa.Select](t, fn)
		ev := pathsearch.Events{Enter: map[ssacfg.Edge]int{}}
		edges := ssacfg.SelectCaseEdges(sel)
		e, ok := edges[0]
		if !ok {
			t.Fatalf("%s: case 0 has no edge", tc.fn)
		}
		ev.Enter[e] = 1
		res := recvQuery(fn, &ev)
		if !res.Found || res.Events != tc.events {
			t.Errorf("%s: found %v with %d events, want %d", tc.fn, res.Found, res.Events, tc.events)
		}
		if tc.fn == "selectLeaky" {
			var iff *ssa.If
			for _, i := range vettest.Instrs[*ssa.If](fn) {
				if pathsearch.SelectOf(i) == sel {
					iff = i
				}
			}
			if iff == nil {
				t.Errorf("SelectOf names the select for none of %s's ifs", tc.fn)
			}
			if got := pathsearch.DescribePath(p.Pass().Fset, res.Blocks, res.Sink); !strings.HasPrefix(got, "select case at line") {
				t.Errorf("DescribePath = %q, want the select case first", got)
			}
		}
	}
	if iff := vettest.First[*ssa.If](t, p.Func("leaky")); pathsearch.SelectOf(iff) != nil {
		t.Errorf("SelectOf(if err) = %v, want nil", pathsearch.SelectOf(iff))
	}
}

// TestDrainLoopExits checks a receive loop left by its own test is taken
// to have received all (every way to the return weighs Many), while a loop
// left by a break inside is not, nor a counted loop that polls (its select
// has a default, so it can run out its count receiving nothing).
func TestDrainLoopExits(t *testing.T) {
	p := vettest.SSA(t, src)
	for _, tc := range []struct {
		fn        string
		drainsAll bool
	}{{"drained", true}, {"breaksEarly", false}, {"polled", false}} {
		t.Run(tc.fn, func(t *testing.T) {
			fn := p.Func(tc.fn)
			var recv ssa.Instruction // a receive, or the select that makes one
			for _, u := range vettest.Instrs[*ssa.UnOp](fn) {
				if u.Op == token.ARROW {
					recv = u
				}
			}
			for _, sel := range vettest.Instrs[*ssa.Select](fn) {
				recv = sel
			}
			h, body := pathsearch.InnermostLoop(recv.Block())
			if h == nil || !body[recv.Block()] || !body[h] {
				t.Fatalf("InnermostLoop(%v) = %v, %v: want the loop holding the receive", recv.Block(), h, body)
			}
			if tc.fn != "polled" && !pathsearch.LoopTest(h, h) {
				t.Errorf("LoopTest(header) = false for the for loop's header")
			}
			if idle := pathsearch.IdleRound(h, body); idle != (tc.fn == "polled") {
				t.Errorf("IdleRound = %v, want %v", idle, tc.fn == "polled")
			}
			ev := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
			pathsearch.DrainLoopExits(ev, recv.Block())
			res := pathsearch.Query{
				Start:  ssacfg.Edge{To: fn.Blocks[0]},
				Weight: func(ssa.Instruction) int { return 0 },
				Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
				Sink:   func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
			}.Run()
			if got := res.Events == pathsearch.Many; got != tc.drainsAll {
				t.Errorf("every return weighs Many: %v, want %v (events %d)", got, tc.drainsAll, res.Events)
			}
		})
	}
	if h, _ := pathsearch.InnermostLoop(p.Func("leaky").Blocks[0]); h != nil {
		t.Errorf("InnermostLoop of a loop-free function = %v, want nil", h)
	}
}

// TestCounterTest checks a test of a counter the loop carries against a
// value it does not change counts as the loop's test; a test of two
// values the loop does not change does not.
func TestCounterTest(t *testing.T) {
	p := vettest.SSA(t, src)
	for _, tc := range []struct {
		fn   string
		want bool
	}{{"counted", true}, {"notCounted", false}} {
		fn := p.Func(tc.fn)
		found := false
		for _, iff := range vettest.Instrs[*ssa.If](fn) {
			if pathsearch.SelectOf(iff) != nil {
				continue
			}
			_, body := pathsearch.InnermostLoop(iff.Block())
			if pathsearch.CounterTest(iff, func(b *ssa.BasicBlock) bool { return body[b] }) {
				found = true
			}
		}
		if found != tc.want {
			t.Errorf("%s: CounterTest found %v, want %v", tc.fn, found, tc.want)
		}
	}
}

// TestQueryBounds checks a path takes no more values from a bounded channel
// (b) than are sent on it: with one send, the ways that take b twice and
// nothing from a block for good, so every return takes a's value; with two
// sends, or no bound, they are paths.
func TestQueryBounds(t *testing.T) {
	p := vettest.SSA(t, src)
	for _, name := range []string{"eitherTwice", "plainTwice"} {
		fn := p.Func(name)
		a, b := fn.Params[0], fn.Params[1]
		on := func(ch ssa.Value) pathsearch.Events {
			ev := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
			for _, u := range vettest.Instrs[*ssa.UnOp](fn) {
				if u.Op == token.ARROW && u.X == ch {
					ev.At[u]++
				}
			}
			for _, sel := range vettest.Instrs[*ssa.Select](fn) {
				for c, e := range ssacfg.SelectCaseEdges(sel) {
					if c < len(sel.States) && sel.States[c].Chan == ch {
						ev.Enter[e]++
					}
				}
			}
			return ev
		}
		ev, bRecvs := on(a), on(b)
		for _, tc := range []struct {
			bounds []pathsearch.Bound
			events int
		}{
			{nil, 0},
			{[]pathsearch.Bound{{Sends: 1, Recvs: bRecvs}}, 1},
			{[]pathsearch.Bound{{Sends: 2, Recvs: bRecvs}}, 0},
		} {
			res := pathsearch.Query{
				Start:  ssacfg.Edge{To: fn.Blocks[0]},
				Weight: func(i ssa.Instruction) int { return ev.At[i] },
				Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
				Sink:   func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
				Bounds: tc.bounds,
			}.Run()
			if !res.Found || res.Events != tc.events {
				t.Errorf("%s with bounds %v: found %v with %d events, want %d", name, tc.bounds, res.Found, res.Events, tc.events)
			}
		}
	}
}
