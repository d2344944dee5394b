// Package metrics exports the leak report as Prometheus metrics.
//
//	reg.MustRegister(metrics.New(wd))
//
// Metrics:
//
//	leakguard_leaked_goroutines                   proven by the runtime (goroutineleak profile)
//	leakguard_suspected_goroutines                unconfirmed growth beyond load plus long-blocked
//	leakguard_confirmed_goroutines                above their healthy level in groups that grew
//	                                              without load; stays until they come back down
//	                                              or are acknowledged
//	leakguard_goroutine_growth_per_minute         plain trend of goroutines
//	leakguard_goroutine_excess_growth_per_minute  trend not explained by load
//	leakguard_snapshots_total                     snapshots captured on suspicion
//	leakguard_load                                the load the watchdog last sampled (in-flight
//	                                              requests, say), to graph against go_goroutines
//	leakguard_suspect_group_goroutines{function,location,state}
//	                                              goroutines per suspect group, top N only
//	leakguard_wait_times_skipped                  1 while captures take no wait times (too many
//	                                              goroutines for a full dump within the pause),
//	                                              so long-blocked goroutines are not looked for
package metrics

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

// Reporter is the source of the report; *watchdog.Watchdog implements it.
// Declared here rather than imported from debughttp so that exporting
// metrics does not pull in net/http/pprof.
type Reporter interface {
	Report(ctx context.Context) (report.Report, error)
}

// Option configures the collector.
type Option func(*Collector)

// WithTopGroups bounds the suspect-group series (default 10). Each group
// is a distinct label set, so this is the collector's cardinality limit.
func WithTopGroups(n int) Option { return func(c *Collector) { c.top = n } }

// WithTimeout bounds how long a scrape waits for the report (default 5s).
func WithTimeout(d time.Duration) Option { return func(c *Collector) { c.timeout = d } }

// Collector is a prometheus.Collector over a Reporter.
type Collector struct {
	src     Reporter
	top     int
	timeout time.Duration

	leaked, suspected, confirmed, growth, excess, snapshots, group, waitsSkipped, load *prometheus.Desc
}

// New returns a collector reading from src at scrape time.
func New(src Reporter, opts ...Option) *Collector {
	c := &Collector{
		src:     src,
		top:     10,
		timeout: 5 * time.Second,
		leaked: prometheus.NewDesc("leakguard_leaked_goroutines",
			"Goroutines the runtime proved leaked (goroutineleak profile; 0 where unavailable).", nil, nil),
		suspected: prometheus.NewDesc("leakguard_suspected_goroutines",
			"Goroutines suspected leaked: growth beyond what load explains that no capture has confirmed or explained, plus goroutines blocked past the threshold.", nil, nil),
		confirmed: prometheus.NewDesc("leakguard_confirmed_goroutines",
			"Goroutines above their healthy level in groups (not pools) that grew without load; held until they come back down or are acknowledged.", nil, nil),
		growth: prometheus.NewDesc("leakguard_goroutine_growth_per_minute",
			"Least-squares trend of the goroutine count over the watchdog window.", nil, nil),
		excess: prometheus.NewDesc("leakguard_goroutine_excess_growth_per_minute",
			"Trend of goroutines not explained by load over the watchdog window.", nil, nil),
		snapshots: prometheus.NewDesc("leakguard_snapshots_total",
			"Goroutine snapshots captured on suspicion.", nil, nil),
		load: prometheus.NewDesc("leakguard_load",
			"The load the watchdog last sampled (in-flight requests, or what its load function counts): what it tells goroutine growth from a leak by.", nil, nil),
		waitsSkipped: prometheus.NewDesc("leakguard_wait_times_skipped",
			"1 while the watchdog's captures take no wait times (a full dump of all goroutines would stop the process longer than its capture pause): goroutines blocked past the threshold are not looked for.", nil, nil),
		group: prometheus.NewDesc("leakguard_suspect_group_goroutines",
			"Goroutines in each of the largest suspect groups (proven, growing or long-blocked).",
			[]string{"function", "location", "state"}, nil),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.leaked, c.suspected, c.confirmed, c.growth, c.excess, c.snapshots, c.waitsSkipped, c.load, c.group} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := c.src.Report(ctx)
	if err != nil {
		// Fail the scrape visibly rather than export zeros that read as
		// "no leaks".
		ch <- prometheus.NewInvalidMetric(c.suspected, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.leaked, prometheus.GaugeValue, float64(r.ProvenLeaks))
	ch <- prometheus.MustNewConstMetric(c.suspected, prometheus.GaugeValue, float64(r.Suspected))
	ch <- prometheus.MustNewConstMetric(c.confirmed, prometheus.GaugeValue, float64(r.Confirmed))
	ch <- prometheus.MustNewConstMetric(c.growth, prometheus.GaugeValue, r.GrowthPerMinute)
	ch <- prometheus.MustNewConstMetric(c.excess, prometheus.GaugeValue, r.ExcessPerMinute)
	ch <- prometheus.MustNewConstMetric(c.snapshots, prometheus.CounterValue, float64(r.Snapshots))
	ch <- prometheus.MustNewConstMetric(c.load, prometheus.GaugeValue, r.Load)
	skipped := 0.0
	if r.WaitTimesSkipped {
		skipped = 1
	}
	ch <- prometheus.MustNewConstMetric(c.waitsSkipped, prometheus.GaugeValue, skipped)
	for _, g := range suspectGroups(r, c.top) {
		ch <- prometheus.MustNewConstMetric(c.group, prometheus.GaugeValue, float64(g.Count), g.Function, g.Location, g.State)
	}
}

// suspectGroups merges proven, growing and blocked groups by label set
// (the same stack can be in all three; duplicate label sets fail a scrape)
// and keeps the n largest.
func suspectGroups(r report.Report, n int) []report.Group {
	type key struct{ fn, loc, state string }
	merged := map[key]report.Group{}
	for _, list := range [][]report.Group{r.Leaked, r.Growing, r.Blocked} {
		for _, g := range list {
			k := key{g.Function, g.Location, g.State}
			if prev, ok := merged[k]; !ok || g.Count > prev.Count {
				merged[k] = g
			}
		}
	}
	out := make([]report.Group, 0, len(merged))
	for _, g := range merged {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Location != out[j].Location {
			return out[i].Location < out[j].Location
		}
		return out[i].State < out[j].State
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
