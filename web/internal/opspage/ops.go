// Package opspage serves the browser UI's operations page, for the ops
// role: the process's goroutines and in-flight requests over time, the
// leak watchdog's report, the check queue and the calls to the data
// services.
package opspage

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

//go:embed templates
var files embed.FS

// Ops serves the operations page. It reads the admin listener's handler
// in process, with the ops user's session token, so that its guard
// decides as it does for a scraper or curl: the history of goroutines and
// in-flight requests, the leak watchdog's report and the metrics.
type Ops struct {
	// admin is nil on a node that serves no admin listener to the page.
	admin *page.APIClient
	pages *page.Renderer
}

// New returns the operations page, reading admin (the admin listener's
// handler; nil: the page says it has none).
func New(admin http.Handler, log *slog.Logger) *Ops {
	o := &Ops{pages: page.NewRenderer(files, log)}
	if admin != nil {
		o.admin = page.NewAPIClient(admin)
	}
	return o
}

// Register mounts the page's route on mux; it needs its rule in
// access.Rules.
func (s *Ops) Register(mux jsonhttp.Mux) { mux.HandleFunc("GET /ui/ops", s.ops) }

type opsPage struct {
	// Problems are the parts the admin handler could not give, each
	// with why; the rest of the page still shows.
	Problems []string
	History  historySummary
	Leaks    *report.Report
	// LeakClass styles the watchdog's status.
	LeakClass string
	Queue     queueSummary
	Upstream  []upstreamRow
	Checks    []outcomeRow
}

type historySummary struct {
	Samples                 int
	Every                   float64
	From, To                time.Time
	GoroutinesNow, MaxG     int
	InFlightNow, MaxRequest float64
}

type queueSummary struct {
	Known     bool
	Depth     float64
	OldestDue float64 // seconds the check due the longest has waited
	InFlight  float64
	JobsByOut []outcomeRow
}

type outcomeRow struct {
	Outcome string
	N       float64
	MeanMS  float64
}

// upstreamRow is one data service the checker calls: its calls since the
// process started, how many failed, and their latencies.
type upstreamRow struct {
	Service        string
	Calls, Errors  float64
	ErrorShare     float64 // percent
	MeanMS, P95MS  float64
	ByStatus       []outcomeRow
	P95IsBucketTop bool // p95 is beyond the highest bucket: "more than"
}

type opsPlot struct {
	Times      []string  `json:"times"`
	Goroutines []int     `json:"goroutines"`
	InFlight   []float64 `json:"in_flight"`
}

// ops shows the process's health for the ops role.
func (s *Ops) ops(w http.ResponseWriter, r *http.Request) {
	p := opsPage{}
	var plot opsPlot
	if s.admin == nil {
		p.Problems = append(p.Problems, "this node serves no admin listener to the page: use the admin listener directly")
		s.pages.Render(w, r, http.StatusOK, "ops", page.Page{Title: "Operations", Nav: "ops", Data: p})
		return
	}
	admin := s.admin
	var hist struct {
		Every   float64 `json:"every_seconds"`
		Samples []struct {
			At         time.Time `json:"at"`
			Goroutines int       `json:"goroutines"`
			InFlight   float64   `json:"in_flight"`
		} `json:"samples"`
	}
	if err := admin.Get(r, "/history", &hist); err != nil {
		p.Problems = append(p.Problems, "history: "+err.Error())
	} else if n := len(hist.Samples); n > 0 {
		h := &p.History
		h.Samples, h.Every, h.From, h.To = n, hist.Every, hist.Samples[0].At, hist.Samples[n-1].At
		h.GoroutinesNow, h.InFlightNow = hist.Samples[n-1].Goroutines, hist.Samples[n-1].InFlight
		for _, smp := range hist.Samples {
			h.MaxG, h.MaxRequest = max(h.MaxG, smp.Goroutines), max(h.MaxRequest, smp.InFlight)
			plot.Times = append(plot.Times, smp.At.UTC().Format("15:04:05"))
			plot.Goroutines = append(plot.Goroutines, smp.Goroutines)
			plot.InFlight = append(plot.InFlight, smp.InFlight)
		}
	}
	var rep report.Report
	if err := admin.Get(r, "/debug/leaks?format=json", &rep); err != nil {
		p.Problems = append(p.Problems, "leak report: "+err.Error())
	} else {
		p.Leaks, p.LeakClass = &rep, statusClass(rep.Status)
	}
	a := admin.Do(r, http.MethodGet, "/metrics", "", nil)
	if err := a.Err(); err != nil {
		p.Problems = append(p.Problems, "metrics: "+err.Error())
	} else if err := p.readMetrics(a.Body); err != nil {
		p.Problems = append(p.Problems, "metrics: "+err.Error())
	}
	var pl any
	if len(plot.Times) > 0 {
		pl = plot
	}
	s.pages.Render(w, r, http.StatusOK, "ops", page.Page{Title: "Operations", Nav: "ops", Data: p, Plot: pl,
		Scripts: []string{"vendor/chart.umd.min.js", "ops.js"}})
}

// readMetrics takes the check queue, the checks and the upstream calls
// out of the Prometheus text exposition.
func (p *opsPage) readMetrics(text []byte) error {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return fmt.Errorf("reading the exposition: %w", err)
	}
	gauge := func(name string) (float64, bool) {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			return 0, false
		}
		return f.GetMetric()[0].GetGauge().GetValue(), true
	}
	var known bool
	p.Queue.Depth, known = gauge("trialwatch_check_queue_depth")
	p.Queue.InFlight, _ = gauge("trialwatch_checks_in_flight")
	p.Queue.OldestDue, _ = gauge("trialwatch_check_queue_oldest_due_seconds")
	p.Queue.Known = known
	if f, ok := fams["trialwatch_check_jobs_total"]; ok {
		for _, m := range f.GetMetric() {
			p.Queue.JobsByOut = append(p.Queue.JobsByOut, outcomeRow{Outcome: label(m, "outcome"), N: m.GetCounter().GetValue()})
		}
		sortOutcomes(p.Queue.JobsByOut)
	}
	if f, ok := fams["trialwatch_check_duration_seconds"]; ok {
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			p.Checks = append(p.Checks, outcomeRow{Outcome: label(m, "outcome"), N: float64(h.GetSampleCount()), MeanMS: meanMS(h)})
		}
		sortOutcomes(p.Checks)
	}
	if f, ok := fams["trialwatch_upstream_call_duration_seconds"]; ok {
		p.Upstream = upstreamRows(f.GetMetric())
	}
	return nil
}

// upstreamRows sums each service's calls over their statuses: a call
// that ended other than "ok" or "not_found" (a subject that does not
// exist is an answer) is an error.
func upstreamRows(ms []*dto.Metric) []upstreamRow {
	byService := map[string]*upstreamRow{}
	buckets := map[string][]*dto.Bucket{}
	sums := map[string]float64{}
	for _, m := range ms {
		svc, status := label(m, "service"), label(m, "status")
		row := byService[svc]
		if row == nil {
			row = &upstreamRow{Service: svc}
			byService[svc] = row
		}
		h := m.GetHistogram()
		n := float64(h.GetSampleCount())
		row.Calls += n
		if status != "ok" && status != "not_found" {
			row.Errors += n
		}
		row.ByStatus = append(row.ByStatus, outcomeRow{Outcome: status, N: n, MeanMS: meanMS(h)})
		sums[svc] += h.GetSampleSum()
		buckets[svc] = addBuckets(buckets[svc], h.GetBucket())
	}
	out := make([]upstreamRow, 0, len(byService))
	for svc, row := range byService {
		if row.Calls > 0 {
			row.ErrorShare = 100 * row.Errors / row.Calls
			row.MeanMS = 1000 * sums[svc] / row.Calls
			row.P95MS, row.P95IsBucketTop = quantileMS(buckets[svc], row.Calls, 0.95)
		}
		sortOutcomes(row.ByStatus)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b upstreamRow) int { return cmp.Compare(a.Service, b.Service) })
	return out
}

// addBuckets adds histogram b's cumulative bucket counts to sum (the
// same bounds: one histogram vector).
func addBuckets(sum, b []*dto.Bucket) []*dto.Bucket {
	if sum == nil {
		out := make([]*dto.Bucket, len(b))
		for i, x := range b {
			c, ub := x.GetCumulativeCount(), x.GetUpperBound()
			out[i] = &dto.Bucket{CumulativeCount: &c, UpperBound: &ub}
		}
		return out
	}
	for i := range min(len(sum), len(b)) {
		*sum[i].CumulativeCount += b[i].GetCumulativeCount()
	}
	return sum
}

// quantileMS estimates quantile q from cumulative buckets, interpolating
// within the bucket it falls in as Prometheus' histogram_quantile does;
// beyond the last bound it answers that bound, and says so.
func quantileMS(b []*dto.Bucket, total, q float64) (float64, bool) {
	rank := q * total
	lower, below := 0.0, 0.0
	for _, x := range b {
		ub, c := x.GetUpperBound(), float64(x.GetCumulativeCount())
		if math.IsInf(ub, 1) {
			break
		}
		if c >= rank {
			if c == below {
				return 1000 * ub, false
			}
			return 1000 * (lower + (ub-lower)*(rank-below)/(c-below)), false
		}
		lower, below = ub, c
	}
	return 1000 * lower, true
}

func meanMS(h *dto.Histogram) float64 {
	if h.GetSampleCount() == 0 {
		return 0
	}
	return 1000 * h.GetSampleSum() / float64(h.GetSampleCount())
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sortOutcomes(rows []outcomeRow) {
	slices.SortFunc(rows, func(a, b outcomeRow) int { return cmp.Compare(a.Outcome, b.Outcome) })
}

// statusClass is the class a watchdog status is shown with.
func statusClass(st report.Status) string {
	switch st {
	case report.Healthy:
		return "ok"
	case report.Leaking:
		return "sev-critical"
	}
	return "sev-high"
}
