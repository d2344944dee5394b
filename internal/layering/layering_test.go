// Package layering holds the test that keeps trialwatch's layers apart:
// the domain depends on nothing of trialwatch, the checker and the upload
// path only on the domain's ports (never on a data service, its Connect
// transport or another service's storage), leakguard on nothing outside
// itself, so it can stand alone as a module, and the SDTM format decoders
// on nothing but the rows they hand over. The domain also does no I/O.
package layering

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const module = "github.com/trialwatch/trialwatch"

// pkg is what `go list -json` says of a package that matters here.
type pkg struct {
	ImportPath string
	Imports    []string // the packages it imports itself
	Deps       []string // every package it depends on, directly or not
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	// leakguard is a module of its own (go.work and the root go.mod's
	// replace make it part of the build): name it too, so the listing
	// reaches it however the module pattern is matched.
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...", module+"/leakguard/...").Output()
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
