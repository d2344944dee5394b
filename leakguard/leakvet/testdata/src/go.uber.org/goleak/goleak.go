// Package goleak is the part of go.uber.org/goleak's API the fixtures'
// tests call, so that they type-check in analysistest's GOPATH as the
// project's own tests do (every test package runs VerifyTestMain). The
// fixtures are analysed, never run, so it does nothing.
package goleak

// TestingM is what VerifyTestMain runs.
type TestingM interface{ Run() int }

// VerifyTestMain runs the tests; the real one then fails on leaked goroutines.
func VerifyTestMain(m TestingM) { m.Run() }
