// Package diag reports leakvet's diagnostics, honouring the leakvet:ignore
// directive, and finds the syntax behind an SSA position.
package diag

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/ssa"
)

// ignoreDirective on the line of a report, or the line above it, silences
// the report: for goroutines that are meant to leak (a fixture, a test of
// the leak detectors themselves). Say why next to it.
const ignoreDirective = "leakvet:ignore"

// Report reports d unless an ignoreDirective silences it.
func Report(pass *analysis.Pass, d analysis.Diagnostic) {
	if f := FileOf(pass, d.Pos); f != nil {
		at := pass.Fset.Position(d.Pos).Line
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				l := pass.Fset.Position(c.Slash).Line
				if (l == at || l == at-1) && strings.Contains(c.Text, ignoreDirective) {
					return
				}
			}
		}
	}
	pass.Report(d)
}

// Line is the line number of pos.
func Line(pass *analysis.Pass, pos token.Pos) int { return pass.Fset.Position(pos).Line }

// FileOf returns the syntax tree of the file holding pos.
func FileOf(pass *analysis.Pass, pos token.Pos) *ast.File {
	for _, f := range pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}

// PathTo returns the syntax enclosing pos, innermost first.
func PathTo(pass *analysis.Pass, pos token.Pos) []ast.Node {
	f := FileOf(pass, pos)
	if f == nil {
		return nil
	}
	path, _ := astutil.PathEnclosingInterval(f, pos, pos)
	return path
}

// CapDesc describes a channel capacity for a message.
func CapDesc(c int64) string {
	if c == 0 {
		return "unbuffered"
	}
	return fmt.Sprintf("capacity %d", c)
}

// FuncBody returns the syntax of fn's body, or nil when fn has none.
func FuncBody(fn *ssa.Function) *ast.BlockStmt {
	switch s := fn.Syntax().(type) {
	case *ast.FuncDecl:
		return s.Body
	case *ast.FuncLit:
		return s.Body
	}
	return nil
}
