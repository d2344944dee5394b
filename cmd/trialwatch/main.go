// Command trialwatch runs the clinical-trial monitoring services: all in
// one process (demo, serve) or one service per process (serve NAME), and
// loads SDTM data (import).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/internal/gctune"
)

func main() {
	gctune.Apply() // GOGC and GOMEMLIMIT in the environment still win
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// envPrefix starts the environment variables that set flags:
// TRIALWATCH_DB sets --db.
const envPrefix = "TRIALWATCH"

// errUsage marks a usage error already explained to the user on stderr.
var errUsage = errors.New("usage")

// usageError is a command line the command cannot run: exit code 2, with
// the reason on one line.
type usageError struct{ reason string }

func (e usageError) Error() string { return e.reason }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// failed is what a command that ran returns when it did not succeed:
// exit code 1. Everything else a run returns is about the command line.
type failed struct{ err error }

func (e failed) Error() string { return e.err.Error() }
func (e failed) Unwrap() error { return e.err }

// run runs the command line args and returns the process's exit code: 0
// when it succeeded or showed help, 2 when the command line was wrong
// (the reason on stderr, in one line), 1 when the command failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI(ctx, stdout, stderr)
	c.root.SetArgs(args)
	cmd, err := c.root.ExecuteC()
	var fail failed
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case isUsage(err):
		fmt.Fprintln(stderr, "trialwatch:", err)
		return 2
	case errors.As(err, &fail):
		fmt.Fprintln(stderr, "trialwatch:", err)
		return 1
	}
	// cobra's own: an unknown command or flag, a flag without its value.
	fmt.Fprintf(stderr, "trialwatch: %s (see '%s --help')\n", oneLine(err.Error()), cmd.CommandPath())
	return 2
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// isUsage says whether err is about the command line: a flag's value or
// a usage error, explained or not.
func isUsage(err error) bool {
	var bad *flagset.Error
	var usage usageError
	return errors.Is(err, errUsage) || errors.As(err, &bad) || errors.As(err, &usage)
}

// cli is one run of the command line: its context and output, and the
// --config file its commands share.
type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	root           *cobra.Command
	config         *flagset.Config // the --config file, read once per run
}

func newCLI(ctx context.Context, stdout, stderr io.Writer) *cli {
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "trialwatch",
		Short: "Monitor clinical-trial subjects and raise risk signals",
		Long: `trialwatch monitors clinical trials: sites upload SDTM data, a checker
analyses each subject and raises risk signals for medical monitors, data
managers and CRAs.

Every flag can also be set with an environment variable TRIALWATCH_<FLAG>
(upper case, - becomes _), e.g. TRIALWATCH_DB or TRIALWATCH_ADMIN_TOKEN, or
in a YAML file given with --config (or TRIALWATCH_CONFIG). A flag on the
command line wins over the environment, which wins over the file.`,
		Example: `  trialwatch demo
  trialwatch import --db tw.db --study CDISCPILOT01 sdtm/
  trialwatch serve --db tw.db --config /etc/trialwatch.yaml
  trialwatch help import`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE:          c.helpOnStderr,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("trialwatch {{.Version}}\n")
	root.SetFlagErrorFunc(flagParseError)
	c.config = flagset.NewConfig(root, envPrefix)
	root.AddGroup(&cobra.Group{ID: "run", Title: "Running trialwatch:"}, &cobra.Group{ID: "data", Title: "Data:"},
		&cobra.Group{ID: "admin", Title: "Users, tokens and the audit trail:"})
	for _, cmd := range []*cobra.Command{c.demoCmd(), c.serveCmd()} {
		cmd.GroupID = "run"
		root.AddCommand(cmd)
	}
	for _, cmd := range []*cobra.Command{c.importCmd(), c.gradeCmd(), c.genCmd()} {
		cmd.GroupID = "data"
		root.AddCommand(cmd)
	}
	for _, cmd := range []*cobra.Command{c.userCmd(), c.tokenCmd(), c.auditCmd()} {
		cmd.GroupID = "admin"
		root.AddCommand(cmd)
	}
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help shows the help of any command, e.g. trialwatch help user add.",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("no help for %q: no such command (see 'trialwatch --help')", strings.Join(args, " "))
			}
			target.SetOut(stdout)
			return target.Help()
		},
	})
	// The completion commands cobra makes: "completion" alone is a group.
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Args, cmd.RunE = noArgs, c.helpOnStderr
		}
	}
	c.root = root
	return c
}

// flagParseError says in one line what was wrong with a flag on the
// command line, as the checks of values do.
func flagParseError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		f := invalid.GetFlag()
		return &flagset.Error{Flag: f.Name, Value: invalid.GetValue(), Reason: flagset.Want(f.Value.Type(), errors.Unwrap(err))}
	}
	return usagef("%s (see '%s --help')", oneLine(err.Error()), cmd.CommandPath())
}

// command makes a command that runs body once its flags are resolved
// (command line, environment, --config file) and checked.
func (c *cli) command(cmd *cobra.Command, define func(fs *flagset.Set), body func(fs *flagset.Set, args []string) error) *cobra.Command {
	fs := flagset.New(cmd, envPrefix, c.config.Read)
	if define != nil {
		define(fs)
	}
	fs.Bind()
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := fs.Resolve(); err != nil {
			return err
		}
		err := body(fs, args)
		if err != nil && !isUsage(err) {
			return failed{err}
		}
		return err
	}
	return cmd
}

// group makes a command that only holds subcommands: without one it
// shows its help on stderr and exits 2.
func (c *cli) group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args, cmd.RunE = noArgs, c.helpOnStderr
	cmd.AddCommand(subs...)
	return cmd
}

// helpOnStderr runs a command named without the subcommand it needs: its
// help, listing them, is the complaint.
func (c *cli) helpOnStderr(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(c.stderr)
	cmd.Help()
	return errUsage
}

// Positional arguments.

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for %q (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return usagef("%s takes no arguments, got %q", cmdName(cmd), args)
	}
	return nil
}

// oneArg wants exactly one argument, what.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usagef("%s needs %s", cmdName(cmd), what)
		case len(args) > 1:
			return usagef("%s takes one %s, got %q", cmdName(cmd), what, args)
		}
		return nil
	}
}

// cmdName is cmd's path below trialwatch, for messages trialwatch's name
// starts.
func cmdName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}
