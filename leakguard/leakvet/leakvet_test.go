package leakvet_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/trialwatch/trialwatch/leakguard/leakvet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// corpusCases lists the corpus packages: every directory of testdata/src
// holding a leaky.go and a fixed.go.
func corpusCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(analysistest.TestData(), "src"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(analysistest.TestData(), "src", e.Name(), "leaky.go")); err == nil {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) < 40 {
		t.Fatalf("corpus has %d cases, want at least 40", len(cases))
	}
	return cases
}

// TestCorpus runs every analyzer over the corpus: each "// want" of a
// leaky twin must be reported, and nothing else, so a report on a fixed
// twin fails the test. It then measures recall over the leaky twins.
func TestCorpus(t *testing.T) {
	cases := corpusCases(t)
	perFile := map[string]int{} // file → diagnostics
	for _, r := range analysistest.Run(t, analysistest.TestData(), leakvet.Analyzer, cases...) {
		for _, d := range r.Diagnostics {
			perFile[r.Pass.Fset.Position(d.Pos).Filename]++
		}
	}
	caught, fixedReports := 0, 0
	var missed []string
	for _, c := range cases {
		dir := filepath.Join(analysistest.TestData(), "src", c)
		if perFile[filepath.Join(dir, "leaky.go")] > 0 {
			caught++
		} else {
			missed = append(missed, c)
		}
		fixedReports += perFile[filepath.Join(dir, "fixed.go")]
		src, err := os.ReadFile(filepath.Join(dir, "leaky.go"))
		if err != nil {
			t.Fatal(err)
		}
		if marked := strings.Contains(string(src), "leakvet misses this leak"); marked != slices.Contains(missed, c) {
			t.Errorf("%s: the leaky twin's 'leakvet misses this leak' note (%v) disagrees with the result (missed %v)", c, marked, !marked)
		}
	}
	recall := float64(caught) / float64(len(cases))
	t.Logf("corpus: %d leaky twins, %d caught, recall %.1f%%; %d reports on fixed twins; missed: %s",
		len(cases), caught, 100*recall, fixedReports, strings.Join(missed, ", "))
	if recall < 0.8 {
		t.Errorf("recall %.1f%% is below the 80%% goal", 100*recall)
	}
	if fixedReports != 0 {
		t.Errorf("%d reports on fixed twins, want none", fixedReports)
	}
}

// TestSuggestedFixes applies the mechanical fixes (buffer the channel, add
// a ctx.Done case) to the fix package and compares with its .golden files.
func TestSuggestedFixes(t *testing.T) {
	for _, a := range []*analysis.Analyzer{leakvet.SendAnalyzer, leakvet.LoopAnalyzer} {
		analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), a, "fixes/"+a.Name)
	}
}

func TestIgnoreDirective(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), leakvet.Analyzer, "directive")
}

// TestFieldEscapes runs the analyzers over channel fields that code leakvet
// cannot see may use (exported, from a caller, handed to another package,
// returned): it must report none of them.
func TestFieldEscapes(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), leakvet.Analyzer, "fieldescape")
}

// TestHeldOutFalsePositives runs the analyzers over the shapes of the false
// positives found on the held-out modules: none may be reported.
func TestHeldOutFalsePositives(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), leakvet.Analyzer, "heldoutfp", "heldoutmain", "heldoutcmd/cmd/perf")
}
