package stackdump

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/maruel/panicparse/v2/stack"
)

// stackTemplate is one kind of goroutine in a generated dump: a state and a stack
// whose arguments are filled with fresh pointers for every goroutine, as in
// a real service where thousands of goroutines share a few stacks.
type stackTemplate struct {
	state  string
	frames []string // "func(%s)\n\tfile:line" pairs with %s for arguments
}

var templates = []stackTemplate{
	{"IO wait", []string{
		"internal/poll.runtime_pollWait(%s)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85",
		"internal/poll.(*pollDesc).wait(%s)\n\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:84 +0x27",
		"internal/poll.(*pollDesc).waitRead(...)\n\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:89",
		"internal/poll.(*FD).Read(%s)\n\t/usr/local/go/src/internal/poll/fd_unix.go:165 +0x279",
		"net.(*netFD).Read(%s)\n\t/usr/local/go/src/net/fd_posix.go:68 +0x25",
		"net.(*conn).Read(%s)\n\t/usr/local/go/src/net/net.go:196 +0x45",
		"net/http.(*connReader).Read(%s)\n\t/usr/local/go/src/net/http/server.go:798 +0x14b",
		"bufio.(*Reader).fill(%s)\n\t/usr/local/go/src/bufio/bufio.go:113 +0x103",
		"bufio.(*Reader).Peek(%s)\n\t/usr/local/go/src/bufio/bufio.go:152 +0x53",
		"net/http.(*conn).serve(%s)\n\t/usr/local/go/src/net/http/server.go:2127 +0x738",
		"created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3360 +0x485",
	}},
	{"chan receive", []string{
		"github.com/acme/svc/worker.(*Pool).run(%s)\n\t/src/svc/worker/pool.go:88 +0x65",
		"created by github.com/acme/svc/worker.(*Pool).Start in goroutine 1\n\t/src/svc/worker/pool.go:52 +0x3c",
	}},
	{"select", []string{
		"github.com/acme/svc/feed.(*Subscriber).loop(%s)\n\t/src/svc/feed/sub.go:140 +0x1b3",
		"github.com/acme/svc/feed.Subscribe.gowrap1()\n\t/src/svc/feed/sub.go:61 +0x25",
		"created by github.com/acme/svc/feed.Subscribe in goroutine 33\n\t/src/svc/feed/sub.go:61 +0x1d2",
	}},
	{"chan send (leaked)", []string{
		"github.com/acme/svc/api.(*Handler).fanout.func1(%s)\n\t/src/svc/api/fanout.go:47 +0x5a",
		"created by github.com/acme/svc/api.(*Handler).fanout in goroutine 812\n\t/src/svc/api/fanout.go:44 +0x10c",
	}},
	{"sync.Mutex.Lock", []string{
		"internal/sync.runtime_SemacquireMutex(%s)\n\t/usr/local/go/src/runtime/sema.go:95 +0x25",
		"internal/sync.(*Mutex).lockSlow(%s)\n\t/usr/local/go/src/internal/sync/mutex.go:149 +0x15d",
		"internal/sync.(*Mutex).Lock(...)\n\t/usr/local/go/src/internal/sync/mutex.go:70",
		"sync.(*Mutex).Lock(...)\n\t/usr/local/go/src/sync/mutex.go:46",
		"github.com/acme/svc/cache.(*LRU).Get(%s)\n\t/src/svc/cache/lru.go:31 +0x4e",
		"github.com/acme/svc/api.(*Handler).lookup(%s)\n\t/src/svc/api/lookup.go:19 +0x2f",
		"created by github.com/acme/svc/api.(*Handler).prefetch in goroutine 7\n\t/src/svc/api/lookup.go:12 +0x88",
	}},
	{"sleep", []string{
		"time.Sleep(%s)\n\t/usr/local/go/src/runtime/time.go:363 +0x165",
		"github.com/acme/svc/retry.Do[...](%s)\n\t/src/svc/retry/retry.go:28 +0x91",
		"created by github.com/acme/svc/api.(*Handler).retryLater in goroutine 9\n\t/src/svc/api/retry.go:15 +0x77",
	}},
}

// generateDump writes n goroutines cycling through the templates, with
// varying IDs, wait durations and argument values, and with Go 1.27 label
// sets on one template if labels is set.
func generateDump(n int, labels bool) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("goroutine 1 [running]:\nmain.main()\n\t/src/svc/main.go:20 +0x1d\n")
	for i := range n {
		t := templates[i%len(templates)]
		fmt.Fprintf(&b, "\ngoroutine %d [%s", i+2, t.state)
		if m := rng.IntN(30); m > 0 && !strings.Contains(t.state, "leaked") {
			fmt.Fprintf(&b, ", %d minutes", m)
		}
		b.WriteString("]")
		if labels && i%len(templates) == 2 {
			b.WriteString(" {feed: prices, tenant: acme}")
		}
		b.WriteString(":\n")
		for _, f := range t.frames {
			if strings.Contains(f, "%s") {
				f = fmt.Sprintf(f, fmt.Sprintf("0x%x, {0x%x, 0x%x}", 0xc000000000+rng.Uint64N(1<<32), rng.Uint64N(1<<24), rng.Uint64N(1<<32)))
			}
			b.WriteString(f)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func TestGeneratedDumpGroups(t *testing.T) {
	const n = 10_000
	gs, err := ParseBytes(generateDump(n, true))
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupGoroutines(gs)
	if len(gs) != n+1 || len(groups) != len(templates)+1 {
		t.Fatalf("%d goroutines in %d groups, want %d in %d", len(gs), len(groups), n+1, len(templates)+1)
	}
	for _, g := range groups[:len(templates)] {
		want := n / len(templates)
		if g.Count < want || g.Count > want+1 {
			t.Errorf("group %s at %s has %d goroutines, want ~%d", g.State, g.Top.Location(), g.Count, want)
		}
	}
	leaked := findGroup(groups, "fanout.func1", "chan send")
	if leaked.Leaked != leaked.Count || leaked.Count == 0 {
		t.Errorf("leaked group = %+v", leaked)
	}
	if l := findGroup(groups, "(*Subscriber).loop", "select").Labels; l["feed"] != "prices" || len(l) != 2 {
		t.Errorf("select group labels = %v", l)
	}
}

// BenchmarkParseGroup measures the whole "dump to groups" path on generated
// dumps, next to panicparse doing the equivalent (ScanSnapshot and
// Aggregate ignoring argument values) on the same bytes. The dumps carry no
// labels: panicparse stops at the first Go 1.27 labelled header.
func BenchmarkParseGroup(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		dump := generateDump(n, false)
		name := fmt.Sprintf("%dk", n/1000)
		b.Run("stackdump/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				gs, err := ParseBytes(dump)
				if err != nil {
					b.Fatal(err)
				}
				if g := GroupGoroutines(gs); len(g) != len(templates)+1 {
					b.Fatalf("%d groups", len(g))
				}
			}
		})
		b.Run("stackdump-stream/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				gs, err := Parse(bytes.NewReader(dump))
				if err != nil {
					b.Fatal(err)
				}
				GroupGoroutines(gs)
			}
		})
		b.Run("panicparse/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			opts := &stack.Opts{} // no argument naming, no disk access
			for b.Loop() {
				snap, _, err := stack.ScanSnapshot(bytes.NewReader(dump), io.Discard, opts)
				if err != nil && err != io.EOF {
					b.Fatal(err)
				}
				if snap == nil || len(snap.Goroutines) != n+1 {
					b.Fatal("panicparse did not parse the whole dump")
				}
				snap.Aggregate(stack.AnyValue)
			}
		})
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
