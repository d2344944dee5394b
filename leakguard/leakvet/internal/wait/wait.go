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
					checkAddCount(pass, lc, g, target, key, wait, adds, resolve)
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

// checkDoneMissing: a path of the goroutine returns without Done, so Wait
// never returns.
func checkDoneMissing(pass *analysis.Pass, g *ssa.Go, target *ssa.Function, key wgKey, wait ssa.CallInstruction, resolve func(ssa.Value) (wgKey, bool)) {
	var dones []ssa.Instruction
	for _, b := range target.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Call:
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Add") {
					if k, ok := resolve(in.Call.Args[0]); ok && k == key {
						// It counts itself in (Add, work, Done): a path
						// without that Add owes no Done (ldapserver's
						// shutdown notifier).
						return
					}
				}
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Done") {
					if k, ok := resolve(in.Call.Args[0]); ok && k == key {
						dones = append(dones, in)
					}
				}
			case *ssa.Defer:
				if ssacfg.IsMethod(&in.Call, "sync", "WaitGroup", "Done") {
					return // deferred: runs on every path
				}
				if mc, ok := in.Call.Value.(*ssa.MakeClosure); ok && ssacfg.CallsDone(mc.Fn.(*ssa.Function)) {
					return
				}
				if callee := in.Call.StaticCallee(); callee != nil && ssacfg.CallsDone(callee) {
					return
				}
			}
		}
	}
	if len(dones) == 0 {
		return
	}
	lc := ssacfg.LoopCache{}
	for _, d := range dones {
		if lc.InCycle(d) {
			return // Done per item of a loop: not the goroutine's own exit
		}
	}
	isDone := map[ssa.Instruction]bool{}
	for _, d := range dones {
		isDone[d] = true
	}
	res := pathsearch.Query{
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
	if !res.Found || res.Events > 0 {
		return
	}
	diag.Report(pass, analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.WaitNoDone,
		Message: fmt.Sprintf("goroutine returns without WaitGroup.Done (line %d) on the path %s, so the Wait at line %d blocks forever (defer the Done)",
			diag.Line(pass, dones[0].(ssa.CallInstruction).Common().Pos()), pathsearch.DescribePath(pass.Fset, res.Blocks, res.Sink), diag.Line(pass, wait.Common().Pos())),
		Related: []analysis.RelatedInformation{{Pos: wait.Common().Pos(), Message: "Wait blocks"}},
	})
}

// checkAddCount: Add(n) before a loop that starts one goroutine per
// iteration, when an iteration can go round without starting it.
func checkAddCount(pass *analysis.Pass, lc ssacfg.LoopCache, g *ssa.Go, target *ssa.Function, key wgKey, wait ssa.CallInstruction, adds map[wgKey]ssa.CallInstruction, resolve func(ssa.Value) (wgKey, bool)) {
	add, ok := adds[key]
	if !ok {
		return
	}
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
	// Go round the loop from its header back to it without passing g.
	seen := map[*ssa.BasicBlock]bool{h: true}
	work := []*ssa.BasicBlock{h}
	var skip token.Pos
	found := false
	for len(work) > 0 && !found {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		for _, s := range b.Succs {
			if s == gb || !l.Same(s, gb) || callsDoneOn(s, key) || startsCounted(s, key) {
				continue // (an iteration that calls Done itself, or starts another goroutine that does, is counted off)
			}
			if s == h {
				skip, found = branchPos(b), true
				break
			}
			if !seen[s] {
				seen[s] = true
				work = append(work, s)
			}
		}
	}
	if !found {
		return
	}
	diag.Report(pass, analysis.Diagnostic{
		Pos:      g.Pos(),
		Category: diag.WaitAddSkipped,
		Message: fmt.Sprintf("WaitGroup.Add at line %d counts every loop iteration, but an iteration can skip this go statement (line %d), so the Wait at line %d blocks forever (Add(1) just before the go statement)",
			diag.Line(pass, add.Common().Pos()), diag.Line(pass, skipOrLoop(skip, h)), diag.Line(pass, wait.Common().Pos())),
		Related: []analysis.RelatedInformation{{Pos: add.Common().Pos(), Message: "Add for every iteration"}},
	})
}

// callsDoneOn reports whether b calls Done on the WaitGroup key (the
// owner's own variable): an iteration that skips the go statement through b
// counts itself off.
func callsDoneOn(b *ssa.BasicBlock, key wgKey) bool {
	for _, instr := range b.Instrs {
		if c, ok := instr.(ssa.CallInstruction); ok && ssacfg.IsMethod(c.Common(), "sync", "WaitGroup", "Done") && len(c.Common().Args) > 0 {
			if k, ok := localKey(c.Common().Args[0]); ok && k == key {
				return true
			}
		}
	}
	return false
}

// startsCounted reports whether b starts a goroutine that calls Done on the
// WaitGroup key: an iteration that takes b instead of the go statement
// judged (if batch { go batchReader() } else { go reader() }) still
// starts one counted goroutine.
func startsCounted(b *ssa.BasicBlock, key wgKey) bool {
	for _, instr := range b.Instrs {
		g, ok := instr.(*ssa.Go)
		if !ok {
			continue
		}
		target := ssacfg.GoTarget(&g.Call)
		if target == nil || len(target.Blocks) == 0 {
			continue
		}
		if _, ok := wgCalls(target, "Done", func(v ssa.Value) (wgKey, bool) { return keyInGoroutine(g, target, v) })[key]; ok {
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
