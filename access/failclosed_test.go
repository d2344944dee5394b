package access

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// listingMux is a plain ServeMux that lists the routes mounted on it.
type listingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *listingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// TestAPIsFailClosedWithoutTheRouter mounts the APIs on a plain mux, with
// no access layer in front, and calls every route that is not public: each
// answers 401, so a route mounted by mistake outside the router serves
// nobody, rather than everything. (The checker's API is the checker's own
// test.)
func TestAPIsFailClosedWithoutTheRouter(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	users, err := auth.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	target, err := local.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	mux := &listingMux{ServeMux: http.NewServeMux()}
	NewAccounts(db, users, trail, nil).Register(mux)
	audit.NewAPI(trail, nil).Register(mux)
	(&ingest.Handler{Target: target}).Register(mux)

	rules := Rules()
	pathValues := strings.NewReplacer("{study}", "S1", "{name}", "someone", "{id}", "1", "{subject}", "S1-001")
	tested := 0
	for _, pattern := range mux.patterns {
		rule, ok := rules[pattern]
		if !ok {
			t.Errorf("%s has no access rule", pattern)
			continue
		}
		if rule.Public {
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		req := httptest.NewRequest(method, pathValues.Replace(path), strings.NewReader(`{"user": "someone", "name": "someone", "role": "admin"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s without an identity: %d %.200s, want 401", pattern, w.Code, w.Body)
		}
		tested++
	}
	if tested < 10 {
		t.Errorf("only %d routes tested of %v", tested, mux.patterns)
	}
}
