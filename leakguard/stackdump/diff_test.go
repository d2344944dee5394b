package stackdump

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func group(sig string, count int) Group {
	return Group{Signature: sig, State: "select", Count: count}
}

func TestDiffRanking(t *testing.T) {
	before := []Group{group("steady", 50), group("grows", 5), group("shrinks", 20), group("vanishes", 7)}
	after := []Group{group("steady", 50), group("grows", 105), group("shrinks", 15), group("new", 30)}
	after[1].MaxWait = time.Hour
	got := Diff(before, after)
	want := []string{"grows 5→105 +100", "new 0→30 +30", "steady 50→50 +0", "shrinks 20→15 -5", "vanishes 7→0 -7"}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if s := fmt.Sprintf("%s %d→%d %+d", c.Signature, c.Before, c.After, c.Delta); s != want[i] {
			t.Errorf("change %d = %s, want %s", i, s, want[i])
		}
	}
	if got[0].MaxWait != time.Hour || got[0].Count != 105 {
		t.Errorf("a grown change must carry the new group: %+v", got[0].Group)
	}
	if got[4].Count != 7 {
		t.Errorf("a vanished change must carry the old group: %+v", got[4].Group)
	}
}

func TestDiffTiesGoToLargerGroups(t *testing.T) {
	got := Diff([]Group{group("small", 1), group("big", 100)}, []Group{group("small", 3), group("big", 102), group("b", 2)})
	order := []string{got[0].Signature, got[1].Signature, got[2].Signature}
	if !slices.Equal(order, []string{"big", "small", "b"}) {
		t.Errorf("order = %v, want [big small b]", order)
	}
}

func TestDiffMergesRepeatedSignatures(t *testing.T) {
	got := Diff([]Group{group("x", 2), group("x", 3)}, []Group{group("x", 4), group("x", 4)})
	if len(got) != 1 || got[0].Before != 5 || got[0].After != 8 || got[0].Delta != 3 {
		t.Errorf("got %+v", got)
	}
}

func TestDiffFixtures(t *testing.T) {
	// The same process before and after the leak-detecting GC: only the
	// dumping goroutine's own stack changed. Leaked goroutines keep their
	// state text, so their group persists and only its leaked count moves.
	before := GroupGoroutines(parseFixture(t, "go1.27-stack.txt"))
	after := GroupGoroutines(parseFixture(t, "go1.27-goroutineleak.txt"))
	changes := Diff(before, after)
	first, last := changes[0], changes[len(changes)-1]
	if first.State != "running" || first.Delta != 1 || last.State != "running" || last.Delta != -1 {
		t.Errorf("first %+v\nlast %+v", first, last)
	}
	for _, c := range changes[1 : len(changes)-1] {
		if c.Delta != 0 {
			t.Errorf("unexpected change %+v", c)
		}
		if c.Top.Func == "main.leak.func1" && (c.Leaked != 4 || c.After != 4) {
			t.Errorf("leak group = %+v", c)
		}
	}
}

func TestDiffEmpty(t *testing.T) {
	if got := Diff(nil, nil); len(got) != 0 {
		t.Errorf("Diff(nil, nil) = %v", got)
	}
}
