package leakvet

import (
	"fmt"

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
	Requires: []*analysis.Analyzer{flowAnalyzer, fieldAnalyzer, buildssa.Analyzer},
	Run:      runRecv,
}

func runRecv(pass *analysis.Pass) (any, error) {
	fieldLeaks(pass, opRecv)
	return reportFlows(pass, func(fl *flows, f *chanFlow) []analysis.Diagnostic { return recvLeaks(pass, fl.lc, f) })
}

func recvLeaks(pass *analysis.Pass, lc loopCache, f *chanFlow) []analysis.Diagnostic {
	if f.escape != "" {
		return nil
	}
	sendsInLoop := false
	for _, op := range f.ownerThread().ops {
		if op.deferred && op.kind != opRecv {
			return nil // a deferred close (or send) runs on every path
		}
		if op.kind == opSend && (lc.inCycle(op.at) || lc.inCycle(op.instr)) {
			sendsInLoop = true
		}
		if op.kind == opClose && (lc.inCycle(op.at) || lc.inCycle(op.instr)) {
			return nil // closed on some iteration: which one is beyond leakvet
		}
	}
	var receivers []*thread
	// Wait is no sink here: receivers often call Done per value, and the
	// owner closes after Wait.
	need, withWait := 0, false
	for _, t := range f.threads[1:] {
		if has(t, opSend, opClose) {
			return nil // another goroutine feeds the channel: not the owner's job alone
		}
		recvs := unguarded(t, opRecv)
		if len(recvs) == 0 || anchorIn(f, t) == nil {
			continue
		}
		n := 1
		if t.inLoop {
			n = many
			if t.trips > 0 {
				n = t.trips
			}
		}
		loopRecv := false
		for _, op := range recvs {
			if lc.inCycle(op.instr) || lc.inCycle(op.at) {
				n, loopRecv = many, true // a range, or a receive loop: only a close ends it
			}
		}
		if t.inLoop && !loopRecv && sentBeforeEachStart(f, anchorIn(f, t)) {
			continue // each goroutine takes the value sent before it started (a semaphore)
		}
		need = min(need+n, many)
		receivers = append(receivers, t)
	}
	if len(receivers) == 0 || (need < many && sendsInLoop) {
		return nil // counted receives against sends in a loop: beyond leakvet
	}
	ev := ownerEvents(f, func(op chanOp) int {
		switch op.kind {
		case opSend:
			return 1
		case opClose:
			return many
		}
		return 0
	})
	var out []analysis.Diagnostic
	for _, t := range receivers {
		res := ev.query(f, anchorIn(f, t), edge{}, withWait)
		if !res.found || res.events >= need {
			continue
		}
		op := unguarded(t, opRecv)[0]
		what := "nobody sends on or closes it"
		if need >= many {
			what = "it waits until the channel is closed, and the owner does not close it"
			if res.events > 0 {
				what = fmt.Sprintf("it waits until the channel is closed, and the owner only sends %s", times(res.events))
			}
		} else if res.events > 0 {
			what = fmt.Sprintf("%d receives wait, and the owner sends %s", need, times(res.events))
		}
		out = append(out, analysis.Diagnostic{
			Pos: t.spawn.Pos(),
			Message: fmt.Sprintf("goroutine leaks: its receive at line %d on the channel made at line %d blocks forever: %s on the path %s (close it on every path, e.g. defer close)",
				line(pass, recvPos(op)), line(pass, f.mk.Pos()), what, describePath(pass.Fset, res.blocks, res.sink)),
			Related: []analysis.RelatedInformation{
				{Pos: recvPos(op), Message: "blocking receive"},
				{Pos: f.mk.Pos(), Message: "channel made here"},
			},
		})
	}
	return out
}

// sentBeforeEachStart reports whether, in the loop that starts a goroutine
// at anchor, the owner sends on the channel on every way from the top of
// the loop to the start: each goroutine's one receive has its value
// waiting, as when the channel is a semaphore the goroutine releases.
func sentBeforeEachStart(f *chanFlow, anchor ssa.Instruction) bool {
	h, _ := innermostLoop(anchor.Block())
	if h == nil {
		return false
	}
	ev := ownerEvents(f, func(op chanOp) int {
		if op.kind == opSend {
			return 1
		}
		return 0
	})
	res := pathQuery{
		start:  edge{to: h},
		weight: func(i ssa.Instruction) int { return ev.at[i] },
		enter:  func(e edge) int { return ev.enter[e] },
		sink:   func(i ssa.Instruction) bool { return i == anchor },
		stopAt: func(b *ssa.BasicBlock) bool { return b == h },
	}.run()
	return res.found && res.events > 0
}
