package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

// tally collects the answers of one kind of request.
type tally struct {
	bound time.Duration // an answer later than this is late (0: none is)
	since time.Time     // what the time of a late answer is told from

	mu        sync.Mutex
	latencies []time.Duration
	codes     map[int]int
	failed    int      // no answer: a transport error or a timeout
	examples  []string // a few failures and 5xx, for the report
	late      []string // the first late answers, how late and when
}

func (t *tally) add(code int, took time.Duration, err error, what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.codes == nil {
		t.codes = map[int]int{}
	}
	if err != nil {
		t.failed++
		if len(t.examples) < 5 {
			t.examples = append(t.examples, fmt.Sprintf("%s: no answer after %v: %v", what, took.Round(time.Millisecond), err))
		}
		return
	}
	t.codes[code]++
	t.latencies = append(t.latencies, took)
	if t.bound > 0 && took > t.bound && len(t.late) < 10 {
		t.late = append(t.late, fmt.Sprintf("%v at %.0fs", took.Round(time.Millisecond), time.Since(t.since).Seconds()))
	}
	if code >= 500 && len(t.examples) < 5 {
		t.examples = append(t.examples, fmt.Sprintf("%s: %d after %v", what, code, took.Round(time.Millisecond)))
	}
}

// summary is a tally's figures.
type summary struct {
	Answered, Failed, ServerErrors int
	Codes                          map[int]int
	P50, P99, Max                  time.Duration
	Over                           int // answers later than the bound the kind has (checks: deadline + 50 ms)
	Examples, Late                 []string
}

func (t *tally) summary() summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	bound := t.bound
	s := summary{Answered: len(t.latencies), Failed: t.failed, Codes: t.codes, Examples: t.examples, Late: t.late}
	for code, n := range t.codes {
		if code >= 500 {
			s.ServerErrors += n
		}
	}
	l := slices.Clone(t.latencies)
	slices.Sort(l)
	s.P50, s.P99 = percentile(l, 0.50), percentile(l, 0.99)
	if len(l) > 0 {
		s.Max = l[len(l)-1]
	}
	if bound > 0 {
		for _, d := range l {
			if d > bound {
				s.Over++
			}
		}
	}
	return s
}

// percentile is the p-quantile of sorted (nearest rank); 0 when empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// footprint is a process's goroutines and heap at one moment.
type footprint struct {
	Goroutines int // all of them
	Pooled     int // of pools that grow and shrink with load (watchdog.DefaultBoundedGroups): connections
	HeapAlloc  uint64
	Groups     map[string]int // the others, by the function they started in
}

// Unpooled is what must come back to its level after load.
func (f footprint) Unpooled() int { return f.Goroutines - f.Pooled }

// measure reads p's goroutines from its full dump, grouped as leakguard
// groups them, and its heap after a collection, through the admin
// listener.
func measure(ctx context.Context, p *proc, token string) (footprint, error) {
	var f footprint
	dump, err := adminGet(ctx, p, token, "/debug/pprof/goroutine?debug=2")
	if err != nil {
		return f, err
	}
	gs, err := stackdump.ParseBytes(dump)
	if err != nil {
		return f, fmt.Errorf("parsing %s's goroutines: %w", p.name, err)
	}
	f.Groups = map[string]int{}
	for _, g := range gs {
		f.Goroutines++
		entry := ""
		if len(g.Frames) > 0 {
			entry = g.Frames[len(g.Frames)-1].Func
		}
		if pooled(entry) {
			f.Pooled++
			continue
		}
		f.Groups[entry]++
	}
	heap, err := adminGet(ctx, p, token, "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return f, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(heap)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			f.HeapAlloc, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return f, nil
}

func pooled(entry string) bool {
	for _, prefix := range watchdog.DefaultBoundedGroups {
		if strings.HasPrefix(entry, prefix) {
			return true
		}
	}
	return false
}

func adminGet(ctx context.Context, p *proc, token, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", p.adminURL()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %d %.200s", p.name, path, resp.StatusCode, b)
	}
	return b, err
}

// metric reads one series' value from p's /metrics.
func metric(ctx context.Context, p *proc, token, series string) (float64, error) {
	b, err := adminGet(ctx, p, token, "/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s has no series %s", p.name, series)
}
