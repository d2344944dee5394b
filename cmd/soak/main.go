// Command soak runs trialwatch under mixed load on loopback and reports
// whether it held: checks, signal lists, status changes and logins by
// many clients at once, beside a large lab upload stored again and again,
// while an upstream data service is stalled and then killed and
// restarted (split mode). It reports every kind of request's answers
// (none may be a 5xx or missing; checks must answer within the check
// deadline + 50 ms at the 99th percentile, and every one with
// --strict-deadline), the checker's goroutines, pooled connections
// apart, and heap, which must come back to their level from before the
// load, and whether the checker's audit trail verifies after it. It exits
// 1 if any of that fails.
//
//	go run ./cmd/soak                          # 10 minutes, 2,000,000-row upload
//	go run ./cmd/soak --duration 45s --upload-rows 200000   # the short run CI makes
//
// Everything runs on 127.0.0.1 in a temporary directory, removed after
// (--keep keeps it, with each process's log).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	var cfg config
	var keep bool
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "how long the mixed load runs")
	flag.StringVar(&cfg.Mode, "mode", "split", "split (four processes; the events service is stalled and restarted) or all-in-one")
	flag.StringVar(&cfg.DB, "db", "", "a postgres:// URL every service shares (default: SQLite files, one per service)")
	flag.StringVar(&cfg.Bin, "bin", "", "the trialwatch binary (default: built from ./cmd/trialwatch)")
	flag.IntVar(&cfg.UploadRows, "upload-rows", 2_000_000, "lab results of the large upload")
	flag.DurationVar(&cfg.CheckDeadline, "check-deadline", 3*time.Second, "the checker's --check-deadline")
	flag.DurationVar(&cfg.Stall, "stall", 10*time.Second, "how long the events service is stopped (SIGSTOP)")
	flag.DurationVar(&cfg.Settle, "settle", 2*time.Minute, "how long goroutines and heap get to come back after the load")
	flag.BoolVar(&cfg.StrictDeadline, "strict-deadline", false, "fail on any check answered later than the deadline + 50 ms (default: on a p99 later than that)")
	flag.BoolVar(&keep, "keep", false, "keep the working directory (databases, files, logs)")
	flag.Parse()
	if err := validate(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	os.Exit(soakIn(cfg, keep))
}

// soakIn runs the soak in a new working directory, removed after unless
// keep, and returns the exit code: 0 when every goal held.
func soakIn(cfg config, keep bool) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "trialwatch-soak-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	cfg.Dir, cfg.Log = dir, os.Stdout
	if keep {
		fmt.Println("soak: working directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if cfg.Bin == "" {
		cfg.Bin = filepath.Join(dir, "trialwatch")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", cfg.Bin, "./cmd/trialwatch").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "soak: go build ./cmd/trialwatch (run it from the repository's root, or pass --bin): %v\n%s", err, out)
			return 1
		}
	}
	ok, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func validate(cfg config) error {
	switch {
	case cfg.Duration <= 0:
		return fmt.Errorf("--duration %v: want a positive duration", cfg.Duration)
	case cfg.Mode != "split" && cfg.Mode != "all-in-one":
		return fmt.Errorf("--mode %q: want split or all-in-one", cfg.Mode)
	case cfg.UploadRows < labsPerSub:
		return fmt.Errorf("--upload-rows %d: want at least %d", cfg.UploadRows, labsPerSub)
	case cfg.CheckDeadline <= 0 || cfg.Stall <= 0 || cfg.Settle <= 0:
		return fmt.Errorf("--check-deadline, --stall and --settle: want positive durations")
	}
	return nil
}

// run sets the processes up, measures the checker at rest, runs the load
// and the faults, measures it again once the load has stopped, and
// prints the report; ok is whether every goal held.
func run(ctx context.Context, cfg config) (ok bool, err error) {
	s := &soak{cfg: cfg}
	defer s.tearDown()
	if err := s.setUp(ctx); err != nil {
		return false, err
	}
	s.logf("services ready; waiting for the pilot's queued checks")
	if err := s.drained(ctx, 5*time.Minute); err != nil {
		return false, err
	}
	// A few seconds of the lighter traffic first, so that what is made
	// once (connections, statement caches, snapshots) is in the baseline.
	warm, stopWarm := context.WithTimeout(ctx, 5*time.Second)
	s.warmUp(warm)
	stopWarm()
	if err := s.drained(ctx, time.Minute); err != nil {
		return false, err
	}
	before, err := measure(ctx, s.checker, adminToken)
	if err != nil {
		return false, err
	}
	s.logf("at rest: %d goroutines (%d pooled), heap %.1f MiB", before.Goroutines, before.Pooled, mib(before.HeapAlloc))
	s.trafficBegan = time.Now()
	s.checks = tally{bound: cfg.CheckDeadline + 50*time.Millisecond, since: s.trafficBegan}
	s.lists, s.patches, s.logins = tally{}, tally{}, tally{}

	load, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	s.logf("load for %v", cfg.Duration)
	wait := s.traffic(load)
	s.faults(load)
	<-load.Done()
	wait()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	s.logf("load stopped; waiting for the queued checks and for goroutines and heap to come back (up to %v)", cfg.Settle)
	after, settled := s.settle(ctx, before)
	// Every request above that changed something, login attempts
	// included, appended to the trail, many of them in groups.
	check := auditCheck{grouped: -1, commits: -1}
	if v, err := metric(ctx, s.checker, adminToken, "trialwatch_audit_grouped_records_total"); err == nil {
		check.grouped = int64(v)
	}
	if v, err := metric(ctx, s.checker, adminToken, "trialwatch_audit_group_commits_total"); err == nil {
		check.commits = int64(v)
	}
	check.out, check.err = cli(ctx, s.cfg.Bin, "", "audit", "verify", "--db", s.checkerDB)
	return s.report(before, after, settled, check), nil
}

// auditCheck is what `trialwatch audit verify` said of the checker's
// trail after the load, and how many records were appended on their own
// in how many transactions (-1: not known).
type auditCheck struct {
	out              string
	err              error
	grouped, commits int64
}

// warmUp runs checks and signal lists until ctx ends.
func (s *soak) warmUp(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		s.call(ctx, &s.checks, time.Minute, "POST", "/api/v1/studies/CDISCPILOT01/subjects/"+s.subjects[i%len(s.subjects)]+"/checks", s.monitor, "application/json", nil)
		s.call(ctx, &s.lists, time.Minute, "GET", "/api/v1/studies/CDISCPILOT01/signals?limit=50", s.monitor, "", nil)
	}
}

// drained waits until the checker's queue of checks is empty.
func (s *soak) drained(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		depth, err := metric(ctx, s.checker, adminToken, "trialwatch_check_queue_depth")
		if err == nil && depth == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the check queue still held %v jobs after %v (%v)", depth, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// settle waits for the queue to drain and the checker's unpooled
// goroutines and heap to come back to before's, measuring every few
// seconds up to cfg.Settle; settled says they did.
func (s *soak) settle(ctx context.Context, before footprint) (after footprint, settled bool) {
	deadline := time.Now().Add(s.cfg.Settle)
	s.drained(ctx, s.cfg.Settle)
	for {
		f, err := measure(ctx, s.checker, adminToken)
		if err == nil {
			after = f
			if f.Unpooled() <= before.Unpooled() && f.HeapAlloc <= heapBound(before) {
				return after, true
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return after, false
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

// heapBound is the most heap the checker may hold after the load: its
// heap at rest and the lab snapshots it keeps, bounded at 200,000 lab
// results (about 40 MB), which the load's checks fill.
func heapBound(before footprint) uint64 { return before.HeapAlloc + 64<<20 }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
