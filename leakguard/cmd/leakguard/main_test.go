package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fixtures = "../../stackdump/testdata/"

// dump renders a goroutine dump with the given number of blocked workers
// and one idle server goroutine.
func dump(workers int) string {
	var b strings.Builder
	b.WriteString("goroutine 1 [running]:\nmain.main()\n\t/app/main.go:20 +0x1d\n")
	b.WriteString("\ngoroutine 2 [IO wait]:\nmain.serve()\n\t/app/server.go:11 +0x2a\ncreated by main.main in goroutine 1\n\t/app/main.go:15 +0x3c\n")
	for i := range workers {
		fmt.Fprintf(&b, "\ngoroutine %d [chan receive, 3 minutes]:\nmain.worker(0xc%07x)\n\t/app/worker.go:42 +0x25\ncreated by main.spawn in goroutine 2\n\t/app/worker.go:30 +0x4e\n", 10+i, i)
	}
	return b.String()
}

type result struct {
	stdout, stderr string
	err            error
}

func runCLI(args ...string) result {
	var stdout, stderr bytes.Buffer
	err := run(args, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), err}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"analyze"}, {"diff", "one"}, {"analyze", "-format", "pdf", "x"}, {"fetch", "ftp://x/goroutine"}, {"watch", "-interval", "0s", "http://x/"}, {"analyze", "-nope", "x"}} {
		r := runCLI(args...)
		if !errors.Is(r.err, errUsage) || exitCode(r.err) != 2 {
			t.Errorf("%q: err = %v, want a usage error", args, r.err)
		}
	}
	if r := runCLI("help"); r.err != nil || !strings.Contains(r.stdout, "commands:") {
		t.Errorf("help: %+v", r)
	}
	if r := runCLI("analyze", "-h"); exitCode(r.err) != 2 || !strings.Contains(r.stderr, "-format") {
		t.Errorf("analyze -h: %+v", r)
	}
}

// pprofServer serves dumps at /debug/pprof/goroutine, requiring a bearer
// token when token is set, and records the last query it saw.
type pprofServer struct {
	*httptest.Server
	token   string
	query   atomic.Value
	next    func(n int) (int, string) // status and body for request n (1-based)
	handled atomic.Int64
}

func newPprofServer(t *testing.T, token string, next func(n int) (int, string)) *pprofServer {
	s := &pprofServer{token: token, next: next}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/goroutine", func(w http.ResponseWriter, r *http.Request) {
		s.query.Store(r.URL.RawQuery)
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		status, body := s.next(int(s.handled.Add(1)))
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func fixed(body string) func(int) (int, string) {
	return func(int) (int, string) { return http.StatusOK, body }
}

func TestFetch(t *testing.T) {
	// Without a query the endpoint answers the profile (this process's,
	// in protocol-buffer form); with debug=2 a full dump.
	var profile bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&profile, 0); err != nil {
		t.Fatal(err)
	}
	var s *pprofServer
	s = newPprofServer(t, "s3cret", func(int) (int, string) {
		if s.query.Load() == "" {
			return http.StatusOK, profile.String()
		}
		return http.StatusOK, dump(2)
	})
	out := filepath.Join(t.TempDir(), "out.txt")
	if r := runCLI("fetch", "-token", "s3cret", "-o", out, s.URL+"/debug/pprof/goroutine"); r.err != nil {
		t.Fatal(r.err)
	}
	if q := s.query.Load(); q != "" {
		t.Errorf("query = %q, want none: the profile, which stops no world", q)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := stackdump.ParseBytes(got)
	if err != nil || !bytes.HasPrefix(got, []byte("# leakguard: goroutine profile")) {
		t.Fatalf("fetched profile: %v\n%.300s", err, got)
	}
	found := false
	for _, g := range gs {
		for _, f := range g.Frames {
			found = found || strings.HasSuffix(f.Func, ".TestFetch")
		}
	}
	if !found {
		t.Errorf("the fetched profile does not show the test's own goroutine:\n%.2000s", got)
	}

	if r := runCLI("fetch", "-full", "-token", "s3cret", "-o", out, s.URL+"/debug/pprof/goroutine"); r.err != nil {
		t.Fatal(r.err)
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != dump(2) {
		t.Errorf("-full: file = %q, %v", got, err)
	}
	if q := s.query.Load(); q != "debug=2" {
		t.Errorf("-full: query = %q, want debug=2 appended", q)
	}

	t.Setenv(tokenEnv, "s3cret")
	r := runCLI("fetch", s.URL+"/debug/pprof/goroutine?debug=1")
	if r.err != nil || r.stdout != dump(2) {
		t.Errorf("token from env, stdout: %+v", r)
	}
	if q := s.query.Load(); q != "debug=1" {
		t.Errorf("query = %q, want the caller's query kept", q)
	}
}

func TestFetchErrors(t *testing.T) {
	s := newPprofServer(t, "s3cret", func(int) (int, string) {
		return http.StatusInternalServerError, "profile failed\n"
	})
	t.Setenv(tokenEnv, "")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{s.URL + "/debug/pprof/goroutine"}, []string{"401", "-token", tokenEnv}},
		{[]string{"-token", "wrong", s.URL + "/debug/pprof/goroutine"}, []string{"401", "rejected"}},
		{[]string{"-token", "s3cret", s.URL + "/debug/pprof/nothere"}, []string{"404", "net/http/pprof"}},
		{[]string{"-token", "s3cret", s.URL + "/debug/pprof/goroutine"}, []string{"unexpected status 500", "profile failed"}},
		{[]string{"http://127.0.0.1:1/debug/pprof/goroutine"}, []string{"fetch http://127.0.0.1:1/debug/pprof/goroutine:"}},
	}
	for _, tt := range tests {
		r := runCLI(append([]string{"fetch"}, tt.args...)...)
		if r.err == nil || exitCode(r.err) != 1 {
			t.Errorf("%v: err = %v, want a failure", tt.args, r.err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tt.args, r.err, w)
			}
		}
	}
}

func TestDumpURL(t *testing.T) {
	tests := []struct {
		in   string
		full bool
		want string
	}{
		{"http://h/debug/pprof/goroutine", false, "http://h/debug/pprof/goroutine"},
		{"http://h/debug/pprof/goroutine", true, "http://h/debug/pprof/goroutine?debug=2"},
		{"https://h/x/debug/pprof/goroutineleak", true, "https://h/x/debug/pprof/goroutineleak?debug=2"},
		{"http://h/debug/pprof/goroutine?debug=1", true, "http://h/debug/pprof/goroutine?debug=1"},
		{"http://h/debug/stacks", true, "http://h/debug/stacks"},
	}
	for _, tt := range tests {
		if got, err := dumpURL(tt.in, tt.full); err != nil || got != tt.want {
			t.Errorf("dumpURL(%q, full=%v) = %q, %v; want %q", tt.in, tt.full, got, err, tt.want)
		}
	}
}

func TestAnalyze(t *testing.T) {
	path := writeFile(t, dump(5))
	r := runCLI("analyze", path)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := "7 goroutines in 3 groups\n\n" +
		"     5  chan receive, waiting up to 3m\n" +
		"        at      main.worker  /app/worker.go:42\n" +
		"        created main.spawn  /app/worker.go:30\n"
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("got\n%s\nwant prefix\n%s", r.stdout, want)
	}

	r = runCLI("analyze", "-format", "json", "-top", "1", path)
	var report struct {
		Goroutines int
		Top        []struct{ Count int } `json:"top_groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); r.err != nil || err != nil || report.Goroutines != 7 || len(report.Top) != 1 || report.Top[0].Count != 5 {
		t.Errorf("json: %+v, %v, %v", report, r.err, err)
	}

	r = runCLI("analyze", "-format", "html", path)
	if r.err != nil || !strings.Contains(r.stdout, "<table>") || !strings.Contains(r.stdout, "main.worker") {
		t.Errorf("html: %v\n%s", r.err, r.stdout)
	}
}

func TestAnalyzeRealFixture(t *testing.T) {
	r := runCLI("analyze", "-top", "1", "-frames", "1", fixtures+"go1.27-goroutineleak.txt")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"23 goroutines in 17 groups", "     4  chan receive, 4 leaked", "main.leak.func1", "created main.leak"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in\n%s", want, r.stdout)
		}
	}
}

func TestAnalyzeStdin(t *testing.T) {
	old := stdin
	t.Cleanup(func() { stdin = old })
	stdin = strings.NewReader(dump(1))
	if r := runCLI("analyze", "-"); r.err != nil || !strings.Contains(r.stdout, "3 goroutines in 3 groups") {
		t.Errorf("%+v", r)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	if r := runCLI("analyze", filepath.Join(t.TempDir(), "missing.txt")); !errors.Is(r.err, os.ErrNotExist) {
		t.Errorf("missing file: %v", r.err)
	}
	// A debug=1 profile is not a dump of individual goroutines.
	debug1 := writeFile(t, "goroutine profile: total 3\n2 @ 0x43e8ce 0x40a2c5\n#\t0x4a1b2c\tmain.worker+0x25\t/app/worker.go:42\n")
	if r := runCLI("analyze", debug1); !errors.Is(r.err, errNoGoroutines) {
		t.Errorf("debug=1 profile: %v", r.err)
	}
}

func TestDiff(t *testing.T) {
	old, cur := writeFile(t, dump(2)), writeFile(t, dump(9))
	r := runCLI("diff", old, cur)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := "4 → 11 goroutines (+7), 1 of 3 groups changed\n\n" +
		"    +7  2 → 9  chan receive, waiting up to 3m\n" +
		"        at      main.worker  /app/worker.go:42\n"
	if !strings.HasPrefix(r.stdout, want) || strings.Contains(r.stdout, "main.serve") {
		t.Errorf("got\n%s\nwant prefix\n%s", r.stdout, want)
	}
	if r := runCLI("diff", "-all", old, cur); !strings.Contains(r.stdout, "main.serve") {
		t.Errorf("-all hides unchanged groups:\n%s", r.stdout)
	}

	r = runCLI("diff", "-format", "json", cur, old)
	var d struct {
		Before, After int
		Changes       []struct{ Delta int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); r.err != nil || err != nil || d.Before != 11 || d.After != 4 || len(d.Changes) != 1 || d.Changes[0].Delta != -7 {
		t.Errorf("json: %+v, %v, %v", d, r.err, err)
	}
}

func TestWatchReportsGrowthSinceFirstPoll(t *testing.T) {
	s := newPprofServer(t, "tok", func(n int) (int, string) {
		if n == 3 {
			return http.StatusServiceUnavailable, "busy"
		}
		return http.StatusOK, dump(2 * n)
	})
	r := runCLI("watch", "-interval", "1ms", "-count", "4", "-token", "tok", s.URL+"/debug/pprof/goroutine")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := s.handled.Load(); got != 4 {
		t.Errorf("%d polls, want 4", got)
	}
	for _, want := range []string{
		"poll 1: baseline of 4 goroutines in 3 groups",
		"poll 2: 4 → 6 goroutines (+2), 1 of 3 groups changed",
		"poll 4: 4 → 10 goroutines (+6), 1 of 3 groups changed",
		"    +6  2 → 8  chan receive, waiting up to 3m\n        at      main.worker  /app/worker.go:42",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "poll 3") || !strings.Contains(r.stderr, "poll 3: fetch") || !strings.Contains(r.stderr, "503") {
		t.Errorf("a failed poll must go to stderr and the watch go on:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestWatchShowsOnlyGrowth(t *testing.T) {
	s := newPprofServer(t, "", func(n int) (int, string) { return http.StatusOK, dump(6 - 2*n) })
	r := runCLI("watch", "-interval", "1ms", "-count", "2", s.URL+"/debug/pprof/goroutine")
	if r.err != nil || !strings.Contains(r.stdout, "6 → 4 goroutines (-2)") || strings.Contains(r.stdout, "main.worker") {
		t.Errorf("shrinking group reported as growth: %+v", r)
	}
}

func TestWatchFailsWithoutBaseline(t *testing.T) {
	s := newPprofServer(t, "tok", fixed(dump(1)))
	t.Setenv(tokenEnv, "")
	if r := runCLI("watch", "-interval", "1ms", "-count", "3", s.URL+"/debug/pprof/goroutine"); r.err == nil || !strings.Contains(r.err.Error(), "401") {
		t.Errorf("err = %v, want the first poll's 401", r.err)
	}
	if got := s.handled.Load(); got != 0 {
		t.Errorf("%d authorised polls after the first failed", got)
	}
}

func TestWatchStopsOnInterrupt(t *testing.T) {
	// The second request arrives after watch installed its SIGINT handler,
	// so the signal ends the watch instead of the test process.
	s := newPprofServer(t, "", func(n int) (int, string) {
		if n == 2 {
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				t.Error(err)
			}
		}
		return http.StatusOK, dump(n)
	})
	r := runCLI("watch", "-interval", "1ms", s.URL+"/debug/pprof/goroutine")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := s.handled.Load(); n < 2 || n > 3 {
		t.Errorf("%d polls; want the watch to stop right after the interrupt", n)
	}
}

// parkedInProfileTest blocks until release is closed: a group of known
// size and function for TestAnalyzeSavedProfile to find.
func parkedInProfileTest(release <-chan struct{}) { <-release }

// parkInProfileTest starts n parkedInProfileTest goroutines, each ended by
// closing release and waited for by parked. Not inlined: every goroutine
// it starts has the same stack, whichever line calls it.
//
//go:noinline
func parkInProfileTest(parked *sync.WaitGroup, release <-chan struct{}, n int) {
	for range n {
		parked.Go(func() { parkedInProfileTest(release) })
	}
}

// A profile saved as pprof serves it (curl -o, no debug parameter) is read
// by analyze and diff as a text dump is: the README says so.
func TestAnalyzeSavedProfile(t *testing.T) {
	profile := func(want int) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var text, proto bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&text, 1)
			if strings.Contains(text.String(), "parkedInProfileTest") && strings.Contains(text.String(), fmt.Sprintf("\n%d @", want)) || time.Now().After(deadline) {
				if err := pprof.Lookup("goroutine").WriteTo(&proto, 0); err != nil {
					t.Fatal(err)
				}
				return writeFile(t, proto.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	release := make(chan struct{})
	var parked sync.WaitGroup
	defer parked.Wait()
	defer close(release)
	parkInProfileTest(&parked, release, 3)
	before := profile(3)
	parkInProfileTest(&parked, release, 4)
	after := profile(7)

	r := runCLI("analyze", after)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.stdout, "     7  chan receive") || !strings.Contains(r.stdout, "parkedInProfileTest") {
		t.Errorf("analyze of a saved profile: no group of 7 in parkedInProfileTest:\n%s", r.stdout)
	}
	r = runCLI("diff", before, after)
	if r.err != nil || !strings.Contains(r.stdout, "+4  3 → 7  chan receive") {
		t.Errorf("diff of saved profiles: %v\n%s", r.err, r.stdout)
	}
}
