package pathsearch

import (
	"go/token"
	"go/types"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// Events weighs the owner's operations of some kinds on the channel for a
// path query: an operation in a select counts when its case's body is
// entered, any other where it (or the call leading to it) is.
type Events struct {
	At    map[ssa.Instruction]int
	Enter map[ssacfg.Edge]int
}

// DrainLoopExits weighs as many the edges by which the innermost loop
// around b is left through its own test: a receive loop so left is taken
// to have received all that was sent.
func DrainLoopExits(ev Events, b *ssa.BasicBlock) {
	h, body := InnermostLoop(b)
	if h == nil {
		return
	}
	for x := range body {
		iff, ok := x.Instrs[len(x.Instrs)-1].(*ssa.If)
		if !ok || !(LoopTest(x, h) || CounterTest(iff, func(b *ssa.BasicBlock) bool { return body[b] })) {
			continue
		}
		for _, s := range x.Succs {
			if !body[s] {
				ev.Enter[ssacfg.Edge{From: x, To: s}] = Many
			}
		}
	}
	// The guard (0 < n) in front of go/ssa's rotated for range n is
	// the loop's first test.
	for _, p := range h.Preds {
		if body[p] || h.Comment != "rangeint.body" {
			continue
		}
		if _, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If); ok && p.Succs[0] == h {
			ev.Enter[ssacfg.Edge{From: p, To: p.Succs[1]}] = Many
		}
	}
}

// InnermostLoop returns the header and blocks of the innermost natural loop
// holding b: the nearest dominator of b with a back edge whose loop
// reaches b (a block jumping back to itself is a loop too).
func InnermostLoop(b *ssa.BasicBlock) (*ssa.BasicBlock, map[*ssa.BasicBlock]bool) {
	for h := b; h != nil; h = h.Idom() {
		body := map[*ssa.BasicBlock]bool{h: true}
		self := false // a loop of one block (go/ssa's for range K with a body of one block)
		for _, p := range h.Preds {
			if !h.Dominates(p) {
				continue
			}
			self = self || p == h
			work := []*ssa.BasicBlock{p}
			for len(work) > 0 {
				x := work[len(work)-1]
				work = work[:len(work)-1]
				if body[x] {
					continue
				}
				body[x] = true
				work = append(work, x.Preds...)
			}
		}
		if (len(body) > 1 || self) && body[b] {
			return h, body
		}
	}
	return nil, nil
}

// CounterTest reports whether iff compares a counter the loop carries
// (an integer variable it changes, such as done++ in each receiving case)
// with a value the loop does not change: a loop test written at the
// bottom (for { select { ... done++ }; if done == 3 { return } }), which,
// like the loop's own test, is taken to stop once every value is taken.
func CounterTest(iff *ssa.If, inLoop func(*ssa.BasicBlock) bool) bool {
	cmp, ok := iff.Cond.(*ssa.BinOp)
	if !ok {
		return false
	}
	switch cmp.Op {
	case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
	default:
		return false
	}
	carried := func(v ssa.Value) bool {
		if add, ok := v.(*ssa.BinOp); ok && (add.Op == token.ADD || add.Op == token.SUB) {
			v = add.X
		}
		phi, ok := v.(*ssa.Phi)
		if !ok || !inLoop(phi.Block()) {
			return false
		}
		basic, ok := phi.Type().Underlying().(*types.Basic)
		return ok && basic.Info()&types.IsInteger != 0
	}
	invariant := func(v ssa.Value) bool {
		if instr, ok := v.(ssa.Instruction); ok && instr.Block() != nil {
			return !inLoop(instr.Block())
		}
		return true // a constant, parameter, global or free variable
	}
	return (carried(cmp.X) && invariant(cmp.Y)) || (carried(cmp.Y) && invariant(cmp.X))
}
