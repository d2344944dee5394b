package leakvet

import (
	"fmt"
	"go/token"
	"os"
	"strings"

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

// SendAnalyzer reports goroutines that send on a channel whose owner can
// return, or stop receiving, before it has taken every value: an early
// return, a select with a timeout or ctx.Done(), a receive loop that
// breaks, or the first-response-wins fan-out with fewer receives than
// senders.
var SendAnalyzer = &analysis.Analyzer{
	Name:     "leaksend",
	Doc:      "report goroutines that block forever sending on a channel nobody receives from on some path",
	URL:      "https://github.com/trialwatch/trialwatch/tree/main/leakguard#leakvet",
	Requires: []*analysis.Analyzer{chanflow.Analyzer, fields.Analyzer, buildssa.Analyzer},
	Run:      runSend,
}

func runSend(pass *analysis.Pass) (any, error) {
	fields.Leaks(pass, chanop.Send)
	return reportFlows(pass, func(fl *chanflow.Flows, f *chanflow.Flow) []analysis.Diagnostic {
		debugFlow(pass, f)
		return sendLeaks(pass, fl, f)
	})
}

// reportFlows reports what check finds in each tracked channel, once: a
// make reached through several callers can repeat a diagnostic.
func reportFlows(pass *analysis.Pass, check func(*chanflow.Flows, *chanflow.Flow) []analysis.Diagnostic) (any, error) {
	fl := pass.ResultOf[chanflow.Analyzer].(*chanflow.Flows)
	reported := map[string]bool{}
	for _, f := range fl.List {
		for _, d := range check(fl, f) {
			// One report per go statement and channel: a helper's goroutine
			// judged at each of its callers would repeat it with other paths.
			key := fmt.Sprint(d.Pos, f.Mk.Pos())
			if !reported[key] {
				reported[key] = true
				diag.Report(pass, d)
			}
		}
	}
	return nil, nil
}

// unguardedSends returns t's sends that can only go on when someone
// receives: a plain send, or a select whose only case is the send.
func unguarded(t *chanflow.Thread, kind chanop.Kind) []chanop.Op {
	var out []chanop.Op
	for _, op := range t.Ops {
		if op.Kind == kind && !op.Guarded && !op.Deferred {
			out = append(out, op)
		}
	}
	return out
}

func sendLeaks(pass *analysis.Pass, fl *chanflow.Flows, f *chanflow.Flow) []analysis.Diagnostic {
	lc := fl.Lc
	if f.Escape != "" || f.Capacity < 0 {
		return nil // a capacity leakvet cannot read is taken to be right
	}
	owner := f.OwnerThread()
	for _, op := range owner.Ops {
		if op.Deferred || op.Kind == chanop.Send {
			return nil // the owner drains or sends itself: too subtle to judge
		}
	}
	var senders []*chanflow.Thread
	total, withWait, sendLoop := 0, false, false
	for _, t := range f.Threads[1:] {
		if chanflow.Has(t, chanop.Recv) {
			return nil // another goroutine receives: not the owner's job alone
		}
		sends := unguarded(t, chanop.Send)
		if len(sends) == 0 {
			continue
		}
		if chanflow.SwallowsPanics(t.Root) {
			return nil // it may end by a panic before it sends
		}
		if requestDriven(fl, f, t, sends) {
			continue // it answers the owner's requests, into a buffer
		}
		if handsOver(f, t) {
			continue // its starter's last act: the two send once between them
		}
		if chanflow.AnchorIn(f, t) == nil {
			return nil
		}
		n := 1
		if t.InLoop {
			n = pathsearch.Many
			if t.Trips > 0 {
				n = t.Trips
			}
		}
		if t.InLoop && ownerReceivesInLoopOf(f, lc, chanflow.AnchorIn(f, t)) {
			n = 1 // the owner receives in the same loop: judge one iteration
		}
		// Sends in counted loops, by loop: each goroutine sends, per loop,
		// its trip count times the most sends one iteration can make.
		counted := map[*ssa.BasicBlock][]chanop.Op{}
		var loops []*ssa.BasicBlock
		for _, op := range sends {
			if lc.InCycle(op.Instr) || lc.InCycle(op.At) {
				if f.Capacity > 0 && (endlessLoop(op.Instr) || watchesStop(t.Root)) {
					// for { v, err := src.Next(); if err != nil { return }; ch <- v }:
					// taken to end with its source, which the buffer is sized for.
					return nil
				}
				if k := sendTrips(lc, op.Instr); k > 0 && n < pathsearch.Many {
					h, _ := pathsearch.InnermostLoop(op.Instr.Block())
					if _, ok := counted[h]; !ok {
						loops = append(loops, h)
					}
					counted[h] = append(counted[h], op)
					continue
				}
				n, sendLoop = pathsearch.Many, true
			}
		}
		if n < pathsearch.Many && len(loops) > 0 {
			per := 0
			for _, h := range loops {
				per += sendTrips(lc, counted[h][0].Instr) * sendsPerIteration(h, counted[h])
			}
			n = min(n*per, pathsearch.Many) // a counted loop: n goroutines send per times each
		}
		total = min(total+n, pathsearch.Many)
		senders = append(senders, t)
		if t.ViaGroup || chanflow.DoneAfter(t.Root, sends) {
			withWait = true
		}
	}
	if len(senders) == 0 {
		return nil
	}
	if total >= pathsearch.Many && !sendLoop && f.Capacity > 0 {
		return nil // one goroutine per element of something, and a buffer: taken to be sized to it
	}
	ev := chanflow.OwnerEvents(f, func(op chanop.Op) int {
		switch op.Kind {
		case chanop.Recv:
			return 1
		case chanop.Close:
			return pathsearch.Many // a send after close panics; not a leak
		}
		return 0
	})
	chanflow.LoopExitsSatisfy(ev, f, lc)
	chanflow.ClosedExits(ev, f)
	if total < pathsearch.Many && len(senders) > 1 {
		// Several goroutines share the count: judge it once, from the first
		// one started, so receives between the starts are counted.
		first := firstAnchor(f, senders)
		if first == nil {
			return nil
		}
		senders = []*chanflow.Thread{first}
	}
	var out []analysis.Diagnostic
	for _, t := range senders {
		var why string
		shape := diag.SendStream
		if total == 1 {
			shape = diag.SendOnce
		} else if total < pathsearch.Many {
			shape = diag.SendCounted
		}
		tev, signalled := chanflow.WithSignals(ev, fl, f, t)
		res := chanflow.Query(tev, f, chanflow.AnchorIn(f, t), ssacfg.Edge{}, withWait)
		switch {
		case res.Found && fl.Lf.NeverReturns(t.Root):
			shape = diag.SendStream
			why = fmt.Sprintf("it sends forever and the owner stops receiving on the path %s",
				pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink))
		case total < pathsearch.Many:
			if need := total - int(f.Capacity); need > 0 && res.Found && res.Events < need {
				why = fmt.Sprintf("%s and the owner takes %s on the path %s",
					senderCount(total), times(res.Events), pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink))
			}
		case res.Found && res.Events == 0:
			why = fmt.Sprintf("%s and the owner takes none on the path %s",
				senderCount(total), pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink))
		case !signalled:
			why = boundedOrEarly(pass, lc, f, tev, withWait, total)
		}
		if why == "" {
			continue
		}
		if (shape == diag.SendCounted || shape == diag.SendStream) && inTest(pass, t.Spawn.Pos(), f.OwnerThread()) {
			shape += diag.InTest
		}
		op := unguarded(t, chanop.Send)[0]
		d := analysis.Diagnostic{
			Pos:      t.Spawn.Pos(),
			Category: shape,
			Message: fmt.Sprintf("goroutine leaks: its send at line %d on the channel made at line %d (%s) blocks forever: %s",
				diag.Line(pass, sendPos(op)), diag.Line(pass, f.Mk.Pos()), diag.CapDesc(f.Capacity), why),
			Related: []analysis.RelatedInformation{
				{Pos: sendPos(op), Message: "blocking send"},
				{Pos: f.Mk.Pos(), Message: "channel made here"},
			},
		}
		if fix, ok := bufferFix(pass, f, t, total); ok {
			d.SuggestedFixes = []analysis.SuggestedFix{fix}
		}
		out = append(out, d)
	}
	return out
}

// boundedOrEarly explains why an unbounded number of sends outruns the
// owner's receives: it receives a fixed number of times, or its receive
// loop has a way out before the senders are done.
func boundedOrEarly(pass *analysis.Pass, lc ssacfg.LoopCache, f *chanflow.Flow, ev pathsearch.Events, withWait bool, total int) string {
	var recvs []chanop.Op
	bounded := true
	for _, op := range f.OwnerThread().Ops {
		if op.Kind != chanop.Recv {
			continue
		}
		recvs = append(recvs, op)
		if lc.InCycle(op.At) || lc.InCycle(op.Instr) {
			bounded = false
		}
	}
	if len(recvs) == 0 {
		return ""
	}
	if bounded && !chanflow.IsMainMain(f.Owner) { // (main returning ends the process)
		var lines []string
		for _, op := range recvs {
			lines = append(lines, fmt.Sprint(diag.Line(pass, recvPos(op))))
		}
		return fmt.Sprintf("%s but the owner receives at most %s (line %s)", senderCount(total), times(len(recvs)), strings.Join(lines, ", "))
	}
	for _, op := range recvs {
		if res, x, ok := chanflow.EarlyExit(f, lc, ev, op, withWait); ok {
			_ = x
			return fmt.Sprintf("%s but the owner's receive loop (line %d) stops early on the path %s",
				senderCount(total), diag.Line(pass, recvPos(op)), pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink))
		}
	}
	return ""
}

// inTest reports whether the go statement at spawn, or one of the owner's
// receives, is in a test file: there the number of values sent and taken
// follows the test's own inputs.
func inTest(pass *analysis.Pass, spawn token.Pos, owner *chanflow.Thread) bool {
	if strings.HasSuffix(pass.Fset.Position(spawn).Filename, "_test.go") {
		return true
	}
	for _, op := range owner.Ops {
		if op.Kind == chanop.Recv && op.Instr != nil && strings.HasSuffix(pass.Fset.Position(op.Instr.Pos()).Filename, "_test.go") {
			return true
		}
	}
	return false
}

func senderCount(n int) string {
	if n >= pathsearch.Many {
		return "goroutines keep sending (one per loop iteration, or in a loop)"
	}
	if n == 1 {
		return "it sends once"
	}
	return fmt.Sprintf("%d goroutines send", n)
}

func times(n int) string {
	switch n {
	case 0:
		return "nothing"
	case 1:
		return "one value"
	}
	return fmt.Sprintf("%d values", n)
}

func sendPos(op chanop.Op) token.Pos {
	if sel, ok := op.Instr.(*ssa.Select); ok && op.SelCase >= 0 {
		return sel.States[op.SelCase].Pos
	}
	return op.Instr.Pos()
}

func recvPos(op chanop.Op) token.Pos { return sendPos(op) }

// debugFlow prints what leakvet tracked of a channel when LEAKVET_DEBUG is
// set: why a channel was given up on is the first question of a triage.
func debugFlow(pass *analysis.Pass, f *chanflow.Flow) {
	if os.Getenv("LEAKVET_DEBUG") == "" {
		return
	}
	fmt.Fprintf(os.Stderr, "leakvet: make at %s owner %s cap %d escape %q threads %d\n",
		pass.Fset.Position(f.Mk.Pos()), f.Owner.Name(), f.Capacity, f.Escape, len(f.Threads))
	for i, t := range f.Threads {
		for _, op := range t.Ops {
			fmt.Fprintf(os.Stderr, "  thread %d (loop %v, trips %d): kind %d at %s guarded %v deferred %v\n",
				i, t.InLoop, t.Trips, op.Kind, pass.Fset.Position(sendPos(op)), op.Guarded, op.Deferred)
		}
	}
}

// firstAnchor returns the thread started before all the others on every
// path (its start dominates theirs), or nil.
func firstAnchor(f *chanflow.Flow, ts []*chanflow.Thread) *chanflow.Thread {
	before := func(a, b ssa.Instruction) bool {
		if a.Block() != b.Block() {
			return a.Block().Dominates(b.Block())
		}
		for _, instr := range a.Block().Instrs {
			if instr == a {
				return true
			}
			if instr == b {
				return false
			}
		}
		return false
	}
	for _, t := range ts {
		a := chanflow.AnchorIn(f, t)
		ok := true
		for _, u := range ts {
			if u != t && !before(a, chanflow.AnchorIn(f, u)) {
				ok = false
				break
			}
		}
		if ok {
			return t
		}
	}
	return nil
}

// ownerReceivesInLoopOf reports whether the owner receives from the
// channel inside the innermost loop around anchor.
func ownerReceivesInLoopOf(f *chanflow.Flow, lc ssacfg.LoopCache, anchor ssa.Instruction) bool {
	if anchor == nil {
		return false
	}
	_, body := pathsearch.InnermostLoop(anchor.Block())
	for _, op := range f.OwnerThread().Ops {
		if op.Kind == chanop.Recv && body[op.At.Block()] {
			return true
		}
	}
	return false
}

// endlessLoop reports whether instr is in a for loop with no condition.
func endlessLoop(instr ssa.Instruction) bool {
	h, _ := pathsearch.InnermostLoop(instr.Block())
	return h != nil && h.Comment == "for.body"
}

// watchesStop reports whether fn selects on a context's Done channel: a
// sender that does stops when told, and leakvet takes its buffer to bridge
// the time until it notices.
func watchesStop(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			sel, ok := instr.(*ssa.Select)
			if !ok {
				continue
			}
			for _, st := range sel.States {
				if c, ok := st.Chan.(*ssa.Call); ok && c.Call.IsInvoke() && c.Call.Method.Name() == "Done" && ssacfg.IsNamed(c.Call.Value.Type(), "context", "Context") {
					return true
				}
			}
		}
	}
	return false
}

// sendTrips returns how many times a send in a loop runs when that loop,
// and every loop around it, is counted (for i := 0; i < K; i++, for range
// K, a range over a literal of K elements): the product of their trip
// counts, else 0.
func sendTrips(lc ssacfg.LoopCache, send ssa.Instruction) int {
	h, body := pathsearch.InnermostLoop(send.Block())
	if h == nil {
		return 0
	}
	trips := 1
	for h != nil {
		k := 0
		for b := range body {
			if k = ssacfg.TripsAt(b, func(y *ssa.BasicBlock) bool { return body[y] }); k > 0 {
				break
			}
		}
		if k == 0 {
			return 0
		}
		trips = min(trips*k, pathsearch.Many)
		outer, outerBody := pathsearch.InnermostLoop(h.Idom())
		if outer == nil || !outerBody[h] {
			break
		}
		h, body = outer, outerBody
	}
	l := lc.Of(send.Parent())
	for _, b := range send.Parent().Blocks {
		if l.Same(b, send.Block()) && !body[b] {
			return 0 // a loop not counted repeats it
		}
	}
	return trips
}

// sendsPerIteration returns the most of sends (all in the innermost loop
// headed by h) that one iteration can make: sends on exclusive branches
// (if err != nil { ch <- err; continue }; ... ch <- other) count once.
func sendsPerIteration(h *ssa.BasicBlock, sends []chanop.Op) int {
	_, body := pathsearch.InnermostLoop(h)
	at := map[*ssa.BasicBlock]int{}
	for _, op := range sends {
		at[op.Instr.Block()]++
	}
	memo := map[*ssa.BasicBlock]int{}
	onPath := map[*ssa.BasicBlock]bool{}
	var most func(b *ssa.BasicBlock) int
	most = func(b *ssa.BasicBlock) int {
		if m, ok := memo[b]; ok {
			return m
		}
		onPath[b] = true
		best := 0
		for _, s := range b.Succs {
			if s != h && body[s] && !onPath[s] {
				best = max(best, most(s))
			}
		}
		onPath[b] = false
		memo[b] = at[b] + best
		return memo[b]
	}
	return max(most(h), 1)
}

// requestDriven reports whether t's sends on the buffered channel f answer
// requests: the loop around them takes its work from another channel that
// the owner sends on (for p := range prompts { answers <- read(p) }). The
// answers are as many as the requests, and leakvet takes the buffer to be
// sized to the requests in flight, as it does for one goroutine per element.
func requestDriven(fl *chanflow.Flows, f *chanflow.Flow, t *chanflow.Thread, sends []chanop.Op) bool {
	if f.Capacity <= 0 {
		return false
	}
	l := fl.Lc.Of(t.Root)
	for _, g := range fl.List {
		if g == f || g.Mk == f.Mk || g.Owner != f.Owner || g.Escape != "" || !chanflow.Has(g.OwnerThread(), chanop.Send) {
			continue
		}
		for _, u := range g.Threads[1:] {
			if u.Spawn != t.Spawn {
				continue
			}
			for _, op := range u.Ops {
				if op.Kind != chanop.Recv || op.At.Parent() != t.Root || !l.InCycle(op.At.Block()) {
					continue
				}
				for _, s := range sends {
					if s.At.Parent() == t.Root && l.Same(s.At.Block(), op.At.Block()) {
						return true
					}
				}
			}
		}
	}
	return false
}

// handsOver reports whether t was started by another sender of f as that
// sender's last act on f (go c.expectConnack(packet, errs) to read the next
// packet instead): after starting t, its starter sends on f no more, so the
// two send at most as often as one.
func handsOver(f *chanflow.Flow, t *chanflow.Thread) bool {
	if !t.Nested {
		return false
	}
	for _, u := range f.Threads[1:] {
		if u == t || u.Root != t.Spawn.Parent() || !chanflow.Has(u, chanop.Send) {
			continue
		}
		isSend := map[ssa.Instruction]bool{}
		for _, op := range u.Ops {
			if op.Kind == chanop.Send {
				isSend[op.At] = true
			}
		}
		if !fields.Reaches(t.Spawn, func(i ssa.Instruction) bool { return isSend[i] }) {
			return true
		}
	}
	return false
}
