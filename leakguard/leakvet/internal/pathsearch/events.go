package pathsearch

import (
	"go/constant"
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
// to have received all that was sent. Not so a loop that can go round
// without receiving (a select with a default case) and whose test counts
// its rounds, not its receives: it can run out its bound before its
// receives have happened (for range 100 { select { case <-a: ...;
// default: } }).
func DrainLoopExits(ev Events, b *ssa.BasicBlock) {
	h, body := InnermostLoop(b)
	if h == nil {
		return
	}
	idle := IdleRound(h, body)
	for x := range body {
		if !OwnTestDrains(x, h, body, idle) {
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

// OwnTestDrains reports whether x, a block of the loop (h, body), ends
// with a test of the loop's own (LoopTest, or a CounterTest) that is taken
// to stop once every value is taken: always, unless the loop can go round
// without receiving (idle, from IdleRound) and the test counts rounds
// rather than receives.
func OwnTestDrains(x, h *ssa.BasicBlock, body map[*ssa.BasicBlock]bool, idle bool) bool {
	iff, ok := x.Instrs[len(x.Instrs)-1].(*ssa.If)
	inLoop := func(b *ssa.BasicBlock) bool { return body[b] }
	if !ok || !(LoopTest(x, h) || CounterTest(iff, inLoop)) {
		return false
	}
	return !idle || !countsRounds(iff.Cond, h, body)
}

// countsRounds reports whether cond, a loop's exit test, can end the loop
// after rounds that received nothing: a test of anything but a counter
// the loop carries (time, a call, a flag left to FlagLoopExits), or of a
// counter every round steps (i++ in the loop's post statement, go/ssa's
// range index). A counter stepped only where a value is received (n++ in
// each receiving case) counts receives, and a round without one leaves
// it alone.
func countsRounds(cond ssa.Value, h *ssa.BasicBlock, body map[*ssa.BasicBlock]bool) bool {
	cmp, ok := cond.(*ssa.BinOp)
	if !ok {
		return true
	}
	for _, v := range []ssa.Value{cmp.X, cmp.Y} {
		if add, ok := v.(*ssa.BinOp); ok && (add.Op == token.ADD || add.Op == token.SUB) {
			v = add.X
		}
		phi, ok := v.(*ssa.Phi)
		if !ok || !body[phi.Block()] {
			continue
		}
		for i, e := range phi.Edges {
			if !body[phi.Block().Preds[i]] {
				continue // the counter's start
			}
			step, ok := e.(*ssa.BinOp)
			if !ok || (step.Op != token.ADD && step.Op != token.SUB) || step.X != phi {
				return false // stepped on some ways round only
			}
		}
		return true
	}
	return true
}

// IdleRound reports whether the loop (h, body) has a way round, from h back
// to it, that receives nothing: one that leaves a non-blocking select by
// its default case and passes no receive, no blocking select and no other
// select case. Calls are not looked into.
func IdleRound(h *ssa.BasicBlock, body map[*ssa.BasicBlock]bool) bool {
	closed := map[ssacfg.Edge]bool{}   // a select case taken
	defaults := map[ssacfg.Edge]bool{} // a non-blocking select's default taken
	receives := map[*ssa.BasicBlock]bool{}
	for b := range body {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.UnOp:
				if in.Op == token.ARROW {
					receives[b] = true
				}
			case *ssa.Select:
				if in.Blocking {
					receives[b] = true
					continue
				}
				edges := ssacfg.SelectCaseEdges(in)
				for _, e := range edges {
					closed[e] = true
				}
				if e, ok := edges[len(in.States)-1]; ok && len(e.From.Succs) == 2 {
					defaults[ssacfg.Edge{From: e.From, To: e.From.Succs[1]}] = true
				}
			}
		}
	}
	if len(defaults) == 0 {
		return false
	}
	type state struct {
		b      *ssa.BasicBlock
		polled bool // left a select by its default
	}
	seen := map[state]bool{}
	var work []state
	push := func(s state) {
		if !seen[s] {
			seen[s] = true
			work = append(work, s)
		}
	}
	if receives[h] {
		return false
	}
	push(state{h, false})
	for len(work) > 0 {
		st := work[len(work)-1]
		work = work[:len(work)-1]
		for _, s := range st.b.Succs {
			e := ssacfg.Edge{From: st.b, To: s}
			if !body[s] || closed[e] {
				continue
			}
			polled := st.polled || defaults[e]
			if s == h {
				if polled {
					return true
				}
				continue
			}
			if !receives[s] {
				push(state{s, polled})
			}
		}
	}
	return false
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

// FlagLoopExits weighs as many the edges by which the innermost loop around
// recv is left once a flag set only after recv is set: a loop such as
// for !aReady || !bReady { select { case <-a: aReady = true; case <-b:
// bReady = true } } ends only when each of its receives has happened at
// least once. after is the block that starts right after the receive (the
// select case's body, or the receive's own block): a flag (a bool, or a
// value compared with nil) counts when it starts the loop at its zero
// value, and every value other than the loop's own it takes inside the
// loop arrives on an edge from a block after dominates.
func FlagLoopExits(ev Events, recv, after *ssa.BasicBlock) {
	h, body := InnermostLoop(recv)
	if h == nil || !body[after] {
		return
	}
	for x := range body {
		if _, ok := x.Instrs[len(x.Instrs)-1].(*ssa.If); !ok {
			continue
		}
		for _, s := range x.Succs {
			if body[s] {
				continue
			}
			for _, v := range setOnEdge(x, s, body) {
				if flagSetOnlyAfter(v, h, body, after) {
					ev.Enter[ssacfg.Edge{From: x, To: s}] = Many
					break
				}
			}
		}
	}
}

// setOnEdge returns the loop's flags known to be set (true, or not nil)
// when the path takes x→s: x's own test, and the tests of the chain of
// single predecessors inside the loop that led to x (the other operands of
// a && or ||).
func setOnEdge(x, s *ssa.BasicBlock, body map[*ssa.BasicBlock]bool) []ssa.Value {
	var out []ssa.Value
	for seen := 0; seen < len(body); seen++ {
		iff := x.Instrs[len(x.Instrs)-1].(*ssa.If)
		if v, ok := setBy(iff.Cond, s == x.Succs[0]); ok {
			out = append(out, v)
		}
		if len(x.Preds) != 1 || !body[x.Preds[0]] {
			break
		}
		p := x.Preds[0]
		if _, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If); !ok || p.Succs[0] == p.Succs[1] {
			break
		}
		x, s = p, x
	}
	return out
}

// setBy returns the flag cond shows set when it is taken to be taken (or,
// when !taken, not): v, !v, v != nil, v == nil, where v is a φ or the load
// of a variable's cell.
func setBy(cond ssa.Value, taken bool) (ssa.Value, bool) {
	for {
		u, ok := cond.(*ssa.UnOp)
		if !ok || u.Op != token.NOT {
			break
		}
		cond, taken = u.X, !taken
	}
	if isBool(cond.Type()) && isFlag(cond) {
		return cond, taken
	}
	cmp, ok := cond.(*ssa.BinOp)
	if !ok || (cmp.Op != token.EQL && cmp.Op != token.NEQ) {
		return nil, false
	}
	if cmp.Op == token.EQL {
		taken = !taken
	}
	for _, pair := range [][2]ssa.Value{{cmp.X, cmp.Y}, {cmp.Y, cmp.X}} {
		if c, isConst := pair[1].(*ssa.Const); isFlag(pair[0]) && isConst && c.IsNil() {
			return pair[0], taken
		}
	}
	return nil, false
}

func isFlag(v ssa.Value) bool {
	switch v := v.(type) {
	case *ssa.Phi:
		return true
	case *ssa.UnOp:
		_, ok := v.X.(*ssa.Alloc)
		return v.Op == token.MUL && ok
	}
	return false
}

// flagSetOnlyAfter reports whether flag (see setBy) can be set inside the
// loop only after the receive.
func flagSetOnlyAfter(flag ssa.Value, h *ssa.BasicBlock, body map[*ssa.BasicBlock]bool, after *ssa.BasicBlock) bool {
	if phi, ok := flag.(*ssa.Phi); ok {
		return setOnlyAfter(phi, h, body, after)
	}
	return cellSetOnlyAfter(flag.(*ssa.UnOp).X.(*ssa.Alloc), body, after)
}

// cellSetOnlyAfter is setOnlyAfter for a variable a closure captures (a
// cell): outside the loop only its zero value is stored in it, inside it
// only stores after dominates, and the closures that capture it only read
// it.
func cellSetOnlyAfter(cell *ssa.Alloc, body map[*ssa.BasicBlock]bool, after *ssa.BasicBlock) bool {
	set := 0
	for _, r := range *cell.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr != cell {
				return false // its address is stored elsewhere
			}
			switch {
			case body[r.Block()] && after.Dominates(r.Block()):
				set++
			case !body[r.Block()] && isZero(r.Val):
			default:
				return false
			}
		case *ssa.UnOp:
			if r.Op != token.MUL {
				return false
			}
		case *ssa.DebugRef:
		case *ssa.MakeClosure:
			fn := r.Fn.(*ssa.Function)
			for i, b := range r.Bindings {
				if b == cell && !onlyRead(fn.FreeVars[i]) {
					return false
				}
			}
		default:
			return false
		}
	}
	return set > 0
}

// onlyRead reports whether a closure only loads its free variable v.
func onlyRead(v *ssa.FreeVar) bool {
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.UnOp:
			if r.Op != token.MUL {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// isZero reports whether v is the constant false or nil.
func isZero(v ssa.Value) bool {
	c, ok := v.(*ssa.Const)
	return ok && (c.IsNil() || isBool(c.Type()) && !constant.BoolVal(c.Value))
}

func isBool(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.Bool
}

// setOnlyAfter reports whether the flag v, a φ of the loop's header h,
// enters the loop at its zero value and takes, inside the loop, no value
// but its own or one that arrives from a block after dominates.
func setOnlyAfter(v *ssa.Phi, h *ssa.BasicBlock, body map[*ssa.BasicBlock]bool, after *ssa.BasicBlock) bool {
	if v.Block() != h {
		return false
	}
	seen := map[*ssa.Phi]bool{}
	set := 0
	var check func(p *ssa.Phi) bool
	check = func(p *ssa.Phi) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		for i, e := range p.Edges {
			pred := p.Block().Preds[i]
			if p == v && !body[pred] {
				if !isZero(e) {
					return false // enters the loop set, or maybe set
				}
				continue
			}
			if after.Dominates(pred) {
				set++
				continue
			}
			inner, ok := e.(*ssa.Phi)
			if !ok || !body[inner.Block()] || !check(inner) {
				return false // set (or reset) without the receive
			}
		}
		return true
	}
	return check(v) && set > 0
}
