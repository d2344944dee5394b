package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Each demo user's token and password sign in as its role with the
// grants the welcome says, and the welcome's example for each role
// carries that role's token.
func TestUsersSignInAsTheWelcomeSays(t *testing.T) {
	ctx := t.Context()
	db := sqldbtest.SQLite(t)
	o, err := operator.Open(ctx, db, "system:demo", "demo")
	if err != nil {
		t.Fatal(err)
	}
	users, err := Users(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	Welcome(&out, Served{API: "http://api", Admin: "https://admin", Database: "demo.db", Took: 1500 * time.Millisecond}, users)
	welcome := out.String()
	roles := map[auth.Role]bool{}
	for _, u := range users {
		roles[u.Role] = true
		id, err := store.Authenticate(ctx, u.Token, time.Now())
		if err != nil || id.Name != u.Name || id.Role != u.Role {
			t.Errorf("%s's token: %+v, %v; want %s as %s", u.Name, id, err, u.Name, u.Role)
		}
		if _, _, id, err := store.Login(ctx, u.Name, u.Password, time.Hour, time.Now()); err != nil || id.Role != u.Role {
			t.Errorf("%s's password: %+v, %v", u.Name, id, err)
		}
		if len(u.Password) != 16 {
			t.Errorf("%s's password %q: want 16 characters", u.Name, u.Password)
		}
		if !strings.Contains(welcome, "password "+u.Password+"  token "+u.Token) {
			t.Errorf("the welcome does not show %s's password and token:\n%s", u.Name, welcome)
		}
	}
	if len(roles) != 4 {
		t.Errorf("roles %v: want one user for each of the four", roles)
	}
	site := users[0]
	if id, _ := store.Authenticate(ctx, site.Token, time.Now()); !id.HasStudy(pilotdata.Study) || id.Role != auth.RoleSite {
		t.Errorf("the site user %+v cannot see %s", id, pilotdata.Study)
	} else if all, sites := id.Sites(pilotdata.Study); all || len(sites) != 1 || sites[0] != "701" {
		t.Errorf("the site user sees all=%v sites %v of %s; want site 701 only", all, sites, pilotdata.Study)
	}
	for _, want := range []string{"loaded and served in 1.5s", "browser  http://api/ui/", "admin    https://admin",
		"Bearer " + site.Token + "' 'http://api/api/v1/studies/" + pilotdata.Study + "/signals"} {
		if !strings.Contains(welcome, want) {
			t.Errorf("the welcome lacks %q:\n%s", want, welcome)
		}
	}
}
