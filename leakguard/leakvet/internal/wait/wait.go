// Package wait holds leakwait: sync.WaitGroup misuse that leaves Wait
// blocked or lets it return while goroutines still run.
package wait

import (
	"fmt"
	"go/constant"
	"go/token"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// Analyzer reports sync.WaitGroup misuse that leaves Wait blocked, or
// lets it return while goroutines still run: Add inside the goroutine, a
// path of the goroutine that returns without Done, and Add(n) for n loop
// iterations when some iteration starts no goroutine.
var Analyzer = &analysis.Analyzer{
	Name:     "leakwait",
	Doc:      "report WaitGroup misuse that leaves a Wait blocked: Add inside the goroutine, Done missing on a path, Add(n) with an iteration that starts nothing",
	URL:      "https://github.com/trialwatch/trialwatch/tree/main/leakguard#leakvet",
	Requires: []*analysis.Analyzer{buildssa.Analyzer},
	Run:      Run,
}

// wgKey names a WaitGroup as the spawner sees it: a value of the spawner
// (a local variable's address, a parameter) and, for a field, its path.
type wgKey struct {
	base  ssa.Value
	field string
}

// Run is the Analyzer's run function, also called by leakvet's combined analyzer.
func Run(pass *analysis.Pass) (any, error) {
	ssaInfo := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	lc := ssacfg.LoopCache{}
	skipped := map[ssa.CallInstruction]bool{} // Adds reported as skipped, once each
	// A WaitGroup in a struct field may be waited for by another method.
	fieldWaits := map[string]ssa.CallInstruction{}
	for _, fn := range ssaInfo.SrcFuncs {
		for key, wait := range wgCalls(fn, "Wait", nil) {
			if tail := key.fieldTail(); tail != "" {
				fieldWaits[tail] = wait
			}
		}
	}
	for _, p := range ssaInfo.SrcFuncs {
		waits := wgCalls(p, "Wait", nil)
		adds := wgCalls(p, "Add", nil)
		for _, b := range p.Blocks {
			for _, instr := range b.Instrs {
				g, ok := instr.(*ssa.Go)
				if !ok {
					continue
				}
				target := ssacfg.GoTarget(&g.Call)
				if target == nil || target.Pkg != ssaInfo.Pkg || len(target.Blocks) == 0 {
					continue
				}
				resolve := func(v ssa.Value) (wgKey, bool) { return keyInGoroutine(g, target, v) }
				keys := wgCalls(target, "Done", resolve)
				for k, c := range wgCalls(target, "Add", resolve) {
					keys[k] = c
				}
				for key := range keys {
					wait, ok := waits[key]
					if !ok && key.fieldTail() != "" {
						wait, ok = fieldWaits[key.fieldTail()]
					}
					if !ok {
						continue
					}
					checkAddInside(pass, g, target, key, wait, adds, resolve)
					if _, counted := adds[key]; counted {
						// Only a goroutine its starter counted (Add before go)
						// owes a Done; a WaitGroup used as a latch (Done once,
						// by whoever fills a list first) owes none per goroutine.
						checkDoneMissing(pass, g, target, key, wait, resolve)
					}
					checkAddCount(pass, lc, g, target, key, wait, adds, skipped)
				}
			}
		}
	}
	return nil, nil
}

// wgCalls returns the calls of WaitGroup.method in fn by the WaitGroup
// they are on; resolve maps a receiver to its key (nil: fn's own values).
func wgCalls(fn *ssa.Function, method string, resolve func(ssa.Value) (wgKey, bool)) map[wgKey]ssa.CallInstruction {
	out := map[wgKey]ssa.CallInstruction{}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			c, ok := instr.(ssa.CallInstruction)
			if !ok || !ssacfg.IsMethod(c.Common(), "sync", "WaitGroup", method) || len(c.Common().Args) == 0 {
				continue
			}
			var key wgKey
			if resolve != nil {
				if key, ok = resolve(c.Common().Args[0]); !ok {
					continue
				}
			} else if key, ok = localKey(c.Common().Args[0]); !ok {
				continue
			}
			if _, dup := out[key]; !dup {
				out[key] = c
			}
		}
	}
	return out
}

// fieldTail is the key's path from its first field on, the same whichever
// variable holds the struct: how methods of one type name a field.
func (k wgKey) fieldTail() string {
	if i := strings.Index(k.field, "."); i >= 0 {
		return k.field[i:]
	}
	return ""
}

func localKey(v ssa.Value) (wgKey, bool) {
	switch v := v.(type) {
	case *ssa.Alloc, *ssa.Parameter, *ssa.FreeVar:
		return wgKey{base: v}, true
	case *ssa.FieldAddr:
		k, ok := localKey(v.X)
		return wgKey{base: k.base, field: k.field + "." + fieldName(v)}, ok
	case *ssa.UnOp:
		if v.Op == token.MUL {
			k, ok := localKey(v.X)
			return wgKey{base: k.base, field: k.field + "*"}, ok
		}
	}
	return wgKey{}, false
}

func fieldName(fa *ssa.FieldAddr) string {
	return fmt.Sprintf("(%s)#%d", fa.X.Type(), fa.Field)
}

// keyInGoroutine maps a receiver in the goroutine to the spawner's key:
// captured variables to the values the closure binds, parameters to the go
// statement's arguments.
func keyInGoroutine(g *ssa.Go, target *ssa.Function, v ssa.Value) (wgKey, bool) {
	switch v := v.(type) {
	case *ssa.FreeVar:
		mc, ok := g.Call.Value.(*ssa.MakeClosure)
		if !ok || mc.Fn != target {
			return wgKey{}, false
		}
		for i, fv := range target.FreeVars {
			if fv == v {
				return localKey(mc.Bindings[i])
			}
		}
	case *ssa.Parameter:
		if _, ok := g.Call.Value.(*ssa.MakeClosure); ok {
			return wgKey{}, false
		}
		for i, p := range target.Params {
			if p == v && i < len(g.Call.Args) {
				return localKey(g.Call.Args[i])
			}
		}
	case *ssa.FieldAddr:
		k, ok := keyInGoroutine(g, target, v.X)
		return wgKey{base: k.base, field: k.field + "." + fieldName(v)}, ok
	case *ssa.UnOp:
		if v.Op == token.MUL {
			k, ok := keyInGoroutine(g, target, v.X)
			return wgKey{base: k.base, field: k.field + "*"}, ok
		}
	}
	return wgKey{}, false
}

// checkAddInside: the goroutine counts itself, so the spawner's Wait can
// run before the Add and return while the goroutine still runs.
func checkAddInside(pass *analysis.Pass, g *ssa.Go, target *ssa.Function, key wgKey, wait ssa.CallInstruction, adds map[wgKey]ssa.CallInstruction, resolve func(ssa.Value) (wgKey, bool)) {
	if _, ok := adds[key]; ok {
		return // the spawner counts too: the goroutine may add for its own children
	}
	add, ok := wgCalls(target, "Add", resolve)[key]
	if !ok || signals(target, key, resolve) {
		return
	}
	diag.Report(pass, analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.WaitAddLate,
		Message: fmt.Sprintf("goroutine calls WaitGroup.Add at line %d after it has started: the Wait at line %d can see a zero count first and return while goroutines still run (call Add before the go statement)",
			diag.Line(pass, add.Common().Pos()), diag.Line(pass, wait.Common().Pos())),
		Related: []analysis.RelatedInformation{{Pos: add.Common().Pos(), Message: "Add inside the goroutine"}},
	})
}

// checkDoneMissing: a path of the goroutine pays fewer Dones than it owes
// (none, or fewer than the Add(c) that counts it alone), so Wait never
// returns.
func checkDoneMissing(pass *analysis.Pass, g *ssa.Go, target *ssa.Function, key wgKey, wait ssa.CallInstruction, resolve func(ssa.Value) (wgKey, bool)) {
	owed, add := owes(g, key)
	paid, path, ok := fewestDones(target, key, resolve)
	if !ok || paid >= owed {
		return
	}
	if owed > 1 {
		diag.Report(pass, analysis.Diagnostic{
			Pos:      g.Pos(),
			Category: diag.WaitNoDone,
			Message: fmt.Sprintf("goroutine calls WaitGroup.Done %s where the Add at line %d counts %d for it, on the path %s, so the Wait at line %d blocks forever",
				timesWord(paid), diag.Line(pass, add.Common().Pos()), owed, pathsearch.DescribePath(pass.Fset, path.Blocks, path.Sink), diag.Line(pass, wait.Common().Pos())),
			Related: []analysis.RelatedInformation{{Pos: wait.Common().Pos(), Message: "Wait blocks"}},
		})
		return
	}
	diag.Report(pass, analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.WaitNoDone,
		Message: fmt.Sprintf("goroutine returns without WaitGroup.Done (line %d) on the path %s, so the Wait at line %d blocks forever (defer the Done)",
			diag.Line(pass, path.Dones[0].Common().Pos()), pathsearch.DescribePath(pass.Fset, path.Blocks, path.Sink), diag.Line(pass, wait.Common().Pos())),
		Related: []analysis.RelatedInformation{{Pos: wait.Common().Pos(), Message: "Wait blocks"}},
	})
}

func timesWord(n int) string {
	switch n {
	case 0:
		return "no time"
	case 1:
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// donePath is the goroutine's path that pays the fewest Dones.
type donePath struct {
	pathsearch.Result
	Dones []ssa.CallInstruction // the goroutine's Dones on the WaitGroup, not deferred
}

// fewestDones returns the fewest Dones on the WaitGroup key the goroutine
// target pays on a path to a return (a deferred Done on every path), and
// that path. ok is false when it cannot tell: it pays nothing anywhere, it
// counts itself in (Add, work, Done: a path without that Add owes no Done,
// ldapserver's shutdown notifier), or it calls Done in a loop (per item,
// not for its own exit).
func fewestDones(target *ssa.Function, key wgKey, resolve func(ssa.Value) (wgKey, bool)) (int, donePath, bool) {
	var out donePath
	deferred := 0
	for _, b := range target.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Call:
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Add") {
					if k, ok := resolve(in.Call.Args[0]); ok && k == key {
						return 0, out, false
					}
				}
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Done") {
					if k, ok := resolve(in.Call.Args[0]); ok && k == key {
						out.Dones = append(out.Dones, in)
					}
				}
			case *ssa.Defer:
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Done") {
					deferred++
				} else if mc, ok := in.Call.Value.(*ssa.MakeClosure); ok && ssacfg.CallsDone(mc.Fn.(*ssa.Function)) {
					deferred++
				} else if callee := in.Call.StaticCallee(); callee != nil && ssacfg.CallsDone(callee) {
					deferred++
				}
			}
		}
	}
	if len(out.Dones) == 0 && deferred == 0 {
		return 0, out, false
	}
	lc := ssacfg.LoopCache{}
	isDone := map[ssa.Instruction]bool{}
	for _, d := range out.Dones {
		if lc.InCycle(d) {
			return 0, out, false
		}
		isDone[d] = true
	}
	out.Result = pathsearch.Query{
		Start: ssacfg.Edge{To: target.Blocks[0]},
		Weight: func(i ssa.Instruction) int {
			if isDone[i] {
				return 1
			}
			return 0
		},
		Enter: func(ssacfg.Edge) int { return 0 },
		Sink:  func(i ssa.Instruction) bool { _, ok := i.(*ssa.Return); return ok },
	}.Run()
	if !out.Found {
		return 0, out, false
	}
	return out.Events + deferred, out, true
}

// owes returns how many Dones the goroutine g owes the WaitGroup key: c,
// when the starter's one Add on it is a constant Add(c) that comes before
// g and g, started once, is the only thing of the starter that pays it
// (wg.Add(2); go func() { ...; wg.Done(); ...; wg.Done() }()); else one.
func owes(g *ssa.Go, key wgKey) (int, ssa.CallInstruction) {
	p := g.Parent()
	if (ssacfg.LoopCache{}).InCycle(g) {
		return 1, nil
	}
	var add ssa.CallInstruction
	total := 0
	for _, b := range p.Blocks {
		for _, instr := range b.Instrs {
			c, ok := instr.(ssa.CallInstruction)
			if !ok {
				continue
			}
			call := c.Common()
			if ssacfg.IsMethod(call, "sync", "WaitGroup", "Add") && len(call.Args) == 2 {
				if k, ok := localKey(call.Args[0]); ok && k == key {
					if add != nil {
						return 1, nil // several Adds: leakvet does not match them to goroutines
					}
					add = c
				}
			}
		}
		total += pays(b, key)
	}
	if add == nil || !add.Block().Dominates(g.Block()) {
		return 1, nil
	}
	n, ok := ssacfg.IntConst(add.Common().Args[1])
	if !ok || n < 2 {
		return 1, nil
	}
	// g must be the only payer, and pay by itself.
	if total != goPays(g, key) || delegates(g, key) || otherDoneCallers(g) {
		return 1, nil
	}
	return int(n), add
}

// checkAddCount: Add(n) before a loop that starts one goroutine per
// iteration, when an iteration can go round without starting it.
func checkAddCount(pass *analysis.Pass, lc ssacfg.LoopCache, g *ssa.Go, target *ssa.Function, key wgKey, wait ssa.CallInstruction, adds map[wgKey]ssa.CallInstruction, skipped map[ssa.CallInstruction]bool) {
	add, ok := adds[key]
	if !ok || skipped[add] {
		return
	}
	resolve := func(v ssa.Value) (wgKey, bool) { return keyInGoroutine(g, target, v) }
	if c, ok := add.Common().Args[1].(*ssa.Const); ok && c.Value != nil && c.Value.Kind() == constant.Int {
		if n, _ := constant.Int64Val(c.Value); n <= 1 {
			return
		}
	}
	if _, ok := wgCalls(target, "Done", resolve)[key]; !ok {
		return
	}
	p := g.Parent()
	l := lc.Of(p)
	gb := g.Block()
	if !l.InCycle(gb) || l.Same(add.Block(), gb) {
		return
	}
	// Another Add on the same WaitGroup inside this loop counts its goroutines
	// (wg.Add(1) before each go); the Add(n) is for another loop.
	for _, b := range p.Blocks {
		if !l.Same(b, gb) {
			continue
		}
		for _, instr := range b.Instrs {
			if c, ok := instr.(ssa.CallInstruction); ok && ssacfg.IsMethod(c.Common(), "sync", "WaitGroup", "Add") && len(c.Common().Args) > 0 {
				if k, ok := localKey(c.Common().Args[0]); ok && k == key {
					return
				}
			}
		}
	}
	if wait.Block() != nil && wait.Parent() == p && l.Same(wait.Block(), gb) {
		diag.Report(pass, analysis.Diagnostic{
			Pos:      g.Pos(),
			Category: diag.WaitInLoop,
			Message: fmt.Sprintf("WaitGroup.Add at line %d counts every loop iteration, but the Wait at line %d inside the loop waits for all of them in the first iteration and blocks forever (Wait after the loop)",
				diag.Line(pass, add.Common().Pos()), diag.Line(pass, wait.Common().Pos())),
			Related: []analysis.RelatedInformation{{Pos: wait.Common().Pos(), Message: "Wait inside the loop"}},
		})
		return
	}
	h := l.Header(gb)
	if h == nil || h == gb || l.Nested(gb) {
		return // nested loops: Add counts the product, and an empty inner loop is no skip
	}
	// Each iteration owes the Add its share of Dones: k for Add(k*len(x)),
	// or Add(c) before a loop of constant trip count K (k = c/K); else one.
	// An iteration pays by starting goroutines that call Done (g or any
	// other), calling Done itself, or calling a function of the package it
	// hands the WaitGroup to that does. Look for a way round the loop, from
	// its header back to it, that pays less.
	k := 1
	if !paidElsewhere(p, l, gb, key) {
		// The Add is this loop's alone: its count is the loop's to pay.
		k = perIteration(add.Common().Args[1], l.ConstTrips(gb))
	}
	skip, found := underpaid(l, h, gb, key, k)
	if !found {
		return
	}
	skipped[add] = true
	what := "skip this go statement"
	if k > 1 {
		what = fmt.Sprintf("start fewer than the %d goroutines it counts for each", k)
	}
	diag.Report(pass, analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.WaitAddSkipped,
		Message: fmt.Sprintf("WaitGroup.Add at line %d counts every loop iteration, but an iteration can %s (line %d), so the Wait at line %d blocks forever (Add(1) just before the go statement)",
			diag.Line(pass, add.Common().Pos()), what, diag.Line(pass, skipOrLoop(skip, h)), diag.Line(pass, wait.Common().Pos())),
		Related: []analysis.RelatedInformation{{Pos: add.Common().Pos(), Message: "Add for every iteration"}},
	})
}

// perIteration returns how many Dones each iteration of the loop owes an
// Add of n: the constant factor of n (Add(2*len(x))), or n over the loop's
// constant trip count when both are constants and divide; else one.
func perIteration(n ssa.Value, trips int) int {
	if c, ok := ssacfg.IntConst(n); ok && trips > 0 && c > 0 && c%int64(trips) == 0 {
		return int(c / int64(trips))
	}
	for {
		conv, ok := n.(*ssa.Convert)
		if !ok {
			break
		}
		n = conv.X
	}
	if m, ok := n.(*ssa.BinOp); ok && m.Op == token.MUL {
		if c, ok := ssacfg.IntConst(m.X); ok && c > 0 {
			return int(c)
		}
		if c, ok := ssacfg.IntConst(m.Y); ok && c > 0 {
			return int(c)
		}
	}
	return 1
}

// paidElsewhere reports whether some block of p outside gb's loop pays
// the WaitGroup key (Add(2*n) before two loops of n goroutines each): then
// the loop's share of the Add is not known, and only a way round it that
// pays nothing is taken to skip.
func paidElsewhere(p *ssa.Function, l interface {
	Same(a, b *ssa.BasicBlock) bool
}, gb *ssa.BasicBlock, key wgKey) bool {
	for _, b := range p.Blocks {
		if !l.Same(b, gb) && pays(b, key) > 0 {
			return true
		}
	}
	return false
}

// underpaid looks for a way round the loop of gb, from its header h back
// to it, that pays the WaitGroup key fewer than k Dones; it returns where
// that way turns back.
func underpaid(l interface {
	Same(a, b *ssa.BasicBlock) bool
}, h, gb *ssa.BasicBlock, key wgKey, k int) (token.Pos, bool) {
	type state struct {
		b    *ssa.BasicBlock
		paid int
	}
	start := state{h, min(pays(h, key), k)}
	seen := map[state]bool{start: true}
	work := []state{start}
	for len(work) > 0 {
		st := work[len(work)-1]
		work = work[:len(work)-1]
		for _, s := range st.b.Succs {
			if !l.Same(s, gb) {
				continue
			}
			if s == h {
				if st.paid < k {
					return branchPos(st.b), true
				}
				continue
			}
			next := state{s, min(st.paid+pays(s, key), k)}
			if !seen[next] {
				seen[next] = true
				work = append(work, next)
			}
		}
	}
	return token.NoPos, false
}

// pays counts the Dones on the WaitGroup key (the owner's own variable)
// that b's instructions pay for: a Done, a goroutine started that calls
// Done on it (if batch { go batchReader() } else { go reader() }), a call
// of the package's function that is handed the WaitGroup and calls Done.
func pays(b *ssa.BasicBlock, key wgKey) int {
	n := 0
	for _, instr := range b.Instrs {
		c, ok := instr.(ssa.CallInstruction)
		if !ok {
			continue
		}
		call := c.Common()
		if ssacfg.IsMethod(call, "sync", "WaitGroup", "Done") && len(call.Args) > 0 {
			if k, ok := localKey(call.Args[0]); ok && k == key {
				n++
			}
			continue
		}
		target := ssacfg.GoTarget(call)
		if target == nil || len(target.Blocks) == 0 {
			continue
		}
		if g, ok := instr.(*ssa.Go); ok {
			n += goPays(g, key)
			continue
		}
		if _, ok := instr.(*ssa.Call); ok && target.Pkg == b.Parent().Pkg && handsOver(call, key) && callsDoneDeep(target, 0) {
			n++
		}
	}
	return n
}

// otherDoneCallers reports whether g's starter starts, or calls, another
// function of the package that calls WaitGroup.Done on any WaitGroup: one
// leakvet may not have matched to g's (a receiver a closure captures reaches
// the callee through a cell), so g may not be the only payer.
func otherDoneCallers(g *ssa.Go) bool {
	for _, b := range g.Parent().Blocks {
		for _, instr := range b.Instrs {
			c, ok := instr.(ssa.CallInstruction)
			if !ok || instr == g {
				continue
			}
			if fn := ssacfg.GoTarget(c.Common()); fn != nil && fn.Pkg == g.Parent().Pkg && callsDoneDeep(fn, 0) {
				return true
			}
		}
	}
	return false
}

// delegates reports whether g's goroutine may leave some of its Dones on
// the WaitGroup key to others: goroutines it starts, or functions it calls
// or makes (other than the ones it defers) that call Done or are handed the
// WaitGroup (wg.Add(3); go func() { defer wg.Done(); for range 2 { go
// func() { defer wg.Done() }() } }()).
func delegates(g *ssa.Go, key wgKey) bool {
	target := ssacfg.GoTarget(&g.Call)
	if target == nil {
		return true
	}
	resolve := func(v ssa.Value) (wgKey, bool) { return keyInGoroutine(g, target, v) }
	for _, b := range target.Blocks {
		for _, instr := range b.Instrs {
			c, ok := instr.(ssa.CallInstruction)
			if !ok {
				continue
			}
			call := c.Common()
			if ssacfg.IsMethod(call, "sync", "WaitGroup", "Done") || ssacfg.IsMethod(call, "sync", "WaitGroup", "Add") {
				continue
			}
			if _, deferred := instr.(*ssa.Defer); deferred {
				continue // counted by fewestDones
			}
			for _, a := range call.Args {
				if k, ok := resolve(a); ok && k == key {
					return true
				}
			}
			if fn := ssacfg.GoTarget(call); fn != nil && fn.Parent() == target && callsDoneDeep(fn, 0) {
				return true
			}
		}
	}
	return false
}

// goPays returns how many Dones on the WaitGroup key the goroutine g
// pays: the fewest it calls on a way out (twice when every path calls Done
// twice, and never more than its poorest path, which would hide that
// path's under-payment), at least one when it calls Done at all.
func goPays(g *ssa.Go, key wgKey) int {
	target := ssacfg.GoTarget(&g.Call)
	if target == nil || len(target.Blocks) == 0 {
		return 0
	}
	resolve := func(v ssa.Value) (wgKey, bool) { return keyInGoroutine(g, target, v) }
	if _, ok := wgCalls(target, "Done", resolve)[key]; !ok {
		return 0
	}
	paid, _, ok := fewestDones(target, key, resolve)
	if !ok {
		return 1
	}
	return max(paid, 1)
}

// handsOver reports whether call passes the WaitGroup key as an argument.
func handsOver(call *ssa.CallCommon, key wgKey) bool {
	for _, a := range call.Args {
		if k, ok := localKey(a); ok && k == key {
			return true
		}
	}
	if mc, ok := call.Value.(*ssa.MakeClosure); ok {
		for _, a := range mc.Bindings {
			if k, ok := localKey(a); ok && k == key {
				return true
			}
		}
	}
	return false
}

// callsDoneDeep reports whether fn, or a function literal in it, calls
// WaitGroup.Done.
func callsDoneDeep(fn *ssa.Function, depth int) bool {
	if ssacfg.CallsDone(fn) {
		return true
	}
	if depth > 2 {
		return false
	}
	for _, a := range fn.AnonFuncs {
		if callsDoneDeep(a, depth+1) {
			return true
		}
	}
	return false
}

func skipOrLoop(skip token.Pos, h *ssa.BasicBlock) token.Pos {
	if skip.IsValid() {
		return skip
	}
	return h.Parent().Pos()
}

// branchPos is where the path leaves b's predecessor chain: the nearest
// position in b (a continue jumps from a block with no position of its
// own, so fall back to its instructions).
func branchPos(b *ssa.BasicBlock) token.Pos {
	for i := len(b.Instrs) - 1; i >= 0; i-- {
		if p := b.Instrs[i].Pos(); p.IsValid() {
			return p
		}
	}
	for _, pred := range b.Preds {
		if iff, ok := pred.Instrs[len(pred.Instrs)-1].(*ssa.If); ok {
			if p := iff.Cond.Pos(); p.IsValid() {
				return p
			}
		}
	}
	return token.NoPos
}

// signals reports whether the goroutine tells its spawner something (a
// send, a close, Done on another WaitGroup) the spawner may wait for before
// its Wait: then the Add may well come first.
func signals(fn *ssa.Function, key wgKey, resolve func(ssa.Value) (wgKey, bool)) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Send:
				return true
			case ssa.CallInstruction:
				call := in.Common()
				if ssacfg.BuiltinName(call) == "close" {
					return true
				}
				if ssacfg.IsMethod(call, "sync", "WaitGroup", "Done") {
					if k, ok := resolve(call.Args[0]); !ok || k != key {
						return true
					}
				}
			}
		}
	}
	return false
}
