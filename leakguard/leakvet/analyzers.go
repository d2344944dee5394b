package leakvet

import "golang.org/x/tools/go/analysis"

// Analyzers returns leakvet's analyzers, in the order they are documented.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{SendAnalyzer, RecvAnalyzer, LoopAnalyzer, WaitAnalyzer}
}
