// Package vettest runs one of leakvet's analyzers over a Go source snippet,
// the way analysistest runs the corpus, so that the unit tests of leakvet's
// internal packages can ask what a function decides about small inputs: the
// SSA built for them, a helper analyzer's result, the diagnostics reported.
package vettest

import (
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// Pkg is the package p, made of the snippet's files, after an analyzer ran
// over it.
type Pkg struct {
	t      testing.TB
	Result *analysistest.Result
}

// runs holds the results of the snippets run so far, by runKey.
var runs sync.Map

type runKey struct {
	a     *analysis.Analyzer
	files string
}

// Run writes files (name → source of package p, without the package
// clause) into a fresh GOPATH-style tree and runs a over them. A file name
// ending in _test.go makes its functions a test's, as leakvet sees them.
// It fails the test when the snippet does not load or a fails. A snippet
// run again, by another test of the package, gives the first run's result,
// as loading one takes seconds under the race detector: tests must not
// change it.
func Run(t testing.TB, a *analysis.Analyzer, files map[string]string) *Pkg {
	t.Helper()
	key := runKey{a: a, files: fmt.Sprint(files)} // (fmt prints a map sorted by key)
	if r, ok := runs.Load(key); ok {
		return &Pkg{t: t, Result: r.(*analysistest.Result)}
	}
	dir := t.TempDir()
	pdir := filepath.Join(dir, "src", "p")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(pdir, name), []byte("package p\n\n"+src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{t: t}
	results := analysistest.Run(rec, dir, a, "p")
	// With a _test.go file, p is loaded twice: alone and with its tests.
	// The one with every file is the snippet.
	var best *analysistest.Result
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("running %s over the snippet: %v", a.Name, r.Err)
		}
		if best == nil || len(r.Pass.Files) > len(best.Pass.Files) {
			best = r
		}
	}
	if len(rec.errs) > 0 || best == nil {
		t.Fatalf("running %s over the snippet: %v", a.Name, rec.errs)
	}
	runs.Store(key, best)
	return &Pkg{t: t, Result: best}
}

// Src runs a over one file, p.go, holding src.
func Src(t testing.TB, a *analysis.Analyzer, src string) *Pkg {
	t.Helper()
	return Run(t, a, map[string]string{"p.go": src})
}

// SSA builds the SSA of a one-file snippet.
func SSA(t testing.TB, src string) *Pkg {
	t.Helper()
	return Src(t, buildssa.Analyzer, src)
}

// recorder is the analysistest.Testing of a snippet run: it keeps the
// errors, but not the reports analysistest finds unexpected (a snippet has
// no "// want" comments; the test judges the diagnostics itself). A
// snippet that does not type-check fails as the analyzer's error.
type recorder struct {
	t    testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, ": unexpected diagnostic: ") {
		return
	}
	r.errs = append(r.errs, msg)
}

// Diagnostics returns the messages reported, in order, each prefixed with
// its category: "category: message".
func (p *Pkg) Diagnostics() []string {
	var out []string
	for _, d := range p.Result.Diagnostics {
		out = append(out, d.Category+": "+d.Message)
	}
	return out
}

// ResultOf returns the result of a: the analyzer run, or one it requires
// directly (the checker keeps no other).
func (p *Pkg) ResultOf(a *analysis.Analyzer) any {
	p.t.Helper()
	if p.Result.Pass.Analyzer == a {
		return p.Result.Result
	}
	r, ok := p.Result.Pass.ResultOf[a]
	if !ok {
		p.t.Fatalf("%s does not require %s", p.Result.Pass.Analyzer.Name, a.Name)
	}
	return r
}

// Pass is the pass of the analyzer run.
func (p *Pkg) Pass() *analysis.Pass { return p.Result.Pass }

// SSAPkg returns the package's SSA, as buildssa built it.
func (p *Pkg) SSAPkg() *buildssa.SSA { return p.ResultOf(buildssa.Analyzer).(*buildssa.SSA) }

// Func returns the source function named name: "f", "T.m" for a method
// (as (*T).m or T.m), "f$1" for f's first function literal.
func (p *Pkg) Func(name string) *ssa.Function {
	p.t.Helper()
	for _, fn := range p.SSAPkg().SrcFuncs {
		full := fn.Name()
		if recv := fn.Signature.Recv(); recv != nil {
			typ := recv.Type().String()
			typ = typ[strings.LastIndex(typ, ".")+1:]
			full = typ + "." + full
		}
		if full == name {
			return fn
		}
	}
	p.t.Fatalf("no function %s in the snippet", name)
	return nil
}

// Instrs returns fn's instructions of type T, in block order.
func Instrs[T ssa.Instruction](fn *ssa.Function) []T {
	var out []T
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if x, ok := instr.(T); ok {
				out = append(out, x)
			}
		}
	}
	return out
}

// First returns fn's first instruction of type T, failing the test if there is none.
func First[T ssa.Instruction](t testing.TB, fn *ssa.Function) T {
	t.Helper()
	all := Instrs[T](fn)
	if len(all) == 0 {
		var zero T
		t.Fatalf("%s has no %T", fn.Name(), zero)
		return zero
	}
	return all[0]
}

// CategoriesByFunc returns the categories of the diagnostics reported, by
// the name of the top-level function (or method, without its receiver)
// whose body holds the report: so one snippet can hold a leaky and a fixed
// function of each shape.
func (p *Pkg) CategoriesByFunc() map[string][]string {
	out := map[string][]string{}
	for _, d := range p.Result.Diagnostics {
		name := "(outside functions)"
		for _, f := range p.Pass().Files {
			for _, decl := range f.Decls {
				if fd, ok := decl.(*ast.FuncDecl); ok && fd.Pos() <= d.Pos && d.Pos < fd.End() {
					name = fd.Name.Name
				}
			}
		}
		out[name] = append(out[name], d.Category)
	}
	return out
}
