package diag_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const src = `package p

func f(ch chan int) {
	go func() { ch <- 1 }() //leakvet:ignore meant to leak
	//leakvet:ignore the next line leaks on purpose
	go func() { ch <- 2 }()

	go func() { ch <- 3 }()
	// an ordinary comment
	go func() { ch <- 4 }()
}
`

// pass parses src into a pass that collects what Report passes on.
func pass(t *testing.T) (*analysis.Pass, *[]analysis.Diagnostic, *ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var got []analysis.Diagnostic
	return &analysis.Pass{Fset: fset, Files: []*ast.File{f}, Report: func(d analysis.Diagnostic) { got = append(got, d) }}, &got, f
}

// goStmts returns the positions of the go statements of the file, in order.
func goStmts(f *ast.File) []token.Pos {
	var out []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		if g, ok := n.(*ast.GoStmt); ok {
			out = append(out, g.Pos())
		}
		return true
	})
	return out
}

// setAll sets diag.All for the test.
func setAll(t *testing.T, v bool) {
	old := diag.All
	diag.All = v
	t.Cleanup(func() { diag.All = old })
}

// TestReportIgnore checks a leakvet:ignore on the report's line or the
// line above silences it, and another comment does not.
func TestReportIgnore(t *testing.T) {
	p, got, f := pass(t)
	gos := goStmts(f)
	for _, pos := range gos {
		diag.Report(p, analysis.Diagnostic{Pos: pos, Category: diag.SendOnce, Message: "leak"})
	}
	var lines []int
	for _, d := range *got {
		lines = append(lines, diag.Line(p, d.Pos))
	}
	if len(lines) != 2 || lines[0] != 8 || lines[1] != 10 {
		t.Errorf("reported at lines %v, want [8 10]", lines)
	}
}

// TestReportLevels checks the low-precision shapes (senders counted or
// started in a loop, in tests) are reported only with All, the others always.
func TestReportLevels(t *testing.T) {
	for _, tc := range []struct {
		category       string
		byDefault, all bool
	}{
		{diag.SendCounted + diag.InTest, false, true},
		{diag.SendStream + diag.InTest, false, true},
		{diag.SendCounted, true, true},
		{diag.SendOnce, true, true},
		{diag.WaitNoDone, true, true},
	} {
		for _, all := range []bool{false, true} {
			setAll(t, all)
			p, got, f := pass(t)
			diag.Report(p, analysis.Diagnostic{Pos: goStmts(f)[2], Category: tc.category, Message: "leak"})
			want := tc.byDefault
			if all {
				want = tc.all
			}
			if reported := len(*got) == 1; reported != want {
				t.Errorf("%s with All=%v: reported %v, want %v", tc.category, all, reported, want)
			}
		}
	}
}

// TestSyntax checks the syntax look-ups: the file and the enclosing nodes
// of a position, a capacity's wording.
func TestSyntax(t *testing.T) {
	p, _, f := pass(t)
	pos := goStmts(f)[0]
	if diag.FileOf(p, pos) != f || diag.FileOf(p, token.NoPos) != nil {
		t.Errorf("FileOf: want the file for a go statement, nil for no position")
	}
	path := diag.PathTo(p, pos)
	if len(path) == 0 {
		t.Fatal("PathTo: empty")
	}
	if _, ok := path[0].(*ast.GoStmt); !ok {
		t.Errorf("PathTo's innermost node is %T, want *ast.GoStmt", path[0])
	}
	if _, ok := path[len(path)-1].(*ast.File); !ok {
		t.Errorf("PathTo's outermost node is %T, want *ast.File", path[len(path)-1])
	}
	for c, want := range map[int64]string{0: "unbuffered", 3: "capacity 3"} {
		if got := diag.CapDesc(c); got != want {
			t.Errorf("CapDesc(%d) = %q, want %q", c, got, want)
		}
	}
}

// TestFuncBody checks FuncBody finds the body of a declared function and
// of a literal, and none for a function without syntax.
func TestFuncBody(t *testing.T) {
	p := vettest.SSA(t, `
func f() int {
	g := func() int { return 1 }
	return g()
}
`)
	f, lit := p.Func("f"), p.Func("f$1")
	if b := diag.FuncBody(f); b == nil || len(b.List) != 2 {
		t.Errorf("FuncBody(f) = %v, want its two statements", b)
	}
	if b := diag.FuncBody(lit); b == nil || len(b.List) != 1 {
		t.Errorf("FuncBody(f$1) = %v, want its return", b)
	}
	if b := diag.FuncBody(p.SSAPkg().Pkg.Func("init")); b != nil {
		t.Errorf("FuncBody(the synthetic init) = %v, want nil", b)
	}
}
