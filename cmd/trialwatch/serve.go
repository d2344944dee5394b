package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/internal/flagset"
)

// serviceNames are the services "serve NAME" runs alone.
var serviceNames = []string{"subjects", "exposure", "events", "checker"}

func (c *cli) serveCmd() *cobra.Command {
	var cfg config
	serve := c.Command(&cobra.Command{
		Use:   "serve [SERVICE]",
		Short: "Run all four services in one process, or one service alone",
		Long: `Without a SERVICE, runs the subjects, exposure, events and checker services
in one process; the checker still calls the data services over Connect, on
the process's own listener. With one, runs that service alone (split mode):
the data services need the internal service credential (--service-token-file
or TRIALWATCH_SERVICE_TOKEN) and the checker their URLs.`,
		Example: `  TRIALWATCH_ADMIN_TOKEN=$(openssl rand -hex 24) trialwatch serve --db trialwatch.db --tls-cert cert.pem --tls-key key.pem
  trialwatch serve subjects --db subjects.db --http 127.0.0.1:8081 --admin 127.0.0.1:9091
  trialwatch serve --config /etc/trialwatch/serve.yaml`,
		Args: command.NoArgs,
	}, func(fs *flagset.Set) {
		cfg.serverFlags(fs, "trialwatch.db")
		cfg.checkerFlags(fs)
	}, func(*flagset.Set, []string) error { return serve(c.Ctx, cfg, "", c.Stderr) })
	for _, service := range serviceNames {
		serve.AddCommand(c.serviceCmd(service))
	}
	return serve
}

// serviceCmd runs one service alone.
func (c *cli) serviceCmd(service string) *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:  service,
		Args: command.NoArgs,
	}
	switch service {
	case "checker":
		cmd.Short = "Run the checker alone: the API, checks and lab store, calling the data services"
		cmd.Example = `  trialwatch serve checker --db checker.db --http 127.0.0.1:8080 --admin 127.0.0.1:9090 \
    --subjects-url http://127.0.0.1:8081 --exposure-url http://127.0.0.1:8082 --events-url http://127.0.0.1:8083`
	default:
		cmd.Short = "Run the " + service + " data service alone"
		cmd.Example = "  TRIALWATCH_SERVICE_TOKEN=$(cat service-token) trialwatch serve " + service + " --db " + service + ".db --http 127.0.0.1:8081"
	}
	return c.Command(cmd, func(fs *flagset.Set) {
		cfg.serverFlags(fs, "trialwatch.db")
		if service == "checker" {
			cfg.checkerFlags(fs)
			cfg.upstreamFlags(fs)
		}
	}, func(*flagset.Set, []string) error { return serve(c.Ctx, cfg, service, c.Stderr) })
}

// serve runs one service, or all four ("").
func serve(ctx context.Context, cfg config, service string, stderr io.Writer) error {
	if err := cfg.secrets(service != ""); err != nil {
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
	if err := addServices(ctx, n, service); err != nil {
		n.close()
		return err
	}
	return n.run(ctx)
}

// addServices puts one service, or all four, on the node.
func addServices(ctx context.Context, n *node, service string) error {
	switch service {
	case "subjects", "exposure", "events":
		return n.addDataService(ctx, service)
	case "checker":
		return n.addChecker(ctx, n.cfg.subjectsURL, n.cfg.exposureURL, n.cfg.eventsURL, false)
	}
	// All in one process: the checker still calls the data services over
	// Connect, on this process's own listener, exactly as in split mode.
	return errors.Join(n.addDataService(ctx, "subjects"), n.addDataService(ctx, "exposure"), n.addDataService(ctx, "events"),
		n.addChecker(ctx, n.httpURL(), n.httpURL(), n.httpURL(), true))
}
