package drill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// The leaky handlers below are wrong on purpose. Each blocking statement
// that strands a goroutine carries a "// LEAK: ..." marker; the end-to-end
// test finds the marker's line and expects leakguard to name exactly that
// file:line. Keep the markers on the blocking statements.

// Config tunes the simulated backends of the fan-out.
type Config struct {
	// Shards is how many backends a fan-out queries (default 4).
	Shards int
	// Deadline is how long a fan-out waits for its shards (default 25ms).
	Deadline time.Duration
	// FastLatency is how long a healthy shard takes (default 1ms).
	FastLatency time.Duration
	// SlowLatency is how long the last shard takes (default 100ms); it
	// always misses the deadline, which is what strands the leaky
	// fan-out's worker.
	SlowLatency time.Duration
}

func (c Config) withDefaults() Config {
	if c.Shards <= 0 {
		c.Shards = 4
	}
	if c.Deadline <= 0 {
		c.Deadline = 25 * time.Millisecond
	}
	if c.FastLatency <= 0 {
		c.FastLatency = time.Millisecond
	}
	if c.SlowLatency <= 0 {
		c.SlowLatency = 100 * time.Millisecond
	}
	return c
}

// Drill serves the leaky handlers and their fixed twins.
//
// It remembers every channel a leaky handler abandoned, so that Release
// can unblock the goroutines stranded on them; a real leak has no such
// registry, which is what makes it a leak. Because the registry keeps the
// channels reachable, the runtime's goroutineleak profile cannot prove
// these goroutines leaked: the watchdog finds them by their growth.
type Drill struct {
	cfg Config

	cacheMu sync.Mutex
	cache   map[string]string

	mu       sync.Mutex // guards orphans and stranded
	orphans  []chan string
	stranded []strandedFanout
}

// strandedFanout is a fan-out channel its caller stopped reading, with
// how many workers still have a result to send on it.
type strandedFanout struct {
	results chan shardResult
	pending int
}

type shardResult struct {
	shard int
	value string
	err   error
}

var errShardDown = errors.New("replica unavailable")

// New returns a drill.
func New(cfg Config) *Drill {
	return &Drill{cfg: cfg.withDefaults(), cache: map[string]string{}}
}

// Release unblocks every goroutine the leaky handlers stranded so far: it
// closes the channels orphan receivers wait on and receives the results
// abandoned fan-out workers are trying to send. It returns once all of
// them have been handed what they wait for; they exit right after.
// Call it when no leaky request is in flight.
func (d *Drill) Release() {
	d.mu.Lock()
	orphans, stranded := d.orphans, d.stranded
	d.orphans, d.stranded = nil, nil
	d.mu.Unlock()
	for _, ch := range orphans {
		close(ch)
	}
	for _, s := range stranded {
		for range s.pending {
			<-s.results
		}
	}
}

// Stranded reports how many goroutines the leaky handlers have stranded
// and not yet released.
func (d *Drill) Stranded() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.orphans)
	for _, s := range d.stranded {
		n += s.pending
	}
	return n
}

// ---------------------------------------------------------------------------
// Orphan receiver

// LeakyOrphanReceiver greets by name and audits cache misses in the
// background. The audit goroutine is started before the cache lookup, but
// only the miss path ever sends to it: every cache hit strands it on a
// receive nobody will match.
func (d *Drill) LeakyOrphanReceiver(w http.ResponseWriter, r *http.Request) {
	name := nameOf(r)
	audit := make(chan string)
	go func() {
		entry, ok := <-audit // LEAK: orphan receiver
		if ok {
			d.record(entry)
		}
	}()
	greeting, hit := d.lookup(name)
	if hit {
		d.strandOrphan(audit) // the bug: returns without sending on audit
		fmt.Fprintln(w, greeting)
		return
	}
	audit <- "miss " + name
	fmt.Fprintln(w, greeting)
}

// FixedOrphanReceiver is the same work done right: the audit goroutine
// also watches a context the handler cancels on return, and the handler
// waits for it, so no path can leave it behind.
func (d *Drill) FixedOrphanReceiver(w http.ResponseWriter, r *http.Request) {
	name := nameOf(r)
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	defer wg.Wait() // deferred first, so it runs after cancel
	defer cancel()
	audit := make(chan string)
	wg.Go(func() {
		select {
		case entry := <-audit:
			d.record(entry)
		case <-ctx.Done():
		}
	})
	greeting, hit := d.lookup(name)
	if !hit {
		select {
		case audit <- "miss " + name:
		case <-ctx.Done():
		}
	}
	fmt.Fprintln(w, greeting)
}

func (d *Drill) strandOrphan(ch chan string) {
	d.mu.Lock()
	d.orphans = append(d.orphans, ch)
	d.mu.Unlock()
}

// lookup returns the greeting for name and whether it was cached; the
// first lookup of a name caches it.
func (d *Drill) lookup(name string) (greeting string, hit bool) {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if g, ok := d.cache[name]; ok {
		return g, true
	}
	g := "hello, " + name
	if len(d.cache) < 1024 { // bounded: names come from the query string
		d.cache[name] = g
	}
	return g, false
}

// record stands in for writing an audit log.
func (d *Drill) record(string) {}

func nameOf(r *http.Request) string {
	if n := r.URL.Query().Get("name"); n != "" && len(n) <= 64 {
		return n
	}
	return "world"
}

// ---------------------------------------------------------------------------
// Abandoned fan-out

// LeakyAbandonedFanout queries every shard concurrently and answers with
// what arrived before the deadline, or with the first error. The workers
// send on an unbuffered channel, so every worker whose result comes after
// the caller stopped reading blocks on its send forever. With ?fail=1
// shard 0 fails at once and strands all the others.
func (d *Drill) LeakyAbandonedFanout(w http.ResponseWriter, r *http.Request) {
	failFirst := r.URL.Query().Get("fail") == "1"
	results := make(chan shardResult) // unbuffered: the bug
	for i := range d.cfg.Shards {
		go func() {
			res := d.queryShard(context.Background(), i, failFirst)
			results <- res // LEAK: abandoned fanout
		}()
	}
	deadline := time.NewTimer(d.cfg.Deadline)
	defer deadline.Stop()
	var got []string
	for received := 0; received < d.cfg.Shards; received++ {
		select {
		case res := <-results:
			if res.err != nil {
				d.strandFanout(results, d.cfg.Shards-received-1)
				http.Error(w, fmt.Sprintf("shard %d: %v", res.shard, res.err), http.StatusBadGateway)
				return
			}
			got = append(got, res.value)
		case <-deadline.C:
			d.strandFanout(results, d.cfg.Shards-received)
			writeFanout(w, got, d.cfg.Shards)
			return
		}
	}
	writeFanout(w, got, d.cfg.Shards)
}

// FixedAbandonedFanout is the same fan-out done right: the shards run
// under a context that ends at the deadline or at the first error
// (errgroup), they send on a channel with room for every result so a send
// never blocks, and the caller waits for all of them before answering.
func (d *Drill) FixedAbandonedFanout(w http.ResponseWriter, r *http.Request) {
	failFirst := r.URL.Query().Get("fail") == "1"
	ctx, cancel := context.WithTimeout(r.Context(), d.cfg.Deadline)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	results := make(chan shardResult, d.cfg.Shards)
	for i := range d.cfg.Shards {
		g.Go(func() error {
			res := d.queryShard(gctx, i, failFirst)
			if res.err != nil && ctx.Err() == nil {
				return fmt.Errorf("shard %d: %w", i, res.err) // cancels the others
			}
			results <- res // never blocks: one slot per shard
			return nil
		})
	}
	err := g.Wait()
	close(results)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var got []string
	for res := range results {
		if res.err == nil {
			got = append(got, res.value)
		}
	}
	writeFanout(w, got, d.cfg.Shards)
}

func (d *Drill) strandFanout(results chan shardResult, pending int) {
	if pending <= 0 {
		return
	}
	d.mu.Lock()
	d.stranded = append(d.stranded, strandedFanout{results: results, pending: pending})
	d.mu.Unlock()
}

// queryShard simulates a backend call: the last shard is slow, shard 0
// fails if asked to. It gives up when ctx ends (the leaky caller passes a
// context that never does).
func (d *Drill) queryShard(ctx context.Context, shard int, failFirst bool) shardResult {
	if failFirst && shard == 0 {
		return shardResult{shard: shard, err: errShardDown}
	}
	latency := d.cfg.FastLatency
	if shard == d.cfg.Shards-1 {
		latency = d.cfg.SlowLatency
	}
	t := time.NewTimer(latency)
	defer t.Stop()
	select {
	case <-t.C:
		return shardResult{shard: shard, value: fmt.Sprintf("shard %d ok", shard)}
	case <-ctx.Done():
		return shardResult{shard: shard, err: ctx.Err()}
	}
}

func writeFanout(w http.ResponseWriter, got []string, shards int) {
	fmt.Fprintf(w, "%d/%d shards answered: %s\n", len(got), shards, strings.Join(got, ", "))
}
