package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixed struct {
	r   report.Report
	err error
}

func (f fixed) Report(context.Context) (report.Report, error) { return f.r, f.err }

func TestCollect(t *testing.T) {
	r := report.Report{
		ProvenLeaks:      2,
		Suspected:        8,
		Confirmed:        118,
		GrowthPerMinute:  61.5,
		ExcessPerMinute:  60,
		Load:             12,
		Snapshots:        3,
		WaitTimesSkipped: true,
		Leaked: []report.Group{
			{Function: "svc.fanOut.func1", Location: "/src/fan.go:17", State: "chan send", Count: 2},
		},
		Growing: []report.Group{
			{Function: "svc.(*H).wait", Location: "/src/h.go:42", State: "chan receive", Count: 120, Delta: 118},
			// Also proven: must not be exported twice.
			{Function: "svc.fanOut.func1", Location: "/src/fan.go:17", State: "chan send", Count: 2, Delta: 2},
		},
		Blocked: []report.Group{
			{Function: "svc.(*Pool).get", Location: "/src/pool.go:88", State: "semacquire", Count: 8},
		},
	}
	const want = `
# HELP leakguard_confirmed_goroutines Goroutines above their healthy level in groups (not pools) that grew without load; held until they come back down or are acknowledged.
# TYPE leakguard_confirmed_goroutines gauge
leakguard_confirmed_goroutines 118
# HELP leakguard_goroutine_excess_growth_per_minute Trend of goroutines not explained by load over the watchdog window.
# TYPE leakguard_goroutine_excess_growth_per_minute gauge
leakguard_goroutine_excess_growth_per_minute 60
# HELP leakguard_goroutine_growth_per_minute Least-squares trend of the goroutine count over the watchdog window.
# TYPE leakguard_goroutine_growth_per_minute gauge
leakguard_goroutine_growth_per_minute 61.5
# HELP leakguard_leaked_goroutines Goroutines the runtime proved leaked (goroutineleak profile; 0 where unavailable).
# TYPE leakguard_leaked_goroutines gauge
leakguard_leaked_goroutines 2
# HELP leakguard_load The load the watchdog last sampled (in-flight requests, or what its load function counts): what it tells goroutine growth from a leak by.
# TYPE leakguard_load gauge
leakguard_load 12
# HELP leakguard_snapshots_total Goroutine snapshots captured on suspicion.
# TYPE leakguard_snapshots_total counter
leakguard_snapshots_total 3
# HELP leakguard_suspect_group_goroutines Goroutines in each of the largest suspect groups (proven, growing or long-blocked).
# TYPE leakguard_suspect_group_goroutines gauge
leakguard_suspect_group_goroutines{function="svc.(*H).wait",location="/src/h.go:42",state="chan receive"} 120
leakguard_suspect_group_goroutines{function="svc.(*Pool).get",location="/src/pool.go:88",state="semacquire"} 8
leakguard_suspect_group_goroutines{function="svc.fanOut.func1",location="/src/fan.go:17",state="chan send"} 2
# HELP leakguard_suspected_goroutines Goroutines suspected leaked: growth beyond what load explains that no capture has confirmed or explained, plus goroutines blocked past the threshold.
# TYPE leakguard_suspected_goroutines gauge
leakguard_suspected_goroutines 8
# HELP leakguard_wait_times_skipped 1 while the watchdog's captures take no wait times (a full dump of all goroutines would stop the process longer than its capture pause): goroutines blocked past the threshold are not looked for.
# TYPE leakguard_wait_times_skipped gauge
leakguard_wait_times_skipped 1
`
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(fixed{r: r}))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestGroupCardinalityIsBounded(t *testing.T) {
	var r report.Report
	for i := range 50 {
		r.Growing = append(r.Growing, report.Group{
			Function: fmt.Sprintf("svc.f%d", i), Location: fmt.Sprintf("/src/f.go:%d", i), State: "select", Count: 100 - i,
		})
	}
	for _, tc := range []struct {
		opts []Option
		want int
	}{{nil, 10}, {[]Option{WithTopGroups(3)}, 3}, {[]Option{WithTopGroups(0)}, 0}} {
		c := New(fixed{r: r}, tc.opts...)
		if got := testutil.CollectAndCount(c, "leakguard_suspect_group_goroutines"); got != tc.want {
			t.Errorf("%d group series, want %d", got, tc.want)
		}
	}
	// The largest groups are the ones kept.
	const want = `
# HELP leakguard_suspect_group_goroutines Goroutines in each of the largest suspect groups (proven, growing or long-blocked).
# TYPE leakguard_suspect_group_goroutines gauge
leakguard_suspect_group_goroutines{function="svc.f0",location="/src/f.go:0",state="select"} 100
leakguard_suspect_group_goroutines{function="svc.f1",location="/src/f.go:1",state="select"} 99
`
	if err := testutil.CollectAndCompare(New(fixed{r: r}, WithTopGroups(2)), strings.NewReader(want), "leakguard_suspect_group_goroutines"); err != nil {
		t.Error(err)
	}
}

func TestReportErrorFailsScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(fixed{err: errors.New("boom")}))
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("gather error = %v, want the report error", err)
	}
}
