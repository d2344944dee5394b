package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
)

// accounts is what the user, token and audit commands work on: the
// database's users and its audit trail, managed by the person at the
// terminal, the actor of every change.
type accounts struct {
	db    *sqldb.DB
	admin *access.AccountAdmin
	trail *audit.Log
	as    auth.Identity
	from  string // the audit records' source
}

func openAccounts(ctx context.Context, dsn string) (*accounts, error) {
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	a, err := newAccounts(ctx, db, cliActor(), "cli")
	if err != nil {
		db.Close()
	}
	return a, err
}

func newAccounts(ctx context.Context, db *sqldb.DB, actor, from string) (*accounts, error) {
	users, err := auth.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	return &accounts{db: db, admin: access.NewAccountAdmin(db, users), trail: trail, as: access.Superuser(actor), from: from}, nil
}

// nodeAccounts are the accounts of a node running the checker, which
// opened its users and audit trail.
func nodeAccounts(n *node, actor, from string) *accounts {
	return &accounts{db: n.db, admin: access.NewAccountAdmin(n.db, n.users), trail: n.trail, as: access.Superuser(actor), from: from}
}

// cliActor names who runs a command in the audit trail.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli:uid-" + strconv.Itoa(os.Getuid())
}

// audited returns ctx carrying the audit record of one change, as the
// router starts one for each changing request.
func (a *accounts) audited(ctx context.Context, entity, action string) context.Context {
	return audit.WithPending(ctx, audit.NewPending(a.trail, audit.Record{Actor: a.as.Name, Entity: entity, Action: action, Source: a.from}))
}

// subcommand splits "NAME args..." and runs the named function.
func subcommand(ctx context.Context, args []string, stdout, stderr io.Writer,
	subs map[string]func(context.Context, []string, io.Writer, io.Writer) error, usage string) error {
	if len(args) == 0 || subs[args[0]] == nil {
		fmt.Fprintf(stderr, "Usage: %s", usage)
		return errUsage
	}
	return subs[args[0]](ctx, args[1:], stdout, stderr)
}

const userUsage = `trialwatch user add --name NAME --role site|monitor|admin|ops [--study ID [--sites 701,702]] [--password-stdin]
       trialwatch user list
       trialwatch user disable NAME
       trialwatch user password NAME     (the new password on standard input; an empty line removes it)
Every command takes --db (default trialwatch.db). A site user needs --study and
--sites; a monitor needs --study (all its sites); an admin without --study
administers every study; ops reaches only the admin listener.
`

func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"add": userAdd, "list": userList, "disable": userDisable, "password": userPassword,
	}, userUsage)
}

// accountFlags parses args with the --db flag every account command
// takes and, if they are valid, opens the accounts. args says whether the
// arguments after the flags are right; if not, the usage is shown.
func accountFlags(ctx context.Context, name string, args []string, stderr io.Writer, usage string,
	define func(*flagSet), argsOK func(fs *flagSet) bool) (*accounts, *flagSet, error) {
	fs := newFlagSet(name, stderr)
	var dsn string
	fs.StringVar(&dsn, "db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
	fs.check("db", required)
	if define != nil {
		define(fs)
	}
	if err := fs.parse(args); err != nil {
		return nil, nil, err
	}
	if !argsOK(fs) {
		fmt.Fprint(stderr, "Usage: "+usage)
		return nil, nil, errUsage
	}
	a, err := openAccounts(ctx, dsn)
	return a, fs, err
}

func noArgs(fs *flagSet) bool { return fs.NArg() == 0 }
func oneArg(fs *flagSet) bool { return fs.NArg() == 1 }
func userAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var in access.NewUser
	var passwordStdin bool
	a, _, err := accountFlags(ctx, "user add", args, stderr, userUsage, func(fs *flagSet) {
		fs.StringVar(&in.Name, "name", "", "user name (required)")
		fs.StringVar(&in.Role, "role", "", "site, monitor, admin or ops (required)")
		fs.StringVar(&in.Study, "study", "", "study the user works on")
		fs.StringVar(&in.Sites, "sites", "", "comma-separated sites of --study (site users); empty means every site")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read a password for logins from the first line of standard input")
	}, func(fs *flagSet) bool { return in.Name != "" && in.Role != "" && fs.NArg() == 0 })
	if err != nil {
		return err
	}
	defer a.db.Close()
	if passwordStdin {
		if in.Password, err = readPassword(stdin); err != nil {
			return err
		}
	}
	u, err := a.admin.AddUser(a.audited(ctx, "user", "create"), a.as, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added user %s (%s%s)\n", u.Name, u.Role, describeGrants(u.Grants))
	return nil
}

// readPassword reads a password from the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// stdin is where userPassword reads; tests replace it.
var stdin io.Reader = os.Stdin

func userPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs, err := accountFlags(ctx, "user password", args, stderr, userUsage, nil, oneArg)
	if err != nil {
		return err
	}
	defer a.db.Close()
	name := fs.Arg(0)
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if _, err := a.admin.SetPassword(a.audited(ctx, "user", "password"), a.as, name, password); err != nil {
		return err
	}
	if password == "" {
		fmt.Fprintf(stdout, "removed the password of %s: it logs in with tokens only\n", name)
	} else {
		fmt.Fprintf(stdout, "set the password of %s (its tokens stay valid: revoke them to end sessions)\n", name)
	}
	return nil
}

func describeGrants(gs []auth.Grant) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, g.Study+"/"+g.Site)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, " ")
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, _, err := accountFlags(ctx, "user list", args, stderr, userUsage, nil, noArgs)
	if err != nil {
		return err
	}
	defer a.db.Close()
	us, err := a.admin.Users(ctx, a.as)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tGRANTS\tPASSWORD\tSTATUS\tCREATED")
	for _, u := range us {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", u.Name, u.Role, strings.TrimPrefix(describeGrants(u.Grants), ", "),
			u.HasPassword, status, u.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}

func userDisable(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs, err := accountFlags(ctx, "user disable", args, stderr, userUsage, nil, oneArg)
	if err != nil {
		return err
	}
	defer a.db.Close()
	name := fs.Arg(0)
	if _, err := a.admin.DisableUser(a.audited(ctx, "user", "disable"), a.as, name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "disabled user %s and revoked its tokens\n", name)
	return nil
}

const tokenUsage = `trialwatch token create --user NAME [--label TEXT] [--expires 720h]
       trialwatch token list [--user NAME]
       trialwatch token revoke ID
Every command takes --db (default trialwatch.db). A token is shown once, when
created; only its hash is stored.
`

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"create": tokenCreate, "list": tokenList, "revoke": tokenRevoke,
	}, tokenUsage)
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name, label string
	var ttl time.Duration
	a, _, err := accountFlags(ctx, "token create", args, stderr, tokenUsage, func(fs *flagSet) {
		fs.StringVar(&name, "user", "", "user the token acts for (required)")
		fs.StringVar(&label, "label", "", "what the token is for, shown in lists")
		fs.DurationVar(&ttl, "expires", 90*24*time.Hour, "lifetime; 0 never expires")
		fs.check("expires", notNegative)
	}, func(fs *flagSet) bool { return name != "" && fs.NArg() == 0 })
	if err != nil {
		return err
	}
	defer a.db.Close()
	plain, info, err := a.admin.CreateToken(a.audited(ctx, "token", "create"), a.as, name, label, ttl)
	if err != nil {
		return err
	}
	expires := "never"
	if !info.Expires.IsZero() {
		expires = info.Expires.Format(time.RFC3339)
	}
	fmt.Fprintf(stderr, "token %d for %s, expires %s; shown only now:\n", info.ID, name, expires)
	fmt.Fprintln(stdout, plain)
	return nil
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name string
	a, _, err := accountFlags(ctx, "token list", args, stderr, tokenUsage, func(fs *flagSet) {
		fs.StringVar(&name, "user", "", "only this user's tokens")
	}, noArgs)
	if err != nil {
		return err
	}
	defer a.db.Close()
	ts, err := a.admin.Tokens(ctx, a.as, name)
	if err != nil {
		return err
	}
	when := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return t.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Label, when(t.Created, "-"),
			when(t.Expires, "never"), when(t.Revoked, "-"), when(t.LastUsed, "-"))
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var id int64
	a, _, err := accountFlags(ctx, "token revoke", args, stderr, tokenUsage, nil, func(fs *flagSet) bool {
		var perr error
		id, perr = strconv.ParseInt(fs.Arg(0), 10, 64)
		return fs.NArg() == 1 && perr == nil && id > 0
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	if _, err := a.admin.RevokeToken(a.audited(ctx, "token", "revoke"), a.as, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked token %d\n", id)
	return nil
}

const auditUsage = `trialwatch audit verify [--db DSN] [--anchor SEQ:HASH]
Checks the audit trail's hash chain from the first record to the last: an
edited, deleted, inserted or reordered record is reported with its sequence
number, and the command exits 1. It prints the last record's SEQ:HASH: keep
it somewhere the database's administrators cannot write, and pass it as
--anchor later to prove that nothing up to it was rewritten or cut off,
which the chain alone cannot show.
`

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"verify": auditVerify,
	}, auditUsage)
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var anchorText string
	var anchor audit.Anchor
	a, _, err := accountFlags(ctx, "audit verify", args, stderr, auditUsage, func(fs *flagSet) {
		fs.StringVar(&anchorText, "anchor", "", "SEQ:HASH an earlier verify printed: the record SEQ must still have HASH")
		fs.check("anchor", func(any) string {
			var err error
			if anchorText != "" {
				if anchor, err = audit.ParseAnchor(anchorText); err != nil {
					return "want SEQ:HASH as verify prints it"
				}
			}
			return ""
		})
	}, noArgs)
	if err != nil {
		return err
	}
	defer a.db.Close()
	prog := newProgress(stderr)
	prog.start("verifying the audit trail", 0)
	n, head, err := a.trail.Check(ctx, anchor, func(checked int64) {
		prog.relabel(fmt.Sprintf("verifying the audit trail: %d records", checked))
	})
	prog.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit trail intact: %d records, hash chain verified", n)
	if anchor.Seq > 0 {
		fmt.Fprintf(stdout, ", anchor %d matches", anchor.Seq)
	}
	fmt.Fprintf(stdout, "\nhead %s\n", head)
	return nil
}
