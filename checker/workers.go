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
	batch   int
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

// WithBatch sets how many queued checks a worker claims at once when the
// job store is the checker's own Store (default 16). A batch reads its
// subjects' labs in one query and stores all it found, with the jobs'
// completion, in one transaction; each subject still gets its own
// fan-out under its own deadline.
func WithBatch(n int) WorkerOption { return func(w *Workers) { w.batch = max(1, n) } }

// WithPoll sets how often idle workers look for jobs that other processes
// queued or whose retry time came (default 1 s).
func WithPoll(d time.Duration) WorkerOption { return func(w *Workers) { w.poll = d } }

// WithWorkerLogger logs failed jobs.
func WithWorkerLogger(l *slog.Logger) WorkerOption { return func(w *Workers) { w.log = l } }

// NewWorkers returns a stopped pool.
func NewWorkers(c *Checker, jobs JobStore, opts ...WorkerOption) *Workers {
	w := &Workers{checker: c, jobs: jobs, n: 4, batch: 16, poll: time.Second, log: slog.New(slog.DiscardHandler),
		metrics: c.metrics, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(w)
	}
	// A lease outlives any batch of checks, each bounded by the deadline,
	// and their storing: a job is taken again only if its worker died.
	w.lease = time.Duration(w.batch+2)*c.deadline + 10*time.Second
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
	run := w.runOne
	if s := w.batchStore(); s != nil {
		run = func(ctx context.Context) bool { return w.runBatch(ctx, s) }
	}
	for ctx.Err() == nil {
		if run(ctx) {
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
	w.recorded(j, res, w.record(done, w.jobs, j, res))
	return true
}

// jobFates records how the check of a job ended; a JobStore is one, and
// so is a Store's transaction (txJobs).
type jobFates interface {
	Complete(ctx context.Context, j Job) error
	Retry(ctx context.Context, j Job, at time.Time, reason string) error
}

// record completes j or releases it to run again, as res says.
func (w *Workers) record(ctx context.Context, jobs jobFates, j Job, res Result) error {
	switch res.Outcome {
	case OutcomeComplete:
		return jobs.Complete(ctx, j)
	case OutcomeNotFound:
		return jobs.Complete(ctx, j)
	case OutcomeClientGone:
		return jobs.Retry(ctx, j, time.Now(), "stopped before the check finished")
	}
	reason := string(res.Outcome)
	if res.Err != nil {
		reason += ": " + res.Err.Error()
	}
	return jobs.Retry(ctx, j, time.Now().Add(backoff(j.Attempts)), reason)
}

// recorded logs and counts a job whose fate record ended with err.
func (w *Workers) recorded(j Job, res Result, err error) {
	if res.Outcome == OutcomeNotFound {
		w.log.Warn("queued check of an unknown subject dropped", "study", j.Study, "subject", j.USUBJID)
	}
	w.metrics.jobDone(res.Outcome)
	if err != nil {
		w.log.Error("recording a check job", "study", j.Study, "subject", j.USUBJID, "error", err)
	}
}

// backoff spaces retries of a failing job: 2 s, 4 s, … up to 5 minutes.
func backoff(attempts int) time.Duration {
	d := 2 * time.Second << min(attempts-1, 8)
	return min(d, 5*time.Minute)
}
