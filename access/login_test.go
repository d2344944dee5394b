package access

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// loginFrom posts body to the login route as a client at addr.
func loginFrom(h http.Handler, addr, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(body))
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func loginBody(user, password string) string {
	b, _ := json.Marshal(loginRequest{User: user, Password: password})
	return string(b)
}

// Every login attempt leaves exactly one record, whatever name it sends:
// control characters, NUL, bad UTF-8, an invisible direction override,
// a formula, nothing at all, a name of 5,000 bytes, or no login at all.
// The record's actor is the name as audit.Name writes it, and a name cut
// short carries its length and hash.
func TestLoginRecordsEveryAttempt(t *testing.T) {
	r, _, trail, _ := accountsRouter(t)
	long := strings.Repeat("é", 2500)
	for i, tc := range []struct {
		name, body string
		want       int
		query      string // sent with the path, as it is
	}{
		{"plain name", loginBody("jane", "wrong password!"), http.StatusUnauthorized, ""},
		{"newline", loginBody("jane\nforged line", "wrong password!"), http.StatusUnauthorized, ""},
		{"NUL", loginBody("ja\x00ne", "wrong password!"), http.StatusUnauthorized, ""},
		{"bad UTF-8", `{"user":"ja` + "\xff\xfe" + `ne","password":"wrong password!"}`, http.StatusUnauthorized, ""},
		{"escape sequence", loginBody("\x1b[31mroot", "wrong password!"), http.StatusUnauthorized, ""},
		{"direction override", loginBody("admin\u202egnp.exe", "wrong password!"), http.StatusUnauthorized, ""},
		{"formula", loginBody("=HYPERLINK(\"http://x\")", "wrong password!"), http.StatusUnauthorized, ""},
		{"empty", loginBody("", "wrong password!"), http.StatusUnauthorized, ""},
		{"long", loginBody(long, "wrong password!"), http.StatusUnauthorized, ""},
		{"not JSON", `user=jane&password=x`, http.StatusBadRequest, ""},
		{"unknown field", `{"user":"jane","password":"x","otp":"1"}`, http.StatusBadRequest, ""},
		{"too large", loginBody("", strings.Repeat("x", 70<<10)), http.StatusRequestEntityTooLarge, ""},
		// Refused for its query, as the router refuses other routes'.
		{"control characters in the query", loginBody("jane", "wrong password!"), http.StatusBadRequest, "?next=%00%1b%5B2J"},
	} {
		before := len(records(t, trail, "login"))
		// A fresh address per attempt: no limit stops these.
		addr := "192.0.2." + strconv.Itoa(i+1)
		var got *httptest.ResponseRecorder
		if tc.query == "" {
			got = loginFrom(r, addr, tc.body)
		} else {
			req := httptest.NewRequest("POST", "/api/v1/login"+tc.query, strings.NewReader(tc.body))
			req.RemoteAddr = addr + ":40000"
			got = httptest.NewRecorder()
			r.ServeHTTP(got, req)
		}
		if got.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got.Code, got.Body, tc.want)
		}
		recs := records(t, trail, "login")
		if len(recs) != before+1 {
			t.Errorf("%s: %d new login records, want 1", tc.name, len(recs)-before)
			continue
		}
		rec := recs[len(recs)-1]
		var sent loginRequest
		json.Unmarshal([]byte(tc.body), &sent)
		if want := audit.Name(sent.User); rec.Actor != want || rec.EntityID != want || rec.Action != "failed" {
			t.Errorf("%s: record actor %q entity %q action %q, want %q and failed", tc.name, rec.Actor, rec.EntityID, rec.Action, want)
		}
		if strings.ContainsAny(rec.Actor, "\x00\n\x1b\u202e") || !utf8.ValidString(rec.Actor) || len(rec.Actor) > audit.MaxNameBytes {
			t.Errorf("%s: actor %q holds control characters or bad UTF-8, or is too long", tc.name, rec.Actor)
		}
		if tc.query != "" && (!strings.Contains(rec.New, "not text") || strings.ContainsAny(rec.New, "\x00\x1b")) {
			t.Errorf("%s: record %q, want the refusal's reason with what was sent escaped", tc.name, rec.New)
		}
		if tc.name == "long" && (!strings.Contains(rec.New, `"user_bytes":5000`) || !strings.Contains(rec.New, `"user_sha256"`)) {
			t.Errorf("a name cut short: record %s, want its length and hash", rec.New)
		}
		if strings.Contains(rec.New, "wrong password") {
			t.Errorf("%s: the password reached the audit trail: %s", tc.name, rec.New)
		}
	}
	verifyLog(t, trail)
}

func verifyLog(t *testing.T, trail *audit.Log) {
	t.Helper()
	if n, brk, err := trail.Verify(context.Background(), nil); err != nil || brk != nil {
		t.Fatalf("audit trail: %d verified, break %v, error %v", n, brk, err)
	}
}

// The limits per user name and of all logins together refuse before the
// password is checked: a right password over a limit gets 429 with
// Retry-After, issues no token, and is recorded as refused, with which
// limit refused it.
func TestLoginLimitsComeBeforeThePassword(t *testing.T) {
	r, users, trail, a := accountsRouter(t)
	ctx := context.Background()
	grants, _ := auth.ParseGrants("S1", "")
	if _, err := users.AddUser(ctx, nil, "jane", auth.RoleMonitor, grants, "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	// Per user name: ten tries, from as many addresses (passwords too
	// short to be anyone's, which cost no hash).
	for i := range 10 {
		if got := loginFrom(r, "198.51.100."+strconv.Itoa(i+1), loginBody("jane", "wrong")); got.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s", i, got.Code, got.Body)
		}
	}
	got := loginFrom(r, "198.51.100.99", loginBody("jane", "correct horse battery"))
	if got.Code != http.StatusTooManyRequests || got.Header().Get("Retry-After") == "" {
		t.Errorf("the right password after ten wrong ones: %d %s (Retry-After %q), want 429", got.Code, got.Body, got.Header().Get("Retry-After"))
	}
	recs := records(t, trail, "login")
	if last := recs[len(recs)-1]; last.Action != "refused" || !strings.Contains(last.New, "too many logins as this user") {
		t.Errorf("record of the refused login: %+v", last)
	}

	// All logins together: two, then none, whatever the name and address.
	a.LimitAll(1e-9, 2)
	for i, name := range []string{"u1", "u2", "u3"} {
		got := loginFrom(r, "203.0.113."+strconv.Itoa(i+1), loginBody(name, "wrong"))
		if want := []int{401, 401, 429}[i]; got.Code != want {
			t.Errorf("login %d of all: %d, want %d", i+1, got.Code, want)
		}
	}
	recs = records(t, trail, "login")
	if last := recs[len(recs)-1]; last.Action != "refused" || last.Actor != "u3" || !strings.Contains(last.New, "too many logins in all") {
		t.Errorf("record of the login over the global limit: %+v", last)
	}
	if ts, err := users.Tokens(ctx, "jane"); err != nil || len(ts) != 0 {
		t.Errorf("refused logins issued tokens: %+v, %v", ts, err)
	}
	verifyLog(t, trail)
}

// An admin of some studies asking for the tokens of a user of other
// studies gets the answer of a user that does not exist, not an empty
// list that tells the name is taken.
func TestTokensOfAnotherStudysUser(t *testing.T) {
	r, users, _, _ := accountsRouter(t)
	ctx := context.Background()
	s1, _ := auth.ParseGrants("S1", "")
	s2, _ := auth.ParseGrants("S2", "")
	for _, u := range []struct {
		name   string
		role   auth.Role
		grants []auth.Grant
	}{{"admin1", auth.RoleAdmin, s1}, {"m2", auth.RoleMonitor, s2}} {
		if _, err := users.AddUser(ctx, nil, u.name, u.role, u.grants, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	admin1, _, _ := users.CreateToken(ctx, nil, "admin1", "", time.Hour, time.Now())
	other, missing := do(r, "GET", "/api/v1/tokens?user=m2", admin1, ""), do(r, "GET", "/api/v1/tokens?user=nobody", admin1, "")
	if other.Code != http.StatusNotFound || other.Body.String() != missing.Body.String() || other.Code != missing.Code {
		t.Errorf("tokens of another study's user: %d %s; of nobody: %d %s; want the same 404", other.Code, other.Body, missing.Code, missing.Body)
	}
}

// Two replicas on one PostgreSQL database limit all logins together once,
// not once each.
func TestReplicasShareTheLoginLimit(t *testing.T) {
	var replicas []http.Handler
	var trail *audit.Log
	for _, db := range sqldbtest.PostgresReplicas(t, 2) {
		ctx := context.Background()
		users, err := auth.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if trail, err = audit.Open(ctx, db); err != nil {
			t.Fatal(err)
		}
		limits, err := LimitsFor(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		a := NewAccounts(db, users, trail, nil)
		a.UseLimits(limits)
		a.LimitAll(1e-6, 3)
		r := NewRouter(Rules())
		r.Attach(users, trail)
		a.Register(r)
		replicas = append(replicas, r)
	}
	got := map[int]int{}
	for i := range 6 {
		got[loginFrom(replicas[i%2], "192.0.2."+strconv.Itoa(i+1), loginBody("u"+strconv.Itoa(i), "wrong")).Code]++
	}
	if got[http.StatusUnauthorized] != 3 || got[http.StatusTooManyRequests] != 3 {
		t.Errorf("six logins on two replicas: %v; want 3×401 (the burst) then 3×429", got)
	}
	if recs := records(t, trail, "login"); len(recs) != 6 {
		t.Errorf("%d login records for six tries", len(recs))
	}
}

// Login limits that cannot be checked refuse with 503, and the attempt
// is still recorded.
func TestLoginWithFailingLimits(t *testing.T) {
	r, _, trail, a := accountsRouter(t)
	a.UseLimits(failingLimits{})
	if got := loginFrom(r, "192.0.2.1", loginBody("jane", "wrong password!")); got.Code != http.StatusServiceUnavailable {
		t.Errorf("login with failing limits: %d %s, want 503", got.Code, got.Body)
	}
	if recs := records(t, trail, "login"); len(recs) != 1 || recs[0].Action != "refused" {
		t.Errorf("records %+v: want one refused", recs)
	}
}

// Refused logins that arrive while the database's writer is busy (here
// held by the test, as a large upload's chunk would hold it) are recorded
// together once it is free: each of them leaves its record, under its
// name escaped, in far fewer transactions than records, and the chain
// verifies.
func TestRefusedLoginsShareTransactions(t *testing.T) {
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
	r := NewRouter(Rules())
	r.Attach(users, trail)
	a := NewAccounts(db, users, trail, nil)
	a.LimitAll(1e-9, 1) // one login in all, then none
	a.Register(r)
	if got := loginFrom(r, "192.0.2.1", loginBody("first", "wrong")); got.Code != http.StatusUnauthorized {
		t.Fatalf("first login: %d %s, want 401", got.Code, got.Body)
	}
	before := trail.AppendStats()

	holding, release := make(chan struct{}), make(chan struct{})
	writerDone := make(chan error, 1)
	go func() { // ends when release closes, below
		writerDone <- db.Writing(ctx, func() error { close(holding); <-release; return nil })
	}()
	<-holding
	const n = 300
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { // returns once its login is answered, after release
			name := fmt.Sprintf("flood\x00%d\n", i)
			codes[i] = loginFrom(r, fmt.Sprintf("192.0.2.%d", 2+i%200), loginBody(name, "wrong")).Code
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for trail.AppendStats().Waiting < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	waiting := trail.AppendStats().Waiting
	close(release)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if waiting != n {
		t.Fatalf("%d records waiting for the writer, want %d", waiting, n)
	}

	for i, c := range codes {
		if c != http.StatusTooManyRequests {
			t.Errorf("login %d: %d, want 429", i, c)
		}
	}
	st := trail.AppendStats()
	records, txs := st.Records-before.Records, st.Transactions-before.Transactions
	t.Logf("%d refused logins: %d records in %d transactions", n, records, txs)
	if records != n || txs > n/20 {
		t.Errorf("%d refused logins: %d records in %d transactions, want %d in at most %d", n, records, txs, n, n/20)
	}
	recs, err := trail.Query(ctx, audit.Filter{AllStudies: true, Entity: "login", Action: "refused", Limit: 10 * n})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, rec := range recs {
		names[rec.Actor] = true
		if strings.ContainsAny(rec.Actor, "\x00\n") || !strings.Contains(rec.New, "too many logins in all") {
			t.Errorf("record %+v: want the name escaped and the global limit as the reason", rec)
		}
	}
	if len(recs) != n || len(names) != n || !names[audit.Name("flood\x00299\n")] {
		t.Errorf("%d refused records, %d names; want %d of each", len(recs), len(names), n)
	}
	verifyLog(t, trail)
}
