package watchdog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/debughttp"
	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// TestReportsRuntimeProvenLeak leaks this on purpose: a goroutine
		// the runtime can prove leaked can never be ended.
		goleak.IgnoreTopFunction("github.com/trialwatch/trialwatch/leakguard/watchdog.leakForever.func1"),
	)
}

var (
	_ debughttp.Reporter     = (*Watchdog)(nil)
	_ debughttp.Acknowledger = (*Watchdog)(nil)
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness steps a started watchdog one tick at a time through a fake
// ticker, so time is whatever the test says and nothing sleeps.
type harness struct {
	t     testing.TB
	w     *Watchdog
	ticks chan time.Time
	done  chan struct{}
	now   time.Time
}

func start(t testing.TB, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, ticks: make(chan time.Time), done: make(chan struct{}), now: t0}
	opts = append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithTicker(func(time.Duration) (<-chan time.Time, func()) { return h.ticks, func() {} }),
		// Whether a capture would start a GC cycle depends on the test
		// binary's heap; the tests that pace captures say so themselves.
		func(c *config) { c.wouldStartGC = func() bool { return false } },
	}, opts...)
	h.w = New(opts...)
	h.w.cfg.tickDone = h.done
	if err := h.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.w.Stop)
	return h
}

// step advances time by one interval, runs one tick and returns the report.
func (h *harness) step() report.Report {
	h.now = h.now.Add(h.w.cfg.interval)
	h.ticks <- h.now
	<-h.done
	r, err := h.w.Report(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// staticDump makes deep checks cheap and independent of the test binary's
// own goroutines in the simulated scenarios.
func staticDump(text string) Option {
	return func(c *config) {
		c.capture = fullDump(func() []byte { return []byte(text) })
		c.proven = func() ([]stackdump.Goroutine, bool, error) { return nil, false, nil }
	}
}

// fullDump serves dump as a full capture (with wait times) whatever the
// pause budget.
func fullDump(dump func() []byte) func(time.Duration) capture.Dump {
	return func(time.Duration) capture.Dump { return capture.Dump{Text: dump(), Full: true} }
}

const idleDump = `goroutine 1 [running]:
main.main()
	/src/main.go:10 +0x1d
`

// sim is a service: in-flight requests each hold perRequest goroutines,
// plus a fixed base, plus whatever leaked.
type sim struct {
	rng        *rand.Rand
	base       float64
	perRequest float64
	load       float64
	leaked     float64
}

func newSim() *sim { return &sim{rng: rand.New(rand.NewPCG(1, 2)), base: 40, perRequest: 2} }

func (s *sim) goroutines() int {
	// Requests start and finish between reading load and counting
	// goroutines, so the count is only roughly base + perRequest*load.
	jitter := s.rng.NormFloat64() * 3
	return int(math.Max(0, math.Round(s.base+s.perRequest*s.load+s.leaked+jitter)))
}

func (s *sim) opts() []Option {
	return []Option{
		WithGoroutineCounter(s.goroutines),
		WithInFlight(func() float64 { return s.load }),
		staticDump(idleDump),
	}
}

// A handler that leaks one goroutine per request at a steady 2 requests/s
// is flagged, and not before the window has seen it.
func TestFlagsLeakAtSteadyLoad(t *testing.T) {
	s := newSim()
	h := start(t, s.opts()...)
	for i := range 60 { // 5 minutes healthy at steady load
		s.load = 100 + s.rng.NormFloat64()*5
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("tick %d: healthy service reported %s: %v", i, r.Status, r.Reasons)
		}
	}
	const rps, perRequest = 2.0, 1.0
	var flagged report.Report
	for i := range 60 {
		s.load = 100 + s.rng.NormFloat64()*5
		s.leaked += rps * perRequest * h.w.cfg.interval.Seconds()
		r := h.step()
		if r.Status == report.Suspect {
			flagged = r
			if i < 5 {
				t.Fatalf("flagged after only %d leaking ticks", i+1)
			}
			break
		}
	}
	if flagged.Status != report.Suspect {
		t.Fatal("leak at steady load was never flagged")
	}
	want := rps * perRequest * 60 // goroutines per minute
	// The window still holds pre-leak samples when it first flags, so the
	// fitted slope lags the true one: positive, never overstated.
	if flagged.ExcessPerMinute <= 0 || flagged.ExcessPerMinute > want*1.5 {
		t.Errorf("excess %.1f/min, want between 0 and %.0f/min", flagged.ExcessPerMinute, want)
	}
	if flagged.Suspected <= 0 || len(flagged.Reasons) == 0 || !strings.Contains(flagged.Reasons[0], "beyond what load explains") {
		t.Errorf("report does not explain the suspicion: %+v", flagged)
	}
	// Once the window holds only leaking samples the slope is exact.
	var r report.Report
	for range 30 {
		s.load = 100 + s.rng.NormFloat64()*5
		s.leaked += rps * perRequest * h.w.cfg.interval.Seconds()
		r = h.step()
	}
	if r.Status != report.Suspect || math.Abs(r.ExcessPerMinute-want) > want*0.15 {
		t.Errorf("steady state: %s at %.1f/min, want suspect at about %.0f/min", r.Status, r.ExcessPerMinute, want)
	}
	if math.Abs(r.BaselinePerLoad-s.perRequest) > 0.5 {
		t.Errorf("baseline per load %.2f, want about %.1f", r.BaselinePerLoad, s.perRequest)
	}
}

// Traffic that comes in bursts moves goroutines a lot, but all of it is
// explained by load, so nothing is flagged.
func TestBurstyHealthyLoadIsNotALeak(t *testing.T) {
	s := newSim()
	h := start(t, s.opts()...)
	burstLeft := 0
	for i := range 400 { // 33 minutes
		if burstLeft == 0 && s.rng.IntN(10) == 0 {
			burstLeft = 1 + s.rng.IntN(6)
		}
		if burstLeft > 0 {
			burstLeft--
			s.load = 300 + s.rng.Float64()*300
		} else {
			s.load = 20 + s.rng.Float64()*10
		}
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("tick %d: bursty healthy load reported %s: %v (excess %.1f/min)", i, r.Status, r.Reasons, r.ExcessPerMinute)
		}
	}
}

// A traffic ramp (morning peak) raises goroutines steadily for longer than
// the window. Load explains it, so it is not a leak either.
func TestTrafficRampIsNotALeak(t *testing.T) {
	s := newSim()
	h := start(t, s.opts()...)
	for i := range 120 {
		s.load = 10 + float64(i)*5 + s.rng.NormFloat64()*4
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("tick %d: ramp reported %s: %v", i, r.Status, r.Reasons)
		}
	}
	for i := range 60 { // and the plateau after it
		s.load = 600 + s.rng.NormFloat64()*4
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("plateau tick %d: reported %s: %v", i, r.Status, r.Reasons)
		}
	}
}

// Without a load signal steady growth is flagged and flat noise is not.
func TestWithoutLoadSignal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200.0
	h := start(t, WithGoroutineCounter(func() int { return int(n + rng.NormFloat64()*4) }), staticDump(idleDump))
	for i := range 60 {
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("tick %d: flat noise reported %s: %v", i, r.Status, r.Reasons)
		}
	}
	flagged := false
	for range 40 {
		n += 3 // 36/min
		if h.step().Status == report.Suspect {
			flagged = true
			break
		}
	}
	if !flagged {
		t.Fatal("steady growth without load signal was not flagged")
	}
}

const blockedDump = `goroutine 1 [running]:
main.main()
	/src/main.go:10 +0x1d

goroutine 7 [chan receive, 15 minutes]:
example.com/svc.(*Pool).wait(...)
	/src/svc/pool.go:88 +0x25
created by example.com/svc.NewPool in goroutine 1
	/src/svc/pool.go:40 +0x9a

goroutine 8 [chan receive, 12 minutes]:
example.com/svc.(*Pool).wait(...)
	/src/svc/pool.go:88 +0x25
created by example.com/svc.NewPool in goroutine 1
	/src/svc/pool.go:40 +0x9a

goroutine 9 [select, 3 minutes]:
example.com/svc.tick(...)
	/src/svc/tick.go:5 +0x25
created by example.com/svc.NewPool in goroutine 1
	/src/svc/pool.go:41 +0x9a
`

func TestBlockedLongerThanThresholdAreSuspects(t *testing.T) {
	h := start(t, WithGoroutineCounter(func() int { return 4 }), staticDump(blockedDump))
	r := h.step()
	if r.Status != report.Suspect || r.Suspected != 2 {
		t.Fatalf("status %s, suspected %d; want suspect with 2: %+v", r.Status, r.Suspected, r)
	}
	if len(r.Blocked) != 1 || r.Blocked[0].Location != "/src/svc/pool.go:88" || r.Blocked[0].Count != 2 {
		t.Errorf("blocked groups = %+v", r.Blocked)
	}
	// Between deep checks the blocked suspects stay reported.
	if r := h.step(); r.Suspected != 2 || r.Status != report.Suspect {
		t.Errorf("second tick: %s with %d suspects", r.Status, r.Suspected)
	}
}

func TestProvenLeaksMakeItLeaking(t *testing.T) {
	leaked, err := stackdump.ParseBytes([]byte(`goroutine 21 [chan send (leaked)]:
example.com/svc.fanOut.func1()
	/src/svc/fan.go:17 +0x2d
created by example.com/svc.fanOut in goroutine 9
	/src/svc/fan.go:15 +0x7a
`))
	if err != nil || len(leaked) != 1 || !leaked[0].Leaked {
		t.Fatalf("fixture: %v %+v", err, leaked)
	}
	h := start(t, WithGoroutineCounter(func() int { return 2 }), func(c *config) {
		c.capture = fullDump(func() []byte { return []byte(idleDump) })
		c.proven = func() ([]stackdump.Goroutine, bool, error) { return leaked, true, nil }
	})
	r := h.step()
	if r.Status != report.Leaking || r.ProvenLeaks != 1 || !r.LeakProfile {
		t.Fatalf("report = %+v", r)
	}
	if len(r.Leaked) != 1 || r.Leaked[0].Location != "/src/svc/fan.go:17" || r.Leaked[0].Function != "example.com/svc.fanOut.func1" {
		t.Errorf("leaked = %+v", r.Leaked)
	}
}

func TestSnapshotsAreBoundedAndRateLimited(t *testing.T) {
	dir := t.TempDir()
	// A file that is not ours must survive pruning.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 100.0
	h := start(t,
		WithGoroutineCounter(func() int { return int(n) }),
		staticDump(idleDump),
		WithSnapshotDir(dir), WithMaxSnapshots(3), WithSnapshotMinInterval(time.Minute))
	var r report.Report
	for range 12 * 10 { // 10 minutes of growth
		n += 5
		r = h.step()
	}
	if r.Status != report.Suspect {
		t.Fatalf("status %s", r.Status)
	}
	// Suspect from about minute 1, one snapshot per minute at most.
	if r.Snapshots < 7 || r.Snapshots > 10 {
		t.Errorf("%d snapshots in 10 minutes with a 1m minimum interval", r.Snapshots)
	}
	texts, _ := filepath.Glob(filepath.Join(dir, "goroutines-*.txt"))
	protos, _ := filepath.Glob(filepath.Join(dir, "goroutines-*.pb.gz"))
	if len(texts) != 3 || len(protos) != 3 {
		t.Fatalf("dir holds %d text and %d proto snapshots, want 3 each", len(texts), len(protos))
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("pruning removed a foreign file: %v", err)
	}
	if r.LastSnapshot != texts[len(texts)-1] {
		t.Errorf("last snapshot %q, newest file %q", r.LastSnapshot, texts[len(texts)-1])
	}
	if b, _ := os.ReadFile(r.LastSnapshot); string(b) != idleDump {
		t.Errorf("text snapshot = %q", b)
	}
	if b, _ := os.ReadFile(protos[len(protos)-1]); !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Error("proto snapshot is not gzipped pprof")
	}
}

// leakSite parks forever (until ch closes) on the line marked below; the
// test finds that line in this file and expects the report to name it.
//
//go:noinline
func leakSite(ch chan struct{}) {
	<-ch // leak site
}

// waitParked polls until n goroutines are blocked in leakSite, so a
// capture does not catch them still starting.
func waitParked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs, _ := stackdump.ParseBytes(capture.Stacks())
		parked := 0
		for _, g := range gs {
			if g.State == "chan receive" && len(g.Frames) > 0 && strings.HasSuffix(g.Frames[0].Func, ".leakSite") {
				parked++
			}
		}
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines parked", parked, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func leakSiteLine(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "<-ch // leak site") {
			return file + ":" + strconv.Itoa(i+1)
		}
	}
	t.Fatal("leak site marker not found")
	return ""
}

// Real goroutines, real capture: the growing group is named with the
// function and file:line where the goroutines block; the report stays
// leaking after the growth stops, for as long as they stay, and clears
// when they end.
//
// With a capture pause of 0 every capture comes from the concurrent
// goroutine profile, as it does in a service too large for a full dump
// within the pause: the leak is named the same way. (An hour lets every
// capture be a full dump, however slow a loaded machine makes it.)
func TestNamesRealLeakWithFileLine(t *testing.T) {
	for _, pause := range []time.Duration{time.Hour, 0} {
		t.Run(fmt.Sprintf("pause=%s", pause), func(t *testing.T) { testNamesRealLeak(t, pause) })
	}
}

func testNamesRealLeak(t *testing.T, pause time.Duration) {
	want := leakSiteLine(t)
	ch := make(chan struct{})
	closeCh := sync.OnceFunc(func() { close(ch) })
	defer closeCh() // ends every leaked goroutine

	h := start(t, WithInFlight(func() float64 { return 1 }), WithDeepCheckInterval(30*time.Second), WithCapturePause(pause))
	for range 13 { // healthy minute: baseline capture
		r := h.step()
		if r.Status != report.Healthy {
			t.Fatalf("healthy phase reported %s: %v", r.Status, r.Reasons)
		}
		if r.WaitTimesSkipped != (pause == 0) {
			t.Fatalf("pause %s: WaitTimesSkipped = %v", pause, r.WaitTimesSkipped)
		}
	}
	var r report.Report
	leaked := 0
	for i := 0; i < 40 && r.Status != report.Leaking; i++ {
		for range 5 {
			go leakSite(ch) // ended by close(ch)
		}
		leaked += 5
		waitParked(t, leaked)
		r = h.step()
	}
	if r.Status != report.Leaking || r.Confirmed < 25 {
		t.Fatalf("real leak not confirmed: %+v", r)
	}
	if len(r.Growing) == 0 {
		t.Fatalf("no growing groups in %+v", r)
	}
	g := r.Growing[0]
	if !strings.HasSuffix(g.Function, "watchdog.leakSite") || g.Location != want || g.State != "chan receive" {
		t.Errorf("top growing group = %s at %s [%s], want watchdog.leakSite at %s [chan receive]", g.Function, g.Location, g.State, want)
	}
	if g.Delta < 25 || g.Before != 0 {
		t.Errorf("growth %d (before %d), want at least 25 from 0", g.Delta, g.Before)
	}

	// The leak stops growing; the trend goes flat but the goroutines stay.
	for i := range 12 * 5 { // five windows
		r = h.step()
		if r.Status != report.Leaking || r.Confirmed < leaked-2 || len(r.Growing) == 0 || r.Growing[0].Location != want {
			t.Fatalf("tick %d after the growth stopped: %s, confirmed %d, growing %+v; want leaking at %s", i, r.Status, r.Confirmed, r.Growing, want)
		}
	}
	if r.ExcessPerMinute > 1 {
		t.Fatalf("trend still %.1f/min: the test did not wait past the window", r.ExcessPerMinute)
	}

	closeCh()
	waitGone(t)
	for i := 0; r.Status != report.Healthy; i++ {
		if i == 12 { // a deep check is due within 30s
			t.Fatalf("leak ended but still %s: %+v", r.Status, r)
		}
		r = h.step()
	}
	if r.Confirmed != 0 || len(r.Growing) != 0 {
		t.Errorf("healthy report still lists the leak: %+v", r)
	}
}

// waitGone polls until no goroutine is in leakSite any more.
func waitGone(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs, _ := stackdump.ParseBytes(capture.Stacks())
		left := 0
		for _, g := range gs {
			if len(g.Frames) > 0 && strings.HasSuffix(g.Frames[0].Func, ".leakSite") {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still in leakSite", left)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLifecycle(t *testing.T) {
	w := New(WithInterval(time.Millisecond), WithWindow(10*time.Millisecond))
	w.Stop() // before Start: no-op
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	w.Stop()
	w.Stop()
	goleak.VerifyNone(t)

	ctx, cancel := context.WithCancel(context.Background())
	w2 := New()
	if err := w2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-w2.done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchdog did not stop when its context ended")
	}
	goleak.VerifyNone(t)
}

func TestInvalidOptions(t *testing.T) {
	for name, opts := range map[string][]Option{
		"interval":  {WithInterval(0)},
		"window":    {WithInterval(time.Second), WithWindow(2 * time.Second)},
		"snapshots": {WithMaxSnapshots(0)},
		"dir":       {WithSnapshotDir("/dev/null/x")},
	} {
		if err := New(opts...).Start(context.Background()); err == nil {
			t.Errorf("%s: Start accepted invalid options", name)
		}
	}
}

func TestInFlightMiddleware(t *testing.T) {
	var c InFlight
	seen := -1.0
	h := c.Middleware(httpHandlerFunc(func() { seen = c.Load() }))
	h.ServeHTTP(nil, nil)
	if seen != 1 || c.Load() != 0 {
		t.Errorf("in flight during request %v, after %v", seen, c.Load())
	}
}

type httpHandlerFunc func()

func (f httpHandlerFunc) ServeHTTP(http.ResponseWriter, *http.Request) { f() }

//go:noinline
func leakForever() {
	go func() {
		c := make(chan int) // nothing else can ever reach c
		<-c
	}()
}

// With the runtime's leak profile the watchdog reports proven leaks, with
// their location, and the status is leaking rather than suspect.
func TestReportsRuntimeProvenLeak(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		t.Skip("runtime leak profile unavailable; build with GOEXPERIMENT=goroutineleakprofile")
	}
	h := start(t, WithDeepCheckInterval(time.Second)) // every tick is a deep check
	leakForever()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := h.step()
		if r.Status == report.Leaking {
			if !r.LeakProfile || r.ProvenLeaks < 1 || len(r.Leaked) == 0 ||
				!strings.HasSuffix(r.Leaked[0].Function, "watchdog.leakForever.func1") ||
				!strings.Contains(r.Leaked[0].Location, "watchdog_test.go:") {
				t.Fatalf("report = %+v", r)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proven leak never reported: %+v", r)
		}
	}
}

// Asked before its first sample, the watchdog says so instead of
// reporting zero goroutines at the zero time.
func TestReportBeforeFirstSample(t *testing.T) {
	w := New(WithGoroutineCounter(func() int { return 42 }))
	r, err := w.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.GeneratedAt.IsZero() || r.Goroutines != 42 || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "no sample yet") {
		t.Fatalf("report before the first sample: %+v", r)
	}
}

// The production goal with the default options: one goroutine leaked per
// request at 20 requests/s is flagged within 30 seconds of the leak
// starting, after a healthy warm-up at the same load.
func TestDefaultsFlagTwentyPerSecondLeakWithin30s(t *testing.T) {
	s := newSim()
	h := start(t, s.opts()...)
	interval := h.w.cfg.interval
	for i := range int(3 * time.Minute / interval) {
		s.load = 20 + s.rng.NormFloat64()*2
		if r := h.step(); r.Status != report.Healthy {
			t.Fatalf("warm-up tick %d: healthy service reported %s", i, r.Status)
		}
	}
	for elapsed := interval; elapsed <= 30*time.Second; elapsed += interval {
		s.load = 20 + s.rng.NormFloat64()*2
		s.leaked += 20 * interval.Seconds()
		if r := h.step(); r.Status == report.Suspect {
			t.Logf("flagged %v after the leak started", elapsed)
			return
		}
	}
	t.Fatal("a 20 goroutines/s leak was not flagged within 30s with the default options")
}
