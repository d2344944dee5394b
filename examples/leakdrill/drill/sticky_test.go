package drill_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

// Once the watchdog has confirmed the orphan-receiver leak it stays
// leaking after the traffic stops, for as long as the goroutines stay
// stranded (several windows, well past the point where the trend goes
// flat), and is healthy again once they are released.
func TestLeakStaysReportedAfterTrafficStops(t *testing.T) {
	leaksFile := drillSource(t, "leaks.go")
	want := markerLocation(t, leaksFile, "// LEAK: orphan receiver")
	h := startHarness(t)
	tr := h.drive("/leak/orphan-receiver")
	h.waitForReport(t, detectTimeout, func(r report.Report) bool {
		_, _, named := findSuspect(r, func(g report.Group) bool { return g.Location == want })
		return r.Status == report.Leaking && named
	})
	tr.stop()
	h.waitIdle(t)
	stranded := h.svc.Drill.Stranded()

	// Watch for three windows after the trend has gone flat.
	flat := h.waitForReport(t, 4*window, func(r report.Report) bool { return r.ExcessPerMinute < 1 })
	until := flat.GeneratedAt.Add(3 * window)
	var last report.Report
	h.waitForReport(t, 6*window, func(r report.Report) bool {
		if r.GeneratedAt.Before(flat.GeneratedAt) {
			return false
		}
		if _, _, named := findSuspect(r, func(g report.Group) bool { return g.Location == want }); r.Status != report.Leaking || !named || r.Confirmed == 0 {
			t.Fatalf("with %d goroutines still stranded the watchdog reports %s", stranded, summary(r))
		}
		last = r
		return !r.GeneratedAt.Before(until)
	})
	t.Logf("still leaking %v after the trend went flat: %d confirmed, %d stranded, excess %.1f/min",
		last.GeneratedAt.Sub(flat.GeneratedAt).Round(time.Millisecond), last.Confirmed, stranded, last.ExcessPerMinute)

	h.svc.Drill.Release()
	waitNoGoroutinesIn(t, filepath.Dir(leaksFile))
	r := h.waitForReport(t, 10*time.Second, func(r report.Report) bool { return r.Status == report.Healthy })
	if r.Confirmed != 0 || len(r.Growing) != 0 {
		t.Errorf("healthy again but still listing the leak: %s", summary(r))
	}
	if r, _ := h.svc.Watchdog.Report(context.Background()); r.Status != report.Healthy {
		t.Errorf("after release: %s", summary(r))
	}
}
