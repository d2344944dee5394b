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

// The shapes of leak leakvet reports, each a diagnostic's Category. By
// default only those whose reports were mostly right on held-out real code
// are reported (TRIAGE.md "Precision by shape"); All reports every one.
const (
	// SendOnce: a goroutine sends once, and its owner can return (on an
	// error, a timeout, ctx.Done()) without taking the value.
	SendOnce = "send-once"
	// SendCounted: a known number of goroutines send, and the owner takes fewer on some path.
	SendCounted = "send-counted"
	// SendStream: goroutines started in a loop, or sending in a loop,
	// against an owner that receives a bounded number or stops early.
	SendStream = "send-stream"
	// Recv: a goroutine waits on a channel its owner may never send on or close.
	Recv = "recv"
	// FieldStopsFirst: a send on a struct's channel field whose only
	// receiver can return on its stop case first.
	FieldStopsFirst = "field-receiver-stops"
	// FieldNoReceiver: a send on a field nothing in the package receives from.
	FieldNoReceiver = "field-no-receiver"
	// FieldNoSender: a receive on a field nothing in the package sends on or closes.
	FieldNoSender = "field-no-sender"
	// FieldUnclosed: a receive loop on a field nothing in the package closes.
	FieldUnclosed = "field-unclosed"
	// Loop: a loop with no way out, waiting on a timer or a field.
	Loop = "loop"
	// WaitAddLate: WaitGroup.Add inside the goroutine it counts.
	WaitAddLate = "wait-add-late"
	// WaitNoDone: a goroutine can return without Done.
	WaitNoDone = "wait-no-done"
	// WaitInLoop: Wait inside the loop whose iterations Add counted.
	WaitInLoop = "wait-in-loop"
	// WaitAddSkipped: Add counted loop iterations that can skip the go statement.
	WaitAddSkipped = "wait-add-skipped"
)

// InTest ends the category of a SendCounted or SendStream report whose go
// statement or owner's receives are in a test file.
const InTest = "-in-test"

// lowPrecision reports whether d is of a shape whose reports were mostly
// false positives on held-out code, reported only with All: senders counted
// or started in a loop, in tests. There the number of values sent and taken
// follows the test's own inputs (one connection dialed, one event queued, a
// send only when the test fails), which leakvet does not correlate.
func lowPrecision(d analysis.Diagnostic) bool {
	return d.Category == SendCounted+InTest || d.Category == SendStream+InTest
}

// All reports the low-precision shapes too (flag -leakvet.all). It is read
// while analyzers run, so set it before.
var All bool

// Report reports d unless an ignoreDirective silences it, or its shape is
// one of low precision and All is not set.
func Report(pass *analysis.Pass, d analysis.Diagnostic) {
	if !All && lowPrecision(d) {
		return
	}
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
