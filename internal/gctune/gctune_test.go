package gctune

import (
	"runtime/debug"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestApplyAndRestore(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetGCPercent(123)
	defer debug.SetGCPercent(before)
	restore := Apply()
	if got := debug.SetGCPercent(Percent); got != Percent {
		t.Errorf("GC percent after Apply: %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
		t.Errorf("memory limit after Apply: %d, want %d", got, MemoryLimit)
	}
	restore()
	if got := debug.SetGCPercent(-1); got != 123 {
		t.Errorf("GC percent after restore: %d, want 123", got)
	}
	debug.SetGCPercent(123)

	t.Setenv("GOGC", "50")
	restore = Apply()
	if got := debug.SetGCPercent(-1); got != 123 {
		t.Errorf("with GOGC set, Apply changed the GC percent to %d", got)
	}
	debug.SetGCPercent(123)
	restore()
}
