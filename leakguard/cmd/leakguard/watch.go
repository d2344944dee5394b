package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

func runWatch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "URL", stderr)
	interval := fs.Duration("interval", 10*time.Second, "time between polls")
	token := fs.String("token", "", "bearer token (default $"+tokenEnv+")")
	count := fs.Int("count", 0, "stop after `N` polls, the first included (0: until interrupted)")
	top := fs.Int("top", 10, "show the `N` fastest-growing groups per poll (0: all)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on one request after this long")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if *interval <= 0 {
		return fmt.Errorf("%w: -interval must be positive", errUsage)
	}
	ctx, stop := interruptible()
	defer stop()
	f := newFetcher(*token, *timeout)
	defer f.close()
	w := &watcher{
		fetcher:  f,
		url:      fs.Arg(0),
		interval: *interval,
		count:    *count,
		opt:      stackdump.ReportOptions{Top: *top, GrowthOnly: true},
		stdout:   stdout,
		stderr:   stderr,
	}
	return w.run(ctx)
}

// watcher compares every poll with the first one rather than with the
// previous: a leak grows a little each interval, and only the growth
// accumulated since the start stands out from normal churn.
type watcher struct {
	fetcher  *fetcher
	url      string
	interval time.Duration
	count    int
	opt      stackdump.ReportOptions
	stdout   io.Writer
	stderr   io.Writer
}

func (w *watcher) run(ctx context.Context) error {
	// Without a baseline there is nothing to compare with, so the first
	// poll's failure ends the watch; later failures are reported and the
	// watch carries on, as a service under load may miss one request.
	baseline, err := w.poll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w.stdout, "%s poll 1: baseline of %d goroutines in %d groups\n",
		stamp(), total(baseline), len(baseline))
	for n := 2; w.count == 0 || n <= w.count; n++ {
		if !sleep(ctx, w.interval) {
			return nil
		}
		groups, err := w.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintf(w.stderr, "%s poll %d: %v\n", stamp(), n, err)
			continue
		}
		fmt.Fprintf(w.stdout, "\n%s poll %d: ", stamp(), n)
		if err := stackdump.WriteDiffText(w.stdout, stackdump.Diff(baseline, groups), w.opt); err != nil {
			return err
		}
	}
	return nil
}

func (w *watcher) poll(ctx context.Context) ([]stackdump.Group, error) {
	dump, err := w.fetcher.fetch(ctx, w.url)
	if err != nil {
		return nil, err
	}
	gs, err := stackdump.ParseBytes(dump)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("%s: %w", w.url, errNoGoroutines)
	}
	return stackdump.GroupGoroutines(gs), nil
}

// sleep waits for d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func stamp() string { return time.Now().Format("15:04:05") }

func total(gs []stackdump.Group) int {
	n := 0
	for _, g := range gs {
		n += g.Count
	}
	return n
}
