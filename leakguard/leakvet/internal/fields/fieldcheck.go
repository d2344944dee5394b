package fields

import (
	"fmt"
	"go/token"
	"go/types"
	"slices"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// fieldBlock is an operation of a goroutine on channel fields that can only
// block: a receive from fields nobody feeds, or a send on a field nobody
// drains.
type fieldBlock struct {
	kind chanop.Kind
	pos  token.Pos
	c    *fieldChan
	// stopsFirst: the send blocks because a receiver can stop first
	// (abandon), not because nobody receives.
	stopsFirst bool
	abandon    *fieldAbandon
}

// Leaks reports, at their go statements, goroutines of the package
// that reach an operation of kind on channel fields that can only block.
func Leaks(pass *analysis.Pass, kind chanop.Kind) {
	ssaInfo := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	fc := pass.ResultOf[Analyzer].(*Chans)
	if len(fc.byKey) == 0 {
		return
	}
	lc := ssacfg.LoopCache{}
	lf := NewLoopFacts(ssaInfo.Pkg)
	lf.Fields = fc
	plain := NewLoopFacts(ssaInfo.Pkg) // without the fields: does the loop have a way out at all?
	lt := NewLifetimes(ssaInfo.Pkg, ssaInfo.SrcFuncs)
	for _, fn := range ssaInfo.SrcFuncs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				g, ok := instr.(*ssa.Go)
				if !ok {
					continue
				}
				target := ssacfg.GoTarget(&g.Call)
				if target == nil || target.Pkg != ssaInfo.Pkg || len(target.Blocks) == 0 {
					continue
				}
				if blk, ok := firstFieldBlock(fc, lc, target, kind, map[*ssa.Function]bool{}, 0); ok {
					if blk.stopsFirst && receivesAfter(blk.c, g) {
						continue // its starter takes the value itself
					}
					diag.Report(pass, fieldDiagnostic(pass, g, blk))
					continue
				}
				if kind != chanop.Recv || lt.Process(fn) || StartedOnce(g) || !lf.NeverReturns(target) || lf.TimerWait(target).IsValid() {
					continue // meant to live as long as the process; a timer loop is leakloop's
				}
				if c, pos, ok := rangesUnclosed(fc, lc, target, map[*ssa.Function]bool{}, 0); ok {
					shape := diag.FieldUnclosed
					msg := fmt.Sprintf("goroutine leaks: it receives from the field %s at line %d in a loop that only a close of %s ends, and nothing in the package closes it (close it when the goroutine should stop)",
						c.name, diag.Line(pass, pos), c.name)
					if plain.NeverReturns(target) {
						shape = diag.Loop
						msg = fmt.Sprintf("goroutine leaks: it loops forever receiving from the field %s (line %d), nothing in the package closes it, and no path returns: nothing can stop it (add a stop channel or ctx.Done() case that returns)",
							c.name, diag.Line(pass, pos))
					}
					diag.Report(pass, analysis.Diagnostic{
						Pos:      g.Pos(),
						Category: shape,
						Message:  msg,
						Related:  []analysis.RelatedInformation{{Pos: pos, Message: "receive loop"}},
					})
				}
			}
		}
	}
}

func fieldDiagnostic(pass *analysis.Pass, g *ssa.Go, blk fieldBlock) analysis.Diagnostic {
	made := blk.c.makes[0].Pos()
	if blk.kind == chanop.Recv {
		return analysis.Diagnostic{
			Pos:      g.Pos(),
			Category: diag.FieldNoSender,
			Message: fmt.Sprintf("goroutine leaks: its receive at line %d on the field %s blocks forever: nothing in the package sends on or closes %s (made at line %d; close it when the goroutine should stop)",
				diag.Line(pass, blk.pos), blk.c.name, blk.c.name, diag.Line(pass, made)),
			Related: []analysis.RelatedInformation{
				{Pos: blk.pos, Message: "blocking receive"},
				{Pos: made, Message: "channel made here"},
			},
		}
	}
	if blk.stopsFirst {
		a := blk.abandon
		return analysis.Diagnostic{
			Pos:      g.Pos(),
			Category: diag.FieldStopsFirst,
			Message: fmt.Sprintf("goroutine leaks: its send at line %d on the field %s (unbuffered) blocks forever when the receiver stops first: the select at line %d can leave without receiving from %s on the path %s (buffer it, or select on the receiver's stop signal too)",
				diag.Line(pass, blk.pos), blk.c.name, diag.Line(pass, a.sel.Pos()), blk.c.name, pathsearch.DescribePath(pass.Fset, a.res.Blocks, a.res.Sink)),
			Related: []analysis.RelatedInformation{
				{Pos: blk.pos, Message: "blocking send"},
				{Pos: a.sel.Pos(), Message: "the receiver's select"},
			},
		}
	}
	return analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.FieldNoReceiver,
		Message: fmt.Sprintf("goroutine leaks: its send at line %d on the field %s (%s) blocks forever: nothing in the package receives from %s (made at line %d)",
			diag.Line(pass, blk.pos), blk.c.name, diag.CapDesc(blk.c.capacity), blk.c.name, diag.Line(pass, made)),
		Related: []analysis.RelatedInformation{
			{Pos: blk.pos, Message: "blocking send"},
			{Pos: made, Message: "channel made here"},
		},
	}
}

// firstFieldBlock looks through fn and the package's functions it calls
// (not the goroutines it starts) for an operation of kind that can only
// block.
func firstFieldBlock(fc *Chans, lc ssacfg.LoopCache, fn *ssa.Function, kind chanop.Kind, seen map[*ssa.Function]bool, depth int) (fieldBlock, bool) {
	if seen[fn] || depth > chanop.MaxDepth {
		return fieldBlock{}, false
	}
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if blk, ok := blocksOnField(fc, lc, instr, kind); ok && (!blk.stopsFirst || depth == 0) {
				// A send that blocks only when the receiver stops first is
				// judged where the goroutine itself makes it: in a function
				// it calls, the conditions guarding the call (a state check,
				// a receiver not started yet) are beyond leakvet.
				return blk, true
			}
			if c, ok := instr.(*ssa.Call); ok {
				if callee := c.Call.StaticCallee(); callee != nil && callee.Pkg == fn.Pkg && len(callee.Blocks) > 0 && !c.Call.IsInvoke() {
					if blk, ok := firstFieldBlock(fc, lc, callee, kind, seen, depth+1); ok {
						return blk, true
					}
				}
			}
		}
	}
	return fieldBlock{}, false
}

// rangesUnclosed finds, in fn or the functions it calls, a receive in a
// loop from a field nobody closes.
func rangesUnclosed(fc *Chans, lc ssacfg.LoopCache, fn *ssa.Function, seen map[*ssa.Function]bool, depth int) (*fieldChan, token.Pos, bool) {
	if seen[fn] || depth > chanop.MaxDepth {
		return nil, token.NoPos, false
	}
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			var ch ssa.Value
			pos := instr.Pos()
			switch in := instr.(type) {
			case *ssa.UnOp:
				if in.Op == token.ARROW {
					ch = in.X
				}
			case *ssa.Select:
				for _, st := range in.States {
					if st.Dir == types.RecvOnly && fc.neverClosed(st.Chan) {
						ch, pos = st.Chan, st.Pos
					}
				}
			case *ssa.Call:
				if callee := in.Call.StaticCallee(); callee != nil && callee.Pkg == fn.Pkg && len(callee.Blocks) > 0 && !in.Call.IsInvoke() {
					if c, p, ok := rangesUnclosed(fc, lc, callee, seen, depth+1); ok {
						return c, p, true
					}
				}
			}
			if ch != nil && fc.neverClosed(ch) && lc.InCycle(instr) {
				if !pos.IsValid() {
					pos = fn.Pos()
				}
				return fc.values[ch][0], pos, true
			}
		}
	}
	return nil, token.NoPos, false
}

// blocksOnField reports whether instr is an operation of kind that can
// only block: a receive (or a select of receives only) from fields nobody
// sends on or closes; a send on a field nobody receives from, unbuffered or
// in a loop.
func blocksOnField(fc *Chans, lc ssacfg.LoopCache, instr ssa.Instruction, kind chanop.Kind) (fieldBlock, bool) {
	switch in := instr.(type) {
	case *ssa.UnOp:
		if kind == chanop.Recv && in.Op == token.ARROW && fc.deadRecv(in.X) {
			return fieldBlock{kind: chanop.Recv, pos: in.Pos(), c: fc.values[in.X][0]}, true
		}
	case *ssa.Send:
		if kind == chanop.Send {
			return blockingSend(fc, lc, in, in.Chan, in.Pos())
		}
	case *ssa.Select:
		if !in.Blocking || len(in.States) == 0 {
			return fieldBlock{}, false
		}
		if kind == chanop.Recv {
			for _, st := range in.States {
				if st.Dir != types.RecvOnly || !fc.deadRecv(st.Chan) {
					return fieldBlock{}, false
				}
			}
			return fieldBlock{kind: chanop.Recv, pos: in.States[0].Pos, c: fc.values[in.States[0].Chan][0]}, true
		}
		if kind == chanop.Send && len(in.States) == 1 && in.States[0].Dir == types.SendOnly {
			return blockingSend(fc, lc, in, in.States[0].Chan, in.States[0].Pos)
		}
	}
	return fieldBlock{}, false
}

// blockingSend reports whether a send on ch that nothing else guards can
// block forever: nobody receives from the field (and it is unbuffered, or
// the send repeats), or a receiver of the unbuffered field can stop first.
func blockingSend(fc *Chans, lc ssacfg.LoopCache, instr ssa.Instruction, ch ssa.Value, pos token.Pos) (fieldBlock, bool) {
	c := fc.of(ch)
	if c == nil {
		return fieldBlock{}, false
	}
	if c.neverDrained() && (c.capacity == 0 || (lc != nil && lc.InCycle(instr))) {
		return fieldBlock{kind: chanop.Send, pos: pos, c: c}, true
	}
	for i := range c.abandons {
		// A receiver that answers on the channel it received from (a
		// flush handshake) is not stopped while it sends.
		if a := &c.abandons[i]; a.sel.Parent() != instr.Parent() {
			return fieldBlock{kind: chanop.Send, pos: pos, c: c, stopsFirst: true, abandon: a}, true
		}
	}
	return fieldBlock{}, false
}

// deadCase reports whether the test iff chooses a select case that
// receives from fields nobody feeds: a case that is never taken.
func (fc *Chans) deadCase(iff *ssa.If) bool {
	sel := pathsearch.SelectOf(iff)
	if sel == nil || fc == nil {
		return false
	}
	cmp := iff.Cond.(*ssa.BinOp)
	i, ok := ssacfg.IntConst(cmp.Y)
	if !ok || cmp.Op != token.EQL || i < 0 || int(i) >= len(sel.States) {
		return false
	}
	st := sel.States[i]
	return st.Dir == types.RecvOnly && fc.deadRecv(st.Chan)
}

// fieldAbandon is where a receiver of a channel field can leave without
// receiving: a select case other than the field's, and the path from it to
// a return that receives from the field no more.
type fieldAbandon struct {
	sel  *ssa.Select
	res  pathsearch.Result
	from ssacfg.Edge
}

// receivesAfter reports whether the function that starts g receives from
// c on every path from g to its return: it is the goroutine's receiver, and
// it does not stop first.
func receivesAfter(c *fieldChan, g *ssa.Go) bool {
	fn := g.Parent()
	ev := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
	for _, op := range c.ops {
		if op.Kind != chanop.Recv || op.Deferred || op.Instr.Parent() != fn {
			continue
		}
		if sel, ok := op.Instr.(*ssa.Select); ok {
			if e, ok := ssacfg.SelectCaseEdges(sel)[op.SelCase]; ok {
				ev.Enter[e] = 1
			}
			continue
		}
		ev.At[op.Instr] = 1
	}
	if len(ev.At)+len(ev.Enter) == 0 {
		return false
	}
	res := pathsearch.Query{
		From:   g,
		Weight: func(i ssa.Instruction) int { return ev.At[i] },
		Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
		Sink:   func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
	}.Run()
	return res.Found && res.Events > 0
}

// drainedOnClose reports whether the package drains c until it is closed
// and closes it: some function receives from c in a loop that only c's
// close ends (for range c { ... } with no break or return, as a Close
// method's goroutine does to let the senders finish; for { v, ok := <-c;
// if !ok { return }; ... }). Whichever receiver stops first, the drain
// takes what the senders still send, so none is left blocked for good.
func drainedOnClose(fc *Chans, c *fieldChan) bool {
	if !c.has(chanop.Close) {
		return false
	}
	for _, op := range c.ops {
		recv, ok := op.Instr.(*ssa.UnOp)
		if op.Kind != chanop.Recv || op.Deferred || !ok || !recv.CommaOk {
			continue
		}
		if untilClosed(fc, c, recv.Block()) {
			return true
		}
	}
	return false
}

// untilClosed reports whether the innermost loop holding b can be left
// only when a receive from c in it reports the channel closed.
func untilClosed(fc *Chans, c *fieldChan, b *ssa.BasicBlock) bool {
	h, body := pathsearch.InnermostLoop(b)
	if h == nil {
		return false
	}
	for x := range body {
		last := x.Instrs[len(x.Instrs)-1]
		if _, ok := last.(*ssa.Return); ok {
			return false
		}
		for i, s := range x.Succs {
			if body[s] {
				continue
			}
			iff, ok := last.(*ssa.If)
			if !ok || closedBranch(fc, c, iff.Cond) != i {
				return false // a way out other than the close
			}
		}
	}
	return true
}

// closedBranch returns which successor of an if on cond is taken when a
// receive from c reports the channel closed (cond is its ok, or !ok); -1
// when cond is no such test.
func closedBranch(fc *Chans, c *fieldChan, cond ssa.Value) int {
	closed := 1
	if u, ok := cond.(*ssa.UnOp); ok && u.Op == token.NOT {
		cond, closed = u.X, 0
	}
	ex, ok := cond.(*ssa.Extract)
	if !ok || ex.Index != 1 {
		return -1
	}
	u, ok := ex.Tuple.(*ssa.UnOp)
	if !ok || u.Op != token.ARROW || fc.of(u.X) != c {
		return -1
	}
	return closed
}

// abandons looks for receivers of c that can stop first: functions with a
// blocking select that receives from c in one case and, in another, can
// reach a return without receiving from (or closing) c again (one per
// function). A receiver that drains c in a deferred call does not stop first.
func abandons(fc *Chans, c *fieldChan) []fieldAbandon {
	if drainedOnClose(fc, c) {
		return nil
	}
	var out []fieldAbandon
	byFn := map[*ssa.Function][]chanop.Op{}
	var fns []*ssa.Function // in the order of c.ops, so reports do not vary between runs
	for _, op := range c.ops {
		fn := op.Instr.Parent()
		if _, ok := byFn[fn]; !ok {
			fns = append(fns, fn)
		}
		byFn[fn] = append(byFn[fn], op)
	}
	// receivesFrom tells whether a function of the package receives from
	// c itself (a drain called on the way out).
	receivesFrom := map[*ssa.Function]bool{}
	for fn, ops := range byFn {
		for _, op := range ops {
			if op.Kind != chanop.Send {
				receivesFrom[fn] = true
			}
		}
	}
	inLoop := calledInLoop(fc.funcs, fns)
nextFn:
	for _, fn := range fns {
		ops := byFn[fn]
		if inLoop[fn] {
			continue // its caller calls it again: returning is no stopping
		}
		drained := false
		for _, op := range ops {
			if op.Kind != chanop.Send && op.Deferred {
				drained = true
			}
		}
		if drained || defersCallTo(fn, receivesFrom) {
			continue
		}
		ev := pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}
		for _, op := range ops {
			w := 1
			switch op.Kind {
			case chanop.Send:
				continue
			case chanop.Close:
				w = pathsearch.Many
			}
			if sel, ok := op.Instr.(*ssa.Select); ok {
				if e, ok := ssacfg.SelectCaseEdges(sel)[op.SelCase]; ok {
					ev.Enter[e] = min(ev.Enter[e]+w, pathsearch.Many)
				}
				continue
			}
			ev.At[op.Instr] = min(ev.At[op.Instr]+w, pathsearch.Many)
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if call, ok := instr.(*ssa.Call); ok && receivesFrom[call.Call.StaticCallee()] {
					ev.At[instr] = pathsearch.Many
				}
			}
		}
		// A receive loop on the way out (for len(peers) > 0 { <-c }, for
		// range pending { <-c }) is taken to drain what was sent, as the
		// owner's receive loops are (loopExitsSatisfy).
		for _, op := range ops {
			if op.Kind == chanop.Recv {
				pathsearch.DrainLoopExits(ev, op.Instr.Block())
			}
		}
		for _, op := range ops {
			sel, ok := op.Instr.(*ssa.Select)
			if !ok || op.Kind != chanop.Recv || !sel.Blocking || len(sel.States) < 2 {
				continue
			}
			edges := ssacfg.SelectCaseEdges(sel)
			for i := range sel.States {
				e, ok := edges[i]
				if !ok || i == op.SelCase || sel.States[i].Chan == sel.States[op.SelCase].Chan {
					continue
				}
				if c2 := fc.of(sel.States[i].Chan); c2 != nil && sel.States[i].Dir == types.RecvOnly && lastWord(c, c2) {
					continue // the senders are done once they sent on c2
				}
				res := pathsearch.Query{
					Start:  e,
					Weight: func(i ssa.Instruction) int { return ev.At[i] },
					Enter:  func(e ssacfg.Edge) int { return ev.Enter[e] },
					Sink:   func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
				}.Run()
				if res.Found && res.Events == 0 {
					res.Blocks = append([]*ssa.BasicBlock{e.From}, res.Blocks...)
					out = append(out, fieldAbandon{sel: sel, res: res, from: e})
					continue nextFn
				}
			}
		}
	}
	return out
}

// defersCallTo reports whether fn defers a call of one of fns (or a
// closure that calls one).
func defersCallTo(fn *ssa.Function, fns map[*ssa.Function]bool) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			d, ok := instr.(*ssa.Defer)
			if !ok {
				continue
			}
			callee := d.Call.StaticCallee()
			if fns[callee] {
				return true
			}
			if mc, ok := d.Call.Value.(*ssa.MakeClosure); ok {
				callee = mc.Fn.(*ssa.Function)
			}
			if callee == nil {
				continue
			}
			if fns[callee] {
				return true
			}
			// defer func() { ...; c.drain() }()
			for _, cb := range callee.Blocks {
				for _, ci := range cb.Instrs {
					if call, ok := ci.(*ssa.Call); ok && fns[call.Call.StaticCallee()] {
						return true
					}
				}
			}
		}
	}
	return false
}

// lastWord reports whether every function that sends on c also sends on
// c2 and can send on c no more after it (c.readErr <- err; return after
// c.readOp <- op in a loop): a receiver that takes c2 has heard the sender's
// last word on c, and leaving then abandons nothing.
func lastWord(c, c2 *fieldChan) bool {
	c2Sends := map[*ssa.Function][]ssa.Instruction{}
	for _, op := range c2.ops {
		if op.Kind == chanop.Send {
			c2Sends[op.Instr.Parent()] = append(c2Sends[op.Instr.Parent()], op.Instr)
		}
	}
	cSends := map[ssa.Instruction]bool{}
	var senders []*ssa.Function
	for _, op := range c.ops {
		if op.Kind == chanop.Send {
			cSends[op.Instr] = true
			senders = append(senders, op.Instr.Parent())
		}
	}
	if len(senders) == 0 {
		return false
	}
	for _, fn := range senders {
		last := c2Sends[fn]
		if len(last) == 0 {
			return false
		}
		for _, from := range last {
			if Reaches(from, func(i ssa.Instruction) bool { return cSends[i] }) {
				return false
			}
		}
	}
	return true
}

// Reaches reports whether some path of from's function, after from,
// passes an instruction for which hit holds.
func Reaches(from ssa.Instruction, hit func(ssa.Instruction) bool) bool {
	b := from.Block()
	after := false
	for _, instr := range b.Instrs {
		if after && hit(instr) {
			return true
		}
		after = after || instr == from
	}
	seen := map[*ssa.BasicBlock]bool{}
	work := slices.Clone(b.Succs)
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		if seen[x] {
			continue
		}
		seen[x] = true
		for _, instr := range x.Instrs {
			if hit(instr) {
				return true
			}
		}
		work = append(work, x.Succs...)
	}
	return false
}

// calledInLoop tells, for each of fns, whether some function of the package
// (of funcs) calls it from inside a loop (for p.processWaitingQueue() {}).
func calledInLoop(funcs, fns []*ssa.Function) map[*ssa.Function]bool {
	want := map[*ssa.Function]bool{}
	for _, fn := range fns {
		want[fn] = true
	}
	out := map[*ssa.Function]bool{}
	lc := ssacfg.LoopCache{}
	for _, g := range funcs {
		for _, b := range g.Blocks {
			for _, instr := range b.Instrs {
				if c, ok := instr.(*ssa.Call); ok && want[c.Call.StaticCallee()] && lc.InCycle(instr) {
					out[c.Call.StaticCallee()] = true
				}
			}
		}
	}
	return out
}
