package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// serviceNames are the services "serve NAME" runs alone.
var serviceNames = []string{"subjects", "exposure", "events", "checker"}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	service := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		service, args = args[0], args[1:]
	}
	var cfg config
	fs := newFlagSet("serve "+service, stderr)
	cfg.serverFlags(fs, "trialwatch.db")
	switch service {
	case "":
		cfg.checkerFlags(fs)
	case "checker":
		cfg.checkerFlags(fs)
		cfg.upstreamFlags(fs)
	case "subjects", "exposure", "events":
	default:
		fmt.Fprintf(stderr, "trialwatch serve: unknown service %q (want one of %s)\n", service, strings.Join(serviceNames, ", "))
		return errUsage
	}
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trialwatch serve: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if err := cfg.secrets(service != ""); err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, stderr)
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
