package labs

import (
	"fmt"
	"sync"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

// The snapshots stay within maxSnapshotLabs, never trade a later version
// for an earlier one, and leave out a subject too big to keep.
func TestLabSnapshotsStayBounded(t *testing.T) {
	var c labSnapshots
	labs := func(n int) *snapshotLabs { return &snapshotLabs{labs: make([]clinical.LabResult, n)} }
	per := maxSnapshotLabs / 10
	for i := range 25 {
		c.put("S", fmt.Sprint(i), 1, labs(per))
		if c.labs > maxSnapshotLabs {
			t.Fatalf("after %d subjects: %d lab results held, at most %d", i+1, c.labs, maxSnapshotLabs)
		}
		if _, ok := c.get("S", fmt.Sprint(i), 1); !ok {
			t.Fatalf("subject %d just kept is not there", i)
		}
	}
	c.put("S", "24", 3, labs(1))
	c.put("S", "24", 2, labs(2))
	if got, ok := c.get("S", "24", 3); !ok || len(got) != 1 {
		t.Errorf("an earlier version replaced a later one: %d results, %v", len(got), ok)
	}
	if _, ok := c.get("S", "24", 2); ok {
		t.Error("the earlier version is served")
	}
	c.put("S", "big", 1, labs(maxSnapshotLabs/4+1))
	if _, ok := c.get("S", "big", 1); ok {
		t.Error("a subject of more than a quarter of the bound is kept")
	}
	held := 0
	for _, e := range c.entries {
		held += len(e.labs.list())
	}
	if held != c.labs {
		t.Errorf("counted %d lab results, holding %d", c.labs, held)
	}
}

// Checks taking a snapshot at once share the one made from the upload,
// while other subjects' arrive and push subjects out (run with -race).
func TestLabSnapshotIsMadeOnceForAll(t *testing.T) {
	var c labSnapshots
	raw := [][]clinical.LabResult{{{USUBJID: "A", Seq: 2, Date: "2014-01-03"}}, {{USUBJID: "A", Seq: 1, Date: "2014-01-02"}}}
	c.put("S", "A", 1, &snapshotLabs{study: "S", raw: raw})
	got := make([][]clinical.LabResult, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i], _ = c.get("S", "A", 1) })
		wg.Go(func() {
			c.put("S", fmt.Sprint("B", i), 1, &snapshotLabs{labs: make([]clinical.LabResult, maxSnapshotLabs/5)})
		})
	}
	wg.Wait()
	var made []clinical.LabResult
	for _, g := range got {
		if g == nil {
			continue // pushed out first
		}
		if made == nil {
			made = g
		}
		if &g[0] != &made[0] || len(g) != 2 || g[0].Seq != 1 || g[1].Seq != 2 || g[0].Study != "S" {
			t.Fatalf("a check got %+v; want the one snapshot, LBSEQ 1 then 2 by date", g)
		}
	}
}
