// Package ssacfg answers questions about SSA control flow and calls that
// every leakvet analyzer asks: which blocks form loops and how many times
// they run, which select case leads where, which calls are a given method,
// never return, end the goroutine or fail a test, or start and wait for a
// group of goroutines.
package ssacfg

import (
	"go/constant"
	"go/token"
	"go/types"
	"strings"
	"sync"

	"golang.org/x/tools/go/ssa"
)

// loops describes the cycles of one function's control-flow graph: which
// strongly connected component each block is in, and whether that
// component is a cycle at all.
type loops struct {
	comp   []int  // block index → component id
	cyclic []bool // component id → has a cycle
}

func loopsOf(fn *ssa.Function) *loops {
	n := len(fn.Blocks)
	l := &loops{comp: make([]int, n)}
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, s := range fn.Blocks[v].Succs {
			w := s.Index
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			id := len(l.cyclic)
			size := 0
			self := false
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				l.comp[w] = id
				size++
				if w == v {
					break
				}
			}
			for _, s := range fn.Blocks[v].Succs {
				if s.Index == v {
					self = true
				}
			}
			l.cyclic = append(l.cyclic, size > 1 || self)
		}
	}
	for i := range fn.Blocks {
		if index[i] < 0 {
			strong(i)
		}
	}
	return l
}

func (l *loops) InCycle(b *ssa.BasicBlock) bool { return l.cyclic[l.comp[b.Index]] }

func (l *loops) Same(a, b *ssa.BasicBlock) bool { return l.comp[a.Index] == l.comp[b.Index] }

// Header returns the block of b's loop that dominates the loop's other
// blocks: where the loop is entered and, for for/range loops, where its
// condition is tested.
func (l *loops) Header(b *ssa.BasicBlock) *ssa.BasicBlock {
	fn := b.Parent()
	for _, c := range fn.Blocks {
		if !l.Same(b, c) {
			continue
		}
		dominatesAll := true
		for _, d := range fn.Blocks {
			if l.Same(b, d) && !c.Dominates(d) {
				dominatesAll = false
				break
			}
		}
		if dominatesAll {
			return c
		}
	}
	return nil
}

// Nested reports whether b's loop holds another loop: more than one block
// of it is the target of a back edge.
func (l *loops) Nested(b *ssa.BasicBlock) bool {
	heads := 0
	for _, x := range b.Parent().Blocks {
		if !l.Same(x, b) {
			continue
		}
		for _, p := range x.Preds {
			if l.Same(p, b) && x.Dominates(p) {
				heads++
				break
			}
		}
	}
	return heads > 1
}

// LoopCache memoises loopsOf per function for one pass. A cache held in an
// analyzer's result (chanflow's) is read by the analyzers that require it,
// which the checker runs at once, so every cache is guarded by loopCacheMu.
type LoopCache map[*ssa.Function]*loops

var loopCacheMu sync.Mutex

func (c LoopCache) Of(fn *ssa.Function) *loops {
	loopCacheMu.Lock()
	l, ok := c[fn]
	loopCacheMu.Unlock()
	if ok {
		return l
	}
	l = loopsOf(fn)
	loopCacheMu.Lock()
	defer loopCacheMu.Unlock()
	if prev, ok := c[fn]; ok {
		return prev
	}
	c[fn] = l
	return l
}

func (c LoopCache) InCycle(instr ssa.Instruction) bool {
	b := instr.Block()
	return b != nil && c.Of(b.Parent()).InCycle(b)
}

// Edge is a control-flow edge.
type Edge struct{ From, To *ssa.BasicBlock }

// SelectCaseEdges maps each case of a select to the edge taken when it is
// chosen, by following the "index == i" tests go/ssa lowers a select to
// (empty cases share their target block, so the edge, not the block, tells
// them apart). A case it cannot map is absent.
func SelectCaseEdges(sel *ssa.Select) map[int]Edge {
	out := map[int]Edge{}
	for _, r := range *sel.Referrers() {
		ex, ok := r.(*ssa.Extract)
		if !ok || ex.Index != 0 {
			continue
		}
		for _, r2 := range *ex.Referrers() {
			cmp, ok := r2.(*ssa.BinOp)
			if !ok || cmp.Op != token.EQL {
				continue
			}
			c, ok := cmp.Y.(*ssa.Const)
			if !ok || c.Value == nil || c.Value.Kind() != constant.Int {
				continue
			}
			i, _ := constant.Int64Val(c.Value)
			for _, r3 := range *cmp.Referrers() {
				if iff, ok := r3.(*ssa.If); ok {
					out[int(i)] = Edge{iff.Block(), iff.Block().Succs[0]}
				}
			}
		}
	}
	return out
}

// IsMethod reports whether call is a static call of the method pkgPath.typ.name
// (pointer receiver or not).
func IsMethod(call *ssa.CallCommon, pkgSuffix, typ, name string) bool {
	fn := call.StaticCallee()
	if fn == nil || fn.Signature.Recv() == nil || fn.Name() != name {
		return false
	}
	return IsNamed(fn.Signature.Recv().Type(), pkgSuffix, typ)
}

func IsNamed(t types.Type, pkgSuffix, typ string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Name() != typ {
		return false
	}
	path := n.Obj().Pkg().Path()
	return path == pkgSuffix || hasSuffixPath(path, pkgSuffix)
}

func hasSuffixPath(path, suffix string) bool {
	return len(path) > len(suffix) && path[len(path)-len(suffix)-1] == '/' && path[len(path)-len(suffix):] == suffix
}

func IsFunc(call *ssa.CallCommon, pkg string, names ...string) bool {
	fn := call.StaticCallee()
	if fn == nil || fn.Pkg == nil || fn.Signature.Recv() != nil || fn.Pkg.Pkg.Path() != pkg {
		return false
	}
	for _, n := range names {
		if fn.Name() == n {
			return true
		}
	}
	return false
}

func BuiltinName(call *ssa.CallCommon) string {
	if b, ok := call.Value.(*ssa.Builtin); ok {
		return b.Name()
	}
	return ""
}

// noReturn reports whether a call ends the goroutine or the process, so a
// path through it reaches no return: os.Exit, log.Fatal, runtime.Goexit and
// the testing methods that call it.
func noReturn(call *ssa.CallCommon) bool {
	if IsFunc(call, "os", "Exit") || IsFunc(call, "log", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln") {
		return true
	}
	return stopsGoroutine(call)
}

// stopsGoroutine reports whether call ends the calling goroutine but not the
// process (runtime.Goexit, t.Fatal): what it leaves blocked stays blocked.
func stopsGoroutine(call *ssa.CallCommon) bool {
	if IsFunc(call, "runtime", "Goexit") {
		return true
	}
	fn := call.StaticCallee()
	if fn != nil && fn.Signature.Recv() != nil {
		switch fn.Name() {
		case "Fatal", "Fatalf", "FailNow", "Skip", "Skipf", "SkipNow":
			t := fn.Signature.Recv().Type()
			return IsNamed(t, "testing", "common") || IsNamed(t, "testing", "T") || IsNamed(t, "testing", "B") || IsNamed(t, "log", "Logger")
		}
	}
	if call.IsInvoke() && call.Method != nil {
		switch call.Method.Name() {
		case "Fatal", "Fatalf", "FailNow", "SkipNow", "Skip", "Skipf":
			return IsNamed(call.Value.Type(), "testing", "TB")
		}
	}
	return false
}

// EndsPath reports whether instr ends every path through it without a
// return: a panic or a call that never returns.
func EndsPath(instr ssa.Instruction) bool {
	switch in := instr.(type) {
	case *ssa.Panic:
		return true
	case *ssa.Call:
		return noReturn(&in.Call)
	}
	return false
}

// ConstTrips returns how many times the loop holding b runs when that is a
// constant: for i := 0; i < K; i++ and for range K. Otherwise 0.
func (l *loops) ConstTrips(b *ssa.BasicBlock) int {
	for _, x := range b.Parent().Blocks {
		if !l.Same(x, b) {
			continue
		}
		if k := TripsAt(x, func(y *ssa.BasicBlock) bool { return l.Same(y, b) }); k > 0 {
			return k
		}
	}
	return 0
}

// TripsAt returns the constant trip count of the loop (blocks for which
// inLoop holds) if x holds its test: i < K (or i+1 < K, go/ssa's range
// index) with i counting up by one from a constant and K a known length
// (KnownLen). Otherwise 0.
func TripsAt(x *ssa.BasicBlock, inLoop func(*ssa.BasicBlock) bool) int {
	iff, ok := x.Instrs[len(x.Instrs)-1].(*ssa.If)
	if !ok || (inLoop(x.Succs[0]) && inLoop(x.Succs[1])) {
		return 0
	}
	cmp, ok := iff.Cond.(*ssa.BinOp)
	if !ok || cmp.Op != token.LSS {
		return 0
	}
	k, ok := KnownLen(cmp.Y)
	if !ok {
		return 0
	}
	v, plus := cmp.X, int64(0)
	if add, ok := v.(*ssa.BinOp); ok && add.Op == token.ADD {
		if plus, ok = IntConst(add.Y); !ok {
			return 0
		}
		v = add.X
	}
	phi, ok := v.(*ssa.Phi)
	if !ok || len(phi.Edges) != 2 {
		return 0
	}
	var start int64
	zero, step := false, false
	for _, e := range phi.Edges {
		if n, ok := IntConst(e); ok && n >= -1 {
			zero, start = true, n
		}
		if add, ok := e.(*ssa.BinOp); ok && add.Op == token.ADD && add.X == phi {
			if n, ok := IntConst(add.Y); ok && n == 1 {
				step = true
			}
		}
	}
	if !zero || !step {
		return 0
	}
	// The body runs for i = start, start+1, ... while i+plus < K; go/ssa's
	// for range K tests at the bottom, after a first round its guard
	// (0 < K) lets through.
	trips := k - plus - start
	if phi.Block().Comment == "rangeint.body" {
		trips++
	}
	if trips > 0 {
		return int(trips)
	}
	return 0
}

// KnownLen returns v's value when it is known: an integer constant, or
// the length of an array, or of a slice of a whole array (a slice literal,
// []T{a, b, c}, is one of its array of three).
func KnownLen(v ssa.Value) (int64, bool) {
	if k, ok := IntConst(v); ok {
		return k, true
	}
	call, ok := v.(*ssa.Call)
	if !ok || BuiltinName(&call.Call) != "len" || len(call.Call.Args) != 1 {
		return 0, false
	}
	x := call.Call.Args[0]
	if sl, ok := x.(*ssa.Slice); ok && sl.Low == nil && sl.High == nil && sl.Max == nil {
		x = sl.X
	}
	t := x.Type().Underlying()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem().Underlying()
	}
	if arr, ok := t.(*types.Array); ok {
		return arr.Len(), true
	}
	return 0, false
}

func IntConst(v ssa.Value) (int64, bool) {
	c, ok := v.(*ssa.Const)
	if !ok || c.Value == nil || c.Value.Kind() != constant.Int {
		return 0, false
	}
	return constant.Int64Val(c.Value)
}

// FailsTest reports whether instr marks the running test failed
// (t.Error, t.Fatal and their kin): a path through it is a failing test,
// and what a failing test leaves blocked is noise next to its failure.
func FailsTest(instr ssa.Instruction) bool {
	c, ok := instr.(ssa.CallInstruction)
	if !ok {
		return false
	}
	call := c.Common()
	name := ""
	var recv types.Type
	if fn := call.StaticCallee(); fn != nil && fn.Signature.Recv() != nil {
		name, recv = fn.Name(), fn.Signature.Recv().Type()
	} else if call.IsInvoke() {
		name, recv = call.Method.Name(), call.Value.Type()
	}
	switch name {
	case "Error", "Errorf", "Fatal", "Fatalf", "Fail", "FailNow":
		if IsNamed(recv, "testing", "common") || IsNamed(recv, "testing", "T") ||
			IsNamed(recv, "testing", "B") || IsNamed(recv, "testing", "F") || IsNamed(recv, "testing", "TB") {
			return true
		}
		// testify's TestingT, an interface of *testing.T's methods that
		// assertion packages (testify's, and copies of it) take.
		if n, ok := types.Unalias(recv).(*types.Named); ok && call.IsInvoke() && n.Obj().Name() == "TestingT" {
			return true
		}
	}
	// testify's calls that always fail the test: assert's and require's
	// functions, and their Assertions' methods (a suite.Suite embeds
	// assert's, s.FailNow, and hands out both, s.Require().Fail).
	if IsTestify(call) {
		switch call.StaticCallee().Name() {
		case "Fail", "FailNow", "Failf", "FailNowf":
			return true
		}
	}
	return false
}

// IsTestify reports whether call statically calls a function of testify's
// assert or require package, or a method of their Assertions.
func IsTestify(call *ssa.CallCommon) bool {
	fn := call.StaticCallee()
	if fn == nil || fn.Pkg == nil {
		return false
	}
	switch fn.Pkg.Pkg.Path() {
	case "github.com/stretchr/testify/require", "github.com/stretchr/testify/assert":
	default:
		return false
	}
	if recv := fn.Signature.Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := types.Unalias(t).(*types.Named)
		return ok && n.Obj().Name() == "Assertions"
	}
	return true
}

// FailingReturn reports whether instr is a return of a non-nil error from
// a helper declared in a test file: its caller fails the test with it, and
// what a failing test leaves blocked is noise next to its failure.
func FailingReturn(instr ssa.Instruction) bool {
	ret, ok := instr.(*ssa.Return)
	if !ok || len(ret.Results) == 0 {
		return false
	}
	fn := ret.Parent()
	if fn.Prog == nil || !strings.HasSuffix(fn.Prog.Fset.Position(fn.Pos()).Filename, "_test.go") {
		return false
	}
	last := ret.Results[len(ret.Results)-1]
	if !types.Identical(last.Type(), types.Universe.Lookup("error").Type()) {
		return false
	}
	c, isConst := last.(*ssa.Const)
	return !isConst || !c.IsNil()
}

// IsGroupGo reports whether call is errgroup.Group.Go or sync.WaitGroup.Go:
// it starts its argument as a goroutine that the group's Wait waits for.
func IsGroupGo(call *ssa.CallCommon) bool {
	return IsMethod(call, "golang.org/x/sync/errgroup", "Group", "Go") ||
		IsMethod(call, "golang.org/x/sync/errgroup", "Group", "TryGo") ||
		IsMethod(call, "sync", "WaitGroup", "Go")
}

// IsWait reports whether call waits for a group of goroutines.
func IsWait(call *ssa.CallCommon) bool {
	return IsMethod(call, "golang.org/x/sync/errgroup", "Group", "Wait") || IsMethod(call, "sync", "WaitGroup", "Wait")
}

// CallsDone reports whether fn calls WaitGroup.Done anywhere.
func CallsDone(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if c, ok := instr.(ssa.CallInstruction); ok && IsMethod(c.Common(), "sync", "WaitGroup", "Done") {
				return true
			}
		}
	}
	return false
}

// GoTarget resolves the function a go statement runs: a function, a
// closure, or the method behind a method value.
func GoTarget(call *ssa.CallCommon) *ssa.Function {
	if call.IsInvoke() {
		return nil
	}
	fn := call.StaticCallee()
	if fn == nil {
		return nil
	}
	if fn.Synthetic != "" && strings.HasSuffix(fn.Name(), "$bound") {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if c, ok := instr.(*ssa.Call); ok {
					return c.Call.StaticCallee()
				}
			}
		}
	}
	return fn
}
