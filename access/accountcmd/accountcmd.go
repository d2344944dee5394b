// Package accountcmd is the command line of access/operator: the user,
// token and audit commands, run by the person at the terminal against a
// database, each change recorded in the audit trail with their login as
// its actor.
package accountcmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/internal/progress"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Commands are the user, token and audit commands, run within app.
func Commands(app *command.App) []*cobra.Command {
	c := &commands{app}
	return []*cobra.Command{c.userCmd(), c.tokenCmd(), c.auditCmd()}
}

type commands struct{ *command.App }

// accountCommand makes a command working on the users, tokens and audit
// trail of --db, as the person at the terminal: body runs once the flags
// are resolved and checked.
func (c *commands) accountCommand(cmd *cobra.Command, define func(*flagset.Set), body func(o *operator.Operator, args []string) error) *cobra.Command {
	var dsn string
	return c.Command(cmd, func(fs *flagset.Set) {
		fs.StringVar(&dsn, "db", "trialwatch.db", "database: a SQLite file path or a postgres:// URL")
		fs.Check("db", flagset.Required)
		if define != nil {
			define(fs)
		}
	}, func(_ *flagset.Set, args []string) error {
		db, err := sqldb.Open(c.Ctx, dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		o, err := operator.Open(c.Ctx, db, command.Actor(), "cli")
		if err != nil {
			return err
		}
		return body(o, args)
	})
}

func (c *commands) userCmd() *cobra.Command {
	return c.Group(&cobra.Command{
		Use:   "user",
		Short: "Manage users: add, list, disable, enable, password",
		Long: `Manages the users of the database given with --db (default trialwatch.db). A
site user needs --study and --sites; a monitor needs --study (all its sites);
an admin without --study administers every study; ops reaches only the admin
listener. Every change is in the audit trail, with the login running the
command as its actor.`,
		Example: `  trialwatch user add --db tw.db --name site701 --role site --study CDISCPILOT01 --sites 701,702
  trialwatch user disable --db tw.db site701
  trialwatch user enable --db tw.db site701`,
	}, c.userAdd(), c.userList(), c.userDisable(), c.userEnable(), c.userPassword())
}

func (c *commands) userAdd() *cobra.Command {
	var in access.NewUser
	var passwordStdin bool
	return c.accountCommand(&cobra.Command{
		Use:   "add --name NAME --role site|monitor|admin|ops [--study ID [--sites 701,702]] [--password-stdin]",
		Short: "Add a user with a role and the studies and sites it works on",
		Example: `  trialwatch user add --db tw.db --name site701 --role site --study CDISCPILOT01 --sites 701,702
  trialwatch user add --db tw.db --name jane --role monitor --study CDISCPILOT01 --password-stdin
  trialwatch user add --db tw.db --name root --role admin          # no --study: every study`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.StringVar(&in.Name, "name", "", "user name, 1-64 of A-Z a-z 0-9 . _ @ - (required)")
		fs.StringVar(&in.Role, "role", "", "site, monitor, admin or ops (required)")
		fs.StringVar(&in.Study, "study", "", "study the user works on (required for site and monitor users; an admin without one administers every study)")
		fs.StringVar(&in.Sites, "sites", "", "comma-separated sites of --study a site user works for (required for --role site)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read a password for logins from the first line of standard input")
		fs.Check("name", flagset.Required)
		fs.Check("role", flagset.Required)
		fs.Also(func() error {
			site := strings.EqualFold(strings.TrimSpace(in.Role), string(auth.RoleSite))
			switch {
			case site && strings.TrimSpace(in.Study) == "":
				return fs.Bad("study", "required for --role site: the study whose --sites the user works for")
			case site && strings.TrimSpace(in.Sites) == "":
				return fs.Bad("sites", "required for --role site: the sites of --study the user works for, e.g. 701,702")
			}
			return nil
		})
	}, func(o *operator.Operator, _ []string) error {
		if passwordStdin {
			var err error
			if in.Password, err = readPassword(c.Stdin); err != nil {
				return err
			}
		}
		u, err := o.AddUser(c.Ctx, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "added user %s (%s%s)\n", u.Name, u.Role, describeGrants(u.Grants))
		return nil
	})
}

// readPassword reads a password from the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (c *commands) userPassword() *cobra.Command {
	return c.accountCommand(&cobra.Command{
		Use:   "password NAME",
		Short: "Set a user's login password from standard input; an empty line removes it",
		Long: `Sets the password NAME logs in with (12-72 characters), read from the first
line of standard input; an empty line removes it, leaving tokens only. The
user's tokens stay valid: revoke them to end sessions.`,
		Example: `  trialwatch user password --db tw.db jane < new-password.txt`,
		Args:    command.OneArg("a user NAME"),
	}, nil, func(o *operator.Operator, args []string) error {
		name := args[0]
		password, err := readPassword(c.Stdin)
		if err != nil {
			return err
		}
		if _, err := o.SetPassword(c.Ctx, name, password); err != nil {
			return err
		}
		if password == "" {
			fmt.Fprintf(c.Stdout, "removed the password of %s: it logs in with tokens only\n", name)
		} else {
			fmt.Fprintf(c.Stdout, "set the password of %s (its tokens stay valid: revoke them to end sessions)\n", name)
		}
		return nil
	})
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

func (c *commands) userList() *cobra.Command {
	return c.accountCommand(&cobra.Command{
		Use:     "list",
		Short:   "List users with their role, grants, password and status",
		Example: `  trialwatch user list --db tw.db`,
		Args:    command.NoArgs,
	}, nil, func(o *operator.Operator, _ []string) error {
		us, err := o.Users(c.Ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
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
	})
}

func (c *commands) userDisable() *cobra.Command {
	return c.accountCommand(&cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a user and revoke its tokens",
		Long: `Stops NAME from logging in and revokes all its tokens. The user is kept, as
the audit trail names it; "user enable" lets it log in again.`,
		Example: `  trialwatch user disable --db tw.db site701`,
		Args:    command.OneArg("a user NAME"),
	}, nil, func(o *operator.Operator, args []string) error {
		if _, err := o.DisableUser(c.Ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "disabled user %s and revoked its tokens\n", args[0])
		return nil
	})
}

func (c *commands) userEnable() *cobra.Command {
	return c.accountCommand(&cobra.Command{
		Use:   "enable NAME",
		Short: "Enable a disabled user again",
		Long: `Lets a disabled user log in again with its password. The tokens revoked when
it was disabled stay revoked: create new ones with "token create".`,
		Example: `  trialwatch user enable --db tw.db site701
  trialwatch token create --db tw.db --user site701 --expires 720h`,
		Args: command.OneArg("a user NAME"),
	}, nil, func(o *operator.Operator, args []string) error {
		if _, err := o.EnableUser(c.Ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "enabled user %s (its old tokens stay revoked: create new ones with \"token create\")\n", args[0])
		return nil
	})
}

func (c *commands) tokenCmd() *cobra.Command {
	return c.Group(&cobra.Command{
		Use:   "token",
		Short: "Manage API tokens: create, list, revoke",
		Long: `Manages the API tokens of the database given with --db (default
trialwatch.db). A token is shown once, when created; only its hash is stored.`,
		Example: `  trialwatch token create --db tw.db --user jane --label laptop --expires 720h
  trialwatch token list --db tw.db --user jane
  trialwatch token revoke --db tw.db 7`,
	}, c.tokenCreate(), c.tokenList(), c.tokenRevoke())
}

func (c *commands) tokenCreate() *cobra.Command {
	var name, label string
	var ttl time.Duration
	return c.accountCommand(&cobra.Command{
		Use:     "create --user NAME [--label TEXT] [--expires 720h]",
		Short:   "Create a token for a user; it is printed once, only its hash is stored",
		Example: `  trialwatch token create --db tw.db --user jane --label laptop --expires 720h`,
		Args:    command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.StringVar(&name, "user", "", "user the token acts for (required)")
		fs.StringVar(&label, "label", "", "what the token is for, shown in lists")
		fs.DurationVar(&ttl, "expires", 90*24*time.Hour, "lifetime; 0 never expires")
		fs.Check("user", flagset.Required)
		fs.Check("expires", flagset.NotNegative)
	}, func(o *operator.Operator, _ []string) error {
		plain, info, err := o.CreateToken(c.Ctx, name, label, ttl)
		if err != nil {
			return err
		}
		expires := "never"
		if !info.Expires.IsZero() {
			expires = info.Expires.Format(time.RFC3339)
		}
		fmt.Fprintf(c.Stderr, "token %d for %s, expires %s; shown only now:\n", info.ID, name, expires)
		fmt.Fprintln(c.Stdout, plain)
		return nil
	})
}

func (c *commands) tokenList() *cobra.Command {
	var name string
	return c.accountCommand(&cobra.Command{
		Use:     "list [--user NAME]",
		Short:   "List tokens (never their secret)",
		Example: `  trialwatch token list --db tw.db --user jane`,
		Args:    command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.StringVar(&name, "user", "", "only this user's tokens")
	}, func(o *operator.Operator, _ []string) error {
		ts, err := o.Tokens(c.Ctx, name)
		if err != nil {
			return err
		}
		when := func(t time.Time, zero string) string {
			if t.IsZero() {
				return zero
			}
			return t.Format(time.RFC3339)
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Label, when(t.Created, "-"),
				when(t.Expires, "never"), when(t.Revoked, "-"), when(t.LastUsed, "-"))
		}
		return tw.Flush()
	})
}

func (c *commands) tokenRevoke() *cobra.Command {
	return c.accountCommand(&cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token by its ID (from token list)",
		Example: `  trialwatch token revoke --db tw.db 7`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := command.OneArg("a token ID")(cmd, args); err != nil {
				return err
			}
			if id, err := strconv.ParseInt(args[0], 10, 64); err != nil || id < 1 {
				return command.Usagef("token ID %q: want a positive whole number, as token list shows", args[0])
			}
			return nil
		},
	}, nil, func(o *operator.Operator, args []string) error {
		id, _ := strconv.ParseInt(args[0], 10, 64)
		if _, err := o.RevokeToken(c.Ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "revoked token %d\n", id)
		return nil
	})
}

func (c *commands) auditCmd() *cobra.Command {
	return c.Group(&cobra.Command{
		Use:     "audit",
		Short:   "Verify the audit trail's hash chain",
		Example: `  trialwatch audit verify --db tw.db`,
	}, c.auditVerify())
}

func (c *commands) auditVerify() *cobra.Command {
	var anchorText string
	var anchor audit.Anchor
	return c.accountCommand(&cobra.Command{
		Use:   "verify [--anchor SEQ:HASH]",
		Short: "Check the audit trail's hash chain, optionally against an anchor kept elsewhere",
		Long: `Checks the audit trail's hash chain from the first record to the last: an
edited, deleted, inserted or reordered record is reported with its sequence
number, and the command exits 1. It prints the last record's SEQ:HASH: keep
it somewhere the database's administrators cannot write, and pass it as
--anchor later to prove that nothing up to it was rewritten or cut off,
which the chain alone cannot show.`,
		Example: `  trialwatch audit verify --db tw.db     # exit 1 naming the first broken record; prints "head SEQ:HASH"
  trialwatch audit verify --db tw.db --anchor 1234:5f0c…`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		fs.StringVar(&anchorText, "anchor", "", "SEQ:HASH an earlier verify printed: the record SEQ must still have HASH")
		fs.Check("anchor", func(any) string {
			var err error
			if anchorText != "" {
				if anchor, err = audit.ParseAnchor(anchorText); err != nil {
					return "want SEQ:HASH as verify prints it"
				}
			}
			return ""
		})
	}, func(o *operator.Operator, _ []string) error {
		prog := progress.New(c.Stderr, progress.Every(progress.DefaultEvery))
		prog.Start("verifying the audit trail", 0)
		n, head, err := o.Trail().Check(c.Ctx, anchor, func(checked int64) {
			prog.Relabel(fmt.Sprintf("verifying the audit trail: %d records", checked))
		})
		prog.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "audit trail intact: %d records, hash chain verified", n)
		if anchor.Seq > 0 {
			fmt.Fprintf(c.Stdout, ", anchor %d matches", anchor.Seq)
		}
		fmt.Fprintf(c.Stdout, "\nhead %s\n", head)
		return nil
	})
}
