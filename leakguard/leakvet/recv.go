package leakvet

import (
	"fmt"
	"go/token"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanflow"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/fields"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// RecvAnalyzer reports goroutines that receive from a channel (or range
// over it) which their owner, on some path, neither sends to enough nor
// closes before it returns.
var RecvAnalyzer = &analysis.Analyzer{
	Name:     "leakrecv",
	Doc:      "report goroutines that block forever receiving from a channel nobody sends to or closes on some path",
	URL:      "https://github.com/trialwatch/trialwatch/tree/main/leakguard#leakvet",
	Requires: []*analysis.Analyzer{chanflow.Analyzer, fields.Analyzer, buildssa.Analyzer},
	Run:      runRecv,
}

func runRecv(pass *analysis.Pass) (any, error) {
	fields.Leaks(pass, chanop.Recv)
	return reportFlows(pass, func(fl *chanflow.Flows, f *chanflow.Flow) []analysis.Diagnostic { return recvLeaks(pass, fl.Lc, f) })
}

func recvLeaks(pass *analysis.Pass, lc ssacfg.LoopCache, f *chanflow.Flow) []analysis.Diagnostic {
	if f.Escape != "" {
		return nil
	}
	sendsInLoop := false
	for _, op := range f.OwnerThread().Ops {
		if op.Deferred && op.Kind != chanop.Recv {
			return nil // a deferred close (or send) runs on every path
		}
		if op.Kind == chanop.Send && (lc.InCycle(op.At) || lc.InCycle(op.Instr)) {
			sendsInLoop = true
		}
		if op.Kind == chanop.Close && (lc.InCycle(op.At) || lc.InCycle(op.Instr)) {
			return nil // closed on some iteration: which one is beyond leakvet
		}
	}
	var receivers []*chanflow.Thread
	// Wait is no sink here: receivers often call Done per value, and the
	// owner closes after Wait.
	need, withWait, closeNeeded := 0, false, false
	for _, t := range f.Threads[1:] {
		if chanflow.Has(t, chanop.Send, chanop.Close) {
			return nil // another goroutine feeds the channel: not the owner's job alone
		}
		recvs := unguarded(t, chanop.Recv)
		if len(recvs) == 0 || chanflow.AnchorIn(f, t) == nil {
			continue
		}
		if chanflow.SwallowsPanics(t.Root) {
			return nil // it may end by a panic before it receives
		}
		if closedBefore(f, chanflow.AnchorIn(f, t)) {
			continue // closed before the goroutine starts: its receives never block
		}
		n := 1
		if t.InLoop {
			n = pathsearch.Many
			if t.Trips > 0 {
				n = t.Trips
			}
		}
		loopRecv := false
		for _, op := range recvs {
			if lc.InCycle(op.Instr) || lc.InCycle(op.At) {
				if !onlyCloseEnds(t, op) {
					// A receive in a loop with another way out (a count, a
					// break, a return): how often it runs is beyond leakvet.
					return nil
				}
				n, loopRecv = pathsearch.Many, true // a range, or a receive loop: only a close ends it
			}
		}
		if t.InLoop && !loopRecv && sentBeforeEachStart(f, chanflow.AnchorIn(f, t)) {
			continue // each goroutine takes the value sent before it started (a semaphore)
		}
		need = min(need+n, pathsearch.Many)
		closeNeeded = closeNeeded || loopRecv
		receivers = append(receivers, t)
	}
	if len(receivers) == 0 || (!closeNeeded && sendsInLoop) {
		return nil // counted receives against sends in a loop: beyond leakvet
	}
	ev := chanflow.OwnerEvents(f, func(op chanop.Op) int {
		switch op.Kind {
		case chanop.Send:
			return 1
		case chanop.Close:
			return pathsearch.Many
		}
		return 0
	})
	var out []analysis.Diagnostic
	for _, t := range receivers {
		res := chanflow.Query(ev, f, chanflow.AnchorIn(f, t), ssacfg.Edge{}, withWait)
		if !res.Found || res.Events >= need {
			continue
		}
		if need >= pathsearch.Many && !closeNeeded && res.Events > 0 {
			// Goroutines started in a loop of unknown count, one receive
			// each, against a few sends: only none is sure to leave one blocked.
			continue
		}
		op := unguarded(t, chanop.Recv)[0]
		what := "nobody sends on or closes it"
		if need >= pathsearch.Many && !closeNeeded {
			what = "goroutines started in a loop each wait for a value, and nobody sends on or closes it"
		} else if need >= pathsearch.Many {
			what = "it waits until the channel is closed, and the owner does not close it"
			if res.Events > 0 {
				what = fmt.Sprintf("it waits until the channel is closed, and the owner only sends %s", times(res.Events))
			}
		} else if res.Events > 0 {
			what = fmt.Sprintf("%d receives wait, and the owner sends %s", need, times(res.Events))
		}
		out = append(out, analysis.Diagnostic{
			Pos:      t.Spawn.Pos(),
			Category: diag.Recv,
			Message: fmt.Sprintf("goroutine leaks: its receive at line %d on the channel made at line %d blocks forever: %s on the path %s (close it on every path, e.g. defer close)",
				diag.Line(pass, recvPos(op)), diag.Line(pass, f.Mk.Pos()), what, pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink)),
			Related: []analysis.RelatedInformation{
				{Pos: recvPos(op), Message: "blocking receive"},
				{Pos: f.Mk.Pos(), Message: "channel made here"},
			},
		})
	}
	return out
}

// sentBeforeEachStart reports whether, in the loop that starts a goroutine
// at anchor, the owner sends on the channel on every way from the top of
// the loop to the start: each goroutine's one receive has its value
// waiting, as when the channel is a semaphore the goroutine releases.
func sentBeforeEachStart(f *chanflow.Flow, anchor ssa.Instruction) bool {
	h, _ := pathsearch.InnermostLoop(anchor.Block())
	if h == nil {
		return false
	}
	ev := chanflow.OwnerEvents(f, func(op chanop.Op) int {
		if op.Kind == chanop.Send {
			return 1
		}
		return 0
	})
	res := pathsearch.Query{
		Start:  ssacfg.Edge{To: h},
		Weight: func(i ssa.Instruction) int { return ev.At[i] },
		Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
		Sink:   func(i ssa.Instruction) bool { return i == anchor },
		StopAt: func(b *ssa.BasicBlock) bool { return b == h },
	}.Run()
	return res.Found && res.Events > 0
}

// onlyCloseEnds reports whether the loop around t's receive op can only be
// left when the channel is closed (a range over it, v, ok := <-ch and a
// test of ok) or by a path that ends the goroutine or fails the test, or
// not at all: then the receives go on until a close. A loop with another
// way out (a counter, a break, a return) takes as many values as it
// happens to, which leakvet cannot count.
func onlyCloseEnds(t *chanflow.Thread, op chanop.Op) bool {
	for _, instr := range []ssa.Instruction{op.Instr, op.At} {
		h, body := pathsearch.InnermostLoop(instr.Block())
		if h == nil {
			continue
		}
		for x := range body {
			iff, isIf := x.Instrs[len(x.Instrs)-1].(*ssa.If)
			for _, y := range x.Succs {
				if body[y] || endsGoroutine(y) {
					continue
				}
				if isIf && recvOkTest(t, iff) {
					continue
				}
				return false
			}
		}
	}
	return true
}

// recvOkTest reports whether iff tests the ok of one of t's receives
// (v, ok := <-ch, or a range over ch).
func recvOkTest(t *chanflow.Thread, iff *ssa.If) bool {
	cond := iff.Cond
	if u, ok := cond.(*ssa.UnOp); ok && u.Op == token.NOT {
		cond = u.X
	}
	ex, ok := cond.(*ssa.Extract)
	if !ok || ex.Index != 1 {
		return false
	}
	for _, op := range t.Ops {
		if v, ok := op.Instr.(ssa.Value); ok && op.Kind == chanop.Recv && ex.Tuple == v {
			return true
		}
	}
	return false
}

// endsGoroutine reports whether block b, straight on, ends the goroutine
// or the test without returning normally: a panic, a call that never
// returns, a test failure.
func endsGoroutine(b *ssa.BasicBlock) bool {
	for seen := 0; b != nil && seen < 8; seen++ {
		for _, instr := range b.Instrs {
			if ssacfg.EndsPath(instr) || ssacfg.FailsTest(instr) {
				return true
			}
		}
		if len(b.Succs) != 1 {
			return false
		}
		b = b.Succs[0]
	}
	return false
}

// closedBefore reports whether the owner closes the channel on every path
// to anchor: jobs are queued and the channel closed, then the workers start.
func closedBefore(f *chanflow.Flow, anchor ssa.Instruction) bool {
	for _, op := range f.OwnerThread().Ops {
		if op.Kind != chanop.Close || op.Deferred || op.At.Parent() != anchor.Parent() {
			continue
		}
		if op.At.Block() == anchor.Block() {
			for _, instr := range anchor.Block().Instrs {
				if instr == op.At {
					return true
				}
				if instr == anchor {
					break
				}
			}
			continue
		}
		if op.At.Block().Dominates(anchor.Block()) {
			return true
		}
	}
	return false
}
