package stackdump

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGroupFixture(t *testing.T) {
	groups := GroupGoroutines(parseFixture(t, "go1.27-goroutineleak.txt"))
	total := 0
	for _, g := range groups {
		total += g.Count
		if strings.Contains(g.Signature, "0x") || strings.Contains(g.Signature, "in goroutine") || strings.Contains(g.Signature, "minutes") {
			t.Errorf("signature keeps per-goroutine detail:\n%s", g.Signature)
		}
	}
	if total != 23 || len(groups) != 17 {
		t.Fatalf("%d goroutines in %d groups, want 23 in 17", total, len(groups))
	}

	leak := groups[0]
	if leak.Count != 4 || leak.Leaked != 4 || leak.State != "chan receive" || leak.Top != gen("main.leak.func1", 250) ||
		*leak.Creator != gen("main.leak", 249) || !equalIDs(leak.IDs, 25, 26, 27, 28) || leak.MaxWait != 0 {
		t.Errorf("largest group = %+v", leak)
	}
	wantSig := "chan receive\nmain.leak.func1\n\t" + genFile + ":250\ncreated by main.leak\n\t" + genFile + ":249\n"
	if leak.Signature != wantSig {
		t.Errorf("signature =\n%s\nwant\n%s", leak.Signature, wantSig)
	}

	recv := groups[1]
	if recv.Count != 3 || recv.Leaked != 0 || recv.MaxWait != time.Minute || recv.Top != gen("main.receiver", 151) || !equalIDs(recv.IDs, 8, 9, 10) {
		t.Errorf("second group = %+v", recv)
	}

	// Top skips runtime and internal frames but not the rest of the
	// standard library.
	lock := groups[2]
	if lock.Count != 2 || lock.State != "sync.Mutex.Lock" || lock.Top.Func != "sync.(*Mutex).Lock" || lock.Frames[0].Func != "internal/sync.runtime_SemacquireMutex" {
		t.Errorf("third group = %+v", lock)
	}

	// Identical stacks started from different places stay apart.
	var readers int
	for _, g := range groups {
		if g.Top.Func == "net.(*netFD).Read" && g.Frames[len(g.Frames)-1].Func == "main.readConn" {
			readers++
		}
	}
	if readers != 2 {
		t.Errorf("%d readConn groups, want 2 (different creators)", readers)
	}

	for i := 1; i < len(groups); i++ {
		a, b := groups[i-1], groups[i]
		if a.Count < b.Count || a.Count == b.Count && a.Signature >= b.Signature {
			t.Errorf("groups %d and %d out of order", i-1, i)
		}
	}
}

func equalIDs(got []int64, want ...int64) bool { return slices.Equal(got, want) }

func worker(id int64, state string, line int, labels map[string]string) Goroutine {
	return Goroutine{
		ID: id, State: state, Labels: labels,
		Frames:    []Frame{{"runtime.gopark", "/go/src/runtime/proc.go", 460}, {"main.work", "/app/main.go", line}},
		CreatedBy: &Frame{"main.start", "/app/main.go", 5},
		CreatorID: 1,
	}
}

func TestGroupSeparatesStateLineAndCreator(t *testing.T) {
	other := worker(4, "chan receive", 10, nil)
	other.CreatedBy = &Frame{"main.other", "/app/main.go", 7}
	noCreator := worker(5, "chan receive", 10, nil)
	noCreator.CreatedBy = nil
	elided := worker(6, "chan receive", 10, nil)
	elided.Elided = true
	groups := GroupGoroutines([]Goroutine{
		worker(1, "chan receive", 10, nil),
		worker(2, "select", 10, nil),
		worker(3, "chan receive", 11, nil),
		other, noCreator, elided,
		worker(7, "chan receive", 10, nil),
	})
	if len(groups) != 6 || groups[0].Count != 2 || !equalIDs(groups[0].IDs, 1, 7) {
		t.Fatalf("groups = %+v", groups)
	}
}

func TestGroupMergesAcrossIDsWaitsAndCreatorIDs(t *testing.T) {
	a := worker(1, "chan receive", 10, nil)
	a.Wait = 3 * time.Minute
	b := worker(2, "chan receive", 10, nil)
	b.Wait = 12 * time.Minute
	b.CreatorID = 99
	b.Leaked = true
	b.LockedToThread = true
	groups := GroupGoroutines([]Goroutine{a, b})
	if len(groups) != 1 {
		t.Fatalf("%d groups, want 1", len(groups))
	}
	g := groups[0]
	if g.Count != 2 || g.MaxWait != 12*time.Minute || g.Leaked != 1 || g.Top.Func != "main.work" {
		t.Errorf("group = %+v", g)
	}
}

func TestGroupCommonLabels(t *testing.T) {
	groups := GroupGoroutines([]Goroutine{
		worker(1, "select", 1, map[string]string{"svc": "api", "req": "1"}),
		worker(2, "select", 1, map[string]string{"svc": "api", "req": "2"}),
		worker(3, "select", 1, map[string]string{"svc": "api"}),
		worker(4, "sleep", 1, map[string]string{"svc": "api"}),
		worker(5, "sleep", 1, nil),
		worker(6, "chan send", 1, map[string]string{"svc": "db"}),
	})
	byState := map[string]Group{}
	for _, g := range groups {
		byState[g.State] = g
	}
	if l := byState["select"].Labels; !maps.Equal(l, map[string]string{"svc": "api"}) {
		t.Errorf("select labels = %v", l)
	}
	if l := byState["sleep"].Labels; l != nil {
		t.Errorf("sleep labels = %v, want nil (one member has none)", l)
	}
	if l := byState["chan send"].Labels; !maps.Equal(l, map[string]string{"svc": "db"}) {
		t.Errorf("chan send labels = %v", l)
	}
}

func TestGroupDoesNotAliasInput(t *testing.T) {
	labels := map[string]string{"k": "v"}
	gs := []Goroutine{worker(1, "select", 1, labels), worker(2, "select", 1, labels)}
	groups := GroupGoroutines(gs)
	gs[0].Frames[1].Func = "changed"
	gs[0].CreatedBy.Func = "changed"
	labels["k"] = "changed"
	g := groups[0]
	if g.Frames[1].Func != "main.work" || g.Creator.Func != "main.start" || g.Labels["k"] != "v" {
		t.Errorf("group shares memory with its input: %+v", g)
	}
}

func TestGroupSampleIDsCapped(t *testing.T) {
	var gs []Goroutine
	for id := int64(1); id <= 25; id++ {
		gs = append(gs, worker(id, "select", 1, nil))
	}
	g := GroupGoroutines(gs)[0]
	if g.Count != 25 || !equalIDs(g.IDs, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) {
		t.Errorf("count %d, IDs %v", g.Count, g.IDs)
	}
}

func TestTopFrame(t *testing.T) {
	rt := Frame{Func: "runtime.gopark"}
	tests := []struct {
		frames []Frame
		want   string
	}{
		{nil, ""},
		{[]Frame{rt, {Func: "runtime.chanrecv1"}}, "runtime.gopark"},
		{[]Frame{rt, {Func: "internal/poll.(*FD).Read"}, {Func: "os.(*File).Read"}}, "os.(*File).Read"},
		{[]Frame{{Func: "sync.runtime_Semacquire"}, {Func: "sync.(*WaitGroup).Wait"}}, "sync.(*WaitGroup).Wait"},
		{[]Frame{{Func: "panic"}, {Func: "main.main"}}, "main.main"},
		{[]Frame{{Func: "runtime/pprof.Do"}, {Func: "main.main"}}, "runtime/pprof.Do"},
	}
	for _, tt := range tests {
		if got := topFrame(tt.frames).Func; got != tt.want {
			t.Errorf("topFrame(%v) = %q, want %q", tt.frames, got, tt.want)
		}
	}
}

func TestGroupEmpty(t *testing.T) {
	if g := GroupGoroutines(nil); len(g) != 0 {
		t.Errorf("GroupGoroutines(nil) = %v", g)
	}
}
