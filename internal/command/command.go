// Package command runs a cobra command tree the way every trialwatch
// command behaves: flags resolved from the command line, the environment
// and a --config file and checked before a command runs; exit code 2 with
// one line on stderr for a wrong command line, 1 for a command that ran
// and failed, 0 otherwise. Commands are defined where their work lives
// (the account commands beside access/operator); cmd/trialwatch only
// assembles them.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trialwatch/trialwatch/internal/flagset"
)

// ErrUsage marks a usage error already explained to the user on stderr.
var ErrUsage = errors.New("usage")

// usageError is a command line the command cannot run: exit code 2, with
// the reason on one line.
type usageError struct{ reason string }

func (e usageError) Error() string { return e.reason }

// Usagef is a command line a command cannot run, for reasons its flag
// checks could not see (its arguments): exit code 2.
func Usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// failed is what a command that ran returns when it did not succeed:
// exit code 1. Everything else a run returns is about the command line.
type failed struct{ err error }

func (e failed) Error() string { return e.err.Error() }
func (e failed) Unwrap() error { return e.err }

// IsUsage says whether err is about the command line: a flag's value or
// a usage error, explained or not.
func IsUsage(err error) bool {
	var bad *flagset.Error
	var usage usageError
	return errors.Is(err, ErrUsage) || errors.As(err, &bad) || errors.As(err, &usage)
}

// App is one run of a command line: its context, input and output, and
// the --config file its commands share.
type App struct {
	Ctx            context.Context
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	root           *cobra.Command
	envPrefix      string
	config         *flagset.Config // the --config file, read once per run
}

// New makes the run of root: flags of its commands can also be set by
// environment variables envPrefix_FLAG and in the --config file it
// defines on root. Add commands made with Command and Group, then Execute.
func New(ctx context.Context, root *cobra.Command, envPrefix string, stdin io.Reader, stdout, stderr io.Writer) *App {
	a := &App{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr, root: root, envPrefix: envPrefix}
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagParseError)
	a.config = flagset.NewConfig(root, envPrefix)
	return a
}

// Execute runs the command line args and returns the process's exit
// code: 0 when it succeeded or showed help, 2 when the command line was
// wrong (the reason on stderr, in one line), 1 when the command failed.
func (a *App) Execute(args []string) int {
	a.finish()
	a.root.SetArgs(args)
	cmd, err := a.root.ExecuteC()
	var fail failed
	name := a.root.Name() + ":"
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case IsUsage(err):
		fmt.Fprintln(a.Stderr, name, err)
		return 2
	case errors.As(err, &fail):
		fmt.Fprintln(a.Stderr, name, err)
		return 1
	}
	// cobra's own: an unknown command or flag, a flag without its value.
	fmt.Fprintf(a.Stderr, "%s %s (see '%s --help')\n", name, oneLine(err.Error()), cmd.CommandPath())
	return 2
}

// finish gives the tree, once all commands are added, a help command that
// complains on one line and completion commands that need a subcommand.
func (a *App) finish() {
	root := a.root
	if root.RunE == nil {
		root.Args, root.RunE = NoArgs, a.HelpOnStderr
	}
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help shows the help of any command, e.g. " + root.Name() + " help user add.",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return Usagef("no help for %q: no such command (see '%s --help')", strings.Join(args, " "), root.Name())
			}
			target.SetOut(a.Stdout)
			return target.Help()
		},
	})
	// The completion commands cobra makes: "completion" alone is a group.
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Args, cmd.RunE = NoArgs, a.HelpOnStderr
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// flagParseError says in one line what was wrong with a flag on the
// command line, as the checks of values do.
func flagParseError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		f := invalid.GetFlag()
		return &flagset.Error{Flag: f.Name, Value: invalid.GetValue(), Reason: flagset.Want(f.Value.Type(), errors.Unwrap(err))}
	}
	return Usagef("%s (see '%s --help')", oneLine(err.Error()), cmd.CommandPath())
}

// Command makes a command that runs body once its flags are resolved
// (command line, environment, --config file) and checked.
func (a *App) Command(cmd *cobra.Command, define func(fs *flagset.Set), body func(fs *flagset.Set, args []string) error) *cobra.Command {
	fs := flagset.New(cmd, a.envPrefix, a.config.Read)
	if define != nil {
		define(fs)
	}
	fs.Bind()
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := fs.Resolve(); err != nil {
			return err
		}
		err := body(fs, args)
		if err != nil && !IsUsage(err) {
			return failed{err}
		}
		return err
	}
	return cmd
}

// Group makes a command that only holds subcommands: without one it
// shows its help on stderr and exits 2.
func (a *App) Group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args, cmd.RunE = NoArgs, a.HelpOnStderr
	cmd.AddCommand(subs...)
	return cmd
}

// HelpOnStderr runs a command named without the subcommand it needs: its
// help, listing them, is the complaint.
func (a *App) HelpOnStderr(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(a.Stderr)
	cmd.Help()
	return ErrUsage
}

// NoArgs refuses positional arguments.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return Usagef("unknown command %q for %q (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return Usagef("%s takes no arguments, got %q", Name(cmd), args)
	}
	return nil
}

// OneArg wants exactly one argument, what.
func OneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return Usagef("%s needs %s", Name(cmd), what)
		case len(args) > 1:
			return Usagef("%s takes one %s, got %q", Name(cmd), what, args)
		}
		return nil
	}
}

// Name is cmd's path below the root, for messages the root's name
// starts.
func Name(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// Actor names who runs a command in the audit trail: the login at the
// terminal.
func Actor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli:uid-" + strconv.Itoa(os.Getuid())
}

// Root is the command the run starts from.
func (a *App) Root() *cobra.Command { return a.root }

// Config is the --config file the run's commands share.
func (a *App) Config() *flagset.Config { return a.config }
