// Package pathsearch finds the path through a function that reaches a sink
// (a blocking operation, a return) passing the fewest events (sends,
// receives, closes, Done calls): the "no path releases it" question every
// leakvet check asks, and the description of that path for a report.
package pathsearch

import (
	"container/heap"
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// Many stands for "more than any count we compare with": a close, or an
// unbounded number of senders.
const Many = 1 << 20

// Query asks for the path through fn, starting just after from, to a
// sink that passes the fewest events.
type Query struct {
	From   ssa.Instruction            // start after this instruction, or
	Start  ssacfg.Edge                // at the end of this edge when from is nil
	Weight func(ssa.Instruction) int  // events at an instruction
	Enter  func(ssacfg.Edge) int      // events on taking an edge (choosing a select case)
	Sink   func(ssa.Instruction) bool // where the path ends
	StopAt func(*ssa.BasicBlock) bool // blocks the path may not enter (nil: none)
	Bounds []Bound                    // other channels a path can take only so much from
}

// Bound is a channel other than the one asked about whose sends are known
// and few (a goroutine started once that sends once, outside loops, and no
// close): a path takes at most Sends values from it, and a receive past
// that blocks for good, so the path goes no further (go-commons-pool's
// test took one goroutine's only value twice on the path it was named by).
type Bound struct {
	Sends int
	Recvs Events // the path's receives on it, by count
}

// maxCounts bounds the product of the Bounds' counts (Sends+1 each) a
// Query follows: each is a copy of every block's states. The bounds past
// it are left out, which lets paths through and so loses no report.
const maxCounts = 16

// Result is the path a Query found, if any.
type Result struct {
	Found  bool
	Events int
	Sink   ssa.Instruction
	Blocks []*ssa.BasicBlock // from the start block to the sink's block
}

// Run is Dijkstra over blocks; a block's cost is the events in it before the
// path leaves it or reaches a sink. Paths end at panics and calls that never
// return without reaching a sink.
//
// A path that has passed no event yet is followed apart from the others (a
// block is a state twice: reached with no event, and with some): on it, a
// value whose only sources are constants and values that only an event
// yields (the receive a flag is set from) is known, so an if on it goes one
// way, and a testify assertion on it that fails ends the path as a failing
// test (pion/sctp's handshake loop runs out its bound, then asserts the flags
// only its receives set).
func (q Query) Run() Result {
	start := q.Start.To
	if q.From != nil {
		start = q.From.Block()
	}
	fn := start.Parent()
	n := len(fn.Blocks)
	const unseen = -1
	// A path's counts of receives on the bounds, as one number: bound i's
	// count is (code / stride[i]) % (Sends+1).
	var bounds []Bound
	var stride []int
	codes := 1
	for _, b := range q.Bounds {
		if b.Sends < 0 || codes*(b.Sends+1) > maxCounts {
			continue
		}
		bounds = append(bounds, b)
		stride = append(stride, codes)
		codes *= b.Sends + 1
	}
	// take adds k receives on bound i to code; false if they outrun its sends.
	take := func(code, i, k int) (int, bool) {
		if k == 0 {
			return code, true
		}
		if (code/stride[i])%(bounds[i].Sends+1)+k > bounds[i].Sends {
			return code, false
		}
		return code + k*stride[i], true
	}
	// state s is block (s%(2n))/2 with counts s/(2n), reached with no
	// event when s is odd.
	state := func(block, events, code int) int {
		s := code*2*n + 2*block
		if events == 0 {
			s++
		}
		return s
	}
	blockOf := func(s int) int { return s % (2 * n) / 2 }
	total := 2 * n * codes
	dist := make([]int, total)
	pred := make([]int, total)
	done := make([]bool, total)
	for i := range dist {
		dist[i], pred[i] = unseen, -1
	}
	var queue stateQueue
	known := eventFree{q}
	best := Result{Events: unseen}
	var bestState, bestPred int
	consider := func(events int, sink ssa.Instruction, s, from int) {
		if best.Events == unseen || events < best.Events {
			best = Result{Found: true, Events: events, Sink: sink}
			bestState, bestPred = s, from
		}
	}
	// scan walks b from instruction i; it returns the events passed, the
	// counts, and whether the path goes on to b's successors.
	scan := func(b *ssa.BasicBlock, i, events, code, predState int) (int, int, bool) {
		for _, instr := range b.Instrs[i:] {
			if ssacfg.FailingReturn(instr) {
				return events, code, false
			}
			if q.Sink(instr) {
				consider(events, instr, state(b.Index, events, code), predState)
				return events, code, false
			}
			if events == 0 && known.assertionFails(instr) {
				return events, code, false
			}
			for j, bd := range bounds {
				var ok bool
				if code, ok = take(code, j, bd.Recvs.At[instr]); !ok {
					return events, code, false // blocked for good
				}
			}
			events = min(events+q.Weight(instr), Many)
			if ssacfg.EndsPath(instr) || ssacfg.FailsTest(instr) {
				return events, code, false
			}
		}
		return events, code, true
	}
	relax := func(from *ssa.BasicBlock, events, code, fromState int) {
		succs := from.Succs
		if iff, ok := from.Instrs[len(from.Instrs)-1].(*ssa.If); ok {
			taken, ok := constCond(iff.Cond) // for range K guards its rotated loop with 0 < K.
			if !ok && events == 0 {
				taken, ok = known.boolean(iff.Cond)
			}
			if ssacfg.RecvOkFromTimer(iff.Cond) {
				succs = succs[:1] // nobody closes a ticker's channel
			} else if ok {
				if taken {
					succs = succs[:1]
				} else {
					succs = succs[1:]
				}
			}
		}
	succ:
		for _, s := range succs {
			if q.StopAt != nil && q.StopAt(s) {
				continue
			}
			edge := ssacfg.Edge{From: from, To: s}
			c := code
			for j, bd := range bounds {
				var ok bool
				if c, ok = take(c, j, bd.Recvs.Enter[edge]); !ok {
					continue succ // a select case with no value left
				}
			}
			e := min(events+q.Enter(edge), Many)
			to := state(s.Index, e, c)
			if dist[to] == unseen || e < dist[to] {
				dist[to], pred[to] = e, fromState
				heap.Push(&queue, queued{e, to})
			}
		}
	}
	idx, first := 0, 0
	if q.From == nil {
		first = q.Enter(q.Start)
	}
	for i, instr := range start.Instrs {
		if q.From != nil && instr == q.From {
			idx = i + 1
		}
	}
	if events, code, goesOn := scan(start, idx, first, 0, -1); goesOn {
		relax(start, events, code, state(start.Index, events, code))
	}
	// Dijkstra, taking the unfinished state of fewest events first, and of
	// these the lowest-numbered.
	for queue.Len() > 0 {
		top := heap.Pop(&queue).(queued)
		u := top.state
		if done[u] || top.events != dist[u] {
			continue // a stale entry
		}
		if best.Events != unseen && dist[u] >= best.Events {
			break
		}
		done[u] = true
		b := fn.Blocks[blockOf(u)]
		if events, code, goesOn := scan(b, 0, dist[u], u/(2*n), pred[u]); goesOn {
			relax(b, events, code, u)
		}
	}
	if !best.Found {
		return best
	}
	// Rebuild the block path backwards from the sink's block.
	rev := []*ssa.BasicBlock{fn.Blocks[blockOf(bestState)]}
	for s := bestPred; s >= 0 && len(rev) <= total; s = pred[s] {
		rev = append(rev, fn.Blocks[blockOf(s)])
		if blockOf(s) == start.Index {
			break
		}
	}
	for i := len(rev) - 1; i >= 0; i-- {
		best.Blocks = append(best.Blocks, rev[i])
	}
	return best
}

// queued is a state waiting in Run's queue with the events it was reached with.
type queued struct{ events, state int }

// stateQueue orders states by events, then by number (as a scan for the
// least would find them).
type stateQueue []queued

func (q stateQueue) Len() int { return len(q) }
func (q stateQueue) Less(i, j int) bool {
	if q[i].events != q[j].events {
		return q[i].events < q[j].events
	}
	return q[i].state < q[j].state
}
func (q stateQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *stateQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *stateQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// constCond evaluates a comparison of two integer constants, or of a value
// that cannot be nil with nil.
func constCond(cond ssa.Value) (bool, bool) {
	cmp, ok := cond.(*ssa.BinOp)
	if !ok {
		return false, false
	}
	if cmp.Op == token.EQL || cmp.Op == token.NEQ {
		for _, pair := range [][2]ssa.Value{{cmp.X, cmp.Y}, {cmp.Y, cmp.X}} {
			if c, ok := pair[1].(*ssa.Const); ok && c.IsNil() && nonNil(pair[0], 0) {
				return cmp.Op == token.NEQ, true
			}
		}
	}
	x, okx := ssacfg.IntConst(cmp.X)
	y, oky := ssacfg.IntConst(cmp.Y)
	if !okx || !oky {
		return false, false
	}
	switch cmp.Op {
	case token.LSS:
		return x < y, true
	case token.LEQ:
		return x <= y, true
	case token.GTR:
		return x > y, true
	case token.GEQ:
		return x >= y, true
	case token.EQL:
		return x == y, true
	case token.NEQ:
		return x != y, true
	}
	return false, false
}

// nonNil reports whether v cannot be nil: a channel, map or slice made
// here, or what a function of the package returns when each of its returns
// gives such a value (errCh := startMatcher(); if errCh == nil { ... }).
func nonNil(v ssa.Value, depth int) bool {
	switch v := v.(type) {
	case *ssa.MakeChan, *ssa.MakeMap, *ssa.Alloc, *ssa.MakeClosure:
		return true
	case *ssa.ChangeType:
		return nonNil(v.X, depth)
	case *ssa.UnOp:
		// A variable a closure captures: a load of its cell, which
		// every store fills with a value that cannot be nil.
		// (depth bounds a cell stored what is loaded from it, p = p.next.)
		cell, ok := v.X.(*ssa.Alloc)
		return ok && v.Op == token.MUL && depth <= 2 && storesNonNil(cell, depth)
	case *ssa.Call:
		fn := v.Call.StaticCallee()
		if fn == nil || depth > 2 || len(fn.Blocks) == 0 || fn.Signature.Results().Len() != 1 {
			return false
		}
		returns := 0
		for _, b := range fn.Blocks {
			if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
				if !nonNil(ret.Results[0], depth+1) {
					return false
				}
				returns++
			}
		}
		return returns > 0
	}
	return false
}

// storesNonNil reports whether every store to cell, in its function or
// in the closures that capture it, stores a value that cannot be nil, and
// at least one does.
func storesNonNil(cell *ssa.Alloc, depth int) bool {
	stores := 0
	var check func(addr ssa.Value) bool
	check = func(addr ssa.Value) bool {
		for _, r := range *addr.Referrers() {
			switch r := r.(type) {
			case *ssa.Store:
				if r.Addr != addr || !nonNil(r.Val, depth+1) {
					return false
				}
				stores++
			case *ssa.UnOp:
				// a load
			case *ssa.MakeClosure:
				fn := r.Fn.(*ssa.Function)
				for i, b := range r.Bindings {
					if b == addr && !check(fn.FreeVars[i]) {
						return false
					}
				}
			default:
				return false // its address goes elsewhere
			}
		}
		return true
	}
	return check(cell) && stores > 0
}

// LoopTest reports whether x ends with its loop's own test: an if, not a
// select's, in the loop's header, or, in the rotated loop go/ssa makes of
// for range K, the counter's test in the block that jumps back to it.
func LoopTest(x, h *ssa.BasicBlock) bool {
	iff, ok := x.Instrs[len(x.Instrs)-1].(*ssa.If)
	if x == h {
		return !ok || SelectOf(iff) == nil
	}
	if !ok || h.Comment != "rangeint.body" {
		return false
	}
	cmp, ok := iff.Cond.(*ssa.BinOp)
	if !ok || cmp.Op != token.LSS {
		return false
	}
	if add, ok := cmp.X.(*ssa.BinOp); !ok || add.Op != token.ADD {
		return false
	} else if phi, ok := add.X.(*ssa.Phi); !ok || phi.Block() != h {
		return false
	}
	for _, s := range x.Succs {
		if s == h {
			return true
		}
	}
	return false
}

// DescribePath names the branch points along blocks: the selects and ifs
// whose choice the path depends on, then the sink, as "line N: what".
func DescribePath(fset *token.FileSet, blocks []*ssa.BasicBlock, sink ssa.Instruction) string {
	var steps []string
	add := func(pos token.Pos, what string) {
		if !pos.IsValid() {
			return
		}
		s := fmt.Sprintf("%s at line %d", what, fset.Position(pos).Line)
		if len(steps) == 0 || steps[len(steps)-1] != s {
			steps = append(steps, s)
		}
	}
	for i, b := range blocks {
		if i == len(blocks)-1 {
			break
		}
		last := b.Instrs[len(b.Instrs)-1]
		if iff, ok := last.(*ssa.If); ok {
			if sel := SelectOf(iff); sel != nil {
				for c, e := range ssacfg.SelectCaseEdges(sel) {
					if e == (ssacfg.Edge{From: b, To: blocks[i+1]}) && c < len(sel.States) {
						add(sel.States[c].Pos, "select case")
					}
				}
				continue
			}
			if len(b.Succs) == 2 {
				if isRangeTest(iff) {
					continue
				}
				add(condPos(iff), "branch")
			}
		}
	}
	switch s := sink.(type) {
	case *ssa.Return:
		add(s.Pos(), "return")
		if !s.Pos().IsValid() {
			steps = append(steps, "return at the end of the function")
		}
	case *ssa.Call:
		if ssacfg.IsWait(&s.Call) {
			add(sinkPos(sink), "Wait")
		} else {
			add(sinkPos(sink), "the next call making the channel")
		}
	default:
		add(sinkPos(sink), "the next make of the channel")
	}
	return strings.Join(steps, " → ")
}

// condPos returns where iff's condition is written. A condition that is a
// variable as it stands (a phi, a parameter, a captured variable) has the
// variable's declaration as its position; then it is the first if or for
// condition naming the variable after what runs before iff (its block's
// and its nearest dominators' instructions, or the select case it is in).
func condPos(iff *ssa.If) token.Pos {
	var name string
	switch v := iff.Cond.(type) {
	case *ssa.Phi:
		name = v.Comment
	case *ssa.Parameter:
		name = v.Name()
	case *ssa.FreeVar:
		name = v.Name()
	default:
		return iff.Cond.Pos()
	}
	fn := iff.Parent()
	syntax := fn.Syntax()
	if syntax == nil || name == "" {
		return iff.Cond.Pos()
	}
	// The nearest block, from iff's up its dominators, that says where it
	// is: by a select case it is the body of, or by its instructions. (Not
	// the farthest: a select's block loads captured channels for its later
	// cases.)
	var after token.Pos
	for b := iff.Block(); b != nil && !after.IsValid(); b = b.Idom() {
		after = casePos(b)
		for _, instr := range b.Instrs {
			if _, ok := instr.(*ssa.Phi); !ok {
				after = max(after, instr.Pos())
			}
		}
	}
	best := token.NoPos
	ast.Inspect(syntax, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok && n != syntax {
			return false // another function's conditions
		}
		var cond ast.Expr
		switch n := n.(type) {
		case *ast.IfStmt:
			cond = n.Cond
		case *ast.ForStmt:
			cond = n.Cond
		}
		for _, id := range condIdents(cond) {
			if id.Name == name && id.Pos() > after && (!best.IsValid() || id.Pos() < best) {
				best = id.Pos()
			}
		}
		return true
	})
	if !best.IsValid() {
		return iff.Cond.Pos()
	}
	return best
}

// casePos returns the position of the select case whose body b is.
func casePos(b *ssa.BasicBlock) token.Pos {
	if len(b.Preds) != 1 {
		return token.NoPos
	}
	iff, ok := b.Preds[0].Instrs[len(b.Preds[0].Instrs)-1].(*ssa.If)
	if !ok {
		return token.NoPos
	}
	sel := SelectOf(iff)
	if sel == nil {
		return token.NoPos
	}
	for c, e := range ssacfg.SelectCaseEdges(sel) {
		if e.To == b && c < len(sel.States) {
			return sel.States[c].Pos
		}
	}
	return token.NoPos
}

// condIdents returns the variables a condition tests as they stand: x in
// x, !x, (x), x && y, x || y.
func condIdents(e ast.Expr) []*ast.Ident {
	switch e := e.(type) {
	case *ast.Ident:
		return []*ast.Ident{e}
	case *ast.ParenExpr:
		return condIdents(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			return condIdents(e.X)
		}
	case *ast.BinaryExpr:
		if e.Op == token.LAND || e.Op == token.LOR {
			return append(condIdents(e.X), condIdents(e.Y)...)
		}
	}
	return nil
}

func sinkPos(instr ssa.Instruction) token.Pos {
	if c, ok := instr.(ssa.CallInstruction); ok {
		return c.Common().Pos()
	}
	return instr.Pos()
}

// SelectOf returns the select whose case test iff is, if it is one.
func SelectOf(iff *ssa.If) *ssa.Select {
	cmp, ok := iff.Cond.(*ssa.BinOp)
	if !ok {
		return nil
	}
	ex, ok := cmp.X.(*ssa.Extract)
	if !ok || ex.Index != 0 {
		return nil
	}
	sel, _ := ex.Tuple.(*ssa.Select)
	return sel
}

func isRangeTest(iff *ssa.If) bool {
	ex, ok := iff.Cond.(*ssa.Extract)
	if !ok {
		return false
	}
	switch ex.Tuple.(type) {
	case *ssa.Next:
		return true
	}
	return false
}
