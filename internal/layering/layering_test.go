// Package layering holds the tests that keep trialwatch's layers apart:
// the domain depends on nothing of trialwatch, the checker and the upload
// path only on the domain's ports (never on a data service, its Connect
// transport or another service's storage), leakguard on nothing outside
// itself, so it can stand alone as a module, and the SDTM format decoders
// on nothing but the rows they hand over. The domain also does no I/O.
// Within the checker, HTTP handlers and stores stay apart and each part
// stays a size a newcomer can read; cmd/ wires the parts. The browser UI
// (web/) is a client of the JSON API: of the checker it imports only the
// answers' types, checker/api/wire.
package layering

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const module = "github.com/trialwatch/trialwatch"

// pkg is what `go list -json` says of a package that matters here.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string // its non-test Go files
	Imports    []string // the packages it imports itself
	Deps       []string // every package it depends on, directly or not
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	// leakguard is a module of its own (go.work and the root go.mod's
	// replace make it part of the build): name it too, so the listing
	// reaches it however the module pattern is matched.
	out, err := exec.Command("go", "list", "-json=ImportPath,Dir,GoFiles,Imports,Deps", module+"/...", module+"/leakguard/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	pkgs := listPackages(t)
	dataServices := []string{"subjects", "exposure", "events", "rpc", "gen/", "ingest/local", "ingest/remote"}
	rules := []struct {
		pkgs   []string // these packages (a trailing / takes the subtree)
		mayUse func(dep string) bool
		whyNot string
	}{
		{[]string{"clinical", "clinical/"}, func(dep string) bool { return under(dep, "clinical") },
			"the domain is pure: it imports nothing of trialwatch outside clinical"},
		{[]string{"checker", "checker/", "ingest"}, func(dep string) bool { return !anyUnder(dep, dataServices) },
			"checks and uploads reach the data services through the domain's ports only"},
		{[]string{"leakguard/"}, func(dep string) bool { return under(dep, "leakguard") },
			"leakguard stands alone"},
		{[]string{"rpc"}, func(dep string) bool { return !under(dep, "sqldb") },
			"the transport does not know storage"},
		{[]string{"sdtm/internal/"}, func(dep string) bool { return dep == "sdtm/internal/source" },
			"a format's decoder only decodes: rows of cells to package sdtm, which converts them"},
		{[]string{"web", "web/"}, func(dep string) bool {
			return !anyUnder(dep, []string{"checker", "checker/"}) || dep == "checker/api/wire"
		}, "the browser UI is a client of the JSON API: of the checker it shares only the answers' types (checker/api/wire), never a handler or a store"},
		{[]string{"checker/api/wire"}, func(dep string) bool { return anyUnder(dep, []string{"clinical", "clinical/"}) },
			"the API's answer types are plain data: they use the domain's value types and nothing else of trialwatch"},
	}
	checked := 0
	perRule := make([]int, len(rules))
	for name, p := range pkgs {
		for i, r := range rules {
			if !anyUnder(name, r.pkgs) {
				continue
			}
			checked++
			perRule[i]++
			for _, dep := range p.Deps {
				inner, ok := strings.CutPrefix(dep, module+"/")
				if !ok || inner == name {
					continue
				}
				if !r.mayUse(inner) {
					t.Errorf("%s depends on %s: %s", name, inner, r.whyNot)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the listing is not what this test expects", checked)
	}
	for i, r := range rules {
		if perRule[i] == 0 {
			t.Errorf("no package of %v listed: the rule %q checks nothing", r.pkgs, r.whyNot)
		}
	}
}

// The domain does no I/O: no package under clinical/ (the rules, the
// liver rules, the AE-term tables, CTCAE grading, KRIs) imports the
// standard library's files, network, processes or databases, so every
// rule stays a function of the records handed to it. Imports, not Deps:
// fmt itself depends on os.
func TestDomainDoesNoIO(t *testing.T) {
	io := []string{"os", "os/", "net", "net/", "database/", "io/fs", "io/ioutil", "syscall", "log", "log/"}
	checked := 0
	for name, p := range listPackages(t) {
		if !anyUnder(name, []string{"clinical", "clinical/"}) {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if anyUnder(imp, io) {
				t.Errorf("%s imports %s: the domain is pure code, its data handed in by the checker", name, imp)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d domain packages listed: the listing is not what this test expects", checked)
	}
}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// anyUnder reports whether pkg is one of pats: "x" is x alone, "x/" is
// everything below x.
func anyUnder(pkg string, pats []string) bool {
	for _, p := range pats {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(pkg, p) || pkg == p {
			return true
		}
	}
	return false
}

// TestHandlersAndStoresApart checks direct imports: the checker's HTTP
// API reaches storage only through the small interfaces each part
// declares (never a database package or a store it does not read), the
// stores know nothing of HTTP, and the API's parts share only the access
// scope, the query reader and the signal JSON shape.
func TestHandlersAndStoresApart(t *testing.T) {
	pkgs := listPackages(t)
	apiParts := []string{"checker/api/scope", "checker/api/query", "checker/api/reviewapi", "checker/api/subjectapi",
		"checker/api/settingsapi", "checker/api/kriapi"}
	rules := []struct {
		pkgs    []string
		mayNot  func(imp string) bool
		whyNot  string
		minSeen int
	}{
		{[]string{"checker/api", "checker/api/"}, func(imp string) bool {
			return imp == "database/sql" || anyUnder(imp, []string{"sqldb", "sqldb/", "checker/labs", "checker/queue", "checker/schema"})
		}, "the HTTP API holds no storage: it reads the stores through the interfaces it declares", 1 + len(apiParts)},
		{[]string{"checker/signals", "checker/labs", "checker/queue", "checker/kris", "checker/schema"}, func(imp string) bool {
			return imp == "net/http" || anyUnder(imp, []string{"internal/jsonhttp", "checker/api", "checker/api/"})
		}, "stores know nothing of HTTP: handlers are in checker/api", 5},
		{[]string{"checker/api/scope", "checker/api/query", "checker/api/wire"}, func(imp string) bool { return anyUnder(imp, []string{"checker/api", "checker/api/"}) },
			"the API's shared pieces depend on none of its parts", 3},
		{[]string{"checker/api/reviewapi"}, func(imp string) bool {
			return anyUnder(imp, []string{"checker/api", "checker/api/"}) && !anyUnder(imp, []string{"checker/api/scope", "checker/api/query", "checker/api/wire"})
		}, "the review API shares only scope, query and the answers' types", 1},
		{[]string{"checker/api/subjectapi", "checker/api/settingsapi", "checker/api/kriapi"}, func(imp string) bool {
			return anyUnder(imp, []string{"checker/api", "checker/api/"}) &&
				!anyUnder(imp, []string{"checker/api/scope", "checker/api/query", "checker/api/wire", "checker/api/reviewapi"})
		}, "a part of the API uses another only for the signal JSON shape (reviewapi)", 3},
	}
	for _, r := range rules {
		seen := 0
		for name, p := range pkgs {
			if !anyUnder(name, r.pkgs) {
				continue
			}
			seen++
			for _, imp := range p.Imports {
				if inner, ok := strings.CutPrefix(imp, module+"/"); ok {
					imp = inner
				}
				if r.mayNot(imp) {
					t.Errorf("%s imports %s: %s", name, imp, r.whyNot)
				}
			}
		}
		if seen < r.minSeen {
			t.Errorf("%d of the packages %v listed, want %d: the rule %q checks less than it should", seen, r.pkgs, r.minSeen, r.whyNot)
		}
	}
	for _, part := range apiParts {
		if _, ok := pkgs[part]; !ok {
			t.Errorf("no package %s: update this test with the API's new shape", part)
		}
	}
}

// maxPackageLines is the most lines a package may have, its tests aside:
// a part a newcomer can read in one sitting. cmd/trialwatch too: it defines
// the commands and wires the parts, and logic it grows belongs to the
// package that owns the concern. Generated code (gen/...) is not read
// that way and is left out.
const maxPackageLines = 1500

func TestPackageSizes(t *testing.T) {
	pkgs := listPackages(t)
	checked := 0
	for name, p := range pkgs {
		if anyUnder(name, []string{"gen/"}) {
			continue
		}
		limit := maxPackageLines
		checked++
		lines := 0
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			lines += bytes.Count(b, []byte("\n"))
		}
		if lines > limit {
			t.Errorf("%s has %d non-test lines, more than %d: split it along a seam (see README, Layout)", name, lines, limit)
		}
	}
	if checked < 10 {
		t.Errorf("only %d packages measured: the listing is not what this test expects", checked)
	}
}
