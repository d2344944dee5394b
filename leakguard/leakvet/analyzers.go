package leakvet

import (
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
)

// Analyzers returns leakvet's analyzers, in the order they are documented.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{SendAnalyzer, RecvAnalyzer, LoopAnalyzer, WaitAnalyzer}
}

// Analyzer runs all of leakvet's checks as one analyzer, for drivers that
// take a single one (and for checking the corpus in one pass).
var Analyzer = &analysis.Analyzer{
	Name:     "leakvet",
	Doc:      "report goroutines that can block forever: leaksend, leakrecv, leakloop and leakwait in one pass",
	URL:      "https://github.com/trialwatch/trialwatch/tree/main/leakguard#leakvet",
	Requires: []*analysis.Analyzer{flowAnalyzer, fieldAnalyzer, buildssa.Analyzer},
	Run: func(pass *analysis.Pass) (any, error) {
		for _, run := range []func(*analysis.Pass) (any, error){runSend, runRecv, runLoop, runWait} {
			if _, err := run(pass); err != nil {
				return nil, err
			}
		}
		return nil, nil
	},
}

// ignoreDirective on the line of a report, or the line above it, silences
// the report: for goroutines that are meant to leak (a fixture, a test of
// the leak detectors themselves). Say why next to it.
const ignoreDirective = "leakvet:ignore"

func report(pass *analysis.Pass, d analysis.Diagnostic) {
	if f := fileOf(pass, d.Pos); f != nil {
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
