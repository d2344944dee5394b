package drill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/examples/leakdrill/drill"
	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	token = "drill-test-token"

	// Watchdog tuned for test speed: a sample every 100ms, a trend over
	// 1.5s, a full capture at least every 250ms and, while suspect, every
	// sample (so the growing groups follow the leak).
	interval = 100 * time.Millisecond
	window   = 1500 * time.Millisecond
	deep     = 250 * time.Millisecond

	// Traffic: 20 requests/s, one at a time, bounded in count and time.
	rate        = 50 * time.Millisecond
	maxRequests = 600 // 30s at 20/s

	detectTimeout = 30 * time.Second
	// minQuiet is the floor of how long a fixed twin is watched: two full
	// windows beyond the first one the watchdog needs to judge anything.
	minQuiet = 3 * window
	maxQuiet = 15 * time.Second
)

// scenario is one leak and its fixed twin.
type scenario struct {
	name      string
	leakyPath string
	fixedPath string
	marker    string // comment on the blocking statement in leaks.go
	state     string // the runtime's wait reason for the leaked goroutines
	function  string // substring of the leaked goroutine's function
}

var scenarios = []scenario{
	{
		name:      "orphan-receiver",
		leakyPath: "/leak/orphan-receiver",
		fixedPath: "/fixed/orphan-receiver",
		marker:    "// LEAK: orphan receiver",
		state:     "chan receive",
		function:  "LeakyOrphanReceiver",
	},
	{
		name:      "abandoned-fanout",
		leakyPath: "/leak/abandoned-fanout",
		fixedPath: "/fixed/abandoned-fanout",
		marker:    "// LEAK: abandoned fanout",
		state:     "chan send",
		function:  "LeakyAbandonedFanout",
	},
}

func TestDrill(t *testing.T) {
	leaksFile := drillSource(t, "leaks.go")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			want := markerLocation(t, leaksFile, sc.marker)
			latency := maxQuiet / 3 // used only if the leak subtest fails
			t.Run("leak", func(t *testing.T) {
				latency = testLeakDetected(t, sc, filepath.Dir(leaksFile), want)
			})
			t.Run("fixed", func(t *testing.T) {
				// Watch the fixed twin for longer than the leak took to be
				// found, so "not found" means something.
				quiet := min(max(3*latency, minQuiet), maxQuiet)
				testFixedQuiet(t, sc, filepath.Dir(leaksFile), quiet)
			})
		})
	}
}

// testLeakDetected drives traffic at the leaky route until the watchdog's
// report, and then GET /debug/leaks, name the leak's blocking statement,
// and returns how long the watchdog took.
func testLeakDetected(t *testing.T, sc scenario, drillDir, want string) time.Duration {
	h := startHarness(t)
	tr := h.drive(sc.leakyPath)

	g, list, at := h.waitForSuspect(t, detectTimeout, func(g report.Group) bool { return g.Location == want })
	latency := at.Sub(tr.start)
	t.Logf("%s: watchdog named %s in %s after %v (%d requests sent): %s [%s] count=%d delta=+%d",
		sc.name, g.Location, list, latency.Round(time.Millisecond), tr.sent.Load(), g.Function, g.State, g.Count, g.Delta)
	if g.State != sc.state {
		t.Errorf("leaked group state = %q, want %q", g.State, sc.state)
	}
	if !strings.Contains(g.Function, sc.function) {
		t.Errorf("leaked group function = %q, want it to contain %q", g.Function, sc.function)
	}

	// The same finding through the debug endpoint, with the token; traffic
	// keeps running so the trend (and with it the growing groups) holds.
	httpStart := time.Now()
	hg := h.waitForDebugLeaks(t, 10*time.Second, want)
	t.Logf("%s: GET /debug/leaks?format=json named %s [%s] after a further %v",
		sc.name, hg.Location, hg.State, time.Since(httpStart).Round(time.Millisecond))

	tr.stop()
	h.waitIdle(t)
	if n := tr.failed.Load(); n > 0 {
		t.Errorf("%d of %d leaky requests failed", n, tr.sent.Load())
	}
	stranded := h.svc.Drill.Stranded()
	if stranded == 0 {
		t.Fatal("the leaky route stranded no goroutines")
	}
	blocked := countAt(want)
	t.Logf("%s: %d goroutines stranded, %d blocked at %s before Release", sc.name, stranded, blocked, want)
	if blocked == 0 || blocked > stranded {
		t.Errorf("%d goroutines blocked at %s, want 1..%d (the stranded ones)", blocked, want, stranded)
	}
	h.svc.Drill.Release()
	waitNoGoroutinesIn(t, drillDir)
	return latency
}

// testFixedQuiet drives the same traffic at the fixed twin for quiet and
// fails as soon as a suspect group names a non-test file of the drill.
func testFixedQuiet(t *testing.T, sc scenario, drillDir string, quiet time.Duration) {
	h := startHarness(t)
	tr := h.drive(sc.fixedPath)
	names := func(g report.Group) bool {
		file := g.Location
		if i := strings.LastIndexByte(file, ':'); i >= 0 {
			file = file[:i] // drop ":line"
		}
		return strings.HasPrefix(file, drillDir+"/") && !strings.HasSuffix(file, "_test.go")
	}

	deadline := time.NewTimer(quiet)
	defer deadline.Stop()
	poll := time.NewTicker(interval / 2)
	defer poll.Stop()
	var last report.Report
	maxExcess := 0.0
	for done := false; !done; {
		select {
		case <-deadline.C:
			done = true
		case <-poll.C:
		}
		r, err := h.svc.Watchdog.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == report.Leaking {
			t.Fatalf("%s: fixed twin reported leaking after %v: %s", sc.name, time.Since(tr.start).Round(time.Millisecond), summary(r))
		}
		if g, list, ok := findSuspect(r, names); ok {
			t.Fatalf("%s: fixed twin reported as suspect in %s after %v: %s %s [%s] count=%d delta=+%d; reasons: %v",
				sc.name, list, time.Since(tr.start).Round(time.Millisecond), g.Function, g.Location, g.State, g.Count, g.Delta, r.Reasons)
		}
		if r.Samples >= 6 && r.WindowSeconds >= window.Seconds()/2 { // what the watchdog judges
			maxExcess = max(maxExcess, r.ExcessPerMinute)
		}
		last = r
	}
	tr.stop()
	h.waitIdle(t)

	// The silence must come from a watchdog that watched real traffic.
	if last.Samples < int(window/interval)/2 || last.WindowSeconds < window.Seconds()/2 {
		t.Errorf("watchdog judged only %d samples over %.1fs; the check proved nothing", last.Samples, last.WindowSeconds)
	}
	sent, ok := tr.sent.Load(), tr.ok.Load()
	if minOK := int64(quiet / rate / 4); ok < minOK {
		t.Errorf("only %d of %d requests to %s succeeded, want at least %d", ok, sent, sc.fixedPath, minOK)
	}
	if n := tr.failed.Load(); n > 0 {
		t.Errorf("%d requests to %s failed", n, sc.fixedPath)
	}
	if n := h.svc.Drill.Stranded(); n != 0 {
		t.Errorf("fixed twin stranded %d goroutines", n)
	}
	t.Logf("%s: fixed twin quiet for %v: %d/%d requests ok, final status %s, %d goroutines, max judged excess %.1f/min",
		sc.name, quiet.Round(time.Millisecond), ok, sent, last.Status, last.Goroutines, maxExcess)
	waitNoGoroutinesIn(t, drillDir)
}

// harness is the service in-process behind an httptest server.
type harness struct {
	svc    *drill.Service
	srv    *httptest.Server
	client *http.Client
}

func startHarness(t *testing.T) *harness {
	t.Helper()
	svc := drill.NewService(drill.Config{}, token,
		watchdog.WithInterval(interval),
		watchdog.WithWindow(window),
		watchdog.WithDeepCheckInterval(deep),
		watchdog.WithSnapshotMinInterval(interval),
		watchdog.WithLogger(testLogger(t)),
	)
	srv := httptest.NewServer(svc.Handler)
	h := &harness{svc: svc, srv: srv, client: srv.Client()}
	h.client.Timeout = 10 * time.Second
	// Open the keep-alive connection the traffic will use before the
	// watchdog's first sample, so its goroutines are not a step in the
	// trend.
	if code, body, err := h.get(context.Background(), "/", false); err != nil || code != http.StatusOK {
		srv.Close()
		t.Fatalf("GET / = %d, %v: %s", code, err, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the traffic's own cleanup, registered later
		srv.Close()
		cancel()
		svc.Stop() // stops the watchdog and releases what is still stranded
	})
	// Traffic starts once the watchdog has its first sample, and with it
	// its first healthy capture to diff against.
	h.waitForReport(t, 5*time.Second, func(r report.Report) bool { return r.Samples >= 1 })
	return h
}

// traffic is a rate-limited request loop against one route.
type traffic struct {
	start            time.Time
	sent, ok, failed atomic.Int64
	stop             func()
}

func (h *harness) drive(path string) *traffic {
	quit := make(chan struct{})
	done := make(chan struct{})
	tr := &traffic{start: time.Now()}
	go func() {
		defer close(done)
		tick := time.NewTicker(rate)
		defer tick.Stop()
		for range maxRequests {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			tr.sent.Add(1)
			// Not cancelled by stop: a request cut off mid-flight would
			// leave its handler running after the test moved on.
			code, _, err := h.get(context.Background(), path, false)
			if err != nil || code != http.StatusOK {
				tr.failed.Add(1)
			} else {
				tr.ok.Add(1)
			}
		}
	}()
	tr.stop = sync.OnceFunc(func() { close(quit); <-done })
	return tr
}

// waitIdle waits until no drill request is in flight any more: the client
// may have its response before the handler has returned.
func (h *harness) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for h.svc.InFlight.Load() != 0 {
		select {
		case <-deadline.C:
			t.Fatalf("%v drill requests still in flight", h.svc.InFlight.Load())
		case <-poll.C:
		}
	}
}

func (h *harness) get(ctx context.Context, path string, auth bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// waitForSuspect polls the watchdog's report until a suspect group matches
// and returns it, the list it was in and when it was seen.
func (h *harness) waitForSuspect(t *testing.T, timeout time.Duration, match func(report.Group) bool) (report.Group, string, time.Time) {
	t.Helper()
	var (
		g    report.Group
		list string
	)
	r := h.waitForReport(t, timeout, func(r report.Report) bool {
		var ok bool
		g, list, ok = findSuspect(r, match)
		return ok
	})
	return g, list, r.GeneratedAt
}

func (h *harness) waitForReport(t *testing.T, timeout time.Duration, cond func(report.Report) bool) report.Report {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(interval / 2)
	defer poll.Stop()
	for {
		r, err := h.svc.Watchdog.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		select {
		case <-deadline.C:
			t.Fatalf("condition not met within %v; last report: %s", timeout, summary(r))
		case <-poll.C:
		}
	}
}

// waitForDebugLeaks polls GET /debug/leaks?format=json until a suspect
// group is at want. It also checks that the endpoint refuses a request
// without the token.
func (h *harness) waitForDebugLeaks(t *testing.T, timeout time.Duration, want string) report.Group {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if code, _, err := h.get(ctx, "/debug/leaks?format=json", false); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("GET /debug/leaks without token = %d, %v; want 401", code, err)
	}
	poll := time.NewTicker(interval / 2)
	defer poll.Stop()
	var last report.Report
	for {
		code, body, err := h.get(ctx, "/debug/leaks?format=json", true)
		if ctx.Err() != nil {
			t.Fatalf("GET /debug/leaks did not name %s within %v; last report: %s", want, timeout, summary(last))
		}
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET /debug/leaks = %d, %v: %s", code, err, body)
		}
		last = report.Report{}
		if err := json.Unmarshal(body, &last); err != nil {
			t.Fatalf("decode /debug/leaks: %v\n%s", err, body)
		}
		if last.Source != "watchdog" {
			t.Fatalf("/debug/leaks source = %q, want the watchdog's report", last.Source)
		}
		if g, _, ok := findSuspect(last, func(g report.Group) bool { return g.Location == want }); ok {
			return g
		}
		select {
		case <-ctx.Done():
		case <-poll.C:
		}
	}
}

// findSuspect looks through the groups a report holds against the code:
// proven leaks, groups growing beyond load, goroutines blocked too long.
// Top lists every large group, leaked or not, so it is not a suspect list.
func findSuspect(r report.Report, match func(report.Group) bool) (report.Group, string, bool) {
	for _, l := range []struct {
		name   string
		groups []report.Group
	}{{"leaked", r.Leaked}, {"growing", r.Growing}, {"blocked", r.Blocked}} {
		for _, g := range l.groups {
			if match(g) {
				return g, l.name, true
			}
		}
	}
	return report.Group{}, "", false
}

func summary(r report.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status=%s goroutines=%d samples=%d excess=%.1f/min reasons=%v",
		r.Status, r.Goroutines, r.Samples, r.ExcessPerMinute, r.Reasons)
	for _, g := range r.Growing {
		fmt.Fprintf(&b, "\n  growing +%d %s %s [%s]", g.Delta, g.Function, g.Location, g.State)
	}
	for _, g := range r.Top {
		fmt.Fprintf(&b, "\n  top %d %s %s [%s]", g.Count, g.Function, g.Location, g.State)
	}
	return b.String()
}

// drillSource returns the absolute path of a source file of the drill
// package, next to this test file; the runtime prints the same form in
// goroutine dumps.
func drillSource(t *testing.T, name string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	return filepath.Join(filepath.Dir(self), name)
}

// markerLocation returns "file:line" of the one line of file that carries
// marker.
func markerLocation(t *testing.T, file, marker string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, marker) {
			lines = append(lines, i+1)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%s: marker %q on lines %v, want exactly one", file, marker, lines)
	}
	return fmt.Sprintf("%s:%d", file, lines[0])
}

// countAt counts the goroutines whose first non-runtime frame is at loc.
func countAt(loc string) int {
	gs, _ := stackdump.ParseBytes(capture.Stacks())
	n := 0
	for _, g := range gs {
		if _, l := report.Interesting(g.Frames); l == loc {
			n++
		}
	}
	return n
}

// waitNoGoroutinesIn waits until no goroutine runs code from a non-test
// file in dir: whatever the drill started has ended.
func waitNoGoroutinesIn(t *testing.T, dir string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		gs, err := stackdump.ParseBytes(capture.Stacks())
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, g := range gs {
			for _, f := range g.Frames {
				if strings.HasPrefix(f.File, dir+"/") && !strings.HasSuffix(f.File, "_test.go") {
					left = append(left, fmt.Sprintf("goroutine %d [%s] at %s", g.ID, g.State, f.Location()))
					break
				}
			}
		}
		if len(left) == 0 {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%d drill goroutines still running, e.g. %v", len(left), left[:min(len(left), 5)])
		case <-poll.C:
		}
	}
}

// testLogger sends the watchdog's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
