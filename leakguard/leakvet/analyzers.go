package leakvet

import (
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanflow"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/fields"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/loop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/wait"
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
	Requires: []*analysis.Analyzer{chanflow.Analyzer, fields.Analyzer, buildssa.Analyzer},
	Run: func(pass *analysis.Pass) (any, error) {
		for _, run := range []func(*analysis.Pass) (any, error){runSend, runRecv, loop.Run, wait.Run} {
			if _, err := run(pass); err != nil {
				return nil, err
			}
		}
		return nil, nil
	},
}

func init() {
	Analyzer.Flags.BoolVar(&diag.All, "all", false,
		"report every shape of leak, also those whose reports were mostly false positives on real code (in tests, senders counted or started in a loop); it applies to all of leakvet's analyzers")
}

// WaitAnalyzer reports sync.WaitGroup misuse that leaves Wait blocked, or
// lets it return while goroutines still run (package internal/wait).
var WaitAnalyzer = wait.Analyzer

// LoopAnalyzer reports goroutines running a timer-driven loop with no way
// out (package internal/loop).
var LoopAnalyzer = loop.Analyzer
