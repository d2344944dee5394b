// Package chanflow follows each channel made by make(chan) in a package
// through the variables, closures, calls and goroutines that use it, and
// answers path questions about its owner: where the owner stops taking
// part, which of its operations a path passes.
package chanflow

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"reflect"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/fields"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// Thread is the owner of a channel (the function that made it, or the
// caller it was returned to) or one goroutine that uses it.
type Thread struct {
	Root     *ssa.Function
	Spawn    ssa.Instruction // the go statement (or group.Go call); nil for the owner
	anchor   ssa.Instruction // where, in the owner's function, the goroutine is started
	InLoop   bool            // started once per iteration of a loop
	Trips    int             // when inLoop: the loop's constant trip count, or 0
	ViaGroup bool            // started by errgroup.Group.Go or sync.WaitGroup.Go
	Nested   bool            // started by another goroutine
	Ops      []chanop.Op
}

// Flow is everything leakvet knows about one make(chan).
type Flow struct {
	Mk       *ssa.MakeChan
	Capacity int64 // -1: not a constant
	Owner    *ssa.Function
	remake   ssa.Instruction    // reaching it again starts a new channel: the make, or the call returning it
	Threads  []*Thread          // threads[0] is the owner
	Escape   string             // why leakvet gave up on it; "" if it did not
	returned bool               // the owner returns it to its callers
	others   []pathsearch.Bound // the owner's other channels whose sends are known and few
}

func (f *Flow) OwnerThread() *Thread { return f.Threads[0] }

// Flows is the Analyzer's result: every channel made in the package.
type Flows struct {
	List []*Flow
	Lc   ssacfg.LoopCache
	Lf   *fields.LoopFacts
}

// Analyzer tracks the package's channels for leaksend and leakrecv.
var Analyzer = &analysis.Analyzer{
	Name:       "leakvetflow",
	Doc:        "tracks channels made in a package through closures, calls and goroutines (a helper of leaksend and leakrecv)",
	Requires:   []*analysis.Analyzer{buildssa.Analyzer},
	Run:        runFlows,
	ResultType: reflect.TypeFor[*Flows](),
}

func runFlows(pass *analysis.Pass) (any, error) {
	ssaInfo := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	res := &Flows{Lc: ssacfg.LoopCache{}, Lf: fields.NewLoopFacts(ssaInfo.Pkg)}
	callers := map[*ssa.Function][]*ssa.Call{}
	for _, fn := range ssaInfo.SrcFuncs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if c, ok := instr.(*ssa.Call); ok {
					if callee := c.Call.StaticCallee(); callee != nil {
						callers[callee] = append(callers[callee], c)
					}
				}
			}
		}
	}
	for _, fn := range ssaInfo.SrcFuncs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				mk, ok := instr.(*ssa.MakeChan)
				if !ok {
					continue
				}
				f := trackChan(res.Lc, ssaInfo.Pkg, mk, fn, mk, mk, nil)
				if f.Escape == "" && f.returned && len(f.OwnerThread().Ops) == 0 {
					// The function only starts goroutines on the channel and
					// hands it over: its callers in this package own it.
					for _, call := range callers[fn] {
						res.List = append(res.List, trackChan(res.Lc, ssaInfo.Pkg, mk, call.Parent(), call, call, f))
					}
					continue
				}
				res.List = append(res.List, f)
			}
		}
	}
	boundOthers(res)
	return res, nil
}

// trackChan follows the channel v (mk, or a call returning the channel made
// by maker's make) through owner. When maker is non-nil, its goroutines are
// the new flow's goroutines, started at the call v.
func trackChan(lc ssacfg.LoopCache, pkg *ssa.Package, mk *ssa.MakeChan, owner *ssa.Function, v ssa.Value, remake ssa.Instruction, maker *Flow) *Flow {
	f := &Flow{Mk: mk, Capacity: -1, Owner: owner, remake: remake}
	if c, ok := mk.Size.(*ssa.Const); ok && c.Value != nil && c.Value.Kind() == constant.Int {
		f.Capacity, _ = constant.Int64Val(c.Value)
	}
	f.Threads = []*Thread{{Root: owner}}
	if maker != nil {
		call := v.(*ssa.Call)
		for _, t := range maker.Threads[1:] {
			nt := *t
			nt.anchor = call
			nt.InLoop = t.InLoop // each call makes a new channel
			f.Threads = append(f.Threads, &nt)
		}
	}
	w := &walker{pkg: pkg, lc: lc, flow: f, seen: map[seenKey]bool{}}
	w.value(v, f.Threads[0], nil, false, 0)
	if maker != nil && f.returned {
		f.Escape = "returned again by " + owner.Name()
	}
	return f
}

// seenKey is a value followed in a thread, from one call site of the
// thread's root (a helper called twice receives twice).
type seenKey struct {
	v  ssa.Value
	t  *Thread
	at ssa.Instruction
}

type walker struct {
	pkg  *ssa.Package
	lc   ssacfg.LoopCache
	flow *Flow
	seen map[seenKey]bool
}

func (w *walker) giveUp(format string, args ...any) {
	if w.flow.Escape == "" {
		w.flow.Escape = fmt.Sprintf(format, args...)
	}
}

func (w *walker) op(t *Thread, kind chanop.Kind, instr ssa.Instruction, selCase int, guarded, deferred bool, at ssa.Instruction) {
	if at == nil {
		at = instr
	}
	t.Ops = append(t.Ops, chanop.Op{Kind: kind, Instr: instr, SelCase: selCase, Guarded: guarded, Deferred: deferred, At: at})
}

// local reports whether fn is this package's own function with a body, so
// leakvet can follow the channel into it.
func (w *walker) local(fn *ssa.Function) bool {
	return fn != nil && fn.Pkg == w.pkg && len(fn.Blocks) > 0
}

// newThread starts a goroutine thread at spawn, which runs in parent.
func (w *walker) newThread(parent *Thread, spawn ssa.Instruction, root *ssa.Function, at ssa.Instruction, viaGroup bool) *Thread {
	for _, t := range w.flow.Threads[1:] {
		if t.Spawn == spawn {
			return t
		}
	}
	t := &Thread{Root: root, Spawn: spawn, ViaGroup: viaGroup}
	if parent == w.flow.OwnerThread() {
		t.anchor = spawn
		if at != nil {
			t.anchor = at
		}
		t.InLoop = w.repeats(spawn) || (at != nil && w.repeats(at))
		if t.InLoop && at == nil {
			t.Trips = w.lc.Of(spawn.Parent()).ConstTrips(spawn.Block())
		}
	} else {
		t.anchor, t.Nested = parent.anchor, true
		t.InLoop = parent.InLoop || w.lc.InCycle(spawn)
	}
	w.flow.Threads = append(w.flow.Threads, t)
	return t
}

// repeats reports whether instr runs more than once per channel: it is in a
// loop, and the channel is not made anew in the same loop.
func (w *walker) repeats(instr ssa.Instruction) bool {
	if !w.lc.InCycle(instr) {
		return false
	}
	mk := w.flow.Mk
	if instr.Parent() != mk.Parent() {
		return true
	}
	if instr.Block() == mk.Block() {
		return false // any way round enters the block again, at the make
	}
	// Is there a way round from instr's block back to it that does not
	// make the channel again?
	start := instr.Block()
	seen := map[*ssa.BasicBlock]bool{}
	work := []*ssa.BasicBlock{start}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		for _, s := range b.Succs {
			if s == start {
				return true
			}
			if s == mk.Block() || seen[s] {
				continue
			}
			seen[s] = true
			work = append(work, s)
		}
	}
	return false
}

// value follows the channel value v used in thread t; at is the call in
// t.root that led here (nil when v is in t.root itself).
func (w *walker) value(v ssa.Value, t *Thread, at ssa.Instruction, deferred bool, depth int) {
	if w.flow.Escape != "" || w.seen[seenKey{v, t, at}] {
		return
	}
	w.seen[seenKey{v, t, at}] = true
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.Send:
			if r.X == v {
				w.giveUp("sent on another channel")
				return
			}
			w.op(t, chanop.Send, r, -1, false, deferred, at)
		case *ssa.UnOp:
			if r.Op != token.ARROW {
				w.giveUp("used by %s", r)
				return
			}
			w.op(t, chanop.Recv, r, -1, false, deferred, at)
		case *ssa.Select:
			for i, st := range r.States {
				if st.Send == v {
					w.giveUp("sent on another channel")
					return
				}
				if st.Chan != v {
					continue
				}
				kind := chanop.Recv
				if st.Dir == types.SendOnly {
					kind = chanop.Send
				}
				w.op(t, kind, r, i, !r.Blocking || len(r.States) > 1, deferred, at)
			}
		case *ssa.BinOp: // ch == nil
		case *ssa.ChangeType:
			w.value(r, t, at, deferred, depth)
		case *ssa.Return:
			if t == w.flow.OwnerThread() && at == nil && !deferred {
				w.flow.returned = true
				continue
			}
			w.giveUp("returned from %s", r.Parent().Name())
		case *ssa.Store:
			if r.Val != v {
				w.giveUp("stored through")
				return
			}
			if alloc, ok := r.Addr.(*ssa.Alloc); ok {
				w.cell(alloc, v, t, at, deferred, depth)
				continue
			}
			w.giveUp("stored in memory leakvet does not follow")
		case *ssa.MakeClosure:
			for i, b := range r.Bindings {
				if b == v {
					w.closure(r, i, t, at, deferred, depth, false)
				}
			}
		case *ssa.Call:
			w.call(r, &r.Call, v, t, at, deferred, depth)
		case *ssa.Defer:
			w.call(r, &r.Call, v, t, at, true, depth)
		case *ssa.Go:
			callee := r.Call.StaticCallee()
			if !w.local(callee) || r.Call.IsInvoke() || depth >= chanop.MaxDepth {
				w.giveUp("passed to a goroutine leakvet cannot see")
				return
			}
			nt := w.newThread(t, r, callee, at, false)
			for i, a := range r.Call.Args {
				if a == v {
					w.value(callee.Params[i], nt, nil, false, depth+1)
				}
			}
		default:
			w.giveUp("used by %T", r)
			return
		}
	}
}

// call follows v passed to a call (or a deferred call) in thread t.
func (w *walker) call(instr ssa.Instruction, call *ssa.CallCommon, v ssa.Value, t *Thread, at ssa.Instruction, deferred bool, depth int) {
	switch ssacfg.BuiltinName(call) {
	case "close":
		w.op(t, chanop.Close, instr, -1, false, deferred, at)
		return
	case "len", "cap":
		return
	}
	callee := call.StaticCallee()
	if !w.local(callee) || call.IsInvoke() || depth >= chanop.MaxDepth {
		w.giveUp("passed to %s", call.Value.Name())
		return
	}
	if at == nil {
		at = instr
	}
	for i, a := range call.Args {
		if a == v {
			w.value(callee.Params[i], t, at, deferred, depth+1)
		}
	}
}

// cell follows a variable (alloc or a closure's captured pointer) that
// holds the channel; init is the value first stored in it.
func (w *walker) cell(p ssa.Value, init ssa.Value, t *Thread, at ssa.Instruction, deferred bool, depth int) {
	if w.flow.Escape != "" || w.seen[seenKey{p, t, at}] {
		return
	}
	w.seen[seenKey{p, t, at}] = true
	for _, r := range *p.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.UnOp:
			if r.Op != token.MUL {
				w.giveUp("variable used by %s", r)
				return
			}
			w.value(r, t, at, deferred, depth)
		case *ssa.Store:
			if r.Addr == p && r.Val == init {
				continue
			}
			w.giveUp("variable reassigned")
			return
		case *ssa.MakeClosure:
			for i, b := range r.Bindings {
				if b == p {
					w.closure(r, i, t, at, deferred, depth, true)
				}
			}
		default:
			w.giveUp("variable used by %T", r)
			return
		}
	}
}

// closure follows the closure mc, which captures the channel (or, if
// isCell, the variable holding it) as free variable i.
func (w *walker) closure(mc *ssa.MakeClosure, i int, t *Thread, at ssa.Instruction, deferred bool, depth int, isCell bool) {
	fn := mc.Fn.(*ssa.Function)
	fv := fn.FreeVars[i]
	follow := func(nt *Thread, nat ssa.Instruction, ndeferred bool) {
		if isCell {
			w.cell(fv, nil, nt, nat, ndeferred, depth+1)
		} else {
			w.value(fv, nt, nat, ndeferred, depth+1)
		}
	}
	if depth >= chanop.MaxDepth {
		w.giveUp("closures nested too deep")
		return
	}
	for _, r := range *mc.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.Go:
			if r.Call.Value != mc {
				w.giveUp("closure passed to a goroutine")
				return
			}
			follow(w.newThread(t, r, fn, at, false), nil, false)
		case *ssa.Defer:
			if r.Call.Value != mc {
				w.giveUp("closure passed to a deferred call")
				return
			}
			nat := at
			if nat == nil {
				nat = r
			}
			follow(t, nat, true)
		case *ssa.Call:
			if r.Call.Value == mc {
				nat := at
				if nat == nil {
					nat = r
				}
				follow(t, nat, deferred)
				continue
			}
			if ssacfg.IsGroupGo(&r.Call) && len(r.Call.Args) == 2 && r.Call.Args[1] == mc {
				follow(w.newThread(t, r, fn, at, true), nil, false)
				continue
			}
			w.giveUp("closure passed to %s", r.Call.Value.Name())
			return
		default:
			w.giveUp("closure used by %T", r)
			return
		}
	}
}
