package access

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// accountsRouter is the accounts API behind a router, over real stores.
func accountsRouter(t *testing.T) (*Router, *auth.Store, *audit.Log, *Accounts) {
	t.Helper()
	db := sqldbtest.SQLite(t)
	users, err := auth.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(Rules())
	r.Attach(users, trail)
	a := NewAccounts(db, users, trail, nil)
	a.Register(r)
	return r, users, trail, a
}

func records(t *testing.T, trail *audit.Log, entity string) []audit.Record {
	t.Helper()
	recs, err := trail.Query(context.Background(), audit.Filter{AllStudies: true, Entity: entity})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A login trades a password for a token; a wrong one, or an unknown user,
// gets the same 401 and an audit record; a client that keeps trying is
// slowed down with 429, and that refusal is recorded too.
func TestLogin(t *testing.T) {
	r, users, trail, a := accountsRouter(t)
	a.LimitClients(1e-9, 3) // three tries from one address, then no more
	grants, _ := auth.ParseGrants("S1", "")
	if _, err := users.AddUser(context.Background(), nil, "jane", auth.RoleMonitor, grants, "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) *httptest.ResponseRecorder {
		return do(r, "POST", "/api/v1/login", "", `{"user":"`+user+`","password":"`+pw+`"}`)
	}
	wrong, unknown := login("jane", "wrong password!"), login("nobody", "wrong password!")
	if wrong.Code != http.StatusUnauthorized || unknown.Code != http.StatusUnauthorized || wrong.Body.String() != unknown.Body.String() {
		t.Errorf("wrong password %d %s / unknown user %d %s: want the same 401", wrong.Code, wrong.Body, unknown.Code, unknown.Body)
	}
	ok := login("jane", "correct horse battery")
	var got struct {
		Token    string        `json:"token"`
		Identity auth.Identity `json:"identity"`
	}
	if ok.Code != http.StatusOK || json.Unmarshal(ok.Body.Bytes(), &got) != nil || got.Identity.Name != "jane" {
		t.Fatalf("good login: %d %s", ok.Code, ok.Body)
	}
	if me := do(r, "GET", "/api/v1/me", got.Token, ""); me.Code != http.StatusOK || !strings.Contains(me.Body.String(), `"jane"`) {
		t.Errorf("the login's token does not work: %d %s", me.Code, me.Body)
	}
	if again := login("jane", "correct horse battery"); again.Code != http.StatusTooManyRequests {
		t.Errorf("fourth try from one address: %d, want 429", again.Code)
	}
	recs := records(t, trail, "login")
	if len(recs) != 4 || recs[0].Action != "failed" || recs[1].Action != "failed" || recs[1].Actor != "nobody" || recs[2].Action != "succeeded" ||
		recs[3].Action != "refused" || !strings.Contains(recs[3].New, "too many logins from this address") {
		t.Fatalf("login records: %+v", recs)
	}
	for _, rec := range recs {
		if strings.Contains(rec.New, "horse") || strings.Contains(rec.New, got.Token) {
			t.Errorf("a secret reached the audit trail: %+v", rec)
		}
	}
}

// An admin of some studies manages only users of those studies; a token
// is shown once and never listed.
func TestAdminsManageUsersOfTheirStudies(t *testing.T) {
	r, users, trail, _ := accountsRouter(t)
	ctx := context.Background()
	s1, _ := auth.ParseGrants("S1", "")
	for _, u := range []struct {
		name   string
		grants []auth.Grant
	}{{"root", nil}, {"admin1", s1}} {
		if _, err := users.AddUser(ctx, nil, u.name, auth.RoleAdmin, u.grants, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	root, _, _ := users.CreateToken(ctx, nil, "root", "", time.Hour, time.Now())
	admin1, _, _ := users.CreateToken(ctx, nil, "admin1", "", time.Hour, time.Now())

	if got := do(r, "POST", "/api/v1/users", admin1, `{"name":"m2","role":"monitor","study":"S2"}`).Code; got != http.StatusForbidden {
		t.Errorf("admin of S1 adding a monitor of S2: %d, want 403", got)
	}
	if got := do(r, "POST", "/api/v1/users", admin1, `{"name":"m1","role":"monitor","study":"S1"}`).Code; got != http.StatusCreated {
		t.Errorf("admin of S1 adding a monitor of S1: %d, want 201", got)
	}
	if got := do(r, "POST", "/api/v1/users", root, `{"name":"m1","role":"monitor","study":"S1"}`).Code; got != http.StatusConflict {
		t.Errorf("a duplicate user: %d, want 409", got)
	}
	if got := do(r, "POST", "/api/v1/users", root, `{"name":"bad name!","role":"monitor","study":"S1"}`).Code; got != http.StatusBadRequest {
		t.Errorf("a bad user name: %d, want 400", got)
	}
	if got := do(r, "POST", "/api/v1/users/root/disable", admin1, "").Code; got != http.StatusNotFound {
		t.Errorf("admin of S1 disabling the admin of everything: %d, want 404", got)
	}
	created := do(r, "POST", "/api/v1/tokens", root, `{"user":"m1","label":"ci","expires_in":"24h"}`)
	var tok struct {
		Token string `json:"token"`
	}
	if created.Code != http.StatusCreated || json.Unmarshal(created.Body.Bytes(), &tok) != nil || !strings.HasPrefix(tok.Token, "tw_") {
		t.Fatalf("token create: %d %s", created.Code, created.Body)
	}
	list := do(r, "GET", "/api/v1/tokens?user=m1", root, "")
	if list.Code != http.StatusOK || strings.Contains(list.Body.String(), tok.Token) || !strings.Contains(list.Body.String(), `"ci"`) {
		t.Errorf("token list: %d %s", list.Code, list.Body)
	}
	if recs := records(t, trail, "token"); len(recs) != 1 || strings.Contains(recs[0].New, tok.Token) {
		t.Errorf("token records %+v: want one, without the secret", recs)
	}
}

// A disabled user can be enabled again, over the API: it logs in again
// with its password, while the tokens disabling revoked stay revoked;
// both changes are in the audit trail, and an admin of other studies
// finds no such user.
func TestEnableUserAgain(t *testing.T) {
	r, users, trail, _ := accountsRouter(t)
	ctx := context.Background()
	s1, _ := auth.ParseGrants("S1", "")
	s2, _ := auth.ParseGrants("S2", "")
	for _, u := range []struct {
		name   string
		role   auth.Role
		grants []auth.Grant
		pw     string
	}{{"root", auth.RoleAdmin, nil, ""}, {"admin2", auth.RoleAdmin, s2, ""}, {"jane", auth.RoleMonitor, s1, "correct horse battery"}} {
		if _, err := users.AddUser(ctx, nil, u.name, u.role, u.grants, u.pw, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	root, _, _ := users.CreateToken(ctx, nil, "root", "", time.Hour, time.Now())
	admin2, _, _ := users.CreateToken(ctx, nil, "admin2", "", time.Hour, time.Now())
	janes, _, _ := users.CreateToken(ctx, nil, "jane", "", time.Hour, time.Now())
	login := func() int {
		return do(r, "POST", "/api/v1/login", "", `{"user":"jane","password":"correct horse battery"}`).Code
	}

	if got := do(r, "POST", "/api/v1/users/jane/disable", root, ""); got.Code != http.StatusOK || !strings.Contains(got.Body.String(), `"disabled": true`) {
		t.Fatalf("disable: %d %s", got.Code, got.Body)
	}
	if code := login(); code != http.StatusUnauthorized {
		t.Errorf("a disabled user's login: %d, want 401", code)
	}
	if got := do(r, "POST", "/api/v1/users/jane/enable", admin2, "").Code; got != http.StatusNotFound {
		t.Errorf("an admin of S2 enabling a monitor of S1: %d, want 404", got)
	}
	if got := do(r, "POST", "/api/v1/users/nobody/enable", root, ""); got.Code != http.StatusNotFound {
		t.Errorf("enabling nobody: %d %s, want 404", got.Code, got.Body)
	}
	got := do(r, "POST", "/api/v1/users/jane/enable", root, "")
	if got.Code != http.StatusOK || !strings.Contains(got.Body.String(), `"disabled": false`) {
		t.Fatalf("enable: %d %s", got.Code, got.Body)
	}
	if code := login(); code != http.StatusOK {
		t.Errorf("an enabled user's login: %d, want 200", code)
	}
	if code := do(r, "GET", "/api/v1/me", janes, "").Code; code != http.StatusUnauthorized {
		t.Errorf("a token revoked by disable, after enable: %d, want 401", code)
	}
	if again := do(r, "POST", "/api/v1/users/jane/enable", root, ""); again.Code != http.StatusOK {
		t.Errorf("enabling an enabled user: %d, want 200 (nothing changes)", again.Code)
	}
	var actions []string
	for _, rec := range records(t, trail, "user") {
		if rec.EntityID == "jane" {
			actions = append(actions, rec.Action)
		}
	}
	if strings.Join(actions, " ") != "disable enable enable" {
		t.Errorf("audit records of jane: %q, want disable enable enable", actions)
	}
}
