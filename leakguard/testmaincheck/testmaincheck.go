// Package testmaincheck finds the packages of a module whose tests do not
// check for leaked goroutines: every package with code of its own must have
// a test file whose TestMain calls goleak.VerifyTestMain. A module's test
// calls Unguarded over its own packages, so a package added without that
// TestMain fails the build's tests with its name.
package testmaincheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
)

const goleakPath = "go.uber.org/goleak"

// VerifiesTestMain reports whether the Go test file at path declares
// func TestMain that calls goleak.VerifyTestMain (with any options).
func VerifiesTestMain(path string) (bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return false, err
	}
	name := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == goleakPath {
			name = "goleak"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" || name == "_" {
		return false, nil
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != "TestMain" || fd.Body == nil {
			continue
		}
		found := false
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return !found
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "VerifyTestMain" {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
					found = true
				}
			}
			return !found
		})
		return found, nil
	}
	return false, nil
}

// listed is what `go list -json` says of a package that matters here.
type listed struct {
	ImportPath   string
	Dir          string
	Module       *struct{ Path string }
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
}

// Unguarded lists the import paths of the packages of module (matched by
// the go list patterns, run in dir) that lack a test file with a goleak
// TestMain, each with why. Packages without code of their own are exempt:
// those whose every file is generated ("Code generated ... DO NOT EDIT.")
// or declares nothing (a file holding only go:generate directives).
func Unguarded(dir, module string, patterns ...string) ([]string, error) {
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Dir,Module,GoFiles,TestGoFiles,XTestGoFiles"}, patterns...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.Bytes())
	}
	var missing []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		if p.Module == nil || p.Module.Path != module {
			continue
		}
		code, err := hasCode(p)
		if err != nil {
			return nil, err
		}
		if !code {
			continue
		}
		tests := append(p.TestGoFiles, p.XTestGoFiles...)
		guarded := false
		for _, f := range tests {
			ok, err := VerifiesTestMain(filepath.Join(p.Dir, f))
			if err != nil {
				return nil, err
			}
			guarded = guarded || ok
		}
		switch {
		case len(tests) == 0:
			missing = append(missing, p.ImportPath+": no test files")
		case !guarded:
			missing = append(missing, p.ImportPath+": no test file declares func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }")
		}
	}
	return missing, nil
}

// hasCode reports whether p has a non-generated file declaring something.
func hasCode(p listed) (bool, error) {
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return false, err
		}
		if ast.IsGenerated(f) {
			continue
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
				continue
			}
			return true, nil
		}
	}
	return false, nil
}
