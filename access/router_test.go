package access

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tokens is an Authenticator over a fixed table.
type tokens map[string]auth.Identity

func (t tokens) Authenticate(_ context.Context, token string, _ time.Time) (auth.Identity, error) {
	id, ok := t[token]
	if !ok {
		return auth.Identity{}, auth.ErrBadCredentials
	}
	return id, nil
}

// A well-formed token for each test identity.
var (
	monitorToken = "tw_" + strings.Repeat("m", 42) + "A"
	siteToken    = "tw_" + strings.Repeat("s", 42) + "A"
)

func testRouter(t *testing.T, opts ...Option) (*Router, *audit.Log, *bytes.Buffer) {
	t.Helper()
	trail, err := audit.Open(context.Background(), sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	rules := map[string]Rule{
		"GET /open":              {Public: true},
		"GET /s/{study}/things":  {Roles: []auth.Role{auth.RoleSite, auth.RoleMonitor}},
		"POST /s/{study}/things": {Roles: []auth.Role{auth.RoleMonitor}, Entity: "thing"},
		"POST /s/{study}/fail":   {Roles: []auth.Role{auth.RoleMonitor}, Entity: "thing"},
		"/internal.Service/":     {Service: true},
		"POST /s/{study}/big":    {Roles: []auth.Role{auth.RoleMonitor}},
	}
	r := NewRouter(rules, append([]Option{WithServiceToken(strings.Repeat("k", 40)), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, opts...)...)
	r.Attach(tokens{
		monitorToken: {UserID: 1, Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}}, TokenID: 1},
		siteToken:    {UserID: 2, Name: "site", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "701"}}, TokenID: 2},
	}, trail)
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }
	r.HandleFunc("GET /open", ok)
	r.HandleFunc("GET /s/{study}/things", ok)
	r.HandleFunc("POST /s/{study}/things", func(w http.ResponseWriter, r *http.Request) {
		audit.Describe(r.Context(), "", "thing-1", nil, map[string]int{"n": 1})
		w.WriteHeader(http.StatusCreated)
	})
	r.HandleFunc("POST /s/{study}/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusConflict)
	})
	r.HandleFunc("/internal.Service/", ok)
	r.HandleFunc("POST /s/{study}/big", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		w.Write([]byte("read"))
	})
	return r, trail, &logs
}

func do(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRouterRefusesARouteWithoutARule(t *testing.T) {
	r, _, _ := testRouter(t)
	defer func() {
		if recover() == nil {
			t.Fatal("mounting a route with no rule did not panic")
		}
	}()
	r.HandleFunc("GET /forgotten", func(http.ResponseWriter, *http.Request) {})
}

func TestRouterDecisions(t *testing.T) {
	r, _, _ := testRouter(t)
	service := strings.Repeat("k", 40)
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/open", "", http.StatusOK},
		{"GET", "/s/S1/things", "", http.StatusUnauthorized},
		{"GET", "/s/S1/things", "tw_" + strings.Repeat("x", 43), http.StatusUnauthorized},
		{"GET", "/s/S1/things", "garbage", http.StatusUnauthorized},
		{"GET", "/s/S1/things", service, http.StatusUnauthorized}, // the service credential is no user
		{"GET", "/s/S1/things", siteToken, http.StatusOK},
		{"GET", "/s/S2/things", siteToken, http.StatusNotFound}, // another study does not exist for it
		{"GET", "/s/S2/things", monitorToken, http.StatusNotFound},
		{"POST", "/s/S1/things", siteToken, http.StatusForbidden},
		{"POST", "/s/S1/things", monitorToken, http.StatusCreated},
		{"POST", "/internal.Service/Get", "", http.StatusUnauthorized},
		{"POST", "/internal.Service/Get", monitorToken, http.StatusUnauthorized},
		{"POST", "/internal.Service/Get", service + "x", http.StatusUnauthorized},
		{"POST", "/internal.Service/Get", service, http.StatusOK},
		{"GET", "/nowhere", monitorToken, http.StatusNotFound},
	} {
		if got := do(r, tc.method, tc.path, tc.token, "").Code; got != tc.want {
			t.Errorf("%s %s with %.12q: %d, want %d", tc.method, tc.path, tc.token, got, tc.want)
		}
	}
}

func TestRouterAuditsEachSuccessfulChangeOnce(t *testing.T) {
	r, trail, _ := testRouter(t)
	if got := do(r, "POST", "/s/S1/things", monitorToken, "").Code; got != http.StatusCreated {
		t.Fatalf("change: %d", got)
	}
	if got := do(r, "POST", "/s/S1/fail", monitorToken, "").Code; got != http.StatusConflict {
		t.Fatalf("failing change: %d", got)
	}
	do(r, "POST", "/s/S1/things", siteToken, "") // forbidden: no record
	recs, err := trail.Query(context.Background(), audit.Filter{AllStudies: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1: %+v", len(recs), recs)
	}
	got := recs[0]
	if got.Actor != "mon" || got.Role != "monitor" || got.Study != "S1" || got.Entity != "thing" || got.EntityID != "thing-1" ||
		got.Action != "create" || got.New != `{"n":1}` || got.Source == "" {
		t.Errorf("record %+v", got)
	}
}

func TestRouterLimitsEachTokenAndGuessers(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, _, _ := testRouter(t, WithRateLimit(1, 3), WithClock(func() time.Time { return now }))
	for i := range 3 {
		if got := do(r, "GET", "/s/S1/things", monitorToken, "").Code; got != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, got)
		}
	}
	rec := do(r, "GET", "/s/S1/things", monitorToken, "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the burst: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if got := do(r, "GET", "/s/S1/things", siteToken, "").Code; got != http.StatusOK {
		t.Errorf("another token is not limited by the first: %d", got)
	}
	now = now.Add(2 * time.Second)
	if got := do(r, "GET", "/s/S1/things", monitorToken, "").Code; got != http.StatusOK {
		t.Errorf("after the bucket refilled: %d", got)
	}
	// Bad credentials from one address: 401 until the guesser is slowed.
	codes := map[int]int{}
	for range DefaultGuessBurst + 5 {
		codes[do(r, "GET", "/s/S1/things", "tw_"+strings.Repeat("z", 43), "").Code]++
	}
	if codes[http.StatusUnauthorized] != DefaultGuessBurst || codes[http.StatusTooManyRequests] != 5 {
		t.Errorf("guessing tokens: %v, want %d×401 then 5×429", codes, DefaultGuessBurst)
	}
}

func TestRouterLimitsBodies(t *testing.T) {
	r, _, _ := testRouter(t, WithMaxBody(10))
	if got := do(r, "POST", "/s/S1/big", monitorToken, strings.Repeat("a", 10)).Code; got != http.StatusOK {
		t.Errorf("body at the limit: %d", got)
	}
	if got := do(r, "POST", "/s/S1/big", monitorToken, strings.Repeat("a", 11)).Code; got != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d, want 413", got)
	}
}

func TestRouterNeverLogsCredentials(t *testing.T) {
	r, _, logs := testRouter(t)
	bad := "tw_" + strings.Repeat("q", 43)
	do(r, "GET", "/s/S1/things", bad, "")
	do(r, "POST", "/s/S1/things", siteToken, "")
	do(r, "POST", "/internal.Service/Get", "wrong-service-credential", "")
	for _, secret := range []string{bad, siteToken, "wrong-service-credential", strings.Repeat("k", 40)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a credential reached the log:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "refused") {
		t.Errorf("refusals were not logged at all:\n%s", logs.String())
	}
}

func TestSecureHeaders(t *testing.T) {
	h := SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>report</p>"))
	}), true)
	rec := do(h, "GET", "/", "", "")
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if got := do(SecureHeaders(http.NotFoundHandler(), false), "GET", "/", "", "").Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS without TLS: %q", got)
	}
}

// A change's answer reaches the client before its audit record is
// written: the record waits for its turn to write (here another write
// holds SQLite's, as a large upload's chunk would), the answer does not.
func TestAnAnswerDoesNotWaitForItsAuditRecord(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	trail, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(map[string]Rule{"POST /s/{study}/things": {Roles: []auth.Role{auth.RoleMonitor}, Entity: "thing"}},
		WithServiceToken(strings.Repeat("k", 40)))
	r.Attach(tokens{monitorToken: {UserID: 1, Name: "mon", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S1", Site: "*"}}, TokenID: 1}}, trail)
	r.HandleFunc("POST /s/{study}/things", func(w http.ResponseWriter, r *http.Request) {
		audit.Describe(r.Context(), "", "thing-1", nil, map[string]int{"n": 1})
		w.Write([]byte(strings.Repeat("x", 10<<10))) // more than the server buffers before it must send
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	long, err := db.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback()
	client := &http.Client{Timeout: 3 * time.Second}
	req, _ := http.NewRequest("POST", srv.URL+"/s/S1/things", nil)
	req.Header.Set("Authorization", "Bearer "+monitorToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the answer waited for the audit record's write: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(body) != 10<<10 {
		t.Fatalf("answer %d of %d bytes (%v), want 200 and all of it", resp.StatusCode, len(body), err)
	}
	long.Rollback()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, err := trail.Query(ctx, audit.Filter{AllStudies: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].EntityID == "thing-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records once the write turn was free, want the change's", len(recs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
