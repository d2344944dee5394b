package access

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// On PostgreSQL the limits are shared through the database; on SQLite
// each process keeps its own.
func TestLimitsFor(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		limits, err := LimitsFor(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		_, shared := limits.(*auth.SharedLimits)
		if shared != (db.Dialect == sqldb.Postgres) {
			t.Errorf("%s: limits %T", db.Dialect, limits)
		}
	})
}

// Two routers, as two replicas, on one PostgreSQL database: a token's
// requests and a client's bad credentials are limited once, not per router.
func TestReplicasShareRateLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var replicas []*Router
	for _, db := range sqldbtest.PostgresReplicas(t, 2) {
		limits, err := LimitsFor(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		r, _, _ := testRouter(t, WithRateLimit(0.001, 3), WithClock(func() time.Time { return now }))
		r.UseLimits(limits)
		replicas = append(replicas, r)
	}
	codes := func(token string, n int) map[int]int {
		got := map[int]int{}
		for i := range n {
			got[do(replicas[i%2], "GET", "/s/S1/things", token, "").Code]++
		}
		return got
	}
	if got := codes(monitorToken, 10); got[http.StatusOK] != 3 || got[http.StatusTooManyRequests] != 7 {
		t.Errorf("one token on two replicas: %v; want 3×200 (the burst) then 7×429", got)
	}
	if got := codes("tw_"+strings.Repeat("z", 43), DefaultGuessBurst+6); got[http.StatusUnauthorized] != DefaultGuessBurst ||
		got[http.StatusTooManyRequests] != 6 {
		t.Errorf("guessing on two replicas: %v; want %d×401 then 6×429", got, DefaultGuessBurst)
	}
}

type failingLimits struct{}

func (failingLimits) Limiter(string, float64, int) auth.RateLimiter { return failingLimits{} }

func (failingLimits) Allow(context.Context, string, time.Time) (bool, time.Duration, error) {
	return false, 0, errors.New("connection refused")
}

// Limits that cannot be checked refuse the request with 503 and log why.
func TestFailingLimitsRefuse(t *testing.T) {
	r, _, logs := testRouter(t)
	r.UseLimits(failingLimits{})
	rec := do(r, "GET", "/s/S1/things", monitorToken, "")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "rate limit") {
		t.Errorf("limits failing: %d %s; want 503 naming the rate limit", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the failure is not logged: %s", logs)
	}
}
