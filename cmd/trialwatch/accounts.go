package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
)

// accounts is what the user, token and audit commands work on: the
// database's users and its audit trail, with the person at the terminal
// as the actor of every change.
type accounts struct {
	db    *sqldb.DB
	users *auth.Store
	trail *audit.Log
	actor string
	from  string // the audit records' source
}

func openAccounts(ctx context.Context, dsn string) (*accounts, error) {
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	a := &accounts{db: db, actor: cliActor(), from: "cli"}
	if a.users, err = auth.Open(ctx, db); err == nil {
		a.trail, err = audit.Open(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// cliActor names who runs a command in the audit trail.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli:uid-" + strconv.Itoa(os.Getuid())
}

// change makes one change in a transaction with its audit record, rec
// completed by what fn returns.
func (a *accounts) change(ctx context.Context, rec audit.Record, fn func(tx *sql.Tx) (audit.Change, error)) error {
	rec.Actor, rec.Source = a.actor, a.from
	ctx = audit.WithPending(ctx, audit.NewPending(a.trail, rec))
	return audit.InTx(ctx, a.db, rec.Study, fn)
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

// accountFlags parses args with the --db flag every account command takes.
func accountFlags(ctx context.Context, name string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (*accounts, *flag.FlagSet, error) {
	fs := newFlagSet(name, stderr)
	dsn := fs.String("db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
	if define != nil {
		define(fs)
	}
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	a, err := openAccounts(ctx, *dsn)
	return a, fs, err
}

func userAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name, role, study, sites string
	var passwordStdin bool
	a, fs, err := accountFlags(ctx, "user add", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "user name (required)")
		fs.StringVar(&role, "role", "", "site, monitor, admin or ops (required)")
		fs.StringVar(&study, "study", "", "study the user works on")
		fs.StringVar(&sites, "sites", "", "comma-separated sites of --study (site users); empty means every site")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read a password for logins from the first line of standard input")
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	if name == "" || role == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "Usage: "+userUsage)
		return errUsage
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		return err
	}
	var grants []auth.Grant
	if study != "" {
		if grants, err = auth.ParseGrants(study, sites); err != nil {
			return err
		}
	}
	password := ""
	if passwordStdin {
		if password, err = readPassword(stdin); err != nil {
			return err
		}
	}
	var u auth.User
	err = a.change(ctx, audit.Record{Study: study, Entity: "user", Action: "create"}, func(tx *sql.Tx) (audit.Change, error) {
		u, err = a.users.AddUser(ctx, tx, name, r, grants, password, time.Now())
		return audit.Change{EntityID: name, New: userSummary(u)}, err
	})
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
	a, fs, err := accountFlags(ctx, "user password", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "Usage: "+userUsage)
		return errUsage
	}
	name := fs.Arg(0)
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	before, err := a.users.User(ctx, name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	err = a.change(ctx, audit.Record{Entity: "user", Action: "password"}, func(tx *sql.Tx) (audit.Change, error) {
		after, err := a.users.SetPassword(ctx, tx, name, password, time.Now())
		return audit.Change{EntityID: name, Old: userSummary(before), New: userSummary(after)}, err
	})
	if err != nil {
		return err
	}
	if password == "" {
		fmt.Fprintf(stdout, "removed the password of %s: it logs in with tokens only\n", name)
	} else {
		fmt.Fprintf(stdout, "set the password of %s (its tokens stay valid: revoke them to end sessions)\n", name)
	}
	return nil
}

func userSummary(u auth.User) map[string]any {
	return map[string]any{"name": u.Name, "role": u.Role, "grants": u.Grants, "disabled": u.Disabled, "has_password": u.HasPassword}
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
	a, _, err := accountFlags(ctx, "user list", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	us, err := a.users.Users(ctx)
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
	a, fs, err := accountFlags(ctx, "user disable", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "Usage: "+userUsage)
		return errUsage
	}
	name := fs.Arg(0)
	before, err := a.users.User(ctx, name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	err = a.change(ctx, audit.Record{Entity: "user", Action: "disable"}, func(tx *sql.Tx) (audit.Change, error) {
		after, err := a.users.DisableUser(ctx, tx, name, time.Now())
		return audit.Change{EntityID: name, Old: userSummary(before), New: userSummary(after)}, err
	})
	if err != nil {
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
	a, fs, err := accountFlags(ctx, "token create", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "user", "", "user the token acts for (required)")
		fs.StringVar(&label, "label", "", "what the token is for, shown in lists")
		fs.DurationVar(&ttl, "expires", 90*24*time.Hour, "lifetime; 0 never expires")
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	if name == "" || fs.NArg() > 0 || ttl < 0 {
		fmt.Fprint(stderr, "Usage: "+tokenUsage)
		return errUsage
	}
	plain, info, err := createToken(ctx, a, name, label, ttl)
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

// createToken issues a token for user, with its audit record.
func createToken(ctx context.Context, a *accounts, user, label string, ttl time.Duration) (string, auth.TokenInfo, error) {
	var plain string
	var info auth.TokenInfo
	err := a.change(ctx, audit.Record{Entity: "token", Action: "create"}, func(tx *sql.Tx) (_ audit.Change, err error) {
		plain, info, err = a.users.CreateToken(ctx, tx, user, label, ttl, time.Now())
		return audit.Change{EntityID: strconv.FormatInt(info.ID, 10), New: tokenSummary(info)}, err
	})
	return plain, info, err
}

func tokenSummary(t auth.TokenInfo) map[string]any {
	return map[string]any{"id": t.ID, "user": t.User, "label": t.Label, "expires": t.Expires, "revoked": t.Revoked}
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name string
	a, _, err := accountFlags(ctx, "token list", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "user", "", "only this user's tokens")
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	ts, err := a.users.Tokens(ctx, name)
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
	a, fs, err := accountFlags(ctx, "token revoke", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	id, perr := strconv.ParseInt(fs.Arg(0), 10, 64)
	if fs.NArg() != 1 || perr != nil {
		fmt.Fprint(stderr, "Usage: "+tokenUsage)
		return errUsage
	}
	err = a.change(ctx, audit.Record{Entity: "token", Action: "revoke"}, func(tx *sql.Tx) (audit.Change, error) {
		after, err := a.users.RevokeToken(ctx, tx, id, time.Now())
		return audit.Change{EntityID: fs.Arg(0), New: tokenSummary(after)}, err
	})
	if err != nil {
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
	var anchor string
	a, _, err := accountFlags(ctx, "audit verify", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&anchor, "anchor", "", "SEQ:HASH an earlier verify printed: the record SEQ must still have HASH")
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	var anchorSeq int64
	var anchorHash string
	if anchor != "" {
		seq, hash, ok := strings.Cut(anchor, ":")
		n, perr := strconv.ParseInt(seq, 10, 64)
		if !ok || perr != nil || n < 1 || len(hash) != 64 {
			return fmt.Errorf("--anchor %q: want SEQ:HASH as verify prints it, e.g. 42:%s", anchor, strings.Repeat("0f", 32))
		}
		anchorSeq, anchorHash = n, hash
	}
	prog := newProgress(stderr)
	prog.start("verifying the audit trail", 0)
	n, brk, err := a.trail.Verify(ctx, func(checked int64) {
		if time.Since(prog.last) > 100*time.Millisecond {
			prog.label = fmt.Sprintf("verifying the audit trail: %d records", checked)
			prog.draw(false)
		}
	})
	prog.finish()
	if err != nil {
		return err
	}
	if brk != nil {
		return fmt.Errorf("audit trail broken at record %d: %s (%d records before it verified)", brk.Seq, brk.Reason, n)
	}
	head, err := a.record(ctx, n)
	if err != nil {
		return err
	}
	if anchorSeq > 0 {
		at, err := a.record(ctx, anchorSeq)
		switch {
		case err != nil:
			return err
		case at.Seq != anchorSeq:
			return fmt.Errorf("audit trail cut off: the anchor is record %d, the trail ends at %d", anchorSeq, n)
		case at.Hash != anchorHash:
			return fmt.Errorf("audit trail rewritten: record %d has hash %s, the anchor says %s", anchorSeq, at.Hash, anchorHash)
		}
	}
	fmt.Fprintf(stdout, "audit trail intact: %d records, hash chain verified", n)
	if anchorSeq > 0 {
		fmt.Fprintf(stdout, ", anchor %d matches", anchorSeq)
	}
	fmt.Fprintf(stdout, "\nhead %d:%s\n", head.Seq, head.Hash)
	return nil
}

// record reads audit record seq; a zero Record when there is none.
func (a *accounts) record(ctx context.Context, seq int64) (audit.Record, error) {
	if seq < 1 {
		return audit.Record{}, nil
	}
	recs, err := a.trail.Query(ctx, audit.Filter{AllStudies: true, AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(recs) == 0 || recs[0].Seq != seq {
		return audit.Record{}, err
	}
	return recs[0], nil
}
