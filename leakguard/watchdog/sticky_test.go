package watchdog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// stacks are the goroutines a simulated service runs, by site: the
// frames of each (innermost first) and the go statement that started it.
var stacks = map[string]struct{ state, frames, creator string }{
	"main":       {"select", "main.main()\n\t/src/main.go:10 +0x1d\n", ""},
	"serverConn": {"IO wait", "net/http.(*connReader).Read(0x1)\n\t/go/src/net/http/server.go:798 +0x1d\nnet/http.(*conn).serve(0x1)\n\t/go/src/net/http/server.go:2102 +0x1d\n", "net/http.(*Server).Serve in goroutine 1\n\t/go/src/net/http/server.go:3454 +0x4d\n"},
	"readLoop":   {"select", "net/http.(*persistConn).readLoop(0x1)\n\t/go/src/net/http/transport.go:2395 +0x1d\n", "net/http.(*Transport).dialConn in goroutine 9\n\t/go/src/net/http/transport.go:1944 +0x4d\n"},
	"writeLoop":  {"select", "net/http.(*persistConn).writeLoop(0x1)\n\t/go/src/net/http/transport.go:2596 +0x1d\n", "net/http.(*Transport).dialConn in goroutine 9\n\t/go/src/net/http/transport.go:1945 +0x4d\n"},
	"worker":     {"chan receive", "example.com/svc.(*Pool).worker(0x1)\n\t/src/svc/pool.go:88 +0x25\n", "example.com/svc.(*Pool).grow in goroutine 1\n\t/src/svc/pool.go:40 +0x9a\n"},
	"request":    {"select", "example.com/svc.handle(0x1)\n\t/src/svc/handle.go:20 +0x25\nnet/http.(*conn).serve(0x1)\n\t/go/src/net/http/server.go:2102 +0x1d\n", "net/http.(*Server).Serve in goroutine 1\n\t/go/src/net/http/server.go:3454 +0x4d\n"},
	"leak":       {"chan send", "example.com/svc.fanOut.func1()\n\t/src/svc/fan.go:17 +0x2d\n", "example.com/svc.fanOut in goroutine 9\n\t/src/svc/fan.go:15 +0x7a\n"},

	// workerB is worker started by a second go statement: the same stack.
	"workerB": {"chan receive", "example.com/svc.(*Pool).worker(0x1)\n\t/src/svc/pool.go:88 +0x25\n", "example.com/svc.(*Pool).refill in goroutine 1\n\t/src/svc/pool.go:61 +0x9a\n"},
}

// service is a simulated process whose goroutine dump matches its count.
type service struct {
	counts map[string]int
	load   float64
}

func newService(main int) *service { return &service{counts: map[string]int{"main": main}} }

func (s *service) goroutines() int {
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

func (s *service) dump() []byte {
	var b strings.Builder
	id := 1
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.counts {
			if !yield(k) {
				return
			}
		}
	}) {
		st := stacks[name]
		for range s.counts[name] {
			fmt.Fprintf(&b, "goroutine %d [%s]:\n%s", id, st.state, st.frames)
			if st.creator != "" {
				b.WriteString("created by " + st.creator)
			}
			b.WriteString("\n")
			id++
		}
	}
	return []byte(b.String())
}

func (s *service) opts() []Option {
	return []Option{
		WithGoroutineCounter(s.goroutines),
		WithInFlight(func() float64 { return s.load }),
		func(c *config) {
			c.capture = fullDump(s.dump)
			c.proven = func() ([]stackdump.Goroutine, bool, error) { return nil, false, nil }
		},
	}
}

// expect steps n ticks and fails at the first report not in status.
func expect(t *testing.T, h *harness, n int, status report.Status, what string, each func(i int)) report.Report {
	t.Helper()
	var r report.Report
	for i := range n {
		if each != nil {
			each(i)
		}
		r = h.step()
		if r.Status != status {
			t.Fatalf("%s, tick %d: %s, want %s: reasons %v, growing %+v", what, i, r.Status, status, r.Reasons, r.Growing)
		}
	}
	return r
}

// The demo, idle: every few minutes a few dozen checks and profile fetches
// arrive between two samples (the load signal never sees them), open
// keep-alive server connections and pooled client connections to the
// upstreams, which close again after 90s idle. Nothing is raised.
func TestIdleServiceBurstsRaiseNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := newService(12)
	h := start(t, s.opts()...)
	type conns struct{ server, client int }
	var open []struct {
		at time.Time
		conns
	}
	r := expect(t, h, 12*40, report.Healthy, "idle service with bursts", func(i int) {
		now := h.now.Add(h.w.cfg.interval)
		if i%36 == 10 { // a burst of 40 checks every 3 minutes
			c := conns{server: 6 + rng.IntN(10), client: 4 + rng.IntN(6)}
			open = append(open, struct {
				at time.Time
				conns
			}{now, c})
			s.counts["serverConn"] += c.server
			s.counts["readLoop"] += c.client
			s.counts["writeLoop"] += c.client
		}
		for len(open) > 0 && now.Sub(open[0].at) >= 90*time.Second {
			s.counts["serverConn"] -= open[0].server
			s.counts["readLoop"] -= open[0].client
			s.counts["writeLoop"] -= open[0].client
			open = open[1:]
		}
	})
	if r.Suspected != 0 || r.Confirmed != 0 || len(r.Growing) != 0 {
		t.Errorf("healthy report lists suspects: %+v", r)
	}
}

// A worker pool the watchdog knows nothing about grows with load and
// shrinks after; later, starved of CPU, it piles up while load stays flat
// and drains again. Having seen it shrink, the watchdog calls it a pool.
func TestPoolsThatShrinkAreNotLeaks(t *testing.T) {
	s := newService(12)
	s.counts["worker"] = 4
	h := start(t, append(s.opts(), WithDeepCheckInterval(30*time.Second))...)
	expect(t, h, 12*4, report.Healthy, "pool growing with load", func(i int) {
		s.load = float64((i * 7) % 13) // up and down with the traffic
		s.counts["worker"] = 4 + 2*int(s.load)
	})
	s.load = 5
	expect(t, h, 12*12, report.Healthy, "pool under CPU starvation", func(i int) {
		switch {
		case i < 18: // piles up for 1.5 minutes at flat load, within twice its peak
			s.counts["worker"] += 2
		case i < 48:
			s.counts["worker"] = max(14, s.counts["worker"]-4)
		}
	})
}

// A leak at steady load is confirmed and stays reported when it stops
// growing, until its goroutines end; a second one until a person
// acknowledges it, after which it is quiet unless it grows again.
func TestLeakStaysReportedUntilBackDownOrAcknowledged(t *testing.T) {
	s := newService(12)
	s.load = 3
	s.counts["request"] = 6
	s.counts["serverConn"] = 4
	h := start(t, append(s.opts(), WithDeepCheckInterval(30*time.Second))...)
	expect(t, h, 12*3, report.Healthy, "warm-up", nil)

	leakFor := func() report.Report {
		for i := range 24 {
			s.counts["leak"] += 3 // 36/min
			if r := h.step(); r.Status == report.Leaking {
				if i < 2 || r.Confirmed < 6 || len(r.Growing) == 0 || r.Growing[0].Location != "/src/svc/fan.go:17" {
					t.Fatalf("confirmed at tick %d: %+v", i, r)
				}
				return r
			}
		}
		t.Fatal("leak never confirmed")
		return report.Report{}
	}
	leakFor()
	stranded := s.counts["leak"]
	r := expect(t, h, 12*20, report.Leaking, "20 minutes after the leak stopped", nil)
	// The healthy level is the last capture before the trend was suspect,
	// which may hold the leak's first few goroutines.
	if level := r.Growing[0].Before; level > 6 || r.Confirmed != stranded-level || r.Growing[0].Count != stranded || r.ExcessPerMinute > 1 {
		t.Errorf("confirmed %d, growing %+v, excess %.1f; want %d stranded at a flat trend", r.Confirmed, r.Growing, r.ExcessPerMinute, stranded)
	}
	// Meanwhile unrelated traffic (connections opening) changes nothing.
	s.counts["serverConn"] += 20
	expect(t, h, 12, report.Leaking, "traffic while leaking", nil)

	// Most leaked goroutines end, not all: still leaking.
	s.counts["leak"] = 12
	expect(t, h, 12, report.Leaking, "partly released", nil)
	s.counts["leak"] = 1 // within tolerance of its healthy level
	for i := 0; h.step().Status != report.Healthy; i++ {
		if i == 7 {
			t.Fatal("leak ended but the watchdog still reports it")
		}
	}
	expect(t, h, 12*3, report.Healthy, "after the leak ended", nil)

	r = leakFor()
	if _, err := h.w.Acknowledge(context.Background(), "/src/svc/nope.go:1"); err == nil || !strings.Contains(err.Error(), "nope.go") {
		t.Errorf("acknowledging an unknown group: %v", err)
	}
	n, err := h.w.Acknowledge(context.Background(), r.Growing[0].Location)
	if err != nil || n != 1 {
		t.Fatalf("Acknowledge = %d, %v", n, err)
	}
	if r, _ := h.w.Report(context.Background()); r.Status != report.Healthy || r.Confirmed != 0 {
		t.Fatalf("after acknowledging: %+v", r)
	}
	expect(t, h, 12*5, report.Healthy, "acknowledged leak, flat", nil)
	// Growing again from its acknowledged level is a new leak.
	leakFor()
}

// A site whose goroutines usually come and go (a handler's helper) shrank
// while healthy, so it is taken for a pool; when it then leaks on one path
// it is excused only up to twice its highest healthy level, not forever.
func TestLearnedPoolThatLeaksIsConfirmed(t *testing.T) {
	s := newService(12)
	h := start(t, append(s.opts(), WithDeepCheckInterval(5*time.Second))...)
	expect(t, h, 12*3, report.Healthy, "helper goroutines come and go", func(i int) {
		s.load = float64((i * 5) % 7)
		s.counts["leak"] = 2 * int(s.load) // up to 12, back to 0
	})
	if !h.w.isBounded(h.w.siteOf(mustGroup(t))) {
		t.Fatal("the helper site was not learned as a pool: the test proves nothing")
	}
	s.load = 3
	s.counts["leak"] = 6
	expect(t, h, 12*3, report.Healthy, "steady", nil)
	for i := range 36 {
		s.counts["leak"] += 2 // 24/min
		if r := h.step(); r.Status == report.Leaking {
			if s.counts["leak"] < 24 || r.Growing[0].Location != "/src/svc/fan.go:17" {
				t.Fatalf("confirmed at %d goroutines (tick %d): %+v", s.counts["leak"], i, r)
			}
			return
		}
	}
	t.Fatalf("a learned pool grown to %d goroutines, far past twice its peak, was never confirmed", s.counts["leak"])
}

// mustGroup returns the leak site's group from the service's dump.
func mustGroup(t *testing.T) stackdump.Group {
	t.Helper()
	gs, err := stackdump.ParseBytes([]byte("goroutine 1 [chan send]:\n" + stacks["leak"].frames + "created by " + stacks["leak"].creator))
	if err != nil || len(gs) != 1 {
		t.Fatalf("parse: %v", err)
	}
	return stackdump.GroupGoroutines(gs)[0]
}
