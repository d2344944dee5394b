package checker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// JobStore is the durable queue the workers drain; the checker's Store is one.
type JobStore interface {
	Claim(ctx context.Context, now time.Time, lease time.Duration) (Job, bool, error)
	Complete(ctx context.Context, j Job) error
	Retry(ctx context.Context, j Job, at time.Time, reason string) error
}

// Workers run queued checks through the checker's fan-out: a fixed number
// of goroutines, owned by Start and ended by Stop.
type Workers struct {
	checker *Checker
	jobs    JobStore
	n       int
	poll    time.Duration
	lease   time.Duration
	log     *slog.Logger
	metrics *Metrics

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// WorkerOption configures Workers.
type WorkerOption func(*Workers)

// WithWorkers sets how many checks run at once (default 4).
func WithWorkers(n int) WorkerOption { return func(w *Workers) { w.n = max(1, n) } }

// WithPoll sets how often idle workers look for jobs that other processes
// queued or whose retry time came (default 1 s).
func WithPoll(d time.Duration) WorkerOption { return func(w *Workers) { w.poll = d } }

// WithWorkerLogger logs failed jobs.
func WithWorkerLogger(l *slog.Logger) WorkerOption { return func(w *Workers) { w.log = l } }

// NewWorkers returns a stopped pool.
func NewWorkers(c *Checker, jobs JobStore, opts ...WorkerOption) *Workers {
	w := &Workers{checker: c, jobs: jobs, n: 4, poll: time.Second, log: slog.New(slog.DiscardHandler),
		metrics: c.metrics, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(w)
	}
	// A lease outlives any check: a job is taken again only if its worker died.
	w.lease = 3*c.deadline + 10*time.Second
	return w
}

// Wake tells an idle worker that jobs were queued; it never blocks.
func (w *Workers) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start runs the workers until Stop or ctx's end.
func (w *Workers) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	for range w.n {
		w.wg.Go(func() { w.loop(ctx) }) // ends when ctx is cancelled; Stop waits for it
	}
}

// Stop cancels running checks, releases their jobs and waits for every
// worker to exit.
func (w *Workers) Stop() {
	if w.cancel != nil {
		w.cancel()
	}
	w.wg.Wait()
}

func (w *Workers) loop(ctx context.Context) {
	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	for ctx.Err() == nil {
		if w.runOne(ctx) {
			continue // there may be more: drain before sleeping
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
		case <-w.wake:
		}
	}
}

// runOne claims and runs one job; false when there was none.
func (w *Workers) runOne(ctx context.Context) bool {
	j, ok, err := w.jobs.Claim(ctx, time.Now(), w.lease)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("claiming a check job", "error", err)
		}
		return false
	}
	if !ok {
		return false
	}
	res := w.checker.Check(ctx, j.Study, j.USUBJID)
	// The job's fate is recorded even while stopping, so it is not left
	// leased until the lease runs out.
	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch res.Outcome {
	case OutcomeComplete:
		err = w.jobs.Complete(done, j)
	case OutcomeNotFound:
		w.log.Warn("queued check of an unknown subject dropped", "study", j.Study, "subject", j.USUBJID)
		err = w.jobs.Complete(done, j)
	case OutcomeClientGone:
		err = w.jobs.Retry(done, j, time.Now(), "stopped before the check finished")
	default:
		reason := string(res.Outcome)
		if res.Err != nil {
			reason += ": " + res.Err.Error()
		}
		err = w.jobs.Retry(done, j, time.Now().Add(backoff(j.Attempts)), reason)
	}
	w.metrics.jobDone(res.Outcome)
	if err != nil {
		w.log.Error("recording a check job", "study", j.Study, "subject", j.USUBJID, "error", err)
	}
	return true
}

// backoff spaces retries of a failing job: 2 s, 4 s, … up to 5 minutes.
func backoff(attempts int) time.Duration {
	d := 2 * time.Second << min(attempts-1, 8)
	return min(d, 5*time.Minute)
}
