package access

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/sqldb"
)

// limit is a rate limit: rate requests per second per key, in bursts.
type limit struct {
	rate  float64
	burst int
}

// MemoryLimits are limits each process keeps for itself.
var MemoryLimits auth.Limits = auth.MemoryLimits{MaxKeys: maxLimitedClients}

// LimitsFor returns where a process serving the API on db keeps its rate
// limits. On PostgreSQL, which replicas share, in the database: the limits
// hold across replicas, for a statement per request. On SQLite in memory:
// one process serves the API, and a write per request would queue behind
// every upload for SQLite's single write lock.
func LimitsFor(ctx context.Context, db *sqldb.DB) (auth.Limits, error) {
	if db.Dialect != sqldb.Postgres {
		return MemoryLimits, nil
	}
	return auth.OpenSharedLimits(ctx, db)
}

// allowed takes one request from key's bucket of l; when there is none it
// answers 429, and 503 when the limits' database failed.
func allowed(w http.ResponseWriter, req *http.Request, log *slog.Logger, l auth.RateLimiter, key string, now time.Time) bool {
	ok, wait, err := l.Allow(req.Context(), key, now)
	switch {
	case err != nil:
		if req.Context().Err() == nil {
			log.Error("checking a rate limit", "error", err)
		}
		jsonhttp.Error(w, http.StatusServiceUnavailable, "checking the rate limit failed: retry later")
		return false
	case !ok:
		tooMany(w, wait)
		return false
	}
	return true
}
