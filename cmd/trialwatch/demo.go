package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/pilotdata"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("demo", stderr)
	cfg.serverFlags(fs, "")
	cfg.checkerFlags(fs)
	fs.Lookup("db").Usage = "database to load the pilot study into (default: a new SQLite file removed on exit)"
	if err := parse(fs, args); err != nil {
		return err
	}
	start := time.Now()
	if cfg.db == "" {
		dir, err := os.MkdirTemp("", "trialwatch-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.db = filepath.Join(dir, "demo.db")
	}
	if cfg.adminToken == "" {
		cfg.adminToken = randomToken()
	}
	log, err := newLogger(cfg.logLevel, stderr)
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
	printWelcome(stdout, n, cfg.adminToken, time.Since(start))
	return n.run(ctx)
}

// loadPilot streams the pilot into the node's database the way `import`
// does, queueing a check of every subject.
func loadPilot(ctx context.Context, n *node) error {
	db, err := n.openDB(ctx)
	if err != nil {
		return err
	}
	local, err := ingest.OpenLocal(ctx, db)
	if err != nil {
		return err
	}
	_, err = local.IngestFiles(ctx, pilotdata.Study, ingest.PilotFiles(), ingest.DefaultChunk, time.Now())
	return err
}

func printWelcome(w io.Writer, n *node, token string, took time.Duration) {
	api, adm := n.httpURL(), n.adminURL()
	fmt.Fprintf(w, `trialwatch demo: CDISC pilot study %[1]s loaded and served in %[5]v
  API      %[2]s
  admin    %[3]s   (admin token: %[4]s)
  database %[6]s

Check a subject (fans out to the subject, exposure and adverse-event services):
  curl -s -X POST %[2]s/api/v1/studies/%[1]s/subjects/01-701-1015/checks
List the high and critical signals raised so far:
  curl -s '%[2]s/api/v1/studies/%[1]s/signals?severity=high&limit=20'
Metrics and profiles:
  curl -s %[3]s/metrics | grep trialwatch_
  curl -s -H 'Authorization: Bearer %[4]s' '%[3]s/debug/pprof/goroutine?debug=1'

Press Ctrl-C to stop.
`, pilotdata.Study, api, adm, token, took.Round(time.Millisecond), n.cfg.db)
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
