package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/pilotdata"
)

func (c *cli) demoCmd() *cobra.Command {
	var cfg config
	return c.command(&cobra.Command{
		Use:   "demo",
		Short: "Serve the CDISC pilot study on embedded SQLite",
		Long: `Loads the public CDISC pilot study CDISCPILOT01 (306 subjects, 17 sites) into a
new SQLite file, starts all four services in one process and prints the URLs,
example curls, and one user per role with a password for the browser and a
24-hour API token each. Ctrl-C stops it and removes the file.`,
		Example: `  trialwatch demo
  trialwatch demo --http 127.0.0.1:8088 --admin 127.0.0.1:9098`,
		Args: noArgs,
	}, func(fs *flagset.Set) {
		cfg.serverFlags(fs, "")
		cfg.checkerFlags(fs)
		fs.Lookup("db").Usage = "database to load the pilot study into (default: a new SQLite file removed on exit)"
	}, func(*flagset.Set, []string) error { return demo(c.ctx, cfg, c.stdout, c.stderr) })
}

func demo(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	start := time.Now()
	if cfg.db == "" {
		dir, err := os.MkdirTemp("", "trialwatch-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.db = filepath.Join(dir, "demo.db")
	}
	if err := cfg.secrets(false); err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, cfg.logFormat, stderr)
	if err != nil {
		return err
	}
	n, err := newNode(cfg, log)
	if err != nil {
		return err
	}
	if err := loadPilot(ctx, n); err != nil {
		n.close()
		return fmt.Errorf("loading the pilot study: %w", err)
	}
	if err := addServices(ctx, n, ""); err != nil {
		n.close()
		return err
	}
	tokens, err := demoUsers(ctx, n)
	if err != nil {
		n.close()
		return fmt.Errorf("creating the demo users: %w", err)
	}
	printWelcome(stdout, n, tokens, time.Since(start))
	return n.run(ctx)
}

// demoUser is one user the demo creates, one per role.
type demoUser struct {
	name, study, sites string
	role               auth.Role
	token, password    string
}

// demoUsers creates one user per role (a site user of the pilot's site
// 701) with a day-long token for the API and a password for the browser
// each.
func demoUsers(ctx context.Context, n *node) ([]demoUser, error) {
	users := []demoUser{
		{name: "site701", role: auth.RoleSite, study: pilotdata.Study, sites: "701"},
		{name: "monitor", role: auth.RoleMonitor, study: pilotdata.Study},
		{name: "admin", role: auth.RoleAdmin},
		{name: "ops", role: auth.RoleOps},
	}
	o := operator.New(n.db, n.users, n.trail, "system:demo", "demo")
	for i, u := range users {
		users[i].password = demoPassword()
		_, err := o.AddUser(ctx, access.NewUser{Name: u.name, Role: string(u.role), Study: u.study, Sites: u.sites, Password: users[i].password})
		if err != nil {
			return nil, err
		}
		if users[i].token, _, err = o.CreateToken(ctx, u.name, "demo", 24*time.Hour); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// loadPilot streams the pilot into the node's database the way `import`
// does, queueing a check of every subject.
func loadPilot(ctx context.Context, n *node) error {
	db, err := n.openDB(ctx)
	if err != nil {
		return err
	}
	_, err = local.Import(ctx, db, pilotdata.Study, ingest.PilotFiles(), ingest.DefaultChunk, "system:demo", "demo")
	return err
}

func printWelcome(w io.Writer, n *node, users []demoUser, took time.Duration) {
	api, adm := n.httpURL(), n.adminURL()
	fmt.Fprintf(w, "trialwatch demo: CDISC pilot study %s loaded and served in %v\n  browser  %s/ui/\n  API      %s\n  admin    %s\n  database %s\n\n",
		pilotdata.Study, took.Round(time.Millisecond), api, api, adm, n.cfg.db)
	fmt.Fprintln(w, "Users, one per role: a password to sign in with in the browser, and an API token valid for 24 hours (shown only now):")
	token := map[auth.Role]string{}
	for _, u := range users {
		where := "all studies"
		switch {
		case u.role == auth.RoleOps:
			where = "admin listener only"
		case u.sites != "":
			where = u.study + " site " + u.sites
		case u.study != "":
			where = u.study + ", every site"
		}
		fmt.Fprintf(w, "  %-8s %-8s %-28s password %s  token %s\n", u.name, u.role, where, u.password, u.token)
		token[u.role] = u.token
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
`, pilotdata.Study, api, adm, token[auth.RoleMonitor], token[auth.RoleSite], token[auth.RoleAdmin], token[auth.RoleOps])
}

// demoPassword is a random password that is easy to copy: 16 letters and
// digits, about 80 bits.
func demoPassword() string { return rand.Text()[:16] }

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
