package checker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the checker's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	checkDuration    *prometheus.HistogramVec
	upstreamDuration *prometheus.HistogramVec
	inFlight         prometheus.Gauge
	waiting          prometheus.Histogram
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
		waiting: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trialwatch_check_wait_seconds", Help: "Time from a check request's arrival to the check's start (authentication, queueing); it counts against the check's deadline.", Buckets: buckets,
		}),
	}
	reg.MustRegister(m.checkDuration, m.upstreamDuration, m.inFlight, m.waiting)
	return m
}

// CheckStarted counts a check as in flight; Check does it for its own
// checks, a caller running Examine for those it runs.
func (m *Metrics) CheckStarted() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// CheckDone counts a check started with CheckStarted as ended.
func (m *Metrics) CheckDone(o Outcome, d time.Duration) {
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

func (m *Metrics) waited(d time.Duration) {
	if m != nil {
		m.waiting.Observe(d.Seconds())
	}
}
