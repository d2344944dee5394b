// Package loop holds leakloop: a goroutine running a timer-driven loop
// with no way out.
package loop

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/fields"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// Analyzer reports goroutines that loop forever on a timer (a Ticker, a
// Timer, time.Tick, time.After or time.Sleep) with no way out: no
// ctx.Done() or stop-channel case that returns, no return at all.
var Analyzer = &analysis.Analyzer{
	Name:     "leakloop",
	Doc:      "report goroutines looping forever on a timer with no ctx.Done(), closed-channel or return path",
	URL:      "https://github.com/trialwatch/trialwatch/tree/main/leakguard#leakvet",
	Requires: []*analysis.Analyzer{buildssa.Analyzer, fields.Analyzer},
	Run:      Run,
}

// Run is the Analyzer's run function, also called by leakvet's combined analyzer.
func Run(pass *analysis.Pass) (any, error) {
	ssaInfo := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	lf := fields.NewLoopFacts(ssaInfo.Pkg)
	lf.Fields = pass.ResultOf[fields.Analyzer].(*fields.Chans)
	lt := fields.NewLifetimes(ssaInfo.Pkg, ssaInfo.SrcFuncs)
	for _, fn := range ssaInfo.SrcFuncs {
		if lt.Process(fn) {
			continue
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				g, ok := instr.(*ssa.Go)
				if !ok {
					continue
				}
				target := ssacfg.GoTarget(&g.Call)
				if target == nil || target.Pkg != ssaInfo.Pkg || len(target.Blocks) == 0 || fields.StartedOnce(g) || !lf.NeverReturns(target) {
					continue
				}
				timer := lf.TimerWait(target)
				if !timer.IsValid() {
					continue
				}
				d := analysis.Diagnostic{
					Pos:      g.Pos(),
					Category: diag.Loop,
					Message: fmt.Sprintf("goroutine leaks: %s loops forever waiting on the timer at line %d and no path returns: add a ctx.Done() (or stop channel) case that returns",
						describeFunc(target), diag.Line(pass, timer)),
					Related: []analysis.RelatedInformation{{Pos: timer, Message: "timer wait in an endless loop"}},
				}
				if fix, ok := ctxDoneFix(pass, target, fn); ok {
					d.SuggestedFixes = []analysis.SuggestedFix{fix}
				}
				diag.Report(pass, d)
			}
		}
	}
	return nil, nil
}

func describeFunc(fn *ssa.Function) string {
	if fn.Parent() != nil {
		return "the function literal"
	}
	return fn.Name()
}

// ctxDoneFix adds "case <-ctx.Done(): return" to the loop's select when a
// context.Context is in scope of the goroutine.
func ctxDoneFix(pass *analysis.Pass, target, spawner *ssa.Function) (analysis.SuggestedFix, bool) {
	ctxName := ""
	for _, vs := range [][]*ssa.Parameter{target.Params} {
		for _, p := range vs {
			if ssacfg.IsNamed(p.Type(), "context", "Context") {
				ctxName = p.Name()
			}
		}
	}
	for _, fv := range target.FreeVars {
		t := fv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if ssacfg.IsNamed(t, "context", "Context") {
			ctxName = fv.Name()
		}
	}
	body := diag.FuncBody(target)
	if ctxName == "" || body == nil {
		return analysis.SuggestedFix{}, false
	}
	var sel *ast.SelectStmt
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if s, ok := n.(*ast.SelectStmt); ok && sel == nil {
			sel = s
		}
		return sel == nil
	})
	if sel == nil || len(sel.Body.List) == 0 {
		return analysis.SuggestedFix{}, false
	}
	pos := sel.Body.List[0].Pos()
	indent := strings.Repeat("\t", pass.Fset.Position(pos).Column-1)
	text := "case <-" + ctxName + ".Done():\n" + indent + "\treturn\n" + indent
	return analysis.SuggestedFix{
		Message:   "return when " + ctxName + " is done",
		TextEdits: []analysis.TextEdit{{Pos: pos, End: pos, NewText: []byte(text)}},
	}, true
}
