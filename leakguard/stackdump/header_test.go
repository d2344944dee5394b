package stackdump

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		line string
		want Goroutine
	}{
		{"goroutine 18 [chan receive]:", Goroutine{ID: 18, State: "chan receive"}},
		{"goroutine 18 [chan receive, 12 minutes]:", Goroutine{ID: 18, State: "chan receive", Wait: 12 * time.Minute}},
		{"goroutine 7 [select, locked to thread]:", Goroutine{ID: 7, State: "select", LockedToThread: true}},
		{"goroutine 7 [select, 1234 minutes, locked to thread]:", Goroutine{ID: 7, State: "select", Wait: 1234 * time.Minute, LockedToThread: true}},
		{"goroutine 24 [chan send (leaked)]:", Goroutine{ID: 24, State: "chan send", Leaked: true}},
		{"goroutine 9 [sync.Mutex.Lock (leaked) (scan)]:", Goroutine{ID: 9, State: "sync.Mutex.Lock", Leaked: true}},
		{"goroutine 41 [semacquire (scan)]:", Goroutine{ID: 41, State: "semacquire"}},
		{"goroutine 5 [chan receive (nil chan)]:", Goroutine{ID: 5, State: "chan receive (nil chan)"}},
		{"goroutine 6 [sleep (durable), synctest bubble 3]:", Goroutine{ID: 6, State: "sleep (durable)"}},
		{"goroutine 1 gp=0x1a0494e041e0 m=4 mp=0x1a0494e43808 [running]:", Goroutine{ID: 1, State: "running"}},
		{"goroutine 2 gp=0x2a8717984d20 m=nil [force gc (idle)]:", Goroutine{ID: 2, State: "force gc (idle)"}},
		// Go 1.26 with GODEBUG=tracebacklabels=1: inside the bracket, always quoted.
		{`goroutine 30 [chan receive, 1 minutes labels:{"handler": "checkout", "tenant id": "acme \"corp\""}]:`,
			Goroutine{ID: 30, State: "chan receive", Wait: time.Minute, Labels: map[string]string{"handler": "checkout", "tenant id": `acme "corp"`}}},
		// Go 1.27: after the bracket, quoted only when needed.
		{`goroutine 32 [chan receive, 1 minutes] {handler: checkout, "tenant id": "acme \"corp\""}:`,
			Goroutine{ID: 32, State: "chan receive", Wait: time.Minute, Labels: map[string]string{"handler": "checkout", "tenant id": `acme "corp"`}}},
		{`goroutine 3 [select] {"a]b": "}", x: "\u1234\x00\n"}:`,
			Goroutine{ID: 3, State: "select", Labels: map[string]string{"a]b": "}", "x": "\u1234\x00\n"}}},
		{`goroutine 4 [IO wait, locked to thread] {/fizzle: bit, foo_bar: baz.}:`,
			Goroutine{ID: 4, State: "IO wait", LockedToThread: true, Labels: map[string]string{"/fizzle": "bit", "foo_bar": "baz."}}},
		{`goroutine 4 [IO wait]{"k":"v","k2":"v2"}:`,
			Goroutine{ID: 4, State: "IO wait", Labels: map[string]string{"k": "v", "k2": "v2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			gs, err := ParseBytes([]byte(tt.line + "\nmain.f()\n\t/x/main.go:3 +0x1\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(gs) != 1 {
				t.Fatalf("got %d goroutines, want 1", len(gs))
			}
			g := gs[0]
			g.Frames = nil
			if g.ID != tt.want.ID || g.State != tt.want.State || g.Wait != tt.want.Wait ||
				g.Leaked != tt.want.Leaked || g.LockedToThread != tt.want.LockedToThread ||
				!maps.Equal(g.Labels, tt.want.Labels) {
				t.Errorf("got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

func TestHeaderRejectsLookalikes(t *testing.T) {
	for _, line := range []string{
		"goroutine profile: total 5",
		"goroutine 5 is stuck",
		"goroutine x [running]:",
		"goroutine 5 [running]",
		"goroutine 5 [running",
		`goroutine 5 [running] {a: b:`,
		`goroutine 5 [running labels:{"a": "b"`,
		"goroutine  [running]:",
	} {
		gs, _ := ParseBytes([]byte(line + "\nmain.f()\n\t/x/main.go:3\n"))
		if len(gs) != 0 {
			t.Errorf("%q parsed as a goroutine header: %+v", line, gs)
		}
	}
}

func TestStripArgs(t *testing.T) {
	tests := map[string]string{
		"main.main()": "main.main",
		"main.(*Server).handle(0x0, {0x5d2a40, 0xc0000a6000})":           "main.(*Server).handle",
		"main.receiveAny[...](...)":                                      "main.receiveAny[...]",
		"panic({0x538dc0?, 0x57b230?})":                                  "panic",
		"net/http.(*conn).serve(0xc000124000, {0x7f3c20, 0xc0000a6000})": "net/http.(*conn).serve",
		"main.main.func1.gowrap2()":                                      "main.main.func1.gowrap2",
		"runtime.goexit({})":                                             "runtime.goexit",
	}
	for in, want := range tests {
		got, ok := stripArgs([]byte(in))
		if !ok || string(got) != want {
			t.Errorf("stripArgs(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, junk := range []string{"exit status 2", "()", "a)", "rax    0x0", ""} {
		if got, ok := stripArgs([]byte(junk)); ok {
			t.Errorf("stripArgs(%q) = %q, want rejection", junk, got)
		}
	}
}

func TestLocation(t *testing.T) {
	p := newParser(0)
	tests := []struct {
		in   string
		file string
		line int
	}{
		{"/usr/local/go/src/runtime/proc.go:462 +0xce", "/usr/local/go/src/runtime/proc.go", 462},
		{"/work/main.go:139", "/work/main.go", 139},
		{"/usr/local/go/src/runtime/panic.go:879 +0x16f fp=0x1a0494e4ce00 sp=0x1a0494e4cd50 pc=0x48474f", "/usr/local/go/src/runtime/panic.go", 879},
		{"C:/Program Files/Go/src/main.go:12 +0x1d", "C:/Program Files/Go/src/main.go", 12},
		{"?:0", "?", 0},
		{"no line here", "no line here", 0},
	}
	for _, tt := range tests {
		file, line := p.location([]byte(tt.in))
		if file != tt.file || line != tt.line {
			t.Errorf("location(%q) = %q, %d; want %q, %d", tt.in, file, line, tt.file, tt.line)
		}
	}
}

func TestFrameLocation(t *testing.T) {
	if got := (Frame{Func: "main.f", File: "/a/b.go", Line: 12}).Location(); got != "/a/b.go:12" {
		t.Errorf("Location() = %q", got)
	}
}

func TestParseToleratesJunkAndCRLF(t *testing.T) {
	dump := strings.Join([]string{
		"panic: boom",
		"",
		"goroutine 1 [running]:",
		"main.main()",
		"\t/x/main.go:3 +0x1",
		"some junk that is not a frame",
		"main.orphan(0x1)", // no file line follows: must be dropped
		"main.start()",
		"\t/x/main.go:9 +0x2",
		"",
		"rax    0x0",
		"goroutine 2 [select]:",
		"main.loop()",
		"\t/x/loop.go:7",
		"exit status 2",
	}, "\r\n")
	gs, err := ParseBytes([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("got %d goroutines, want 2", len(gs))
	}
	want := []Frame{{"main.main", "/x/main.go", 3}, {"main.start", "/x/main.go", 9}}
	if !slices.Equal(gs[0].Frames, want) {
		t.Errorf("goroutine 1 frames = %v, want %v", gs[0].Frames, want)
	}
	if !slices.Equal(gs[1].Frames, []Frame{{"main.loop", "/x/loop.go", 7}}) {
		t.Errorf("goroutine 2 frames = %v", gs[1].Frames)
	}
}

func TestParseCountLine(t *testing.T) {
	dump := "# count: 3\ngoroutine 0 [select] {\"k\":\"v\"}:\nmain.loop(...)\n\t/app/main.go:9\n\n" +
		"# count: 2\nnot a header\ngoroutine 0 [sleep]:\nmain.nap(...)\n\t/app/main.go:12\n\n" +
		"# count: many\ngoroutine 7 [running]:\nmain.main()\n\t/app/main.go:3 +0x1d\n"
	gs, err := ParseBytes([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, g := range gs {
		states = append(states, g.State)
	}
	// A count applies only to the header right after it.
	if want := []string{"select", "select", "select", "sleep", "running"}; !slices.Equal(states, want) {
		t.Fatalf("states %q, want %q", states, want)
	}
	if gs[2].Frames[0] != (Frame{"main.loop", "/app/main.go", 9}) || gs[2].Labels["k"] != "v" {
		t.Errorf("repeated goroutine = %+v", gs[2])
	}
	// ID 0 is "unknown": no group offers it as a sample.
	for _, g := range GroupGoroutines(gs) {
		if g.State == "running" && !slices.Equal(g.IDs, []int64{7}) || g.State != "running" && len(g.IDs) != 0 {
			t.Errorf("%s group sample IDs %v", g.State, g.IDs)
		}
	}
	streamed, err := Parse(strings.NewReader(dump))
	if err != nil || len(streamed) != len(gs) {
		t.Errorf("Parse read %d goroutines (%v), ParseBytes %d", len(streamed), err, len(gs))
	}
	var counts []int
	for _, g := range GroupGoroutines(gs) {
		counts = append(counts, g.Count)
	}
	if !slices.Equal(counts, []int{3, 1, 1}) {
		t.Errorf("group counts %v, want [3 1 1]", counts)
	}
}
