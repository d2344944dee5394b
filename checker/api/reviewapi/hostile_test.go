package reviewapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// hostile are values an attacker puts in query parameters: SQL, LIKE
// wildcards, quotes, NUL and control bytes, a huge value.
var hostile = []string{
	`' OR 1=1 --`, `' OR '1'='1`, `"; DROP TABLE signals; --`, `701' UNION SELECT * FROM audit_log --`,
	`%`, `_`, `\`, `701%`, "7\x0001", "\x01\x02", `1; DELETE FROM signals`, `-1`, `0x10`, `1e9`,
	`9223372036854775808`, strings.Repeat("A", 10_000), `ＳＥＬＥＣＴ`, `$1`, `?`,
}

// anyStudy is an administrator of every study, so that a hostile study
// in the path reaches the store rather than the access check.
var anyStudy = auth.Identity{Name: "admin", Role: auth.RoleAdmin}

// Every filter of the signal list and the eDISH data answers a hostile
// value with 400 or with nothing found, never a database error, and the
// signals are intact afterwards.
func TestHostileFilters(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		st := checkertest.Open(t, db)
		store := st.Signals
		sigs := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh), checkertest.Signal("B", "702", "LB:2", clinical.SeverityLow)}
		if err := store.SaveSignals(context.Background(), sigs, time.Now()); err != nil {
			t.Fatal(err)
		}
		h := checkertest.As(anyStudy, st.Mux(st.Checker(checker.Sources{}), nil))
		get := func(target string) (int, string) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			return rec.Code, rec.Body.String()
		}
		for _, param := range []string{"site", "subject", "rule", "severity", "min_severity", "status", "from", "to", "sort", "format", "limit", "page_token"} {
			for _, v := range hostile {
				code, body := get("/api/v1/studies/S/signals?" + param + "=" + url.QueryEscape(v))
				switch code {
				case http.StatusBadRequest:
				case http.StatusOK:
					var out struct{ Signals []json.RawMessage }
					if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Signals) != 0 {
						t.Errorf("signals?%s=%.40q: 200 with %d signals, want none (%v)", param, v, len(out.Signals), err)
					}
				default:
					t.Errorf("signals?%s=%.40q: %d, want 400 or an empty 200: %.200s", param, v, code, body)
				}
			}
		}
		for _, param := range []string{"site", "subject", "rule", "status", "from", "to"} {
			for _, v := range hostile {
				q := param + "=" + url.QueryEscape(v)
				if code, body := get("/api/v1/studies/S/signals/summary?" + q); code != http.StatusBadRequest &&
					(code != http.StatusOK || !strings.Contains(body, `"total": 0`)) {
					t.Errorf("signals/summary?%s=%.40q: %d %.200s, want 400 or nothing counted", param, v, code, body)
				}
				if code, body := get("/api/v1/studies/S/signals?format=csv&" + q); code != http.StatusBadRequest &&
					(code != http.StatusOK || strings.Count(body, "\n") != 1) {
					t.Errorf("signals?format=csv&%s=%.40q: %d %.200s, want 400 or the header alone", param, v, code, body)
				}
			}
		}
		for _, v := range hostile {
			if code, body := get("/api/v1/studies/S/edish?site=" + url.QueryEscape(v)); code != http.StatusBadRequest &&
				(code != http.StatusOK || strings.Contains(body, `"subject"`)) {
				t.Errorf("edish?site=%.40q: %d %.200s, want 400 or 200 with no subjects", v, code, body)
			}
			if code, _ := get("/api/v1/studies/" + url.PathEscape(v) + "/signals"); code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusNotFound {
				t.Errorf("study %.40q in the path: %d", v, code)
			}
		}
		all, _, err := store.Signals(context.Background(), signals.Filter{Study: "S", Limit: 10})
		if err != nil || len(all) != 2 {
			t.Errorf("after the hostile requests: %d signals, %v; want both intact", len(all), err)
		}
	})
}

// FuzzSignalFilters sends any query string to the signal list: the answer
// is 200 or 400, never a storage error.
func FuzzSignalFilters(f *testing.F) {
	for _, v := range hostile[:8] {
		f.Add("site=" + url.QueryEscape(v) + "&severity=high")
	}
	f.Add("status=new&limit=5&page_token=3&subject=A")
	st := checkertest.Open(f, sqldbtest.SQLite(f))
	if err := st.Signals.SaveSignals(context.Background(), []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh)}, time.Now()); err != nil {
		f.Fatal(err)
	}
	h := checkertest.As(anyStudy, st.Mux(st.Checker(checker.Sources{}), nil))
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/studies/S/signals", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("query %q: %d %s", query, rec.Code, rec.Body)
		}
	})
}
