package checker

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the checker's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	checkDuration    *prometheus.HistogramVec
	upstreamDuration *prometheus.HistogramVec
	inFlight         prometheus.Gauge
	jobs             *prometheus.CounterVec
}

// NewMetrics creates the checker's series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10}
	m := &Metrics{
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialwatch_check_duration_seconds", Help: "Duration of subject checks by outcome.", Buckets: buckets,
		}, []string{"outcome"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialwatch_upstream_call_duration_seconds", Help: "Duration of the checker's upstream calls by service and status.", Buckets: buckets,
		}, []string{"service", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trialwatch_checks_in_flight", Help: "Subject checks currently running.",
		}),
	}
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trialwatch_check_jobs_total", Help: "Queued checks run by the workers, by outcome.",
	}, []string{"outcome"})
	reg.MustRegister(m.checkDuration, m.upstreamDuration, m.inFlight, m.jobs)
	return m
}

// RegisterQueueDepth exports the number of queued checks, read from depth
// at each scrape.
func RegisterQueueDepth(reg prometheus.Registerer, depth func(context.Context) (int, error)) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "trialwatch_check_queue_depth", Help: "Checks queued and not yet completed.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := depth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// RegisterLabSnapshots exports how many subjects' lab results the checks
// took from the store's snapshots and how many they read (see
// Store.LabSnapshotStats).
func RegisterLabSnapshots(reg prometheus.Registerer, s *Store) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_check_lab_snapshot_hits_total", Help: "Subjects whose lab results a check took from the checker's snapshot of their current version.",
		}, func() float64 { hits, _ := s.LabSnapshotStats(); return float64(hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_check_lab_snapshot_misses_total", Help: "Subjects whose lab results a check read from the database.",
		}, func() float64 { _, misses := s.LabSnapshotStats(); return float64(misses) }))
}

func (m *Metrics) jobDone(o Outcome) {
	if m != nil {
		m.jobs.WithLabelValues(string(o)).Inc()
	}
}

func (m *Metrics) checkStarted() {
	if m != nil {
		m.inFlight.Inc()
	}
}

func (m *Metrics) checkDone(o Outcome, d time.Duration) {
	if m != nil {
		m.inFlight.Dec()
		m.checkDuration.WithLabelValues(string(o)).Observe(d.Seconds())
	}
}

func (m *Metrics) upstreamDone(service, status string, d time.Duration) {
	if m != nil {
		m.upstreamDuration.WithLabelValues(service, status).Observe(d.Seconds())
	}
}
