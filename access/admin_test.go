package access

import (
	"context"
	"errors"
	"testing"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Outside a request (the command line), a change is recorded with the
// pending record its caller starts, and an admin of one study still sees
// other studies' users and tokens as unknown.
func TestAccountAdminOutsideRequests(t *testing.T) {
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
	m := NewAccountAdmin(db, users)
	root := Superuser("cli:root")
	change := func(entity, action string) context.Context {
		return audit.WithPending(ctx, audit.NewPending(trail, audit.Record{Actor: root.Name, Entity: entity, Action: action, Source: "cli"}))
	}
	if _, err := m.AddUser(change("user", "create"), root, NewUser{Name: "m2", Role: "monitor", Study: "S2"}); err != nil {
		t.Fatal(err)
	}
	_, info, err := m.CreateToken(change("token", "create"), root, "m2", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetPassword(change("user", "password"), root, "m2", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	recs := records(t, trail, "")
	if len(recs) != 3 || recs[0].Study != "S2" || recs[0].EntityID != "m2" || recs[2].Action != "password" || recs[2].Actor != "cli:root" {
		t.Fatalf("records %+v", recs)
	}

	s1, _ := auth.ParseGrants("S1", "")
	admin1 := auth.Identity{Name: "admin1", Role: auth.RoleAdmin, Grants: s1}
	if _, err := m.AddUser(ctx, admin1, NewUser{Name: "m3", Role: "monitor", Study: "S2"}); !errors.Is(err, ErrNotAdministered) {
		t.Errorf("admin of S1 adding a user of S2: %v", err)
	}
	if _, err := m.DisableUser(ctx, admin1, "m2"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("admin of S1 disabling a user of S2: %v", err)
	}
	if _, err := m.RevokeToken(ctx, admin1, info.ID); !errors.Is(err, auth.ErrUnknownToken) {
		t.Errorf("admin of S1 revoking a token of S2: %v", err)
	}
	if ts, err := m.Tokens(ctx, admin1, ""); err != nil || len(ts) != 0 {
		t.Errorf("admin of S1 lists %v, %v; want no tokens", ts, err)
	}
	if _, err := m.AddUser(ctx, root, NewUser{Name: "x", Role: "boss"}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("an unknown role: %v", err)
	}
	if got := len(records(t, trail, "")); got != 3 {
		t.Errorf("refused changes left records: %d, want 3", got)
	}
}
