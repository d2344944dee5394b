package stackdump

import (
	"strings"
	"sync"
	"testing"
	"time"
)

//go:noinline
func parkedForCapture(stop chan struct{}) { <-stop }

func TestCaptureGrowsBuffer(t *testing.T) {
	// Enough goroutines that the dump outgrows Capture's first buffer.
	const n = 3000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { parkedForCapture(stop) })
	}
	defer wg.Wait()
	defer close(stop)

	var g Group
	deadline := time.Now().Add(10 * time.Second)
	for g.Count != n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines seen parked", g.Count, n)
		}
		dump := Capture()
		if len(dump) <= 64<<10 {
			t.Fatalf("dump of %d goroutines is only %d bytes", n, len(dump))
		}
		gs, err := ParseBytes(dump)
		if err != nil {
			t.Fatal(err)
		}
		g = findGroup(GroupGoroutines(gs), "parkedForCapture", "chan receive")
	}
	if !strings.HasSuffix(g.Top.File, "capture_test.go") || g.Creator == nil || g.Creator.Func == "" {
		t.Errorf("group = %+v", g)
	}
}

func findGroup(groups []Group, fn, state string) Group {
	for _, g := range groups {
		if strings.HasSuffix(g.Top.Func, fn) && g.State == state {
			return g
		}
	}
	return Group{}
}
