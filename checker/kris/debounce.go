package kris

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Recomputer recomputes a study's KRIs after its data changed: once
// uploads have paused for Quiet and the checks they queued are done (or
// MaxWait after the first upload, whichever is first), so a burst of
// uploads costs one recompute, computed from checked data.
type Recomputer struct {
	svc     *Service
	quiet   time.Duration
	maxWait time.Duration
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	pending map[string]*due
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

type due struct{ first, last time.Time }

// RecomputerOption configures a Recomputer.
type RecomputerOption func(*Recomputer)

// WithQuiet sets how long uploads must pause before a recompute (default
// 10 s).
func WithQuiet(d time.Duration) RecomputerOption { return func(r *Recomputer) { r.quiet = d } }

// WithMaxWait bounds how long a recompute waits for the checks an upload
// queued (default 5 min).
func WithMaxWait(d time.Duration) RecomputerOption { return func(r *Recomputer) { r.maxWait = d } }

// WithTimeout bounds one recompute (default 2 min).
func WithTimeout(d time.Duration) RecomputerOption { return func(r *Recomputer) { r.timeout = d } }

// WithRecomputeLogger logs failed recomputes.
func WithRecomputeLogger(l *slog.Logger) RecomputerOption { return func(r *Recomputer) { r.log = l } }

// NewRecomputer returns a stopped Recomputer of svc's studies.
func NewRecomputer(svc *Service, opts ...RecomputerOption) *Recomputer {
	r := &Recomputer{svc: svc, quiet: 10 * time.Second, maxWait: 5 * time.Minute, timeout: 2 * time.Minute,
		log: slog.New(slog.DiscardHandler), now: time.Now, pending: map[string]*due{}, kick: make(chan struct{}, 1)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// TriggerQueued triggers a recompute of every study with checks queued,
// as when a node starts after an import or a restart: their KRIs are
// recomputed once those checks are done.
func (r *Recomputer) TriggerQueued(ctx context.Context) error {
	studies, err := r.svc.Store().QueuedStudies(ctx)
	for _, s := range studies {
		r.Trigger(s)
	}
	return err
}

// Trigger notes that study's data changed; it never blocks.
func (r *Recomputer) Trigger(study string) {
	now := r.now()
	r.mu.Lock()
	if d := r.pending[study]; d != nil {
		d.last = now
	} else {
		r.pending[study] = &due{first: now, last: now}
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start runs the recomputes until Stop or ctx's end, in one goroutine.
func (r *Recomputer) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() { // ends when ctx is cancelled (Stop); Stop waits for done
		defer close(r.done)
		r.loop(ctx)
	}()
}

// Stop cancels a recompute under way and waits for the goroutine to end.
func (r *Recomputer) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
}

func (r *Recomputer) loop(ctx context.Context) {
	tick := time.NewTicker(max(r.quiet/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.kick:
		}
		for _, study := range r.ready(ctx) {
			rctx, cancel := context.WithTimeout(ctx, r.timeout)
			if _, err := r.svc.Recompute(rctx, study); err != nil && ctx.Err() == nil {
				r.log.Error("recomputing KRIs after an upload", "study", study, "error", err)
			}
			cancel()
		}
	}
}

// ready takes the studies due for a recompute: quiet for long enough,
// with their checks done or waited for too long.
func (r *Recomputer) ready(ctx context.Context) []string {
	now := r.now()
	r.mu.Lock()
	var quiet []string
	for study, d := range r.pending {
		if now.Sub(d.last) >= r.quiet {
			quiet = append(quiet, study)
		}
	}
	r.mu.Unlock()
	var out []string
	for _, study := range quiet {
		r.mu.Lock()
		overdue := now.Sub(r.pending[study].first) >= r.maxWait
		r.mu.Unlock()
		if !overdue {
			n, err := r.svc.store.PendingChecks(ctx, study)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("counting a study's queued checks", "study", study, "error", err)
			}
			if err != nil || n > 0 {
				continue
			}
		}
		r.mu.Lock()
		// Taken before the recompute reads the data: a trigger from now
		// on is a new entry, and another recompute.
		delete(r.pending, study)
		r.mu.Unlock()
		out = append(out, study)
	}
	return out
}
