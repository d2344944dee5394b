// Package watchdog watches a running service for goroutine leaks.
//
// Every Interval it samples runtime.NumGoroutine and the service's load
// (e.g. in-flight requests) and fits, over the last Window, how many
// goroutines the load explains and how fast the rest grows. A traffic peak
// raises goroutines together with load and is not a leak; goroutines that
// keep growing while load stays flat are. On suspicion it captures a
// goroutine dump (text and pprof proto) into SnapshotDir, diffs it against
// the last healthy capture and names the groups that grew, with file:line.
// Goroutines blocked longer than BlockedThreshold are suspects too, and
// where the runtime's goroutineleak profile exists (Go 1.26 with
// GOEXPERIMENT=goroutineleakprofile) its proven leaks are reported.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// Option configures a Watchdog.
type Option func(*config)

type config struct {
	interval         time.Duration
	window           time.Duration
	inFlight         func() float64
	goroutines       func() int
	blockedThreshold time.Duration
	deepInterval     time.Duration
	minGrowth        float64
	minConfidence    float64
	top              int

	snapshotDir         string
	maxSnapshots        int
	snapshotMinInterval time.Duration

	logger    *slog.Logger
	newTicker func(time.Duration) (<-chan time.Time, func())
	capture   func() []byte
	proven    func() ([]stackdump.Goroutine, bool, error)
	// tickDone, if set, receives after every processed tick; tests use it
	// to step the watchdog one tick at a time.
	tickDone chan<- struct{}
}

// WithInterval sets how often to sample (default 5s).
func WithInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithWindow sets how much history the trend is fitted over (default 2m).
// Longer windows catch slower leaks and react later.
func WithWindow(d time.Duration) Option { return func(c *config) { c.window = d } }

// WithInFlight sets the load signal, e.g. in-flight requests (see
// InFlight). Without it every sample has load 0 and any sustained growth
// is suspect.
func WithInFlight(f func() float64) Option { return func(c *config) { c.inFlight = f } }

// WithGoroutineCounter replaces runtime.NumGoroutine, for tests and for
// counting something narrower.
func WithGoroutineCounter(f func() int) Option { return func(c *config) { c.goroutines = f } }

// WithBlockedThreshold sets how long a goroutine may wait before it is a
// suspect (default 10m). The runtime reports waits in whole minutes.
func WithBlockedThreshold(d time.Duration) Option {
	return func(c *config) { c.blockedThreshold = d }
}

// WithDeepCheckInterval sets how often to capture and group all stacks
// and read the leak profile (default 5m; 0 disables the schedule, leaving
// only captures on suspicion). A capture stops the world while
// runtime.Stack walks every goroutine, about 10-13µs each: ~0.1s at 10k
// goroutines, ~1.3s at 100k (measured on 2 cores); that is why it is not
// done every sample. Blocked-goroutine suspects are only found by these
// captures.
func WithDeepCheckInterval(d time.Duration) Option {
	return func(c *config) { c.deepInterval = d }
}

// WithMinGrowth sets the smallest growth beyond load, in goroutines over
// the window, that can be suspect (default 10, or 1% of the goroutine
// count if larger).
func WithMinGrowth(n float64) Option { return func(c *config) { c.minGrowth = n } }

// WithTopGroups bounds how many groups a report lists (default 10).
func WithTopGroups(n int) Option { return func(c *config) { c.top = n } }

// WithSnapshotDir writes snapshots into dir (created if missing). Without
// it snapshots are kept in memory only, for the diff.
func WithSnapshotDir(dir string) Option { return func(c *config) { c.snapshotDir = dir } }

// WithMaxSnapshots bounds the snapshots kept in SnapshotDir (default 10);
// the oldest are deleted.
func WithMaxSnapshots(n int) Option { return func(c *config) { c.maxSnapshots = n } }

// WithSnapshotMinInterval rate-limits snapshots (default 5m), so a leak
// that stays suspect for hours does not capture every interval.
func WithSnapshotMinInterval(d time.Duration) Option {
	return func(c *config) { c.snapshotMinInterval = d }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTicker replaces time.NewTicker. The watchdog takes each sample's
// time from the tick, so a test that sends ticks controls time completely.
func WithTicker(newTicker func(time.Duration) (c <-chan time.Time, stop func())) Option {
	return func(c *config) { c.newTicker = newTicker }
}

func defaults() config {
	return config{
		interval:            5 * time.Second,
		window:              2 * time.Minute,
		goroutines:          runtime.NumGoroutine,
		blockedThreshold:    10 * time.Minute,
		deepInterval:        5 * time.Minute,
		minGrowth:           10,
		minConfidence:       4,
		top:                 10,
		maxSnapshots:        10,
		snapshotMinInterval: 5 * time.Minute,
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
		capture: stackdump.Capture,
		proven:  report.ProvenLeaks,
	}
}

// Watchdog samples goroutines and load and reports suspected and proven
// leaks. Its zero value is not usable; create it with New.
type Watchdog struct {
	cfg config

	mu       sync.Mutex // guards everything below
	started  bool
	cancel   context.CancelFunc
	done     chan struct{}
	samples  []sample
	last     report.Report
	lastDeep time.Time
	lastSnap time.Time
	baseline []stackdump.Group // groups of the last healthy capture
	snaps    int
	// blockedCount is from the last deep check; it holds between them.
	blockedCount int
	seq          int
	perLoad      float64 // last perLoad the data could determine
}

// New returns a stopped watchdog.
func New(opts ...Option) *Watchdog {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return &Watchdog{cfg: cfg, last: report.Report{Source: "watchdog", Status: report.Healthy}}
}

// Start begins sampling in a goroutine of its own, which ends on Stop or
// when ctx is done. It fails if the options are invalid, the snapshot
// directory cannot be created, or the watchdog was started before.
func (w *Watchdog) Start(ctx context.Context) error {
	c := w.cfg
	switch {
	case c.interval <= 0:
		return errors.New("watchdog: interval must be positive")
	case c.window < 3*c.interval:
		return fmt.Errorf("watchdog: window %s must span at least 3 intervals of %s", c.window, c.interval)
	case c.maxSnapshots < 1:
		return errors.New("watchdog: max snapshots must be at least 1")
	}
	if c.snapshotDir != "" {
		if err := ensureDir(c.snapshotDir); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("watchdog: already started")
	}
	w.started = true
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	ticks, stopTicker := c.newTicker(c.interval)
	go w.run(ctx, ticks, stopTicker) // ended by Stop or ctx; Stop waits on w.done
	return nil
}

// Stop ends sampling and waits until the watchdog's goroutine has exited.
// It is safe to call more than once and before Start.
func (w *Watchdog) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (w *Watchdog) run(ctx context.Context, ticks <-chan time.Time, stopTicker func()) {
	defer close(w.done)
	defer stopTicker()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticks:
			w.tick(now)
			if w.cfg.tickDone != nil {
				w.cfg.tickDone <- struct{}{}
			}
		}
	}
}

// Report returns the latest report. It implements debughttp.Reporter.
func (w *Watchdog) Report(ctx context.Context) (report.Report, error) {
	if err := ctx.Err(); err != nil {
		return report.Report{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := cloneReport(w.last)
	if r.GeneratedAt.IsZero() {
		// Asked before the first sample: say so rather than report zeros.
		r.GeneratedAt = time.Now()
		r.Source = "watchdog"
		r.Goroutines = w.cfg.goroutines()
		r.Reasons = append(r.Reasons, fmt.Sprintf("no sample yet: the first is taken within %s of start", w.cfg.interval))
	}
	return r, nil
}

func cloneReport(r report.Report) report.Report {
	r.Reasons = append([]string(nil), r.Reasons...)
	r.Leaked = append([]report.Group(nil), r.Leaked...)
	r.Growing = append([]report.Group(nil), r.Growing...)
	r.Blocked = append([]report.Group(nil), r.Blocked...)
	r.Top = append([]report.Group(nil), r.Top...)
	return r
}

// tick takes one sample and updates the report.
func (w *Watchdog) tick(now time.Time) {
	s := sample{at: now, goroutines: float64(w.cfg.goroutines())}
	if w.cfg.inFlight != nil {
		s.load = w.cfg.inFlight()
	}

	w.mu.Lock()
	w.samples = append(w.samples, s)
	cut := 0
	for cut < len(w.samples) && now.Sub(w.samples[cut].at) > w.cfg.window {
		cut++
	}
	// Shift rather than reslice so the backing array does not grow forever.
	w.samples = append(w.samples[:0], w.samples[cut:]...)
	f := fitWindow(w.samples)
	if f.perLoadKnown {
		w.perLoad = f.perLoad
	}
	trend := w.judge(f)
	// A capture stops the world for ~10µs per goroutine, so it runs on a
	// schedule and, while suspect, only when a snapshot is due; never every
	// sample.
	snapDue := w.lastSnap.IsZero() || now.Sub(w.lastSnap) >= w.cfg.snapshotMinInterval
	deep := w.lastDeep.IsZero() ||
		(w.cfg.deepInterval > 0 && now.Sub(w.lastDeep) >= w.cfg.deepInterval) ||
		(trend && snapDue)
	w.mu.Unlock()

	var d deepResult
	if deep {
		d = w.deepCheck(now, trend)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	r := &w.last
	prevStatus := r.Status
	r.GeneratedAt = now
	r.Source = "watchdog"
	r.Goroutines = int(s.goroutines)
	r.Load = s.load
	r.Samples = f.n
	r.WindowSeconds = f.span.Seconds()
	r.GrowthPerMinute = f.growth
	r.ExcessPerMinute = f.excess
	r.BaselinePerLoad = w.perLoad
	r.Reasons = nil
	if deep {
		r.Top, r.Blocked, r.Leaked = d.top, d.blocked, d.leaked
		r.LeakProfile, r.ProvenLeaks = d.leakProfile, d.proven
		r.Growing = d.growing
		if d.snapshot != "" {
			r.LastSnapshot = d.snapshot
		}
		w.blockedCount = d.blockedCount
	}
	r.Snapshots = w.snaps
	// Between deep checks Growing is the one from the last capture.
	trendSuspects := 0
	if trend {
		for _, g := range r.Growing {
			trendSuspects += g.Delta
		}
		if trendSuspects == 0 { // no healthy baseline to diff against yet
			trendSuspects = int(math.Round(f.excess * f.span.Minutes()))
		}
		r.Reasons = append(r.Reasons, fmt.Sprintf(
			"goroutines grow %.1f/min beyond what load explains (%.1f/min raw, %.2f per unit of load) over %s",
			f.excess, f.growth, w.perLoad, f.span.Round(time.Second)))
	} else {
		r.Growing = nil
	}
	r.Suspected = w.blockedCount + trendSuspects
	if w.blockedCount > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d goroutines blocked longer than %s", w.blockedCount, w.cfg.blockedThreshold))
	}
	if r.ProvenLeaks > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("runtime proved %d goroutines leaked", r.ProvenLeaks))
	}
	switch {
	case r.ProvenLeaks > 0:
		r.Status = report.Leaking
	case r.Suspected > 0 || trend:
		r.Status = report.Suspect
	default:
		r.Status = report.Healthy
	}
	if r.Status != prevStatus {
		w.logStatus(r)
	}
}

// judge decides whether the fitted trend is a suspected leak.
func (w *Watchdog) judge(f fit) bool {
	// A quarter of the default two-minute window is 30 s: a leak of one
	// goroutine per request at 20 requests/s is flagged within 30 s.
	if f.n < 6 || f.span < w.cfg.window/4 {
		return false // too little history to call anything a trend
	}
	threshold := math.Max(w.cfg.minGrowth, 0.01*f.meanGoroutines)
	return f.excess > 0 &&
		f.excess*f.span.Minutes() >= threshold &&
		f.tExcess >= w.cfg.minConfidence
}

func (w *Watchdog) logStatus(r *report.Report) {
	attrs := []any{
		"status", r.Status, "goroutines", r.Goroutines, "load", r.Load,
		"growth_per_min", round2(r.GrowthPerMinute), "excess_per_min", round2(r.ExcessPerMinute),
		"suspected", r.Suspected, "proven", r.ProvenLeaks,
	}
	if r.LastSnapshot != "" {
		attrs = append(attrs, "snapshot", r.LastSnapshot)
	}
	for i, g := range r.Growing {
		if i == 3 {
			break
		}
		attrs = append(attrs, fmt.Sprintf("growing_%d", i), fmt.Sprintf("+%d %s %s [%s]", g.Delta, g.Function, g.Location, g.State))
	}
	if r.Status == report.Healthy {
		w.cfg.logger.Info("leakguard: goroutines healthy again", attrs...)
		return
	}
	w.cfg.logger.Warn("leakguard: goroutine leak "+string(r.Status), attrs...)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

type deepResult struct {
	top, blocked, leaked, growing []report.Group
	blockedCount, proven          int
	leakProfile                   bool
	snapshot                      string
}

// deepCheck captures and groups all stacks. On suspicion it also diffs
// them against the last healthy capture and writes a snapshot; while
// healthy it makes them the new baseline. It runs without w.mu held since
// a capture of many goroutines takes a while.
func (w *Watchdog) deepCheck(now time.Time, suspect bool) deepResult {
	var d deepResult
	dump := w.cfg.capture()
	gs, err := stackdump.ParseBytes(dump)
	if err != nil {
		w.cfg.logger.Error("leakguard: parse goroutine dump", "err", err)
		return d
	}
	groups := stackdump.GroupGoroutines(gs)
	d.top = report.FromGroups(groups, w.cfg.top)
	d.blocked, d.blockedCount = report.Blocked(gs, w.cfg.blockedThreshold, w.cfg.top)

	leaked, ok, err := w.cfg.proven()
	d.leakProfile = ok
	if err != nil {
		w.cfg.logger.Error("leakguard: goroutineleak profile", "err", err)
	}
	if len(leaked) > 0 {
		d.proven = len(leaked)
		d.leaked = report.FromGroups(stackdump.GroupGoroutines(leaked), w.cfg.top)
	}

	w.mu.Lock()
	w.lastDeep = now
	baseline := w.baseline
	if !suspect && d.blockedCount == 0 && d.proven == 0 {
		w.baseline = groups
	}
	takeSnap := suspect && (w.lastSnap.IsZero() || now.Sub(w.lastSnap) >= w.cfg.snapshotMinInterval)
	if takeSnap {
		w.lastSnap = now
		w.snaps++
		w.seq++
	}
	seq := w.seq
	w.mu.Unlock()

	if suspect && baseline != nil {
		d.growing = report.FromChanges(stackdump.Diff(baseline, groups), w.cfg.top)
	}
	if takeSnap && w.cfg.snapshotDir != "" {
		path, err := writeSnapshot(w.cfg.snapshotDir, now, seq, dump, w.cfg.maxSnapshots)
		if err != nil {
			w.cfg.logger.Error("leakguard: write snapshot", "err", err)
		}
		d.snapshot = path
	}
	return d
}
