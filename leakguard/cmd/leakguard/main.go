// Command leakguard fetches, analyzes and compares goroutine dumps to find
// goroutine leaks.
//
//	leakguard fetch [-token T] [-o FILE] URL
//	leakguard analyze [-format text|json|html] [-top N] [-frames N] FILE|-
//	leakguard diff [-format text|json] [-top N] [-all] OLD NEW
//	leakguard watch [-interval 10s] [-token T] [-count N] [-top N] URL
//
// The token may also come from $LEAKGUARD_TOKEN, which keeps it out of shell
// history and process listings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "leakguard:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage marks mistakes in the command line, which exit with status 2 like
// the flag package's own errors.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `usage: leakguard <command> [flags] [args]

commands:
  fetch    download a goroutine dump from a pprof endpoint
  analyze  group a dump's goroutines by stack and report the largest groups
  diff     rank how groups grew between two dumps
  watch    poll an endpoint and report groups that keep growing

Run "leakguard <command> -h" for a command's flags.
`

type command func(args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"fetch":   runFetch,
	"analyze": runAnalyze,
	"diff":    runDiff,
	"watch":   runWatch,
}

// run is main without the process: tests call it with their own writers.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd(args[1:], stdout, stderr)
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// that run stays testable.
func newFlagSet(name, argsUsage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: leakguard %s [flags] %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and checks the number of positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), nargs, fs.NArg())
	}
	return nil
}

// interruptible returns a context cancelled by SIGINT, so a long watch ends
// with its summary instead of being killed mid-write.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}
