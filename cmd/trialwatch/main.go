// Command trialwatch runs the clinical-trial monitoring services: all in
// one process (demo, serve) or one service per process (serve NAME), and
// loads SDTM data (import).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/access/accountcmd"
	"github.com/trialwatch/trialwatch/internal/command"
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

// run runs the command line args and returns the process's exit code
// (command.App.Execute says which).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newCLI(ctx, stdin, stdout, stderr).Execute(args)
}

// stdin is where commands read passwords; tests replace it.
var stdin io.Reader = os.Stdin

// cli is one run of the command line.
type cli struct{ *command.App }

func newCLI(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) *cli {
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
		Version: version(),
	}
	root.SetVersionTemplate("trialwatch {{.Version}}\n")
	c := &cli{command.New(ctx, root, envPrefix, stdin, stdout, stderr)}
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
	for _, cmd := range accountcmd.Commands(c.App) {
		cmd.GroupID = "admin"
		root.AddCommand(cmd)
	}
	return c
}
