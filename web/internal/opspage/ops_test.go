package opspage

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/web/internal/pagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// opsExposition is a piece of /metrics as the checker's node writes it.
const opsExposition = `# TYPE trialwatch_check_queue_depth gauge
trialwatch_check_queue_depth 12
# TYPE trialwatch_check_queue_oldest_due_seconds gauge
trialwatch_check_queue_oldest_due_seconds 42.4
# TYPE trialwatch_checks_in_flight gauge
trialwatch_checks_in_flight 2
# TYPE trialwatch_check_jobs_total counter
trialwatch_check_jobs_total{outcome="complete"} 300
# TYPE trialwatch_upstream_call_duration_seconds histogram
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="0.01"} 80
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="0.1"} 90
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="ok",le="+Inf"} 90
trialwatch_upstream_call_duration_seconds_sum{service="subjects",status="ok"} 0.9
trialwatch_upstream_call_duration_seconds_count{service="subjects",status="ok"} 90
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="0.01"} 0
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="0.1"} 0
trialwatch_upstream_call_duration_seconds_bucket{service="subjects",status="timeout",le="+Inf"} 10
trialwatch_upstream_call_duration_seconds_sum{service="subjects",status="timeout"} 50
trialwatch_upstream_call_duration_seconds_count{service="subjects",status="timeout"} 10
`

func TestOpsPageReadsTheAdminHandlerWithTheSession(t *testing.T) {
	var auths []string
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/history":
			pagetest.WriteJSON(w, 200, map[string]any{"every_seconds": 15, "samples": []map[string]any{
				{"at": time.Now().Add(-time.Minute), "goroutines": 40, "in_flight": 1}, {"at": time.Now(), "goroutines": 55, "in_flight": 3}}})
		case "/debug/leaks":
			pagetest.WriteJSON(w, 200, map[string]any{"status": "suspect", "goroutines": 55, "reasons": []string{"grew by 15"}})
		case "/metrics":
			w.Write([]byte(opsExposition))
		}
	})
	ops := auth.Identity{Name: "ops", Role: auth.RoleOps}
	w := pagetest.Serve(New(admin, slog.New(slog.DiscardHandler)), pagetest.Request("GET", "/ui/ops", nil, ops))
	if w.Code != 200 {
		t.Fatalf("ops page: %d", w.Code)
	}
	for _, a := range auths {
		if a != "Bearer "+pagetest.Session {
			t.Errorf("the admin handler was called with %q, want the session's token", a)
		}
	}
	body := w.Body.String()
	for _, s := range []string{`"goroutines":[40,55]`, `"in_flight":[1,3]`, "suspect", "grew by 15", "<dd>12; the check due longest has waited 42 s</dd>", "<dd>2</dd>", "300 complete",
		`<th scope="row">subjects</th><td class="num">100</td><td class="num">10</td>`, "10.00", "90 ok, 10 timeout", "&gt; 100.0",
		"vendor/chart.umd.min.js", "ops.js"} {
		if !strings.Contains(body, s) {
			t.Errorf("ops page lacks %q", s)
		}
	}
}

func TestQuantileInterpolatesWithinItsBucket(t *testing.T) {
	p := &opsPage{}
	exp := strings.ReplaceAll(opsExposition, `status="timeout"`, `status="error"`)
	exp = strings.ReplaceAll(exp, `le="+Inf"} 10`, `le="+Inf"} 0`)
	exp = strings.ReplaceAll(exp, `_count{service="subjects",status="error"} 10`, `_count{service="subjects",status="error"} 0`)
	exp = strings.ReplaceAll(exp, `_sum{service="subjects",status="error"} 50`, `_sum{service="subjects",status="error"} 0`)
	if err := p.readMetrics([]byte(exp)); err != nil {
		t.Fatal(err)
	}
	// 90 calls: 80 within 10ms, 10 more within 100ms; the 95th
	// percentile (rank 85.5) is 55% into the second bucket.
	if u := p.Upstream[0]; u.Calls != 90 || u.P95IsBucketTop || u.P95MS < 59.4 || u.P95MS > 59.6 || u.MeanMS != 10 {
		t.Errorf("upstream %+v, want 90 calls, p95 59.5 ms, mean 10 ms", u)
	}
}
