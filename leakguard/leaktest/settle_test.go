package leaktest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const pkg = "github.com/trialwatch/trialwatch/leakguard/leaktest"

// A goroutine that ends well after goleak's fixed ~430ms, but within the
// budget, passes.
func TestSettleWaitsForSlowExit(t *testing.T) {
	before := goleak.IgnoreCurrent()
	stop := make(chan struct{})
	exited := make(chan struct{})
	// The slow exit under test: the worker ends 2×DefaultSettle from now.
	time.AfterFunc(2*DefaultSettle, func() { close(stop) })
	defer func() { <-exited }()                            // even if VerifyNone returned too early
	go func() { defer close(exited); leakyWorker(stop) }() // ended by release

	f := newFake("TestSettleWaitsForSlowExit")
	VerifyNone(f, before, Settle(time.Minute))
	select {
	case <-exited:
	default:
		t.Fatal("VerifyNone returned while the worker was still running")
	}
	if got := f.failures(); got != "" {
		t.Errorf("goroutine that ended within the budget was reported:\n%s", got)
	}
}

// One that does not end within the budget fails, and only after the
// whole budget has been spent polling.
func TestSettleReportsAfterBudget(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ch := make(chan struct{})
	go leakyWorker(ch) // ended by close(ch) below
	defer close(ch)

	const budget = 3 * DefaultSettle
	f := newFake("TestSettleReportsAfterBudget")
	start := time.Now()
	VerifyNone(f, before, Settle(budget))
	if took := time.Since(start); took < budget {
		t.Errorf("reported after %v, before the %v budget was spent", took, budget)
	}
	if got := f.failures(); !strings.Contains(got, "found 1 unexpected goroutine(s)") || !strings.Contains(got, "leaktest.leakyWorker") {
		t.Errorf("leak not reported:\n%s", got)
	}
}

// Settle is a TrackOption too.
func TestSettleTrack(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	f := newFake("TestSettleTrack/fake")
	runFake(f, func(t *fakeTB) {
		Track(t, Settle(50*time.Millisecond))
		go leakyWorker(ch) // ended by close(ch) above
	})
	if got := f.failures(); !strings.Contains(got, "still running after 50ms") {
		t.Errorf("Track did not use the Settle budget:\n%s", got)
	}
}

//go:noinline
func startLeaky(ch chan struct{}) { go leakyWorker(ch) }

//go:noinline
func startSibling(ch chan struct{}) { go siblingWorker(ch) }

// IgnoreCreatedBy ignores the goroutines started in the named function
// and nothing else.
func TestIgnoreCreatedBy(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ch := make(chan struct{})
	startLeaky(ch)   // ended by close(ch) below
	startSibling(ch) // ended by close(ch) below
	defer close(ch)

	f := newFake("TestIgnoreCreatedBy/one")
	VerifyNone(f, before, IgnoreCreatedBy(pkg+".startLeaky"))
	got := f.failures()
	if strings.Contains(got, "leakyWorker") {
		t.Errorf("goroutine created by the ignored function reported:\n%s", got)
	}
	if !strings.Contains(got, "siblingWorker") || !strings.Contains(got, "created by "+pkg+".startSibling") {
		t.Errorf("goroutine created elsewhere not reported:\n%s", got)
	}

	f = newFake("TestIgnoreCreatedBy/both")
	VerifyNone(f, before, IgnoreCreatedBy(pkg+".startLeaky", pkg+".startSibling"))
	if got := f.failures(); got != "" {
		t.Errorf("ignored creators reported:\n%s", got)
	}

	// The creator, not a function on the stack: leakyWorker is on the
	// ignored goroutine's stack but created nothing.
	f = newFake("TestIgnoreCreatedBy/not-stack")
	VerifyNone(f, before, IgnoreCreatedBy(pkg+".leakyWorker"))
	if got := f.failures(); !strings.Contains(got, "leakyWorker") {
		t.Errorf("a stack function was taken for the creator:\n%s", got)
	}
}

type fakeM int

func (m fakeM) Run() int { return int(m) }

func TestVerifyTestMain(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ch := make(chan struct{})
	startLeaky(ch) // ended by close(ch) below
	defer close(ch)

	for _, tc := range []struct {
		name     string
		run      fakeM
		opts     []goleak.Option
		wantCode int
		wantErr  string
	}{
		{"leak", 0, []goleak.Option{before, Settle(0)}, 1, "leaktest.leakyWorker"},
		{"ignored creator", 0, []goleak.Option{before, IgnoreCreatedBy(pkg + ".startLeaky")}, 0, ""},
		{"tests failed", 3, []goleak.Option{before}, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := -1
			verifyTestMain(tc.run, func(c int) { code = c }, &stderr, tc.opts)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if got := stderr.String(); (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", got, tc.wantErr)
			}
		})
	}
}
