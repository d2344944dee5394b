// Command leakvet reports goroutines that can block forever (see package
// leakvet). It runs standalone, leakvet [-json] ./..., and as a vet tool,
// go vet -vettool=$(which leakvet) ./...
//
// By default it leaves out the shapes of leak whose reports were mostly
// false positives on real code; -leakvet.all reports them too.
package main

import (
	"flag"

	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/trialwatch/trialwatch/leakguard/leakvet"
)

func main() {
	all := leakvet.Analyzer.Flags.Lookup("all")
	flag.Var(all.Value, "leakvet.all", all.Usage)
	multichecker.Main(leakvet.Analyzers()...)
}
