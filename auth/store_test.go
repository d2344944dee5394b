package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const password = "correct horse battery"

func openStore(t *testing.T, db *sqldb.DB) *auth.Store {
	t.Helper()
	s, err := auth.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAddUser(t *testing.T, s *auth.Store, name string, role auth.Role, grants []auth.Grant, pw string) auth.User {
	t.Helper()
	u, err := s.AddUser(context.Background(), nil, name, role, grants, pw, t0)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustToken(t *testing.T, s *auth.Store, user string, ttl time.Duration, now time.Time) (string, auth.TokenInfo) {
	t.Helper()
	tok, info, err := s.CreateToken(context.Background(), nil, user, "test", ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok, info
}

func TestAddUser(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		siteGrants := []auth.Grant{{"S1", "701"}, {"S1", "702"}, {"S1", "701"}} // duplicate dropped
		added := []auth.User{
			mustAddUser(t, s, "site.user@example.org", auth.RoleSite, siteGrants, password),
			mustAddUser(t, s, "monitor-1", auth.RoleMonitor, []auth.Grant{{"S1", "*"}, {"S2", "*"}}, ""),
			mustAddUser(t, s, "admin", auth.RoleAdmin, nil, password),
			mustAddUser(t, s, "admin_s2", auth.RoleAdmin, []auth.Grant{{"S2", "*"}}, ""),
			mustAddUser(t, s, "ops", auth.RoleOps, nil, ""),
		}
		if got := added[0].Grants; len(got) != 2 {
			t.Errorf("duplicate grant kept: %v", got)
		}
		if !added[0].HasPassword || added[1].HasPassword || added[0].Disabled || !added[0].Created.Equal(t0) || added[0].ID == 0 {
			t.Errorf("AddUser = %+v", added[0])
		}

		for _, tc := range []struct {
			name   string
			role   auth.Role
			grants []auth.Grant
		}{
			{"", auth.RoleOps, nil},
			{strings.Repeat("a", 65), auth.RoleOps, nil},
			{"jane doe", auth.RoleOps, nil},
			{"jane/doe", auth.RoleOps, nil},
			{"jäne", auth.RoleOps, nil},
			{"x", "root", nil},
			{"x", "Admin", nil},
			{"x", auth.RoleSite, nil},
			{"x", auth.RoleSite, []auth.Grant{{"S1", "*"}}},
			{"x", auth.RoleSite, []auth.Grant{{"", "701"}}},
			{"x", auth.RoleSite, []auth.Grant{{"S1", ""}}},
			{"x", auth.RoleSite, []auth.Grant{{"S1 ", "701"}}},
			{"x", auth.RoleMonitor, nil},
			{"x", auth.RoleMonitor, []auth.Grant{{"S1", "701"}}},
			{"x", auth.RoleAdmin, []auth.Grant{{"S1", "701"}}},
			{"x", auth.RoleOps, []auth.Grant{{"S1", "*"}}},
		} {
			if u, err := s.AddUser(ctx, nil, tc.name, tc.role, tc.grants, "", t0); !errors.Is(err, auth.ErrInvalid) {
				t.Errorf("AddUser(%q, %q, %v) = %+v, %v; want ErrInvalid", tc.name, tc.role, tc.grants, u, err)
			}
		}
		if _, err := s.AddUser(ctx, nil, strings.Repeat("a", 64), auth.RoleOps, nil, "", t0); err != nil {
			t.Errorf("64-character name: %v", err)
		}
		if _, err := s.AddUser(ctx, nil, "admin", auth.RoleOps, nil, "", t0); !errors.Is(err, auth.ErrExists) {
			t.Errorf("duplicate name: %v, want ErrExists", err)
		}

		// The caller's transaction decides: rolled back, no user.
		rollback := errors.New("rollback")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := s.AddUser(ctx, tx, "ghost", auth.RoleOps, nil, "", t0); err != nil {
				return err
			}
			return rollback
		})
		if err != rollback {
			t.Fatal(err)
		}
		if _, err := s.User(ctx, "ghost"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("user added in a rolled back transaction: %v", err)
		}

		got, err := s.User(ctx, "site.user@example.org")
		if err != nil || !reflect.DeepEqual(got, added[0]) {
			t.Errorf("User = %+v, %v\nwant %+v", got, err, added[0])
		}
		users, err := s.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range users {
			names = append(names, u.Name)
			if u.Name == "monitor-1" && !reflect.DeepEqual(u, added[1]) {
				t.Errorf("Users has %+v, want %+v", u, added[1])
			}
		}
		if want := []string{strings.Repeat("a", 64), "admin", "admin_s2", "monitor-1", "ops", "site.user@example.org"}; !reflect.DeepEqual(names, want) {
			t.Errorf("Users = %v, want %v", names, want)
		}
	})
}

func TestPasswordLimits(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := openStore(t, db)
		for i, tc := range []struct {
			password string
			want     error
		}{
			{strings.Repeat("x", 11), auth.ErrPasswordTooShort},
			{strings.Repeat("é", 11), auth.ErrPasswordTooShort}, // 22 bytes, 11 characters
			{strings.Repeat("x", 12), nil},
			{strings.Repeat("é", 12), nil},
			{strings.Repeat("x", 72), nil},
			{strings.Repeat("x", 73), auth.ErrPasswordTooLong},
			{strings.Repeat("é", 37), auth.ErrPasswordTooLong}, // 74 bytes
		} {
			name := fmt.Sprintf("user%d", i)
			_, err := s.AddUser(context.Background(), nil, name, auth.RoleOps, nil, tc.password, t0)
			if err != tc.want || (err != nil && !errors.Is(err, auth.ErrInvalid)) {
				t.Errorf("password of %d bytes: %v, want %v", len(tc.password), err, tc.want)
			}
			if err == nil {
				if _, _, _, err := s.Login(context.Background(), name, tc.password, time.Hour, t0); err != nil {
					t.Errorf("login with a password of %d bytes: %v", len(tc.password), err)
				}
			}
		}
	})
}

// TestPasswordCost checks the production cost, which the other tests lower.
// The hash is made before storage, so one backend is enough.
func TestPasswordCost(t *testing.T) {
	defer auth.SetHashCost(auth.BcryptCost)()
	db := sqldbtest.SQLite(t)
	s := openStore(t, db)
	mustAddUser(t, s, "jane", auth.RoleOps, nil, password)
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE name = 'jane'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 12 {
		t.Errorf("bcrypt cost = %d, %v; want 12", cost, err)
	}
	// Unknown names are checked against a hash of the same cost.
	if cost, err := bcrypt.Cost(auth.DummyHash()); err != nil || cost != 12 {
		t.Errorf("dummy hash cost = %d, %v; want 12", cost, err)
	}
}

// WithHashCost sets the cost of new hashes; a cost bcrypt cannot make is
// refused when the store opens.
func TestWithHashCost(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	for _, bad := range []int{bcrypt.MinCost - 1, bcrypt.MaxCost + 1} {
		if _, err := auth.Open(ctx, db, auth.WithHashCost(bad)); err == nil || !strings.Contains(err.Error(), "bcrypt cost") {
			t.Errorf("cost %d: %v, want an error naming the cost", bad, err)
		}
	}
	s, err := auth.Open(ctx, db, auth.WithHashCost(bcrypt.MinCost+1))
	if err != nil {
		t.Fatal(err)
	}
	mustAddUser(t, s, "jane", auth.RoleOps, nil, password)
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE name = 'jane'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.MinCost+1 {
		t.Errorf("bcrypt cost = %d, %v; want %d", cost, err, bcrypt.MinCost+1)
	}
	if _, _, _, err := s.Login(ctx, "jane", password, time.Hour, t0); err != nil {
		t.Errorf("login: %v", err)
	}
}

func TestTokens(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		u := mustAddUser(t, s, "jane", auth.RoleMonitor, []auth.Grant{{"S1", "*"}}, "")
		mustAddUser(t, s, "joe", auth.RoleOps, nil, "")
		tok, info, err := s.CreateToken(ctx, nil, "jane", "laptop", 24*time.Hour, t0)
		if err != nil {
			t.Fatal(err)
		}
		if !tokenRE.MatchString(tok) {
			t.Errorf("token %q", tok)
		}
		want := auth.TokenInfo{ID: info.ID, UserID: u.ID, User: "jane", Label: "laptop", Created: t0, Expires: t0.Add(24 * time.Hour)}
		if info != want || info.ID == 0 {
			t.Errorf("CreateToken info = %+v\nwant %+v", info, want)
		}
		tok2, info2 := mustToken(t, s, "jane", 0, t0)
		if tok2 == tok || !info2.Expires.IsZero() {
			t.Errorf("second token %q, %+v", tok2, info2)
		}
		_, info3 := mustToken(t, s, "joe", 0, t0)
		if _, _, err := s.CreateToken(ctx, nil, "nobody", "", 0, t0); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("token for unknown user: %v", err)
		}
		if _, _, err := s.CreateToken(ctx, nil, "jane", "", -time.Second, t0); !errors.Is(err, auth.ErrInvalid) {
			t.Error("negative lifetime accepted")
		}

		if got, err := s.Tokens(ctx, "jane"); err != nil || !reflect.DeepEqual(got, []auth.TokenInfo{info, info2}) {
			t.Errorf("Tokens(jane) = %+v, %v", got, err)
		}
		if got, err := s.Tokens(ctx, ""); err != nil || !reflect.DeepEqual(got, []auth.TokenInfo{info, info2, info3}) {
			t.Errorf("Tokens() = %+v, %v", got, err)
		}
		if _, err := s.Tokens(ctx, "nobody"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("Tokens(nobody): %v", err)
		}

		// No column of the row holds the token or its random part.
		rows, err := db.QueryContext(ctx, `SELECT * FROM tokens WHERE id = $1`, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if !rows.Next() {
			t.Fatal("token row missing")
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		sawHash := false
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			if strings.Contains(s, tok[3:]) {
				t.Errorf("column %s holds the token", cols[i])
			}
			if cols[i] == "token_hash" {
				sawHash = s == auth.HashToken(tok) && len(s) == 64
			}
		}
		if !sawHash {
			t.Errorf("token_hash is not the hex SHA-256 of the token: %v", vals)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		grants := []auth.Grant{{"S1", "701"}, {"S2", "900"}}
		u := mustAddUser(t, s, "site.a", auth.RoleSite, grants, "")
		mustAddUser(t, s, "site.b", auth.RoleSite, grants, "")
		good, info := mustToken(t, s, "site.a", time.Hour, t0)

		id, err := s.Authenticate(ctx, good, t0)
		want := auth.Identity{UserID: u.ID, Name: "site.a", Role: auth.RoleSite, Grants: grants, TokenID: info.ID}
		if err != nil || !reflect.DeepEqual(id, want) {
			t.Errorf("Authenticate = %+v, %v\nwant %+v", id, err, want)
		}

		for _, tc := range []struct {
			name  string
			token string
		}{
			{"unknown", auth.NewToken()},
			{"malformed", "tw_short"},
			{"empty", ""},
		} {
			if _, err := s.Authenticate(ctx, tc.token, t0); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("%s token: %v, want ErrBadCredentials", tc.name, err)
			}
		}

		if _, err := s.Authenticate(ctx, good, info.Expires.Add(-time.Millisecond)); err != nil {
			t.Errorf("1 ms before expiry: %v", err)
		}
		if _, err := s.Authenticate(ctx, good, info.Expires); err != auth.ErrExpired {
			t.Errorf("at expiry: %v, want ErrExpired", err)
		}
		forever, _ := mustToken(t, s, "site.a", 0, t0)
		if _, err := s.Authenticate(ctx, forever, t0.AddDate(100, 0, 0)); err != nil {
			t.Errorf("token without expiry, 100 years on: %v", err)
		}

		revoked, rinfo := mustToken(t, s, "site.a", 0, t0)
		if _, err := s.RevokeToken(ctx, nil, rinfo.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, revoked, t0.Add(2*time.Minute)); err != auth.ErrRevoked {
			t.Errorf("revoked token: %v, want ErrRevoked", err)
		}
		if _, err := s.Authenticate(ctx, good, t0.Add(2*time.Minute)); err != nil {
			t.Errorf("revoking one token affected another: %v", err)
		}

		other, _ := mustToken(t, s, "site.b", 0, t0)
		if _, err := s.DisableUser(ctx, nil, "site.b", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, other, t0.Add(2*time.Minute)); err != auth.ErrDisabled {
			t.Errorf("token of a disabled user: %v, want ErrDisabled", err)
		}
	})
}

func TestLastUsed(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		mustAddUser(t, s, "ops", auth.RoleOps, nil, "")
		tok, _ := mustToken(t, s, "ops", 0, t0)
		lastUsed := func() time.Time {
			t.Helper()
			ts, err := s.Tokens(ctx, "ops")
			if err != nil {
				t.Fatal(err)
			}
			return ts[0].LastUsed
		}
		if !lastUsed().IsZero() {
			t.Fatal("new token has been used")
		}
		for _, step := range []struct {
			at, want time.Time
		}{
			{t0.Add(time.Second), t0.Add(time.Second)},
			{t0.Add(30 * time.Second), t0.Add(time.Second)}, // within the minute: no write
			{t0.Add(time.Minute), t0.Add(time.Second)},
			{t0.Add(61 * time.Second), t0.Add(61 * time.Second)},
		} {
			if _, err := s.Authenticate(ctx, tok, step.at); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed(); !got.Equal(step.want) {
				t.Errorf("used at %v: last used %v, want %v", step.at, got, step.want)
			}
		}
	})
}

// A request's bookkeeping never waits for a long write: while another
// write holds SQLite's write turn (an upload's chunk, say), authenticating
// answers at once and leaves last_used_at for a later request.
func TestLastUsedNeverWaitsForAWrite(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		mustAddUser(t, s, "ops", auth.RoleOps, nil, "")
		tok, _ := mustToken(t, s, "ops", 0, t0)
		lastUsed := func() time.Time {
			t.Helper()
			ts, err := s.Tokens(ctx, "ops")
			if err != nil {
				t.Fatal(err)
			}
			return ts[0].LastUsed
		}
		long, err := db.BeginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := long.ExecContext(ctx, `UPDATE users SET role = role`); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { // ends when Authenticate returns; the test waits for it below
			_, err := s.Authenticate(ctx, tok, t0.Add(time.Second))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("authenticating while another write runs: %v", err)
			}
		case <-time.After(5 * time.Second):
			long.Rollback()
			<-done
			t.Fatal("authenticating waited for another write to end")
		}
		want := t0.Add(time.Second) // PostgreSQL: the row is not the write's, nothing waits
		if db.Dialect == sqldb.SQLite {
			want = time.Time{}
		}
		if got := lastUsed(); !got.Equal(want) {
			t.Errorf("last used %v while another write ran, want %v", got, want)
		}
		if err := long.Rollback(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(t0.Add(2 * time.Minute)) {
			t.Errorf("last used %v once the write ended, want %v", got, t0.Add(2*time.Minute))
		}
	})
}

func TestLogin(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		grants := []auth.Grant{{"S1", "*"}}
		u := mustAddUser(t, s, "jane", auth.RoleMonitor, grants, password)
		mustAddUser(t, s, "tokens.only", auth.RoleOps, nil, "")
		mustAddUser(t, s, "gone", auth.RoleOps, nil, password)
		if _, err := s.DisableUser(ctx, nil, "gone", t0); err != nil {
			t.Fatal(err)
		}

		tok, info, id, err := s.Login(ctx, "jane", password, 8*time.Hour, t0)
		want := auth.Identity{UserID: u.ID, Name: "jane", Role: auth.RoleMonitor, Grants: grants, TokenID: info.ID}
		if err != nil || !reflect.DeepEqual(id, want) || !info.Expires.Equal(t0.Add(8*time.Hour)) || info.User != "jane" {
			t.Fatalf("Login = %+v, %+v, %v", info, id, err)
		}
		if got, err := s.Authenticate(ctx, tok, t0.Add(time.Hour)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Authenticate(login token) = %+v, %v", got, err)
		}

		for _, tc := range []struct {
			name, user, password string
			want                 error
		}{
			{"wrong password", "jane", password + "!", auth.ErrBadCredentials},
			{"empty password", "jane", "", auth.ErrBadCredentials},
			{"unknown user", "nobody", password, auth.ErrBadCredentials},
			{"user without password", "tokens.only", "", auth.ErrBadCredentials},
			{"user without password", "tokens.only", password, auth.ErrBadCredentials},
			{"disabled, wrong password", "gone", "guess guess guess", auth.ErrBadCredentials},
			{"disabled", "gone", password, auth.ErrDisabled},
		} {
			tok, info, id, err := s.Login(ctx, tc.user, tc.password, time.Hour, t0)
			if err != tc.want || tok != "" || info != (auth.TokenInfo{}) || id.Name != "" {
				t.Errorf("%s: Login = %q, %+v, %+v, %v; want %v", tc.name, tok, info, id, err, tc.want)
			}
		}
		if _, _, _, err := s.Login(ctx, "jane", password, 0, t0); !errors.Is(err, auth.ErrInvalid) {
			t.Error("login session without expiry accepted")
		}
		if ts, _ := s.Tokens(ctx, ""); len(ts) != 1 {
			t.Errorf("failed logins left tokens: %+v", ts)
		}
	})
}

func TestDisableUser(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		mustAddUser(t, s, "jane", auth.RoleOps, nil, "")
		mustAddUser(t, s, "joe", auth.RoleOps, nil, "")
		_, early := mustToken(t, s, "jane", 0, t0)
		if _, err := s.RevokeToken(ctx, nil, early.ID, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		mustToken(t, s, "jane", 0, t0)
		mustToken(t, s, "jane", time.Hour, t0)
		joeTok, _ := mustToken(t, s, "joe", 0, t0)

		at := t0.Add(time.Minute)
		u, err := s.DisableUser(ctx, nil, "jane", at)
		if err != nil || !u.Disabled {
			t.Fatalf("DisableUser = %+v, %v", u, err)
		}
		ts, err := s.Tokens(ctx, "jane")
		if err != nil || len(ts) != 3 {
			t.Fatalf("Tokens = %+v, %v", ts, err)
		}
		for _, tk := range ts {
			want := at
			if tk.ID == early.ID {
				want = t0.Add(time.Second) // revoked before: kept
			}
			if !tk.Revoked.Equal(want) {
				t.Errorf("token %d revoked at %v, want %v", tk.ID, tk.Revoked, want)
			}
		}
		if _, err := s.Authenticate(ctx, joeTok, at); err != nil {
			t.Errorf("another user's token: %v", err)
		}
		if _, _, err := s.CreateToken(ctx, nil, "jane", "", 0, at); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("token for a disabled user: %v, want ErrDisabled", err)
		}
		if u, err := s.User(ctx, "jane"); err != nil || !u.Disabled {
			t.Errorf("User = %+v, %v", u, err)
		}
		if u, err := s.DisableUser(ctx, nil, "jane", at.Add(time.Hour)); err != nil || !u.Disabled {
			t.Errorf("disabling again = %+v, %v", u, err)
		}
		if _, err := s.DisableUser(ctx, nil, "nobody", at); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("disabling an unknown user: %v", err)
		}

		// Enabled again, jane gets new tokens; the revoked ones stay so.
		if u, err := s.EnableUser(ctx, nil, "jane"); err != nil || u.Disabled {
			t.Fatalf("EnableUser = %+v, %v", u, err)
		}
		if u, err := s.User(ctx, "jane"); err != nil || u.Disabled {
			t.Errorf("after EnableUser, User = %+v, %v", u, err)
		}
		if ts, err := s.Tokens(ctx, "jane"); err != nil || len(ts) != 3 || ts[0].Revoked.IsZero() || ts[1].Revoked.IsZero() || ts[2].Revoked.IsZero() {
			t.Errorf("after EnableUser, tokens %+v, %v; want all three still revoked", ts, err)
		}
		if _, _, err := s.CreateToken(ctx, nil, "jane", "", 0, at); err != nil {
			t.Errorf("a token for an enabled user: %v", err)
		}
		if u, err := s.EnableUser(ctx, nil, "jane"); err != nil || u.Disabled {
			t.Errorf("enabling again = %+v, %v", u, err)
		}
		if _, err := s.EnableUser(ctx, nil, "nobody"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("enabling an unknown user: %v", err)
		}
	})
}

func TestRevokeToken(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		mustAddUser(t, s, "jane", auth.RoleOps, nil, "")
		_, info := mustToken(t, s, "jane", 0, t0)
		got, err := s.RevokeToken(ctx, nil, info.ID, t0.Add(time.Minute))
		want := info
		want.Revoked = t0.Add(time.Minute)
		if err != nil || got != want {
			t.Errorf("RevokeToken = %+v, %v\nwant %+v", got, err, want)
		}
		if got, err := s.RevokeToken(ctx, nil, info.ID, t0.Add(time.Hour)); err != nil || got != want {
			t.Errorf("revoking again = %+v, %v; want the first revocation kept", got, err)
		}
		if _, err := s.RevokeToken(ctx, nil, info.ID+100, t0); !errors.Is(err, auth.ErrUnknownToken) {
			t.Errorf("unknown token: %v", err)
		}
	})
}

func TestSetPassword(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		mustAddUser(t, s, "ops1", auth.RoleOps, nil, "")
		if _, _, _, err := s.Login(ctx, "ops1", password, time.Hour, t0); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("login without a password: %v, want ErrBadCredentials", err)
		}
		u, err := s.SetPassword(ctx, nil, "ops1", password, t0)
		if err != nil || !u.HasPassword {
			t.Fatalf("SetPassword = %+v, %v", u, err)
		}
		if _, _, _, err := s.Login(ctx, "ops1", password, time.Hour, t0); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		if _, err := s.SetPassword(ctx, nil, "ops1", "short", t0); !errors.Is(err, auth.ErrPasswordTooShort) || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("a short password: %v, want ErrPasswordTooShort (invalid)", err)
		}
		if _, err := s.SetPassword(ctx, nil, "nobody", password, t0); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("an unknown user: %v, want ErrUnknownUser", err)
		}
		if u, err := s.SetPassword(ctx, nil, "ops1", "", t0); err != nil || u.HasPassword {
			t.Fatalf("removing the password = %+v, %v", u, err)
		}
		if _, _, _, err := s.Login(ctx, "ops1", password, time.Hour, t0); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login after the password was removed: %v, want ErrBadCredentials", err)
		}
	})
}
