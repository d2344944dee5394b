package stackdump

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The go1.26-* and go1.27-* fixtures are real captures made by
// leakguard/internal/fixturegen; the line numbers below are lines of its
// main.go at capture time.
const genFile = "/work/main/leakguard/internal/fixturegen/main.go"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseFixture parses a fixture both ways and checks they agree, so every
// fixture test also covers the streaming parser.
func parseFixture(t *testing.T, name string) []Goroutine {
	t.Helper()
	b := readFixture(t, name)
	gs, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := Parse(iotest.HalfReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gs, streamed) {
		t.Fatalf("%s: Parse and ParseBytes disagree", name)
	}
	return gs
}

// withFunc returns the goroutines that have fn among their frames.
func withFunc(gs []Goroutine, fn string) []Goroutine {
	var out []Goroutine
	for _, g := range gs {
		for _, f := range g.Frames {
			if f.Func == fn {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func one(t *testing.T, gs []Goroutine, fn string) Goroutine {
	t.Helper()
	m := withFunc(gs, fn)
	if len(m) != 1 {
		t.Fatalf("%d goroutines run %s, want 1", len(m), fn)
	}
	return m[0]
}

func gen(fn string, line int) Frame { return Frame{Func: fn, File: genFile, Line: line} }

var wantLabels = map[string]string{"handler": "checkout", "tenant id": `acme "corp"`}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file     string
		senderID int64
		leaked   int  // goroutines with the (leaked) marker
		leakProf bool // written by the goroutineleak profile
		labels   bool // labels printed in headers
	}{
		{"go1.26-stack.txt", 24, 0, false, false},
		{"go1.26-goroutine.txt", 24, 0, false, false},
		{"go1.26-goroutineleak.txt", 24, 6, true, false},
		{"go1.26-labels-stack.txt", 11, 0, false, true},
		{"go1.26-labels-goroutineleak.txt", 11, 6, true, true},
		{"go1.27-stack.txt", 11, 0, false, true},
		{"go1.27-goroutine.txt", 11, 0, false, true},
		{"go1.27-goroutineleak.txt", 11, 7, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			gs := parseFixture(t, tt.file)
			if len(gs) != 23 {
				t.Fatalf("parsed %d goroutines, want 23", len(gs))
			}
			if gs[0].ID != 1 || gs[0].State != "running" || gs[0].Frames[len(gs[0].Frames)-1].Func != "main.main" {
				t.Errorf("first goroutine = %d %q, want the running main goroutine", gs[0].ID, gs[0].State)
			}
			leaked := 0
			for _, g := range gs {
				if g.Leaked {
					leaked++
					if g.Wait != 0 {
						t.Errorf("goroutine %d: leaked goroutines print no wait, got %v", g.ID, g.Wait)
					}
				}
			}
			if leaked != tt.leaked {
				t.Errorf("%d leaked goroutines, want %d", leaked, tt.leaked)
			}

			sender := one(t, gs, "main.sender")
			want := Goroutine{
				ID: tt.senderID, State: "chan send", Wait: time.Minute,
				Frames:    []Frame{gen("main.sender", 154)},
				CreatedBy: &Frame{Func: "main.startAll", File: genFile, Line: 128}, CreatorID: 1,
			}
			if tt.leakProf {
				want.Leaked, want.Wait = true, 0
			}
			if !reflect.DeepEqual(sender, want) {
				t.Errorf("sender:\n got %+v\nwant %+v", sender, want)
			}

			locked := one(t, gs, "main.lockedToThread")
			if !locked.LockedToThread || locked.State != "chan receive" || locked.Wait != time.Minute {
				t.Errorf("lockedToThread = %+v", locked)
			}

			labelled := one(t, gs, "main.labelled")
			if tt.labels != (labelled.Labels != nil) || tt.labels && !maps.Equal(labelled.Labels, wantLabels) {
				t.Errorf("labels = %q, printed: %v", labelled.Labels, tt.labels)
			}
			if got := funcs(labelled.Frames); got != "main.labelled.func1 runtime/pprof.Do main.labelled" {
				t.Errorf("labelled frames = %s", got)
			}
			for _, g := range gs {
				if g.Labels != nil && g.ID != labelled.ID {
					t.Errorf("goroutine %d has labels %v; only %d was labelled", g.ID, g.Labels, labelled.ID)
				}
			}

			deep := one(t, gs, "main.deep")
			if !deep.Elided || len(deep.Frames) != 100 || deep.Frames[0] != gen("main.deep", 189) || deep.Frames[99].Func != "main.deep" {
				t.Errorf("deep: elided=%v frames=%d first=%v", deep.Elided, len(deep.Frames), deep.Frames[0])
			}

			generic := one(t, gs, "main.generic")
			if !reflect.DeepEqual(generic.Frames, []Frame{gen("main.receiveAny[...]", 197), gen("main.generic", 195)}) {
				t.Errorf("generic frames = %v", generic.Frames)
			}

			leaks := withFunc(gs, "main.leak.func1")
			if len(leaks) != 4 {
				t.Fatalf("%d main.leak.func1 goroutines, want 4", len(leaks))
			}
			for _, g := range leaks {
				if g.State != "chan receive" || g.Leaked != tt.leakProf || *g.CreatedBy != gen("main.leak", 249) {
					t.Errorf("leak goroutine %+v", g)
				}
			}

			// The connection accepted by main.accept is read by a
			// goroutine that main.accept started: CreatorID links them.
			accept := one(t, gs, "main.accept")
			if accept.State != "IO wait" || *accept.CreatedBy != gen("main.startIO", 210) {
				t.Errorf("accept = %+v", accept)
			}
			var acceptedBy []int64
			for _, g := range withFunc(gs, "main.readConn") {
				if g.CreatedBy.Func == "main.accept" {
					acceptedBy = append(acceptedBy, g.CreatorID)
				}
			}
			if len(acceptedBy) != 1 || acceptedBy[0] != accept.ID {
				t.Errorf("readConn created by accept in goroutine %v, want [%d]", acceptedBy, accept.ID)
			}

			mutex := withFunc(gs, "main.locker")
			if len(mutex) != 2 || mutex[0].State != "sync.Mutex.Lock" || mutex[0].Frames[0].Func != "internal/sync.runtime_SemacquireMutex" {
				t.Errorf("lockers = %+v", mutex)
			}
		})
	}
}

func funcs(fs []Frame) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Func
	}
	return strings.Join(names, " ")
}

// The crash fixtures are what a panicking program prints to stderr under
// "go run": a panic preamble, the dump, then "exit status 2".
func TestCrashFixtureSystemTraceback(t *testing.T) {
	gs := parseFixture(t, "go1.26-crash.txt") // GOTRACEBACK=system
	if len(gs) != 31 {
		t.Fatalf("parsed %d goroutines, want 31 (runtime goroutines included)", len(gs))
	}
	main := gs[0]
	if main.ID != 1 || main.State != "running" || main.Frames[0].Func != "panic" ||
		main.Frames[1] != gen("main.main", 58) {
		t.Errorf("main goroutine = %+v", main)
	}
	if main.Frames[0].Line != 879 || main.Frames[0].File != "/usr/local/go/src/runtime/panic.go" {
		t.Errorf("fp=/sp=/pc= suffix not stripped: %+v", main.Frames[0])
	}
	if g := gs[1]; g.ID != 2 || g.State != "force gc (idle)" || g.Frames[0].Func != "runtime.gopark" {
		t.Errorf("goroutine 2 = %+v", g)
	}
	sender := one(t, gs, "main.sender")
	if got := funcs(sender.Frames); got != "runtime.gopark runtime.chansend runtime.chansend1 main.sender main.startAll.gowrap2 runtime.goexit" {
		t.Errorf("system traceback frames = %s", got)
	}
	if sender.ID != 24 || sender.Wait != 0 {
		t.Errorf("sender = %+v", sender)
	}
}

func TestCrashFixtureAll(t *testing.T) {
	gs := parseFixture(t, "go1.27-crash.txt") // GOTRACEBACK=all, labels on
	if len(gs) != 23 {
		t.Fatalf("parsed %d goroutines, want 23", len(gs))
	}
	if !reflect.DeepEqual(gs[0].Frames, []Frame{gen("main.main", 58)}) {
		t.Errorf("main frames = %v", gs[0].Frames)
	}
	if l := one(t, gs, "main.labelled").Labels; !maps.Equal(l, wantLabels) {
		t.Errorf("labels = %q", l)
	}
	last := gs[len(gs)-1]
	if len(last.Frames) == 0 || strings.Contains(last.Frames[len(last.Frames)-1].Func, "exit status") {
		t.Errorf("trailing junk parsed into the last goroutine: %+v", last)
	}
}

func TestGo121Fixture(t *testing.T) {
	gs := parseFixture(t, "go1.21-handwritten.txt")
	ids := make([]int64, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	if !reflect.DeepEqual(ids, []int64{1, 18, 19, 7, 33, 40, 41, 42}) {
		t.Fatalf("IDs = %v", ids)
	}
	byID := func(id int64) Goroutine { return gs[slices.Index(ids, id)] }

	if g := byID(18); g.Wait != 12*time.Minute || g.State != "chan receive" ||
		*g.CreatedBy != (Frame{"main.startWorkers", "/home/dev/svc/worker.go", 9}) || g.CreatorID != 0 ||
		funcs(g.Frames) != "runtime.gopark runtime.chanrecv runtime.chanrecv1 main.worker" {
		t.Errorf("goroutine 18 = %+v", g)
	}
	if g := byID(7); g.Wait != 1234*time.Minute || !g.LockedToThread || g.State != "select" || g.Frames[2].Func != "main.signalLoop[...]" {
		t.Errorf("goroutine 7 = %+v", g)
	}
	if g := byID(33); !g.Elided || g.State != "syscall" || len(g.Frames) != 2 || g.CreatedBy.Func != "os/exec.(*Cmd).Start" {
		t.Errorf("goroutine 33 = %+v", g)
	}
	if g := byID(40); g.Frames[0] != (Frame{"net/http.(*connReader).backgroundRead", "/usr/local/go/src/net/http/server.go", 683}) {
		t.Errorf("goroutine 40 = %+v", g)
	}
	// Ancestor frames (GODEBUG=tracebackancestors) belong to goroutine 1,
	// not to 41.
	if g := byID(41); g.State != "semacquire" || funcs(g.Frames) != "sync.runtime_Semacquire sync.(*WaitGroup).Wait main.(*Pool).Close main.shutdown" ||
		g.CreatedBy.Line != 29 {
		t.Errorf("goroutine 41 = %+v", g)
	}
	if g := byID(42); len(g.Frames) != 0 || g.Frames != nil || g.CreatedBy.Func != "main.main" {
		t.Errorf("goroutine 42 = %+v", g)
	}
}

func TestParseLongLines(t *testing.T) {
	// Longer than Parse's read buffer, so the line arrives in pieces.
	args := strings.Repeat("0xc000123456, ", 20_000)
	dump := "goroutine 9 [select]:\nmain.f(" + args + "0x1)\n\t/x/f.go:7 +0x1\n\ngoroutine 10 [sleep]:\nmain.g()\n\t/x/g.go:3\n"
	gs, err := Parse(strings.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ParseBytes([]byte(dump))
	if !reflect.DeepEqual(gs, want) || len(gs) != 2 || gs[0].Frames[0] != (Frame{"main.f", "/x/f.go", 7}) {
		t.Errorf("got %+v", gs)
	}
}

func TestParseReturnsReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("goroutine 3 [select]:\nmain.f()\n\t/x/f.go:7\n\ngoroutine 4 [sle"), iotest.ErrReader(boom))
	gs, err := Parse(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if len(gs) != 1 || gs[0].ID != 3 {
		t.Errorf("goroutines read before the error = %+v", gs)
	}
}
