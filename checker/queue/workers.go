package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialwatch/trialwatch/checker"
)

// JobStore is the durable queue the workers drain; Store is one.
type JobStore interface {
	Claim(ctx context.Context, now time.Time, lease time.Duration) (Job, bool, error)
	Complete(ctx context.Context, j Job) error
	Retry(ctx context.Context, j Job, at time.Time, reason string) error
}

// Workers run queued checks through the checker's fan-out: a fixed number
// of goroutines, owned by Start and ended by Stop.
type Workers struct {
	checker *checker.Checker
	jobs    JobStore
	batches *batches // nil: one job at a time
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

// DefaultBatch is the batch size the binary's workers use: a batch reads
// its subjects' labs in one query and stores all it found in one
// transaction.
const DefaultBatch = 16

// WithBatches has each worker claim up to size jobs at once from q, read
// their subjects' lab results (labs) and their studies' settings
// (findings) up front, and store all the checks found (findings), with
// the jobs' fates, in one transaction on q's database — which labs and
// findings must share. Each subject still gets its own fan-out under its
// own deadline. Without it, workers run one job at a time through
// Checker.Check. Pass the same q to NewWorkers.
func WithBatches(q *Store, labs LabBatches, findings FindingStore, size int) WorkerOption {
	return func(w *Workers) {
		w.batches = &batches{jobs: q, labs: labs, findings: findings, size: max(1, size)}
	}
}

// WithJobMetrics counts the jobs the workers run by outcome.
func WithJobMetrics(m *Metrics) WorkerOption { return func(w *Workers) { w.metrics = m } }

// WithPoll sets how often idle workers look for jobs that other processes
// queued or whose retry time came (default 1 s).
func WithPoll(d time.Duration) WorkerOption { return func(w *Workers) { w.poll = d } }

// WithWorkerLogger logs failed jobs.
func WithWorkerLogger(l *slog.Logger) WorkerOption { return func(w *Workers) { w.log = l } }

// NewWorkers returns a stopped pool.
func NewWorkers(c *checker.Checker, jobs JobStore, opts ...WorkerOption) *Workers {
	w := &Workers{checker: c, jobs: jobs, n: 4, poll: time.Second, log: slog.New(slog.DiscardHandler),
		wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(w)
	}
	// A lease outlives any batch of checks, each bounded by the deadline,
	// and their storing: a job is taken again only if its worker died.
	size := 1
	if w.batches != nil {
		size = w.batches.size
	}
	w.lease = time.Duration(size+2)*c.Deadline() + 10*time.Second
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
	if w.batches != nil {
		run = w.runBatch
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

// record completes j or releases it to run again, as res says.
func (w *Workers) record(ctx context.Context, jobs JobStore, j Job, res checker.Result) error {
	if done, at, reason := fate(j, res); !done {
		return jobs.Retry(ctx, j, at, reason)
	}
	return jobs.Complete(ctx, j)
}

// fate is what becomes of j once its check ended with res: done, or to
// run again at at, having failed for reason.
func fate(j Job, res checker.Result) (done bool, at time.Time, reason string) {
	switch res.Outcome {
	case checker.OutcomeComplete, checker.OutcomeNotFound:
		return true, time.Time{}, ""
	case checker.OutcomeClientGone:
		return false, time.Now(), "stopped before the check finished"
	}
	reason = string(res.Outcome)
	if res.Err != nil {
		reason += ": " + res.Err.Error()
	}
	return false, time.Now().Add(backoff(j.Attempts)), reason
}

// recorded logs and counts a job whose fate record ended with err.
func (w *Workers) recorded(j Job, res checker.Result, err error) {
	if res.Outcome == checker.OutcomeNotFound {
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

// Metrics are the queue's Prometheus series. A nil *Metrics records
// nothing.
type Metrics struct{ jobs *prometheus.CounterVec }

// NewMetrics creates the queue's series and registers them with reg: the
// jobs run by outcome, and the queue's depth and the age of its oldest due
// job read from q at each scrape.
func NewMetrics(reg prometheus.Registerer, q *Store) *Metrics {
	m := &Metrics{jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trialwatch_check_jobs_total", Help: "Queued checks run by the workers, by outcome.",
	}, []string{"outcome"})}
	reg.MustRegister(m.jobs,
		queueGauge("trialwatch_check_queue_depth", "Checks queued and not yet completed.", func(ctx context.Context) (float64, error) {
			n, err := q.QueueDepth(ctx)
			return float64(n), err
		}),
		queueGauge("trialwatch_check_queue_oldest_due_seconds", "How long the check due the longest has waited for a worker (0 when none is due).",
			func(ctx context.Context) (float64, error) {
				d, err := q.OldestDue(ctx, time.Now())
				return d.Seconds(), err
			}))
	return m
}

// queueGauge is a gauge read from the queue at each scrape, within 2 s; -1
// when the read fails.
func queueGauge(name, help string, read func(context.Context) (float64, error)) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := read(ctx)
		if err != nil {
			return -1
		}
		return v
	})
}

func (m *Metrics) jobDone(o checker.Outcome) {
	if m != nil {
		m.jobs.WithLabelValues(string(o)).Inc()
	}
}
