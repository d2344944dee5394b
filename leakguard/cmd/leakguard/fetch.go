package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// maxDumpBytes bounds what fetch reads: a runaway endpoint must not exhaust
// memory, and even a million goroutines dump to well under this.
const maxDumpBytes = 1 << 30

const tokenEnv = "LEAKGUARD_TOKEN"

func runFetch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fetch", "URL", stderr)
	token := fs.String("token", "", "bearer token (default $"+tokenEnv+")")
	out := fs.String("o", "", "write the dump to `FILE` instead of stdout")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on the request after this long")
	full := fs.Bool("full", false, "ask for a full dump (debug=2: goroutine IDs, wait times, creators), which stops the service's world for the whole walk")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	f := newFetcher(*token, *timeout)
	f.full = *full
	defer f.close()
	dump, err := f.fetch(context.Background(), fs.Arg(0))
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(dump)
		return err
	}
	return os.WriteFile(*out, dump, 0o644)
}

type fetcher struct {
	client *http.Client
	token  string
	// full asks pprof endpoints for debug=2 instead of the profile.
	full bool
}

func newFetcher(token string, timeout time.Duration) *fetcher {
	if token == "" {
		token = os.Getenv(tokenEnv)
	}
	// A transport of its own, so close can drop its idle connections
	// without touching anyone else's.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &fetcher{client: &http.Client{Timeout: timeout, Transport: transport}, token: token}
}

func (f *fetcher) close() { f.client.CloseIdleConnections() }

// fetch GETs a goroutine dump and returns its body, turning HTTP failures
// into errors that say what to fix.
func (f *fetcher) fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := dumpURL(rawURL, f.full)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(u, resp, f.token != "")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDumpBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: reading body: %w", u, err)
	}
	if len(body) > maxDumpBytes {
		return nil, fmt.Errorf("fetch %s: dump larger than %d bytes", u, maxDumpBytes)
	}
	if !stackdump.IsProto(body) {
		return body, nil
	}
	text, err := stackdump.ProtoDump(body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return append([]byte("# leakguard: goroutine profile, collected concurrently (no stop of the world); goroutine IDs (0 here), wait times and creators are not in it: -full asks for a full dump.\n\n"), text...), nil
}

// dumpURL asks pprof's goroutine endpoints for the profile in protocol-
// buffer form, which the service collects without stopping the world and
// which names every frame, or, with full, for debug=2, the only form with
// goroutine IDs, wait times and creators, whose walk stops the service's
// world; a query the caller chose is kept.
func dumpURL(raw string, full bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: URL %q must start with http:// or https://", errUsage, raw)
	}
	if full && u.RawQuery == "" && (strings.HasSuffix(u.Path, "/goroutine") || strings.HasSuffix(u.Path, "/goroutineleak")) {
		u.RawQuery = "debug=2"
	}
	return u.String(), nil
}

func statusError(u string, resp *http.Response, sentToken bool) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	detail := strings.TrimSpace(string(snippet))
	if detail != "" {
		detail = ": " + detail
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint := "pass -token or set $" + tokenEnv
		if sentToken {
			hint = "the token was rejected"
		}
		return fmt.Errorf("fetch %s: %s (%s)%s", u, resp.Status, hint, detail)
	case http.StatusNotFound:
		return fmt.Errorf("fetch %s: %s (is net/http/pprof mounted at this path?)%s", u, resp.Status, detail)
	}
	return fmt.Errorf("fetch %s: unexpected status %s%s", u, resp.Status, detail)
}

var errNoGoroutines = errors.New("no goroutines found (expected a goroutine dump: debug=2, or the profile without a debug parameter)")
