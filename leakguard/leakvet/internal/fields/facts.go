package fields

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// processLifetime reports whether goroutines started by fn are meant to
// live as long as the process: started in a command (package main), by an
// init function, TestMain or under a sync.Once.
func processLifetime(fn *ssa.Function) bool {
	if fn.Pkg != nil && (fn.Pkg.Pkg.Name() == "main" || slices.Contains(strings.Split(fn.Pkg.Pkg.Path(), "/"), "cmd")) {
		// A command, or a package under a cmd/ directory (where Go projects
		// keep the code of their commands, beside the main packages).
		return true
	}
	for f := fn; f != nil; f = f.Parent() {
		if f.Signature.Recv() == nil && f.Parent() == nil {
			name := f.Name()
			if (name == "main" && f.Pkg != nil && f.Pkg.Pkg.Name() == "main") || name == "init" || strings.HasPrefix(name, "init#") || name == "TestMain" {
				return true
			}
			// An example stands for a program's main: what it starts is
			// meant to run as long as the program.
			if strings.HasPrefix(name, "Example") && strings.HasSuffix(f.Prog.Fset.Position(f.Pos()).Filename, "_test.go") {
				return true
			}
		}
		if f.Synthetic == "package initializer" {
			return true
		}
	}
	// A function literal run by sync.Once.Do: passed as a closure, or,
	// when it captures nothing, as the function itself.
	for f := fn; f.Parent() != nil; f = f.Parent() {
		for _, b := range f.Parent().Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.MakeClosure:
					if in.Fn != f {
						continue
					}
					for _, r := range *in.Referrers() {
						if c, ok := r.(*ssa.Call); ok && runsOnce(&c.Call, in) {
							return true
						}
					}
				case *ssa.Call:
					if runsOnce(&in.Call, f) {
						return true
					}
				}
			}
		}
	}
	return false
}

// runsOnce reports whether call runs fn at most once per value it makes:
// sync.Once.Do(fn), sync.OnceFunc(fn), sync.OnceValue(fn),
// sync.OnceValues(fn).
func runsOnce(call *ssa.CallCommon, fn ssa.Value) bool {
	if ssacfg.IsMethod(call, "sync", "Once", "Do") {
		return len(call.Args) == 2 && call.Args[1] == fn
	}
	callee := call.StaticCallee()
	if callee == nil {
		return false
	}
	if o := callee.Origin(); o != nil {
		callee = o
	}
	if callee.Pkg == nil || callee.Pkg.Pkg.Path() != "sync" || callee.Signature.Recv() != nil {
		return false
	}
	switch callee.Name() {
	case "OnceFunc", "OnceValue", "OnceValues":
		return len(call.Args) == 1 && call.Args[0] == fn
	}
	return false
}

// lifetimes extends processLifetime to the package's unexported functions
// that only process-lifetime code calls (a constructor called only from a
// sync.OnceValue), so the goroutines they start are the process's too.
type lifetimes struct {
	callers map[*ssa.Function][]*ssa.Function // static call sites' functions
	asValue map[*ssa.Function]bool            // used other than by a static call or a once
	once    map[*ssa.Function]bool            // run by sync.Once.Do or its kin
	memo    map[*ssa.Function]bool
}

func NewLifetimes(pkg *ssa.Package, fns []*ssa.Function) *lifetimes {
	lt := &lifetimes{callers: map[*ssa.Function][]*ssa.Function{}, asValue: map[*ssa.Function]bool{}, once: map[*ssa.Function]bool{}, memo: map[*ssa.Function]bool{}}
	// The package initializer and the function literals of package-level
	// variables (var x = sync.OnceValue(func() T { ... })) are not source
	// functions of buildssa's; their calls count too.
	var withInit func(fn *ssa.Function)
	withInit = func(fn *ssa.Function) {
		if fn == nil {
			return
		}
		fns = append(fns, fn)
		for _, a := range fn.AnonFuncs {
			withInit(a)
		}
	}
	fns = slices.Clone(fns)
	withInit(pkg.Func("init"))
	var ops []*ssa.Value
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				var callee ssa.Value
				if c, ok := instr.(ssa.CallInstruction); ok && !c.Common().IsInvoke() {
					callee = c.Common().Value
					if f, ok := callee.(*ssa.Function); ok {
						lt.callers[f] = append(lt.callers[f], fn)
					}
				}
				for _, op := range instr.Operands(ops[:0]) {
					f, ok := (*op).(*ssa.Function)
					if !ok || *op == callee {
						continue
					}
					if c, ok := instr.(*ssa.Call); ok && runsOnce(&c.Call, f) {
						lt.once[f] = true // once.Do(updateServerDate)
						continue
					}
					lt.asValue[f] = true
				}
			}
		}
	}
	return lt
}

func (lt *lifetimes) Process(fn *ssa.Function) bool { return lt.of(fn, 0) }

func (lt *lifetimes) of(fn *ssa.Function, depth int) bool {
	if v, ok := lt.memo[fn]; ok {
		return v
	}
	if processLifetime(fn) {
		lt.memo[fn] = true
		return true
	}
	lt.memo[fn] = false // recursion: not proven
	if depth > 3 || fn.Parent() != nil || ast.IsExported(fn.Name()) || lt.asValue[fn] || (len(lt.callers[fn]) == 0 && !lt.once[fn]) {
		return false
	}
	for _, c := range lt.callers[fn] {
		if !lt.of(c, depth+1) {
			return false
		}
	}
	lt.memo[fn] = true
	return true
}

// StartedOnce reports whether g runs at most once per process: its block
// is reached only when a compare-and-swap on a package-level variable
// succeeded (if !started.CompareAndSwap(false, true) { return }), a
// hand-made sync.Once.
func StartedOnce(g *ssa.Go) bool {
	for _, b := range g.Parent().Blocks {
		iff, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
		if !ok {
			continue
		}
		cond, swapped := iff.Cond, false
		if u, ok := cond.(*ssa.UnOp); ok && u.Op == token.NOT {
			cond, swapped = u.X, true
		}
		c, ok := cond.(*ssa.Call)
		if !ok || !casOnGlobal(&c.Call) {
			continue
		}
		won := b.Succs[0]
		if swapped {
			won = b.Succs[1]
		}
		if len(won.Preds) == 1 && won.Dominates(g.Block()) {
			return true
		}
	}
	return false
}

// casOnGlobal reports whether call is a compare-and-swap of sync/atomic on
// a package-level variable.
func casOnGlobal(call *ssa.CallCommon) bool {
	if len(call.Args) == 0 {
		return false
	}
	if _, ok := call.Args[0].(*ssa.Global); !ok {
		return false
	}
	fn := call.StaticCallee()
	if fn == nil || fn.Pkg == nil || fn.Pkg.Pkg.Path() != "sync/atomic" {
		return false
	}
	return strings.HasPrefix(fn.Name(), "CompareAndSwap")
}

func NewLoopFacts(pkg *ssa.Package) *LoopFacts {
	return &LoopFacts{pkg: pkg, never: map[*ssa.Function]bool{}, timer: map[*ssa.Function]token.Pos{}}
}

type LoopFacts struct {
	pkg *ssa.Package
	// Fields, when set, tells which channel fields nobody feeds: a
	// receive from one never happens, so a select case on it is no exit.
	Fields *Chans
	never  map[*ssa.Function]bool
	timer  map[*ssa.Function]token.Pos
}

// reachable visits the blocks of fn that can run, taking a receive from a
// timer channel to always succeed (nobody closes a Ticker's channel) and
// stopping at calls that never return.
func (lf *LoopFacts) reachable(fn *ssa.Function, visit func(ssa.Instruction) bool) {
	seen := make([]bool, len(fn.Blocks))
	work := []*ssa.BasicBlock{fn.Blocks[0]}
	seen[0] = true
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		goesOn := true
		for _, instr := range b.Instrs {
			if !visit(instr) {
				return
			}
			if ssacfg.EndsPath(instr) || lf.blocksForever(instr) {
				goesOn = false
				break
			}
			if c, ok := instr.(*ssa.Call); ok {
				if callee := c.Call.StaticCallee(); callee != nil && callee != fn && callee.Pkg == lf.pkg && len(callee.Blocks) > 0 && lf.NeverReturns(callee) {
					goesOn = false
					break
				}
			}
		}
		if !goesOn {
			continue
		}
		succs := b.Succs
		if iff, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If); ok {
			if ssacfg.RecvOkFromTimer(iff.Cond) || lf.Fields.recvOkAlways(iff.Cond) {
				succs = succs[:1]
			} else if lf.Fields.deadCase(iff) {
				succs = succs[1:]
			}
		}
		for _, s := range succs {
			if !seen[s.Index] {
				seen[s.Index] = true
				work = append(work, s)
			}
		}
	}
}

// blocksForever reports whether instr is a receive from channel fields
// nobody feeds: the path stops there.
func (lf *LoopFacts) blocksForever(instr ssa.Instruction) bool {
	if lf.Fields == nil {
		return false
	}
	_, ok := blocksOnField(lf.Fields, nil, instr, chanop.Recv)
	return ok
}

func (lf *LoopFacts) NeverReturns(fn *ssa.Function) bool {
	if v, ok := lf.never[fn]; ok {
		return v
	}
	lf.never[fn] = false // recursion: assume it returns
	returns := false
	lf.reachable(fn, func(instr ssa.Instruction) bool {
		if _, ok := instr.(*ssa.Return); ok {
			returns = true
			return false
		}
		return true
	})
	lf.never[fn] = !returns
	return !returns
}

// TimerWait returns where fn (or a never-returning callee) waits on a timer.
func (lf *LoopFacts) TimerWait(fn *ssa.Function) token.Pos {
	if p, ok := lf.timer[fn]; ok {
		return p
	}
	lf.timer[fn] = token.NoPos
	var found token.Pos
	lf.reachable(fn, func(instr ssa.Instruction) bool {
		switch in := instr.(type) {
		case *ssa.UnOp:
			if in.Op == token.ARROW && ssacfg.IsTimerChan(in.X) {
				found = in.Pos()
			}
		case *ssa.Select:
			for _, st := range in.States {
				if st.Dir == types.RecvOnly && ssacfg.IsTimerChan(st.Chan) {
					found = st.Pos
				}
			}
		case *ssa.Call:
			if ssacfg.IsFunc(&in.Call, "time", "Sleep") {
				found = in.Pos()
			} else if callee := in.Call.StaticCallee(); callee != nil && callee != fn && callee.Pkg == lf.pkg && len(callee.Blocks) > 0 && lf.NeverReturns(callee) {
				found = lf.TimerWait(callee)
			}
		}
		return !found.IsValid()
	})
	if !found.IsValid() {
		// A receive the SSA builder left without a position (range over
		// a ticker): report the function.
		found = lf.timerWaitNoPos(fn)
	}
	lf.timer[fn] = found
	return found
}

func (lf *LoopFacts) timerWaitNoPos(fn *ssa.Function) token.Pos {
	hit := false
	lf.reachable(fn, func(instr ssa.Instruction) bool {
		if in, ok := instr.(*ssa.UnOp); ok && in.Op == token.ARROW && ssacfg.IsTimerChan(in.X) {
			hit = true
		}
		return !hit
	})
	if !hit {
		return token.NoPos
	}
	var pos token.Pos
	if body := diag.FuncBody(fn); body != nil {
		ast.Inspect(body, func(n ast.Node) bool {
			if r, ok := n.(*ast.RangeStmt); ok && !pos.IsValid() {
				pos = r.For
			}
			return !pos.IsValid()
		})
	}
	if !pos.IsValid() {
		pos = fn.Pos()
	}
	return pos
}
