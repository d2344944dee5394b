package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// childArgs, set in the environment of a copy of this test binary, makes
// TestChild run fixturegen's main with these arguments: the goroutines it
// parks for good must not leak into this process.
const childArgs = "FIXTUREGEN_TEST_ARGS"

// TestChild is fixturegen's main in a child process of the tests below.
func TestChild(t *testing.T) {
	args := os.Getenv(childArgs)
	if args == "" {
		t.Skip("runs only as the child process of TestCapture and TestCrash")
	}
	os.Args = append([]string{"fixturegen"}, strings.Fields(args)...)
	main()
	os.Exit(0)
}

// runChild runs main in a child process with args and returns its stderr.
func runChild(t *testing.T, args string, env ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
	cmd.Env = append(os.Environ(), append(env, childArgs+"="+args, "GODEBUG=tracebacklabels=1")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.Bytes(), err
}

// wantParked is what the fixtures must show: n goroutines running fn (of
// fixturegen, without the package) in state (a prefix of the state as parsed).
type wantParked struct {
	fn    string
	state string
	n     int
}

var want = []wantParked{
	{"receiver", "chan receive", 3},
	{"sender", "chan send", 1},
	{"selector", "select", 1},
	{"sleeper", "sleep", 1},
	{"locker", "sync.Mutex.Lock", 2},
	{"generic", "chan receive", 1},
	{"(*waiter).wait", "sync.WaitGroup.Wait", 1},
	{"accept", "IO wait", 1},
	{"readConn", "IO wait", 1},
	{"readPipe", "IO wait", 1},
	{"leak.func1", "chan receive", 4},
	{"leakMutex.func1", "sync.Mutex.Lock", 1},
}

// funcName is fn without its package: a main package's functions print as
// main.f in a command, as path/fixturegen.f in its test binary.
func funcName(fn string) string {
	fn = fn[strings.LastIndex(fn, "/")+1:]
	return fn[strings.Index(fn, ".")+1:]
}

// checkDump checks a dump holds every goroutine fixturegen parks, in the
// state the stackdump parser must understand, with the labels, the locked
// thread and the elided frames it is there to show.
func checkDump(t *testing.T, name string, dump []byte) {
	t.Helper()
	gs, err := stackdump.ParseBytes(dump)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	count := map[wantParked]int{}
	locked, labelled, elided := false, false, false
	for _, g := range gs {
		for _, f := range g.Frames {
			fn := funcName(f.Func)
			for _, p := range want {
				if fn == p.fn && strings.HasPrefix(g.State, p.state) {
					count[p]++
				}
			}
			locked = locked || (fn == "lockedToThread" && g.LockedToThread)
			labelled = labelled || (fn == "labelled.func1" && g.Labels["handler"] == "checkout")
			elided = elided || (fn == "deep" && g.Elided)
		}
	}
	for _, p := range want {
		if count[p] < p.n {
			t.Errorf("%s: %d goroutines in %s (%s), want %d", name, count[p], p.fn, p.state, p.n)
		}
	}
	if !locked || !labelled || !elided {
		t.Errorf("%s: locked to thread %v, labelled %v, elided %v; want all", name, locked, labelled, elided)
	}
}

// TestCapture checks the dumps fixturegen writes hold the goroutines its
// doc promises, wantParked where the stackdump tests expect them.
func TestCapture(t *testing.T) {
	dir := t.TempDir()
	if stderr, err := runChild(t, "-hold 0 -prefix test -out "+dir); err != nil {
		t.Fatalf("fixturegen: %v\n%s", err, stderr)
	}
	for _, name := range []string{"test-stack.txt", "test-goroutine.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		checkDump(t, name, b)
	}
	// The leak profile exists only in a toolchain built with its experiment.
	_, err := os.Stat(filepath.Join(dir, "test-goroutineleak.txt"))
	if wrote, have := err == nil, pprof.Lookup("goroutineleak") != nil; wrote != have {
		t.Errorf("wrote the goroutineleak dump: %v; the runtime has the profile: %v", wrote, have)
	}
}

// TestCrash checks -crash ends the process with a panic whose traceback
// (with GOTRACEBACK=all) shows the goroutines still wantParked.
func TestCrash(t *testing.T) {
	stderr, err := runChild(t, "-hold 0 -crash -out "+t.TempDir(), "GOTRACEBACK=all")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("fixturegen -crash: %v, want exit status 2\n%s", err, stderr)
	}
	if !bytes.Contains(stderr, []byte("panic: fixturegen: deliberate crash")) {
		t.Fatalf("no panic preamble in:\n%s", stderr)
	}
	checkDump(t, "the crash traceback", stderr)
}
