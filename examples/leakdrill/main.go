// Command leakdrill serves two classic goroutine leaks and their fixed
// twins, with leakguard's watchdog and debug handlers wired in, so that a
// leak can be produced and watched being found. See README.md.
//
//	LEAKGUARD_TOKEN=secret go run ./examples/leakdrill
//	curl localhost:8080/leak/orphan-receiver
//	curl -H 'Authorization: Bearer secret' 'localhost:8080/debug/leaks?format=json'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trialwatch/trialwatch/examples/leakdrill/drill"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "leakdrill:", err)
		}
		os.Exit(1)
	}
}

// run serves until ctx is done. ready, if set, receives the listener's
// address once it accepts connections (tests listen on port 0).
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("leakdrill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (loopback by default: the drill leaks on purpose)")
	interval := fs.Duration("interval", time.Second, "watchdog sampling interval")
	window := fs.Duration("window", 30*time.Second, "watchdog trend window")
	deep := fs.Duration("deep", 5*time.Second, "watchdog deep-check (full stack capture) interval")
	snapDir := fs.String("snapshot-dir", "", "write goroutine snapshots on suspicion into `dir`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := os.Getenv("LEAKGUARD_TOKEN") // empty refuses every debug request
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if token == "" {
		logger.Warn("LEAKGUARD_TOKEN is empty: /debug/ and /drill/release refuse every request")
	}

	opts := []watchdog.Option{
		watchdog.WithInterval(*interval),
		watchdog.WithWindow(*window),
		watchdog.WithDeepCheckInterval(*deep),
		// Re-capture every interval while suspect, so the report's growing
		// groups follow the leak instead of freezing for the default 5m.
		watchdog.WithSnapshotMinInterval(*interval),
		watchdog.WithLogger(logger),
	}
	if *snapDir != "" {
		opts = append(opts, watchdog.WithSnapshotDir(*snapDir))
	}
	svc := drill.NewService(drill.Config{}, token, opts...)
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer svc.Stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // ended by Shutdown below
	logger.Info("leakdrill listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
