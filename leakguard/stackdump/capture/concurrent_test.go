package capture

import (
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// saveCaptureState restores what captures learn when the test ends.
func saveCaptureState(t *testing.T) {
	t.Helper()
	lb, pb, ns := labelledBytes.Load(), plainBytes.Load(), nsPerGoroutine.Load()
	labelledWant.Lock()
	known, needed, captures := labelledWant.known, labelledWant.needed, labelledWant.captures
	labelledWant.Unlock()
	t.Cleanup(func() {
		labelledBytes.Store(lb)
		plainBytes.Store(pb)
		nsPerGoroutine.Store(ns)
		labelledWant.Lock()
		labelledWant.known, labelledWant.needed, labelledWant.captures = known, needed, captures
		labelledWant.Unlock()
	})
}

// setHeapRoom replaces what the heap is said to have room for, until the
// test ends.
func setHeapRoom(t *testing.T, room func() int64) {
	saved := heapRoom
	t.Cleanup(func() { heapRoom = saved })
	heapRoom = room
}

func fixedRoom(n int64) func() int64 { return func() int64 { return n } }

// setLabelledWant sets what the last labelled profile showed.
func setLabelledWant(known, needed bool, captures int) {
	labelledWant.Lock()
	labelledWant.known, labelledWant.needed, labelledWant.captures = known, needed, captures
	labelledWant.Unlock()
}

// The plain profile (runtime.GoroutineProfile) gives the labelled one's
// groups, counts, states, frames and learned creators, except pprof
// labels and the frames of stacks deeper than a record holds, and says
// when it cut one.
func TestPlainProfileMatchesLabelled(t *testing.T) {
	startParked(t)
	waitParked(t) // full dumps teach the creators
	labelledText, _, err := appendProfile(nil, pprofGoroutine(), &learnedUse{})
	if err != nil {
		t.Fatal(err)
	}
	var used learnedUse
	plainText, complete := appendPlainProfile(nil, &used)
	if complete {
		t.Error("plain profile says no stack was cut; deep(110) was")
	}
	if used.stacks == 0 || used.since.IsZero() || time.Since(used.since) > time.Minute {
		t.Errorf("learned creators used: %+v, want some from the full dumps just taken", used)
	}
	labelled := parkedGroups(groupsOf(t, labelledText))
	plainGroups := parkedGroups(groupsOf(t, plainText))
	for fn := range wantParked {
		l, p := labelled[fn], plainGroups[fn]
		if len(l) != len(p) || len(l) == 0 {
			t.Errorf("%s: %d labelled groups, %d plain", fn, len(l), len(p))
			continue
		}
		switch fn {
		case "deep":
			// Cut at the record's depth: the innermost frames, then the marker.
			if p[0].Count != l[0].Count || p[0].State != l[0].State || len(p[0].Frames) >= plainDepth ||
				!slices.Equal(p[0].Frames, l[0].Frames[:len(p[0].Frames)]) || !strings.Contains(p[0].Signature, "frames elided") {
				t.Errorf("deep: plain %d×%q %d frames\n%s", p[0].Count, p[0].State, len(p[0].Frames), p[0].Signature)
			}
		case "labelled":
			if p[0].Labels != nil || l[0].Labels == nil || p[0].Signature != l[0].Signature || p[0].Count != l[0].Count {
				t.Errorf("labelled: plain %+v\nlabelled %+v", p[0], l[0])
			}
		default:
			for i := range l {
				if p[i].Signature != l[i].Signature || p[i].Count != l[i].Count {
					t.Errorf("%s: plain (%d)\n%s\nlabelled (%d)\n%s", fn, p[i].Count, p[i].Signature, l[i].Count, l[i].Signature)
				}
			}
		}
	}
}

func groupsOf(t *testing.T, text []byte) []stackdump.Group {
	t.Helper()
	gs, err := stackdump.ParseBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	return stackdump.GroupGoroutines(gs)
}

func TestChooseProfile(t *testing.T) {
	saveCaptureState(t)
	setHeapRoom(t, fixedRoom(1<<20))
	labelledBytes.Store(1 << 20) // no room for it three times over
	for _, tc := range []struct {
		name             string
		known, needed    bool
		captures         int
		want             concurrentKind
		wantCapturesNext int
	}{
		{"never read", false, false, 0, labelledProfile, 0},
		{"labels or deep stacks last time", true, true, 0, labelledProfile, 0},
		{"none last time", true, false, 0, plainProfile, 1},
		{"time to look again", true, false, labelRecheck - 1, labelledProfile, 0},
	} {
		setLabelledWant(tc.known, tc.needed, tc.captures)
		if got := chooseProfile(1); got != tc.want {
			t.Errorf("%s: chose %v, want %v", tc.name, got, tc.want)
		}
		labelledWant.Lock()
		next := labelledWant.captures
		labelledWant.Unlock()
		if next != tc.wantCapturesNext {
			t.Errorf("%s: %d captures counted since the labelled one, want %d", tc.name, next, tc.wantCapturesNext)
		}
	}
	// A small capture fits three times over: labels are read.
	labelledBytes.Store(1000)
	setLabelledWant(true, false, 0)
	if got := chooseProfile(1); got != labelledProfile {
		t.Errorf("room to spare: chose %v, want the labelled profile", got)
	}
}

// Where the last labelled profile showed neither labels nor deep stacks,
// captures read the plain profile and say what they left out; a stack the
// plain profile cut is read again from the labelled one when the heap has
// room for it, else the dump says it is cut.
func TestCaptureConcurrentPlain(t *testing.T) {
	saveCaptureState(t)
	stop := make(chan struct{})
	started := make(chan struct{})
	exited := make(chan struct{})
	go func() { // ends when stop closes below
		defer close(exited)
		close(started)
		parkedForCapture(stop)
	}()
	<-started
	defer func() { close(stop); <-exited }()

	setHeapRoom(t, fixedRoom(1<<20))
	labelledBytes.Store(1 << 20)
	setLabelledWant(true, false, 0)
	text, info := captureConcurrentInfo(runtime.NumGoroutine(), time.Second, time.Millisecond)
	if !info.labelsSkipped || !strings.Contains(string(text), "# pprof labels not read: the last labelled profile had none") {
		t.Errorf("plain capture: skipped=%v, header %.400q", info.labelsSkipped, text)
	}
	if g := findGroup(groupsOf(t, text), "parkedForCapture", "chan receive"); g.Count != 1 {
		t.Errorf("parked goroutine not in the plain capture: %+v", g)
	}

	// A stack deeper than a record: cut, and said so, when the labelled
	// profile does not fit the heap.
	deepStop := make(chan struct{})
	deepExited := make(chan struct{})
	go func() { defer close(deepExited); deep(2*plainDepth, deepStop) }() // ends when deepStop closes below
	defer func() { close(deepStop); <-deepExited }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		setLabelledWant(true, false, 0)
		text, info = captureConcurrentInfo(runtime.NumGoroutine(), time.Second, time.Millisecond)
		if strings.Contains(string(text), "stacks cut at") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deep goroutine never cut: %.400q", text)
		}
	}
	if !info.labelsSkipped {
		t.Error("cut plain capture: labels not reported skipped")
	}
	if got := chooseProfile(1); got != labelledProfile {
		t.Error("after a cut stack the next capture does not read the labelled profile")
	}
	// With room for the labelled profile, though not three times over,
	// the cut stack is read again, whole. The labelled profile learns it is
	// needed from then on.
	setLabelledWant(true, false, 0)
	labelledBytes.Store(1000)
	rooms := []int64{1000, 1 << 40} // chooseProfile's look, then the fallback's
	setHeapRoom(t, func() int64 { r := rooms[0]; rooms = rooms[1:]; return r })
	text, info = captureConcurrentInfo(1, time.Second, time.Millisecond)
	if info.labelsSkipped || strings.Contains(string(text), "not read") {
		t.Errorf("with room: skipped=%v, header %.400q", info.labelsSkipped, text)
	}
	if g := findGroup(groupsOf(t, text), "deep", "chan receive"); len(g.Frames) <= plainDepth {
		t.Errorf("deep group has %d frames, want all of them", len(g.Frames))
	}
	labelledWant.Lock()
	needed := labelledWant.needed
	labelledWant.Unlock()
	if !needed {
		t.Error("a labelled profile with a deep stack did not mark the labelled profile needed")
	}
}

func TestWouldStartGC(t *testing.T) {
	saveCaptureState(t)
	nsPerGoroutine.Store(int64(time.Second)) // as if a full dump never fit
	setHeapRoom(t, fixedRoom(1<<20))
	setLabelledWant(true, false, 0)
	plainBytes.Store(1 << 20)
	if !WouldStartGC() {
		t.Error("a capture allocating 1MB per goroutine fits in 1MB")
	}
	plainBytes.Store(0)
	if WouldStartGC() {
		t.Error("a capture allocating nothing would start a GC cycle")
	}
	// The labelled profile's cost counts when it is the one to be read.
	labelledBytes.Store(1 << 20)
	setLabelledWant(true, true, 0)
	if !WouldStartGC() {
		t.Error("the labelled profile's cost was not counted")
	}
	nsPerGoroutine.Store(1) // a full dump fits: it allocates little
	if WouldStartGC() {
		t.Error("a full dump within budget would start a GC cycle")
	}
}

func TestHeapRoom(t *testing.T) {
	// live is 0 until the first GC cycle.
	goal, live, inUse, allocated := readHeap()
	if goal == 0 || inUse == 0 || allocated < inUse {
		t.Fatalf("heap metrics: goal %d, live %d, in use %d, allocated %d", goal, live, inUse, allocated)
	}
	if room := heapRoom(); room > int64(goal) || room < int64(live)-int64(inUse) {
		t.Errorf("room %d beyond the goal %d, or below what the live heap leaves (live %d, in use %d)", room, goal, live, inUse)
	}
	// What is allocated comes off the room, unless a GC cycle (another
	// test's goroutines may start one) made new room meanwhile.
	for range 10 {
		runtime.GC()
		cycles, before := gcCycles(), heapRoom()
		keep := make([]byte, 256<<10)
		after := heapRoom()
		runtime.KeepAlive(keep)
		if gcCycles() != cycles {
			continue
		}
		if after > before-int64(len(keep))/2 { // the goal moves a little too
			t.Errorf("room %d after allocating %d, %d before", after, len(keep), before)
		}
		return
	}
	t.Error("a GC cycle ran during each of 10 tries")
}

func pprofGoroutine() *pprof.Profile { return pprof.Lookup("goroutine") }

// stackdump.ParseGroups groups the dumps this package captures as
// stackdump.GroupGoroutines(stackdump.ParseBytes(b)) does; the parser's
// own test covers generated dumps, fixtures and profiles.
func TestParseGroupsReadsCapturedDumps(t *testing.T) {
	startParked(t)
	waitParked(t)
	for name, b := range map[string][]byte{
		"concurrent": captureConcurrent(runtime.NumGoroutine(), time.Second, time.Millisecond),
		"full":       Full(),
	} {
		gs, err := stackdump.ParseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		want := stackdump.GroupGoroutines(gs)
		got, n, err := stackdump.ParseGroups(b)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(gs) {
			t.Errorf("%s: ParseGroups counts %d goroutines, ParseBytes parsed %d", name, n, len(gs))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseGroups\n%+v\nParseBytes and GroupGoroutines\n%+v", name, got, want)
		}
	}
}
