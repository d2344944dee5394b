package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/demo"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/pilotdata"
)

func (c *cli) demoCmd() *cobra.Command {
	var cfg config
	return c.Command(&cobra.Command{
		Use:   "demo",
		Short: "Serve the CDISC pilot study on embedded SQLite",
		Long: `Loads the public CDISC pilot study CDISCPILOT01 (306 subjects, 17 sites) into a
new SQLite file, starts all four services in one process and prints the URLs,
example curls, and one user per role with a password for the browser and a
24-hour API token each. Ctrl-C stops it and removes the file.`,
		Example: `  trialwatch demo
  trialwatch demo --http 127.0.0.1:8088 --admin 127.0.0.1:9098`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		cfg.serverFlags(fs, "")
		cfg.checkerFlags(fs)
		fs.Lookup("db").Usage = "database to load the pilot study into (default: a new SQLite file removed on exit)"
	}, func(*flagset.Set, []string) error { return runDemo(c.Ctx, cfg, c.Stdout, c.Stderr) })
}

func runDemo(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
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
	users, err := demo.Users(ctx, operator.New(n.db, n.users, n.trail, "system:demo", "demo"))
	if err != nil {
		n.close()
		return fmt.Errorf("creating the demo users: %w", err)
	}
	demo.Welcome(stdout, demo.Served{API: n.httpURL(), Admin: n.adminURL(), Database: n.cfg.db, Took: time.Since(start)}, users)
	return n.run(ctx)
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
