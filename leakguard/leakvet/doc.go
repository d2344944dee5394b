// Package leakvet holds go/analysis analyzers that find goroutines which can
// block forever: leaksend (a send nobody receives on some path of the owner),
// leakrecv (a receive nobody sends to or closes on some path), leakloop (a
// timer-driven loop with no way out) and leakwait (WaitGroup misuse that
// leaves Wait blocked or racing).
//
// The analyzers work on SSA (buildssa), follow a channel made by make(chan)
// through the variables that hold it, the closures and method values that
// capture it and the package's own functions it is passed to or returned
// from, and give up (report nothing) as soon as it reaches code they cannot
// see: an interface, another package, a function value. A channel kept in a
// field of the package's own struct type is followed by type instead (all
// values of T.F are one channel; internal/fields), and given up on when code
// outside could use it. Precision matters more than recall: a report should
// be a leak.
//
// Each report's Category names its shape. By default the shape of lowest
// precision on real code is left out (senders counted or started in a loop,
// with the go statement or the owner's receives in a test file); the flag
// -leakvet.all of Analyzer (and of cmd/leakvet) reports it too.
//
// Run them with cmd/leakvet (go vet -vettool, or standalone with -json) or
// through golangci-lint with the module plugin in package golangci.
package leakvet
