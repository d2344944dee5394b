package leakvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanflow"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"golang.org/x/tools/go/analysis"
)

// makeCall finds the make(chan ...) call whose '(' is at lparen.
func makeCall(pass *analysis.Pass, lparen token.Pos) *ast.CallExpr {
	for _, n := range diag.PathTo(pass, lparen) {
		if c, ok := n.(*ast.CallExpr); ok && c.Lparen == lparen {
			return c
		}
	}
	return nil
}

// bufferFix sizes the channel to its number of senders: a constant when the
// goroutines are counted, len(xs) when one is started per element of xs.
func bufferFix(pass *analysis.Pass, f *chanflow.Flow, t *chanflow.Thread, total int) (analysis.SuggestedFix, bool) {
	call := makeCall(pass, f.Mk.Pos())
	if call == nil || len(call.Args) < 1 || len(call.Args) > 2 {
		return analysis.SuggestedFix{}, false
	}
	size := ""
	if total < pathsearch.Many {
		size = fmt.Sprint(total)
	} else if t.InLoop && t.Spawn.Parent() == f.Owner {
		for _, n := range diag.PathTo(pass, t.Spawn.Pos()) {
			if n.Pos() < call.End() {
				break // the loop is not after the make: no count to take
			}
			if r, ok := n.(*ast.RangeStmt); ok {
				switch types.Unalias(pass.TypesInfo.TypeOf(r.X)).Underlying().(type) {
				case *types.Slice, *types.Map, *types.Array:
					size = "len(" + types.ExprString(r.X) + ")"
				case *types.Basic: // range over an int
					size = types.ExprString(r.X)
				}
				break
			}
			if _, ok := n.(*ast.ForStmt); ok {
				break
			}
			if _, ok := n.(*ast.FuncLit); ok {
				break
			}
		}
	}
	if size == "" {
		return analysis.SuggestedFix{}, false
	}
	edit := analysis.TextEdit{Pos: call.Args[0].End(), End: call.Args[0].End(), NewText: []byte(", " + size)}
	if len(call.Args) == 2 {
		edit = analysis.TextEdit{Pos: call.Args[1].Pos(), End: call.Args[1].End(), NewText: []byte(size)}
	}
	return analysis.SuggestedFix{
		Message:   "buffer the channel to the number of senders (" + size + ")",
		TextEdits: []analysis.TextEdit{edit},
	}, true
}
