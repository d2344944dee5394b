package leaktest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Deliberately leaked forever by TestVerifyNoneReportsProvenLeak:
		// a goroutine the runtime can prove leaked cannot be ended.
		goleak.IgnoreTopFunction("github.com/trialwatch/trialwatch/leakguard/leaktest.leakForever.func1"),
		goleak.IgnoreTopFunction("github.com/trialwatch/trialwatch/leakguard/leaktest.leakForeverInSubtest.func1"),
	)
}

// fakeTB records failures instead of failing, so a test can assert that a
// leak IS reported.
type fakeTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func newFake(name string) *fakeTB { return &fakeTB{name: name} }

func (f *fakeTB) Name() string { return f.name }
func (f *fakeTB) Helper()      {}
func (f *fakeTB) Error(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprint(args...))
}
func (f *fakeTB) Errorf(format string, args ...any) { f.Error(fmt.Sprintf(format, args...)) }
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// finish runs cleanups last-first, as testing does.
func (f *fakeTB) finish() {
	f.mu.Lock()
	cs := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func (f *fakeTB) failures() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errs, "\n")
}

// runFake runs body as if it were a test function on its own goroutine,
// then its cleanups, and waits for both.
func runFake(f *fakeTB, body func(t *fakeTB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.finish()
		body(f)
	}()
	<-done
}

//go:noinline
func leakyWorker(ch chan struct{}) { <-ch }

//go:noinline
func siblingWorker(ch chan struct{}) { <-ch }

func TestTrackReportsLeak(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch) // ends the leaked goroutines after the assertion

	f := newFake("TestTrackReportsLeak/fake")
	runFake(f, func(t *fakeTB) {
		Track(t, WithTimeout(100*time.Millisecond))
		for range 3 {
			go leakyWorker(ch) // ended by close(ch) above
		}
	})
	got := f.failures()
	for _, want := range []string{
		"3 goroutine(s) started by TestTrackReportsLeak/fake still running",
		"leaktest.leakyWorker",
		"leaktest_test.go:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failure message lacks %q:\n%s", want, got)
		}
	}
}

// Goroutines started by goroutines the test started carry the label too.
func TestTrackFollowsGrandchildren(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)

	f := newFake("TestTrackFollowsGrandchildren/fake")
	runFake(f, func(t *fakeTB) {
		Track(t, WithTimeout(100*time.Millisecond))
		started := make(chan struct{})
		go func() {
			go leakyWorker(ch) // ended by close(ch) above
			close(started)
		}()
		<-started
	})
	if !strings.Contains(f.failures(), "leaktest.leakyWorker") {
		t.Errorf("grandchild not reported:\n%s", f.failures())
	}
}

// A leak in a parallel sibling is attributed to the sibling, not to the
// clean test running next to it.
func TestTrackParallelAttribution(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	leakStarted := make(chan struct{})
	cleanDone := make(chan struct{})

	leaky := newFake("TestTrackParallelAttribution/leaky")
	clean := newFake("TestTrackParallelAttribution/clean")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		runFake(leaky, func(t *fakeTB) {
			Track(t, WithTimeout(100*time.Millisecond))
			go siblingWorker(ch) // ended by close(ch) above
			close(leakStarted)
			// Stay running until the clean test has checked, so the
			// sibling's goroutine is alive during that check.
			<-cleanDone
		})
	}()
	go func() {
		defer wg.Done()
		runFake(clean, func(t *fakeTB) {
			Track(t)
			var inner sync.WaitGroup
			for range 5 {
				inner.Add(1)
				go func() { defer inner.Done() }()
			}
			inner.Wait()
			<-leakStarted
		})
		close(cleanDone)
	}()
	wg.Wait()

	if got := clean.failures(); got != "" {
		t.Errorf("clean test was blamed for its sibling's goroutine:\n%s", got)
	}
	if got := leaky.failures(); !strings.Contains(got, "leaktest.siblingWorker") {
		t.Errorf("leaky test's goroutine was not reported:\n%s", got)
	}
}

// Track with the real *testing.T under t.Parallel: goroutines that end
// (even after the test body returns) do not fail the test.
func TestTrackParallelClean(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			Track(t)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() { defer wg.Done(); <-stop }()
			}
			// Registered after Track, so it runs before Track's check.
			t.Cleanup(func() { close(stop); wg.Wait() })
		})
	}
}

// A goroutine that exits while the check is polling is not reported.
func TestTrackWaitsForExit(t *testing.T) {
	release := make(chan struct{})
	workerDone := make(chan struct{})
	stop := make(chan struct{})
	// Started before Track, so unlabeled: it ends the worker only once the
	// check has begun, i.e. asynchronously to it.
	go func() { <-release; close(stop) }()

	f := newFake("TestTrackWaitsForExit/fake")
	runFake(f, func(t *fakeTB) {
		Track(t)
		go func() { defer close(workerDone); <-stop }()
		t.Cleanup(func() { close(release) })
	})
	<-workerDone
	if got := f.failures(); got != "" {
		t.Errorf("goroutine that exited during the check was reported:\n%s", got)
	}
}

func TestTrackIgnore(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	f := newFake("TestTrackIgnore/fake")
	runFake(f, func(t *fakeTB) {
		Track(t, WithTimeout(50*time.Millisecond),
			IgnoreFunctions("github.com/trialwatch/trialwatch/leakguard/leaktest.leakyWorker"))
		go leakyWorker(ch) // ended by close(ch) above
	})
	if got := f.failures(); got != "" {
		t.Errorf("ignored function reported:\n%s", got)
	}
}

func TestVerifyNoneReportsLeak(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ch := make(chan struct{})
	go leakyWorker(ch) // ended by close(ch) below
	f := newFake("TestVerifyNoneReportsLeak")
	VerifyNone(f, before)
	close(ch)
	if !strings.Contains(f.failures(), "leaktest.leakyWorker") {
		t.Errorf("VerifyNone did not report the leak:\n%s", f.failures())
	}
	VerifyNone(t, before) // and it is gone once ended
}

//go:noinline
func leakForever() {
	go func() {
		c := make(chan int) // nothing else can ever reach c
		<-c
	}()
}

func TestVerifyNoneReportsProvenLeak(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		t.Skip("runtime leak profile unavailable; build with GOEXPERIMENT=goroutineleakprofile")
	}
	before := goleak.IgnoreCurrent()
	leakForever()
	f := newFake("TestVerifyNoneReportsProvenLeak")
	VerifyNone(f, before)
	got := f.failures()
	if !strings.Contains(got, "runtime proved") || !strings.Contains(got, "leakForever.func1") {
		t.Errorf("proven leak not reported as such:\n%s", got)
	}
}

// Under Track, the runtime's proof is attached to the test's own leaks.
func TestTrackReportsProvenLeak(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		t.Skip("runtime leak profile unavailable; build with GOEXPERIMENT=goroutineleakprofile")
	}
	f := newFake("TestTrackReportsProvenLeak/fake")
	runFake(f, func(t *fakeTB) {
		Track(t, WithTimeout(200*time.Millisecond))
		leakForever()
	})
	got := f.failures()
	if !strings.Contains(got, "the runtime proved 1 leaked") || !strings.Contains(got, "leakForever.func1") {
		t.Errorf("proof missing from the failure:\n%s", got)
	}
}

func TestPresetsHTTPKeepAlive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	before := goleak.IgnoreCurrent()

	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Only a body read to EOF returns the connection to the idle pool.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The server side of the connection is the test's own server, not
	// what the preset is about.
	server := goleak.IgnoreAnyFunction("net/http.(*conn).serve")
	if err := goleak.Find(before, server); err == nil || !strings.Contains(err.Error(), "persistConn") {
		t.Fatalf("expected the idle keep-alive loops to be found, got %v", err)
	}
	opts := append(Presets(HTTPKeepAlive), before, server)
	if err := goleak.Find(opts...); err != nil {
		t.Errorf("HTTPKeepAlive preset did not cover the idle connection: %v", err)
	}
}

func TestPresetsShape(t *testing.T) {
	all := []Preset{GoZero, GRPC, Gin, HTTPKeepAlive, OpenCensus, OpenTelemetry}
	total := 0
	for _, p := range all {
		if p.String() == "" || len(p.Functions()) == 0 {
			t.Errorf("preset %q is empty", p)
		}
		for _, f := range p.Functions() {
			if !strings.Contains(f, ".") || strings.ContainsAny(f, " \t") {
				t.Errorf("preset %s: %q is not a qualified function name", p, f)
			}
		}
		total += len(p.top) + len(p.any)
	}
	if got := len(Presets(all...)); got != total {
		t.Errorf("Presets returned %d options, want %d", got, total)
	}
}

func TestParseCountProfile(t *testing.T) {
	const in = "goroutine profile: total 4\n" +
		"3 @ 0x47e08e 0x4158ee 0x415432 0x4da319 0x484561\n" +
		"# labels: {\"leaktest.test\":\"TestA/sub \\\"x\\\"\", \"other\":\"v, w\"}\n" +
		"#\t0x4da318\tmain.worker+0x18\t/src/main.go:6\n" +
		"#\t0x4da400\tmain.(*S).run+0x2a\t/src/s.go:40\n" +
		"\n" +
		"1 @ 0x47e08e\n" +
		"#\t0x47e08d\truntime.gopark+0xcd\t/usr/local/go/src/runtime/proc.go:460\n"
	recs := parseCountProfile([]byte(in))
	if len(recs) != 2 {
		t.Fatalf("got %d records", len(recs))
	}
	r := recs[0]
	if r.count != 3 || r.labels["leaktest.test"] != `TestA/sub "x"` || r.labels["other"] != "v, w" {
		t.Errorf("record 0 = %+v", r)
	}
	if len(r.frames) != 2 || r.frames[1].Func != "main.(*S).run" || r.frames[1].Location() != "/src/s.go:40" {
		t.Errorf("frames = %+v", r.frames)
	}
	if recs[1].labels != nil || recs[1].count != 1 {
		t.Errorf("record 1 = %+v", recs[1])
	}
}

// leakForeverInSubtest is leakForever with a stack no other test leaks,
// so the attribution below is unambiguous.
//
//go:noinline
func leakForeverInSubtest() {
	go func() {
		c := make(chan int) // nothing else can ever reach c
		<-c
	}()
}

// A proven leak found by a package-level check names the (sub)test whose
// Track label its goroutine carries.
func TestVerifyNoneAttributesProvenLeak(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		t.Skip("runtime leak profile unavailable; build with GOEXPERIMENT=goroutineleakprofile")
	}
	before := goleak.IgnoreCurrent()
	sub := newFake("TestVerifyNoneAttributesProvenLeak/sub")
	runFake(sub, func(t *fakeTB) {
		Track(t, WithTimeout(time.Millisecond))
		leakForeverInSubtest()
	})
	f := newFake("TestVerifyNoneAttributesProvenLeak")
	VerifyNone(f, before)
	got := f.failures()
	if !strings.Contains(got, "(leaked), started by TestVerifyNoneAttributesProvenLeak/sub]") {
		t.Errorf("proven leak not attributed to its subtest:\n%s", got)
	}
}
