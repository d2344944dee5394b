package operator

import (
	"fmt"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every change an operator makes is in the audit trail with the entity
// and action the API's record of it has, naming the operator and its
// source; reading changes nothing.
func TestOperatorAuditsEveryChange(t *testing.T) {
	ctx := t.Context()
	db := sqldbtest.SQLite(t)
	o, err := Open(ctx, db, "cli:jane", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.AddUser(ctx, access.NewUser{Name: "mon", Role: "monitor", Study: "S"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SetPassword(ctx, "mon", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	_, tok, err := o.CreateToken(ctx, "mon", "laptop", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := o.DisableUser(ctx, "mon"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.EnableUser(ctx, "mon"); err != nil {
		t.Fatal(err)
	}
	if us, err := o.Users(ctx); err != nil || len(us) != 1 {
		t.Fatalf("users %v, %v", us, err)
	}
	if ts, err := o.Tokens(ctx, "mon"); err != nil || len(ts) != 1 {
		t.Fatalf("tokens %v, %v", ts, err)
	}
	recs, err := o.Trail().Query(ctx, audit.Filter{AllStudies: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Actor, r.Source, r.Entity, r.Action))
	}
	want := []string{"cli:jane cli user create", "cli:jane cli user password", "cli:jane cli token create",
		"cli:jane cli token revoke", "cli:jane cli user disable", "cli:jane cli user enable"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit trail:\n%q\nwant\n%q", got, want)
	}
}
