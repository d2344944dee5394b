package chanflow

import (
	"go/token"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// OwnerEvents weighs the owner's operations on f's channel with weight.
func OwnerEvents(f *Flow, weight func(chanop.Op) int) pathsearch.Events {
	ev := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
	for _, op := range f.OwnerThread().Ops {
		w := weight(op)
		if w == 0 || op.Deferred {
			continue
		}
		if sel, ok := op.Instr.(*ssa.Select); ok && op.At == op.Instr {
			if e, ok := ssacfg.SelectCaseEdges(sel)[op.SelCase]; ok {
				ev.Enter[e] = min(ev.Enter[e]+w, pathsearch.Many)
				continue
			}
		}
		ev.At[op.At] = min(ev.At[op.At]+w, pathsearch.Many)
	}
	return ev
}

// sinks are where the owner stops being able to take part: its returns,
// making the channel anew (the next loop iteration), and, when withWait,
// waiting for a group of goroutines.
func (f *Flow) sink(withWait bool) func(ssa.Instruction) bool {
	return func(instr ssa.Instruction) bool {
		switch in := instr.(type) {
		case *ssa.Return:
			// main returning ends the process: nothing is left blocked.
			return !IsMainMain(f.Owner)
		case *ssa.Call:
			// A t.Fatal (Goexit) path is no sink: what a failed test
			// leaves behind is noise next to its failure.
			if withWait && ssacfg.IsWait(&in.Call) {
				return true
			}
		}
		return instr == f.remake && instr.Parent() == f.Owner
	}
}

// Query finds the owner's path from from (or start) to where it stops
// taking part, passing the fewest events of ev.
func Query(ev pathsearch.Events, f *Flow, from ssa.Instruction, start ssacfg.Edge, withWait bool) pathsearch.Result {
	return pathsearch.Query{
		From:   from,
		Start:  start,
		Weight: func(i ssa.Instruction) int { return ev.At[i] },
		Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
		Sink:   f.sink(withWait),
		Bounds: f.others,
	}.Run()
}

// AnchorIn returns where, in the owner's function, thread t starts; a
// goroutine started in a callee of the owner starts at the call.
func AnchorIn(f *Flow, t *Thread) ssa.Instruction {
	if t.anchor != nil && t.anchor.Parent() == f.Owner {
		return t.anchor
	}
	return nil
}

// closedTest reports whether iff tests the ok of a receive on the channel
// (v, ok := <-ch or case v, ok := <-ch): leaving a loop there means the
// channel was closed.
func closedTest(f *Flow, iff *ssa.If) bool {
	cond := iff.Cond
	if u, ok := cond.(*ssa.UnOp); ok && u.Op == token.NOT {
		cond = u.X
	}
	ex, ok := cond.(*ssa.Extract)
	if !ok {
		return false
	}
	for _, op := range f.OwnerThread().Ops {
		if op.Kind != chanop.Recv {
			continue
		}
		if v, ok := op.Instr.(ssa.Value); ok && ex.Tuple == v && ex.Index == 1 {
			return true
		}
		if sel, ok := op.Instr.(*ssa.Select); ok && ex.Tuple == sel && ex.Index == 1 {
			return true
		}
	}
	return false
}

// EarlyExit looks for a way out of the owner's loop around op that is not
// the loop's own test (a break, a return, a select case) and from which the
// owner reaches a sink with fewer than one more event: the receive loop that
// stops early.
func EarlyExit(f *Flow, lc ssacfg.LoopCache, ev pathsearch.Events, op chanop.Op, withWait bool) (pathsearch.Result, *ssa.BasicBlock, bool) {
	b := op.At.Block()
	l := lc.Of(f.Owner)
	if !l.InCycle(b) {
		return pathsearch.Result{}, nil, false
	}
	h := l.Header(b)
	ih, body := pathsearch.InnermostLoop(b)
	idle := ih != nil && pathsearch.IdleRound(ih, body)
	for _, x := range f.Owner.Blocks {
		if !l.Same(x, b) {
			continue
		}
		iff, _ := x.Instrs[len(x.Instrs)-1].(*ssa.If)
		if pathsearch.LoopTest(x, h) || (iff != nil && pathsearch.CounterTest(iff, func(b *ssa.BasicBlock) bool { return l.Same(b, x) })) {
			if !idle || ih != h || !body[x] || pathsearch.OwnTestDrains(x, h, body, idle) {
				continue // the loop's own test
			}
		}
		if iff != nil && closedTest(f, iff) {
			continue
		}
		for _, y := range x.Succs {
			if l.Same(y, b) {
				continue
			}
			res := Query(ev, f, nil, ssacfg.Edge{From: x, To: y}, withWait)
			if res.Found && res.Events == 0 {
				res.Blocks = append([]*ssa.BasicBlock{x}, res.Blocks...)
				return res, x, true
			}
		}
	}
	return pathsearch.Result{}, nil, false
}

// DoneAfter reports whether fn can call WaitGroup.Done after one of the
// sends: a deferred Done, or one its control flow reaches from a send. A
// goroutine whose every Done comes before its sends does not keep the
// owner's Wait from returning, so that Wait is no sink for its sends.
func DoneAfter(fn *ssa.Function, sends []chanop.Op) bool {
	isDone := func(instr ssa.Instruction) bool {
		c, ok := instr.(ssa.CallInstruction)
		return ok && ssacfg.IsMethod(c.Common(), "sync", "WaitGroup", "Done")
	}
	var blocks []*ssa.BasicBlock
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if _, ok := instr.(*ssa.Defer); ok && isDone(instr) {
				return true
			}
		}
	}
	for _, op := range sends {
		at := op.At
		if at.Parent() != fn {
			return true // (not expected: op.at is in the thread's root)
		}
		after := false
		for _, instr := range at.Block().Instrs {
			if instr == at {
				after = true
				continue
			}
			if after && isDone(instr) {
				return true
			}
		}
		blocks = append(blocks, at.Block().Succs...)
	}
	seen := map[*ssa.BasicBlock]bool{}
	for len(blocks) > 0 {
		b := blocks[len(blocks)-1]
		blocks = blocks[:len(blocks)-1]
		if seen[b] {
			continue
		}
		seen[b] = true
		for _, instr := range b.Instrs {
			if isDone(instr) {
				return true
			}
		}
		blocks = append(blocks, b.Succs...)
	}
	return false
}

// SwallowsPanics reports whether fn defers a function that calls recover()
// and drops what it returns: its author expects a call in it to panic and
// end it early (a push that panics once the queue is closed), on a path
// leakvet cannot see, so what follows the call may never run.
func SwallowsPanics(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			d, ok := instr.(*ssa.Defer)
			if !ok {
				continue
			}
			var callee *ssa.Function
			switch v := d.Call.Value.(type) {
			case *ssa.Function:
				callee = v
			case *ssa.MakeClosure:
				callee, _ = v.Fn.(*ssa.Function)
			}
			if callee == nil {
				continue
			}
			for _, cb := range callee.Blocks {
				for _, ci := range cb.Instrs {
					c, ok := ci.(*ssa.Call)
					if !ok || ssacfg.BuiltinName(&c.Call) != "recover" {
						continue
					}
					used := false
					for _, r := range *c.Referrers() {
						if _, ok := r.(*ssa.DebugRef); !ok {
							used = true
						}
					}
					if !used {
						return true
					}
				}
			}
		}
	}
	return false
}

// IsMainMain reports whether fn is func main of package main.
func IsMainMain(fn *ssa.Function) bool {
	return fn.Name() == "main" && fn.Parent() == nil && fn.Signature.Recv() == nil && fn.Pkg != nil && fn.Pkg.Pkg.Name() == "main"
}

// LoopExitsSatisfy takes the owner's receive loops, left by their own test
// (not a break or return inside), to have received all that was sent: the
// loop's count is taken to match the senders', as leakvet cannot compare
// them. A loop left once flags only its receives set are set (for !aReady
// || !bReady) is taken to have received on each of them.
func LoopExitsSatisfy(ev pathsearch.Events, f *Flow, lc ssacfg.LoopCache) {
	l := lc.Of(f.Owner)
	for _, op := range f.OwnerThread().Ops {
		if op.Kind != chanop.Recv || op.At.Parent() != f.Owner || !l.InCycle(op.At.Block()) {
			continue
		}
		pathsearch.DrainLoopExits(ev, op.At.Block())
		if after := afterRecv(op); after != nil {
			pathsearch.FlagLoopExits(ev, op.At.Block(), after)
		}
	}
}

// afterRecv returns the block that starts once the owner's receive op has
// happened: its select case's body, or the receive's own block; nil when
// there is none (a receive in a callee, a case sharing its body).
func afterRecv(op chanop.Op) *ssa.BasicBlock {
	if op.At != op.Instr {
		return nil
	}
	if sel, ok := op.Instr.(*ssa.Select); ok {
		e, ok := ssacfg.SelectCaseEdges(sel)[op.SelCase]
		if !ok || len(e.To.Preds) != 1 {
			return nil
		}
		return e.To
	}
	return op.Instr.Block()
}

// ClosedExits weighs as many the edges taken when one of the owner's
// receives reports the channel closed (the ok of v, ok := <-ch, or the end
// of a range over it): once it is closed no sender is left blocked on it (a
// send on a closed channel panics). go/ssa ends a block at a call that never
// returns, so a range whose body always calls t.Fatal is no loop, and its
// end is seen here rather than by loopExitsSatisfy.
func ClosedExits(ev pathsearch.Events, f *Flow) {
	for _, op := range f.OwnerThread().Ops {
		if op.Kind != chanop.Recv || op.Deferred {
			continue
		}
		v, ok := op.Instr.(*ssa.UnOp)
		if !ok || !v.CommaOk {
			continue
		}
		for _, r := range *v.Referrers() {
			ex, ok := r.(*ssa.Extract)
			if !ok || ex.Index != 1 {
				continue
			}
			for _, r2 := range *ex.Referrers() {
				if u, ok := r2.(*ssa.UnOp); ok && u.Op == token.NOT {
					for _, r3 := range *u.Referrers() {
						if iff, ok := r3.(*ssa.If); ok {
							ev.Enter[ssacfg.Edge{From: iff.Block(), To: iff.Block().Succs[0]}] = pathsearch.Many
						}
					}
					continue
				}
				if iff, ok := r2.(*ssa.If); ok {
					ev.Enter[ssacfg.Edge{From: iff.Block(), To: iff.Block().Succs[1]}] = pathsearch.Many
				}
			}
		}
	}
}

// WithSignals adds, for goroutine t, the owner's receives on other channels
// t sends on or closes: once the owner has one, t has got past that point
// (its "done" signal), and leakvet does not judge the order further.
func WithSignals(ev pathsearch.Events, fl *Flows, f *Flow, t *Thread) (pathsearch.Events, bool) {
	any := false
	out := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
	for k, v := range ev.At {
		out.At[k] = v
	}
	for k, v := range ev.Enter {
		out.Enter[k] = v
	}
	for _, g := range fl.List {
		if g == f || g.Mk == f.Mk || g.Owner != f.Owner || g.Escape != "" {
			continue // (the same make reached from another call is another goroutine)
		}
		signals := false
		for _, u := range g.Threads[1:] {
			if u.Spawn == t.Spawn && Has(u, chanop.Send, chanop.Close) {
				signals = true
			}
		}
		if !signals {
			continue
		}
		any = true
		sig := OwnerEvents(g, func(op chanop.Op) int {
			if op.Kind == chanop.Recv {
				return pathsearch.Many
			}
			return 0
		})
		for k, v := range sig.At {
			out.At[k] = min(out.At[k]+v, pathsearch.Many)
		}
		for k, v := range sig.Enter {
			out.Enter[k] = min(out.Enter[k]+v, pathsearch.Many)
		}
	}
	return out, any
}

// Has reports whether t has an operation of one of kinds.
func Has(t *Thread, kinds ...chanop.Kind) bool {
	for _, op := range t.Ops {
		for _, k := range kinds {
			if op.Kind == k {
				return true
			}
		}
	}
	return false
}
