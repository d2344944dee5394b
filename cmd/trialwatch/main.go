// Command trialwatch runs the clinical-trial monitoring services: all in
// one process (demo, serve) or one service per process (serve NAME), and
// loads SDTM data (import).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/trialwatch/trialwatch/internal/gctune"
)

const usage = `trialwatch monitors clinical-trial subjects and raises risk signals.

Usage:
  trialwatch demo   [flags]          serve the CDISC pilot study on embedded SQLite
  trialwatch serve  [flags]          run all services in one process
  trialwatch serve  SERVICE [flags]  run one service: subjects, exposure, events or checker
  trialwatch import --db DSN --study ID FILES...
                                     load SDTM domains (DM, EX, AE, LB, DS, CM), streamed
                                     in bounded memory
  trialwatch grade  --lb FILE [flags] grade LB records by CTCAE v4.03 or v5.0
  trialwatch gen-study --subjects N --labs-per-subject M --out DIR
                                     write a synthetic study's DM and LB as SDTM CSV
  trialwatch user  add|list|disable  manage users (role, study, sites)
  trialwatch token create|list|revoke
                                     manage API tokens (shown once, stored hashed)
  trialwatch audit verify            check the audit trail's hash chain

Every flag can also be set with an environment variable TRIALWATCH_<FLAG>,
e.g. TRIALWATCH_DB or TRIALWATCH_ADMIN_TOKEN. Run "trialwatch CMD -h" for flags.
`

func main() {
	gctune.Apply() // GOGC and GOMEMLIMIT in the environment still win
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a usage error already explained to the user on stderr.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = demo(ctx, args[1:], stdout, stderr)
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "grade":
		err = gradeCmd(ctx, args[1:], stdout, stderr)
	case "gen-study":
		err = genCmd(ctx, args[1:], stdout, stderr)
	case "user":
		err = userCmd(ctx, args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		err = auditCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "trialwatch: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var bad *flagError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &bad):
		fmt.Fprintln(stderr, "trialwatch:", err)
		return 2
	}
	fmt.Fprintln(stderr, "trialwatch:", err)
	return 1
}
