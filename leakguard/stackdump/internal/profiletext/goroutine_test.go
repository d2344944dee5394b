package profiletext

import (
	"runtime"
	"slices"
	"testing"
)

// States the live test cannot park goroutines in, since nothing could
// end them (select {}, a long sleep), or reach reliably (a system call).
func TestWaitStateFromFrames(t *testing.T) {
	frames := func(names ...string) []runtime.Frame {
		fs := make([]runtime.Frame, len(names))
		for i, n := range names {
			fs[i] = runtime.Frame{Function: n}
		}
		return fs
	}
	for _, c := range []struct {
		frames []runtime.Frame
		want   string
	}{
		{frames("runtime.gopark", "runtime.block", "main.forever"), "select (no cases)"},
		{frames("runtime.gopark", "time.Sleep", "main.nap"), "sleep"},
		{frames("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.recv"), "chan receive"},
		{frames("internal/runtime/syscall.Syscall6", "syscall.Syscall", "syscall.read", "os.(*File).Read"), "syscall"},
		{frames("runtime.asyncPreempt", "main.spin"), "runnable"},
		{frames("runtime.gopark", "runtime.somethingNew", "main.wait"), "waiting"},
		{frames("runtime.goroutineProfileWithLabels", "runtime.pprof_goroutineProfileWithLabels", "runtime/pprof.writeRuntimeProfile"), "running"},
	} {
		if got := waitState(c.frames); got != c.want {
			t.Errorf("waitState(%v) = %q, want %q", c.frames, got, c.want)
		}
	}
}

// runtime.Stack hides runtime frames but for exported functions and a
// panic below other frames, and shows all if that would leave none.
func TestVisibleFrames(t *testing.T) {
	names := func(fs []runtime.Frame) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Function)
		}
		return out
	}
	all := []runtime.Frame{{Function: "runtime.gopark"}, {Function: "runtime.Gosched"}, {Function: "main.f"},
		{Function: "runtime.gopanic"}, {Function: "main.main"}, {Function: "runtime.main"}, {Function: "runtime.goexit"}}
	if got, want := names(visibleFrames(all)), []string{"runtime.Gosched", "main.f", "runtime.gopanic", "main.main"}; !slices.Equal(got, want) {
		t.Errorf("visible %q, want %q", got, want)
	}
	only := []runtime.Frame{{Function: "runtime.gopark"}, {Function: "runtime.bgsweep"}, {Function: "runtime.goexit"}}
	if got := names(visibleFrames(only)); len(got) != 3 {
		t.Errorf("runtime-only stack shows %q, want all three frames", got)
	}
}
