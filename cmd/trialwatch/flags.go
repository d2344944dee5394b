package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/checker"
)

// config holds every flag a trialwatch process may take.
type config struct {
	db            string
	httpAddr      string
	adminAddr     string
	adminToken    string
	checkDeadline time.Duration
	grace         time.Duration
	subjectsURL   string
	exposureURL   string
	eventsURL     string
	logLevel      string
	leakDir       string
	workers       int
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("trialwatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func (c *config) serverFlags(fs *flag.FlagSet, dbDefault string) {
	fs.StringVar(&c.db, "db", dbDefault, "database: a SQLite file path or a postgres:// URL")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "address of the API and Connect services")
	fs.StringVar(&c.adminAddr, "admin", "127.0.0.1:9090", "address of the admin listener (metrics, health, pprof)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for /debug/ on the admin listener; without one /debug/ refuses everyone")
	fs.DurationVar(&c.grace, "shutdown-grace", 10*time.Second, "time in-flight work gets to finish on SIGINT/SIGTERM")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.leakDir, "leak-snapshots", "", "directory for goroutine dumps the leak watchdog captures on suspicion (bounded; default: none kept on disk)")
}

func (c *config) checkerFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.checkDeadline, "check-deadline", checker.DefaultDeadline, "total deadline of one subject check (all upstream calls)")
	fs.IntVar(&c.workers, "check-workers", 4, "checks of uploaded data run at once")
}

func (c *config) upstreamFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.subjectsURL, "subjects-url", "", "base URL of the subjects service (required)")
	fs.StringVar(&c.exposureURL, "exposure-url", "", "base URL of the exposure service (required)")
	fs.StringVar(&c.eventsURL, "events-url", "", "base URL of the adverse-events service (required)")
}

// parse reads args, then fills each flag not given on the command line from
// TRIALWATCH_<FLAG> so containers can be configured by environment alone.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", env, v, e)
		}
	})
	return err
}

func envName(flagName string) string {
	return "TRIALWATCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
