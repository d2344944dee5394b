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
//
// A suspicion is confirmed by the capture: when the goroutines that grew
// come from sites (entry function and go statement) that are not pools,
// the watchdog enters "leaking" and stays there while those sites stay
// above their healthy level, even after the growth stops, until they come
// back down or a person acknowledges them (Acknowledge). Growth in pools
// (DefaultBoundedGroups, WithBoundedGroups, or sites seen to shrink back
// while healthy) is explained and raises nothing.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
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
	bounded          []string

	snapshotDir         string
	maxSnapshots        int
	snapshotMinInterval time.Duration

	capturePause time.Duration
	// fullPause and fullEvery allow a longer full dump now and then.
	fullPause, fullEvery time.Duration

	logger    *slog.Logger
	newTicker func(time.Duration) (<-chan time.Time, func())
	capture   func(budget time.Duration) capture.Dump
	// wouldStartGC says a capture now would start a GC cycle.
	wouldStartGC func() bool
	proven       func() ([]stackdump.Goroutine, bool, error)
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
// only captures on suspicion). A capture stops the world for at most the
// capture pause (WithCapturePause) but costs CPU, ~0.1-0.2s at 100k
// goroutines; that is why it is not done every sample. Blocked-goroutine
// suspects are only found by these captures. A capture that would start a
// GC cycle (capture.WouldStartGC), which at 100k goroutines delays the
// other goroutines far longer than the capture does, waits for the next
// cycle, at most 2m30s; the report says while it waits.
func WithDeepCheckInterval(d time.Duration) Option {
	return func(c *config) { c.deepInterval = d }
}

// WithCapturePause sets how long a capture may stop the world (default
// capture.DefaultPauseBudget, 5ms). A full runtime.Stack dump, the only
// one with the wait times that find blocked-goroutine suspects, stops it
// ~2µs per goroutine and is taken only when it fits: up to roughly 2,000
// goroutines at 5ms. Beyond, the capture comes from the concurrent
// goroutine profile, blocked goroutines are not looked for, and the report
// says so (WaitTimesSkipped). Creators ("created by") then come from the
// full dumps taken while the process was small enough, and the report
// says how old they are. 0 never takes a full dump.
func WithCapturePause(d time.Duration) Option {
	return func(c *config) { c.capturePause = max(d, 0) }
}

// WithFullDumpEvery lets a deep check take a full dump that stops the
// world for up to pause (more than the capture pause) at most once every
// every, for the wait times that find blocked goroutines and the creators
// of stacks that started since the process outgrew the capture pause.
// Off by default: every capture then keeps to the capture pause. At 100k
// goroutines a full dump stops the world ~0.2s.
func WithFullDumpEvery(every, pause time.Duration) Option {
	return func(c *config) { c.fullEvery, c.fullPause = every, max(pause, 0) }
}

// WithMinGrowth sets the smallest growth beyond load, in goroutines over
// the window, that can be suspect (default 10, or 1% of the goroutine
// count if larger).
func WithMinGrowth(n float64) Option { return func(c *config) { c.minGrowth = n } }

// WithBoundedGroups adds entry-function prefixes of pool goroutines to
// DefaultBoundedGroups: their growth never confirms a leak. Pools the
// watchdog has seen shrink back while healthy need no entry.
func WithBoundedGroups(prefixes ...string) Option {
	return func(c *config) { c.bounded = append(append([]string(nil), c.bounded...), prefixes...) }
}

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
		bounded:             DefaultBoundedGroups,
		maxSnapshots:        10,
		snapshotMinInterval: 5 * time.Minute,
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
		capturePause: capture.DefaultPauseBudget,
		capture:      capture.Within,
		wouldStartGC: capture.WouldStartGC,
		proven:       provenLeaks,
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
	// waitsSkipped says why the last deep check took no wait times, so
	// found no blocked goroutines whatever they were doing; "" if it took
	// them. It holds between deep checks.
	waitsSkipped string
	// creators says where the last deep check's creators came from when
	// it was not a full dump; "" after a full one.
	creators string
	// postponed is when a due deep check was first put off because its
	// capture would have started a GC cycle; zero if none is.
	postponed time.Time
	// lastFull is when the last full dump over the capture pause was
	// allowed (WithFullDumpEvery).
	lastFull time.Time
	seq      int
	perLoad  float64 // last perLoad the data could determine

	history map[site]*siteHistory
	// episode holds the sites of a confirmed leak and their healthy
	// levels; the status stays leaking while it is not empty.
	episode map[site]*episodeSite
	// acked overrides a site's level in the baseline after a person
	// acknowledged it, until the next healthy capture replaces the
	// baseline; otherwise the growth still in the window would reopen the
	// episode at once.
	acked map[site]int
	// explained is set when the last capture while the trend was suspect
	// put the growth in pools; it holds until the trend ends.
	explained     bool
	boundedGrowth int
	// attributed is set once a capture during the trend was diffed
	// against a healthy baseline that holds the goroutines the trend counts.
	attributed bool
	// unattributed is the trend's growth no capture has put in a site yet.
	unattributed int
	// coarse holds the entry functions tracked without creators (see
	// siteOf).
	coarse map[string]bool
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
	return &Watchdog{
		cfg:     cfg,
		last:    report.Report{Source: "watchdog", Status: report.Healthy},
		history: map[site]*siteHistory{},
		episode: map[site]*episodeSite{},
		acked:   map[site]int{},
		coarse:  map[string]bool{},
	}
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
	if !trend {
		w.explained, w.boundedGrowth = false, 0
		w.attributed = false
	}
	// A capture of many goroutines costs a tenth of a second of CPU, so it
	// runs on a schedule and, while suspect, only often enough to confirm
	// or explain the trend (every eighth of the window) or when a snapshot
	// is due; never every sample.
	snapDue := w.lastSnap.IsZero() || now.Sub(w.lastSnap) >= w.cfg.snapshotMinInterval
	confirmDue := now.Sub(w.lastDeep) >= max(w.cfg.interval, w.cfg.window/8)
	deep := w.lastDeep.IsZero() ||
		(w.cfg.deepInterval > 0 && now.Sub(w.lastDeep) >= w.cfg.deepInterval) ||
		(trend && (snapDue || confirmDue))
	deep = w.pace(now, deep)
	w.mu.Unlock()

	var d deepResult
	if deep {
		d = w.deepCheck(now, trend, f, int(s.goroutines))
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
	if deep {
		r.Top, r.Blocked, r.Leaked = d.top, d.blocked, d.leaked
		r.LeakProfile, r.ProvenLeaks = d.leakProfile, d.proven
		r.Growing = d.growing
		if d.snapshot != "" {
			r.LastSnapshot = d.snapshot
		}
		w.blockedCount = d.blockedCount
		if (d.waitsSkipped == "") != (w.waitsSkipped == "") {
			w.logWaits(d.waitsSkipped)
		}
		w.waitsSkipped = d.waitsSkipped
		w.creators = d.creators
	}
	r.WaitTimesSkipped = w.waitsSkipped != ""
	r.Snapshots = w.snaps
	w.unattributed = 0
	if trend && !w.explained && len(w.episode) == 0 {
		if !w.attributed { // no healthy baseline to diff against yet
			w.unattributed = int(math.Round(f.excess * f.span.Minutes()))
		}
	}
	if !trend && len(w.episode) == 0 {
		r.Growing = nil
	}
	w.settle(r, trend, f)
	if r.Status != prevStatus {
		w.logStatus(r)
	}
}

// settle derives the counts, reasons and status from the watchdog's state.
// Called with w.mu held, after a tick and after an acknowledgement.
func (w *Watchdog) settle(r *report.Report, trend bool, f fit) {
	r.Reasons = nil
	r.Confirmed = 0
	for _, e := range w.episode {
		r.Confirmed += e.above()
	}
	if len(w.episode) > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf(
			"%d goroutines in %d group(s) grew without load and stay above their healthy level; acknowledge them to clear",
			r.Confirmed, len(w.episode)))
	}
	if trend {
		r.Reasons = append(r.Reasons, fmt.Sprintf(
			"goroutines grow %.1f/min beyond what load explains (%.1f/min raw, %.2f per unit of load) over %s",
			f.excess, f.growth, w.perLoad, f.span.Round(time.Second)))
		if w.explained {
			r.Reasons = append(r.Reasons, fmt.Sprintf(
				"the growth (+%d) is in pools that shrink when idle or in acknowledged groups: not a leak", w.boundedGrowth))
		}
	}
	r.Suspected = w.blockedCount + w.unattributed
	if w.blockedCount > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d goroutines blocked longer than %s", w.blockedCount, w.cfg.blockedThreshold))
	}
	if w.waitsSkipped != "" {
		r.Reasons = append(r.Reasons, w.waitsSkipped)
	}
	if w.creators != "" {
		r.Reasons = append(r.Reasons, w.creators)
	}
	if !w.postponed.IsZero() {
		r.Reasons = append(r.Reasons, fmt.Sprintf(
			"capture postponed since %s: at %d goroutines it would start a GC cycle, which delays a process this size for longer than the capture pause; waiting for the next cycle, at most %s",
			w.postponed.UTC().Format(time.RFC3339), r.Goroutines, maxPostpone))
	}
	if r.ProvenLeaks > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("runtime proved %d goroutines leaked", r.ProvenLeaks))
	}
	switch {
	case r.ProvenLeaks > 0 || len(w.episode) > 0:
		r.Status = report.Leaking
	case r.Suspected > 0:
		r.Status = report.Suspect
	default:
		r.Status = report.Healthy
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
		"suspected", r.Suspected, "confirmed", r.Confirmed, "proven", r.ProvenLeaks,
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
	msg := "leakguard: goroutine leak suspect"
	if r.Status == report.Leaking {
		msg = "leakguard: goroutine leak"
	}
	w.cfg.logger.Warn(msg, attrs...)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// logWaits says when deep checks stop or resume taking wait times.
func (w *Watchdog) logWaits(skipped string) {
	if skipped == "" {
		w.cfg.logger.Info("leakguard: goroutine wait times taken again; blocked goroutines are looked for")
		return
	}
	w.cfg.logger.Warn("leakguard: " + skipped)
}

type deepResult struct {
	top, blocked, leaked, growing []report.Group
	blockedCount, proven          int
	leakProfile                   bool
	snapshot                      string
	waitsSkipped                  string // see Watchdog.waitsSkipped
	creators                      string // see Watchdog.creators
}

// maxPostpone bounds how long a due capture waits for a GC cycle: the
// runtime forces one every two minutes, so after this long one has run
// unless GC is off, and then the heap has no goal to stay under.
const maxPostpone = 2*time.Minute + 30*time.Second

// pace puts off a due deep check whose capture would start a GC cycle
// (capture.WouldStartGC): in a process of many goroutines a GC cycle
// delays the other goroutines for longer than the capture pause (marking
// their stacks keeps the cores busy), and the service's own allocation or
// the runtime's forced cycle soon runs one anyway, after which the
// capture fits. It gives up waiting after maxPostpone.
// Called with w.mu held.
func (w *Watchdog) pace(now time.Time, due bool) bool {
	if !due {
		return false
	}
	if !w.cfg.wouldStartGC() {
		w.postponed = time.Time{}
		return true
	}
	if w.postponed.IsZero() {
		w.postponed = now
		w.cfg.logger.Info("leakguard: capture postponed until the next GC cycle: it would start one", "goroutines", w.cfg.goroutines())
	}
	if now.Sub(w.postponed) < maxPostpone {
		return false
	}
	w.cfg.logger.Warn("leakguard: capture taken though it may start a GC cycle: none ran while it waited", "waited", now.Sub(w.postponed).Round(time.Second))
	w.postponed = time.Time{}
	return true
}

// deepCheck captures and groups all stacks. While healthy it makes them
// the new baseline and learns which sites shrink; while the trend is
// suspect it diffs them against the baseline to confirm a leak or explain
// the growth by pools; while a leak episode is open it follows the
// episode's sites back to their healthy levels. It runs without w.mu held
// since a capture of many goroutines takes a while.
func (w *Watchdog) deepCheck(now time.Time, suspect bool, f fit, counted int) deepResult {
	var d deepResult
	pause := w.cfg.capturePause
	w.mu.Lock()
	longFull := w.cfg.fullEvery > 0 && w.cfg.fullPause > pause && (w.lastFull.IsZero() || now.Sub(w.lastFull) >= w.cfg.fullEvery)
	w.mu.Unlock()
	if longFull {
		pause = w.cfg.fullPause
	}
	dump := w.cfg.capture(pause)
	if longFull && dump.Full {
		w.mu.Lock()
		w.lastFull = now
		w.mu.Unlock()
	}
	// Only a full dump has the wait times report.Blocked needs each
	// goroutine for; the profile's identical goroutines are grouped without
	// being expanded, which at 100k goroutines allocates 15MB less.
	var gs []stackdump.Goroutine
	var groups []stackdump.Group
	var err error
	captured := 0
	if dump.Full {
		gs, err = stackdump.ParseBytes(dump.Text)
		groups, captured = stackdump.GroupGoroutines(gs), len(gs)
	} else {
		groups, captured, err = stackdump.ParseGroups(dump.Text)
	}
	if err != nil {
		w.cfg.logger.Error("leakguard: parse goroutine dump", "err", err)
		return d
	}
	d.top = report.FromGroups(groups, w.cfg.top)
	if dump.Full {
		d.blocked, d.blockedCount = report.Blocked(gs, w.cfg.blockedThreshold, w.cfg.top)
	} else {
		d.waitsSkipped = fmt.Sprintf(
			"wait times skipped: a full dump of %d goroutines would stop the world ~%s, over the %s capture pause; goroutines blocked longer than %s are not looked for",
			dump.Goroutines, dump.FullPause.Round(time.Millisecond), pause, w.cfg.blockedThreshold)
		d.creators = creatorsReason(dump)
	}

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
	w.coarsen(groups)
	counts := w.siteCounts(groups)
	w.lastDeep = now
	baseline := w.baseline
	for s, e := range w.episode {
		e.count = counts[s]
		if e.count <= e.level+tolerance(e.level) {
			delete(w.episode, s)
			w.cfg.logger.Info("leakguard: leaking group back to its healthy level", "site", s.String(), "count", e.count, "level", e.level)
		}
	}
	var changes []stackdump.Change
	if baseline != nil && (suspect || len(w.episode) > 0) {
		changes = stackdump.Diff(w.withoutCoarseCreators(baseline), w.withoutCoarseCreators(groups))
	}
	if suspect && baseline != nil {
		w.confirm(counts, w.siteCounts(baseline), changes, f, captured, counted)
	}
	if !suspect && len(w.episode) == 0 {
		// Only healthy captures teach: a leak growing while suspect would
		// otherwise raise its own site's peak.
		w.learn(counts)
	}
	if !suspect && len(w.episode) == 0 && d.blockedCount == 0 && d.proven == 0 {
		w.baseline = groups
		clear(w.acked)
	}
	takeSnap := (suspect || len(w.episode) > 0) &&
		(w.lastSnap.IsZero() || now.Sub(w.lastSnap) >= w.cfg.snapshotMinInterval)
	if takeSnap {
		w.lastSnap = now
		w.snaps++
		w.seq++
	}
	seq := w.seq
	d.growing = w.growingGroups(changes, suspect)
	w.mu.Unlock()

	if takeSnap && w.cfg.snapshotDir != "" {
		// runtime/pprof's profile allocates as much as a labelled capture
		// (27MB at 100k goroutines): written only if that starts no GC
		// cycle; the text dump has the same stacks.
		proto := dump.Full || !w.cfg.wouldStartGC()
		if !proto {
			w.cfg.logger.Info("leakguard: snapshot without its pprof profile: writing it would start a GC cycle")
		}
		path, err := writeSnapshot(w.cfg.snapshotDir, now, seq, dump.Text, proto, w.cfg.maxSnapshots)
		if err != nil {
			w.cfg.logger.Error("leakguard: write snapshot", "err", err)
		}
		d.snapshot = path
	}
	return d
}

// provenLeaks is report.ProvenLeaks without its full dump, which stops
// the world for the whole walk: at debug=1 the goroutineleak profile holds
// only the leaked goroutines, recorded without stopping the world after
// the GC cycle that detects them.
func provenLeaks() (leaked []stackdump.Goroutine, ok bool, err error) {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return nil, false, nil
	}
	text, err := capture.Profile(p)
	if err != nil {
		return nil, true, fmt.Errorf("write goroutineleak profile: %w", err)
	}
	gs, err := stackdump.ParseBytes(text)
	if err != nil {
		return nil, true, fmt.Errorf("parse goroutineleak profile: %w", err)
	}
	return gs, true, nil
}

// confirm splits the growth since the healthy baseline between pools and
// other sites. Growth beyond the trend's threshold outside pools opens (or
// extends) a leak episode; growth mostly in pools explains the trend.
// Called with w.mu held.
func (w *Watchdog) confirm(now, before map[site]int, changes []stackdump.Change, f fit, captured, counted int) {
	threshold := int(math.Ceil(math.Max(w.cfg.minGrowth, 0.01*f.meanGoroutines)))
	grown := map[site]int{}
	unbounded, bounded := 0, 0
	for s, n := range now {
		level, ok := w.acked[s]
		if ok {
			// What a person acknowledged is accounted for, not a pool.
			bounded += max(0, min(n, level)-before[s])
		} else {
			level = before[s]
		}
		if n-level <= 0 {
			continue
		}
		if limit, ok := w.poolLimit(s); ok {
			bounded += max(0, min(n, limit)-level)
			if n <= limit {
				continue
			}
			level = max(level, limit) // judge only what the pool does not explain
		}
		if n-level > tolerance(level) {
			grown[s] = level
			unbounded += n - level
		}
	}
	w.boundedGrowth = bounded
	// A capture that does not hold the goroutines the trend counts (a
	// narrower goroutine counter) can neither confirm nor explain it: the
	// trend stays a suspicion. One that does and finds too little growth
	// outside pools and acknowledged groups explains it.
	w.attributed = math.Abs(float64(captured-counted)) <= math.Max(float64(threshold), 0.1*float64(counted))
	w.explained = w.attributed && unbounded < threshold
	if unbounded < threshold {
		return
	}
	for s, level := range grown {
		e := w.episode[s]
		if e == nil {
			e = &episodeSite{level: level, names: map[string]bool{}}
			w.episode[s] = e
		}
		e.count = now[s]
	}
	for _, c := range changes {
		if e := w.episode[w.siteOf(c.Group)]; e != nil && c.Delta > 0 {
			g := report.FromGroup(c.Group)
			e.names[g.Function] = true
			e.names[g.Location] = true
		}
	}
}

// growingGroups lists the groups that grew since the healthy baseline:
// those of the leak episode while one is open, else, while the trend is
// suspect, those outside pools. Called with w.mu held.
func (w *Watchdog) growingGroups(changes []stackdump.Change, suspect bool) []report.Group {
	var keep []stackdump.Change
	for _, c := range changes {
		s := w.siteOf(c.Group)
		switch {
		case len(w.episode) > 0:
			if w.episode[s] == nil {
				continue
			}
		case !suspect || w.isBounded(s):
			continue
		default:
			if level, ok := w.acked[s]; ok && c.After <= level {
				continue
			}
		}
		keep = append(keep, c)
	}
	return report.FromChanges(keep, w.cfg.top)
}

// Acknowledge ends the leak episode for the groups a person has looked at:
// each name is a function or file:line of a group the report lists under
// Growing while leaking; no names acknowledges every leaking group. Their
// current level becomes their healthy level, so they are reported again
// only if they grow further. It returns how many groups were acknowledged;
// an error if a name matches none. It implements debughttp.Acknowledger.
func (w *Watchdog) Acknowledge(ctx context.Context, names ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	matched := map[site]bool{}
	for _, name := range names {
		found := false
		for s, e := range w.episode {
			if e.names[name] || s.entry == name {
				matched[s], found = true, true
			}
		}
		if !found {
			return 0, fmt.Errorf("no leaking group named %q", name)
		}
	}
	if len(names) == 0 {
		for s := range w.episode {
			matched[s] = true
		}
	}
	for s := range matched {
		e := w.episode[s]
		w.acked[s] = e.count
		delete(w.episode, s)
		w.cfg.logger.Info("leakguard: leaking group acknowledged", "site", s.String(), "count", e.count, "level", e.level)
	}
	r := &w.last
	if len(w.episode) == 0 {
		r.Growing = nil
	} else {
		kept := r.Growing[:0:0]
		for _, g := range r.Growing {
			if !matchedName(w.episode, g) {
				continue
			}
			kept = append(kept, g)
		}
		r.Growing = kept
	}
	prev := r.Status
	w.settle(r, false, fit{})
	if r.Status != prev {
		w.logStatus(r)
	}
	return len(matched), nil
}

func matchedName(episode map[site]*episodeSite, g report.Group) bool {
	for _, e := range episode {
		if e.names[g.Location] {
			return true
		}
	}
	return false
}

// creatorsReason says where a concurrent capture's creators come from: the
// goroutine profile has none, so every "created by" in it is what an
// earlier full dump saw for the same stack.
func creatorsReason(dump capture.Dump) string {
	if dump.LearnedCreators == 0 {
		return "creators unknown: the goroutine profile does not record them and no full dump taken within the capture pause saw these stacks"
	}
	return fmt.Sprintf(
		"creators (created by) of %d stacks are from full dumps taken since %s (%s ago), when a full dump fit the capture pause; stacks no full dump saw show none",
		dump.LearnedCreators, dump.CreatorsFrom.UTC().Format(time.RFC3339), time.Since(dump.CreatorsFrom).Round(time.Second))
}
