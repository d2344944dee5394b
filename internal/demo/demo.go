// Package demo is what `trialwatch demo` adds to a node serving the
// CDISC pilot: one user per role with a password and a day-long token, and
// the welcome that tells a newcomer how to use them.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/pilotdata"
)

// User is one user the demo creates, one per role.
type User struct {
	Name, Study, Sites string
	Role               auth.Role
	Token, Password    string
}

// Users creates one user per role (a site user of the pilot's site 701)
// with a day-long token for the API and a password for the browser each.
func Users(ctx context.Context, o *operator.Operator) ([]User, error) {
	users := []User{
		{Name: "site701", Role: auth.RoleSite, Study: pilotdata.Study, Sites: "701"},
		{Name: "monitor", Role: auth.RoleMonitor, Study: pilotdata.Study},
		{Name: "admin", Role: auth.RoleAdmin},
		{Name: "ops", Role: auth.RoleOps},
	}
	for i, u := range users {
		users[i].Password = password()
		_, err := o.AddUser(ctx, access.NewUser{Name: u.Name, Role: string(u.Role), Study: u.Study, Sites: u.Sites, Password: users[i].Password})
		if err != nil {
			return nil, err
		}
		if users[i].Token, _, err = o.CreateToken(ctx, u.Name, "demo", 24*time.Hour); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// password is a random password that is easy to copy: 16 letters and
// digits, about 80 bits.
func password() string { return rand.Text()[:16] }

// Served says where the demo serves.
type Served struct {
	API, Admin, Database string
	Took                 time.Duration // loading and starting
}

// Welcome prints where the demo serves, its users and example commands
// each role can run.
func Welcome(w io.Writer, s Served, users []User) {
	fmt.Fprintf(w, "trialwatch demo: CDISC pilot study %s loaded and served in %v\n  browser  %s/ui/\n  API      %s\n  admin    %s\n  database %s\n\n",
		pilotdata.Study, s.Took.Round(time.Millisecond), s.API, s.API, s.Admin, s.Database)
	fmt.Fprintln(w, "Users, one per role: a password to sign in with in the browser, and an API token valid for 24 hours (shown only now):")
	token := map[auth.Role]string{}
	for _, u := range users {
		where := "all studies"
		switch {
		case u.Role == auth.RoleOps:
			where = "admin listener only"
		case u.Sites != "":
			where = u.Study + " site " + u.Sites
		case u.Study != "":
			where = u.Study + ", every site"
		}
		fmt.Fprintf(w, "  %-8s %-8s %-28s password %s  token %s\n", u.Name, u.Role, where, u.Password, u.Token)
		token[u.Role] = u.Token
	}
	fmt.Fprintf(w, `
Check a subject as the monitor (fans out to the subject, exposure and adverse-event services):
  curl -s -X POST -H 'Authorization: Bearer %[4]s' %[2]s/api/v1/studies/%[1]s/subjects/01-701-1015/checks
List the high and critical signals of site 701, as its site user:
  curl -s -H 'Authorization: Bearer %[5]s' '%[2]s/api/v1/studies/%[1]s/signals?min_severity=high&limit=20'
Read the audit trail as the admin:
  curl -s -H 'Authorization: Bearer %[6]s' '%[2]s/api/v1/studies/%[1]s/audit?format=csv'
Metrics and profiles, as ops:
  curl -s -H 'Authorization: Bearer %[7]s' %[3]s/metrics | grep trialwatch_
  curl -s -H 'Authorization: Bearer %[7]s' '%[3]s/debug/pprof/goroutine?debug=1'

Press Ctrl-C to stop.
`, pilotdata.Study, s.API, s.Admin, token[auth.RoleMonitor], token[auth.RoleSite], token[auth.RoleAdmin], token[auth.RoleOps])
}
