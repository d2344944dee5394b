// Command leakvet reports goroutines that can block forever (see package
// leakvet). It runs standalone, leakvet [-json] ./..., and as a vet tool,
// go vet -vettool=$(which leakvet) ./...
package main

import (
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/trialwatch/trialwatch/leakguard/leakvet"
)

func main() { multichecker.Main(leakvet.Analyzers()...) }
