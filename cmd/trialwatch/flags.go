package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
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

	serviceToken     string
	serviceTokenFile string
	tlsCert, tlsKey  string
	maxBody          int64
	maxUpload        int64
	rateLimit        float64
	rateBurst        int
	guessRate        float64
	guessBurst       int
	readTimeout      time.Duration
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
	fs.StringVar(&c.adminToken, "admin-token", "", "static bearer token for metrics and /debug/ on the admin listener (e.g. for Prometheus); ops users' tokens work too")
	fs.StringVar(&c.serviceTokenFile, "service-token-file", "", "file holding the internal credential the data services require from the checker (split mode; or set TRIALWATCH_SERVICE_TOKEN)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate: serve the API over HTTPS (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.Int64Var(&c.maxBody, "max-body", access.DefaultMaxBody, "largest request body, in bytes, of API calls other than uploads")
	fs.Int64Var(&c.maxUpload, "max-upload", ingest.DefaultMaxUploadBytes, "largest upload request, in bytes (uploads are streamed to disk, not held in memory)")
	fs.Float64Var(&c.rateLimit, "rate-limit", access.DefaultRate, "requests per second each API token may make (bursts up to --rate-burst)")
	fs.IntVar(&c.rateBurst, "rate-burst", access.DefaultBurst, "burst size of --rate-limit")
	fs.Float64Var(&c.guessRate, "bad-auth-limit", access.DefaultGuessRate, "requests per second with bad credentials each client address may make before 429 (bursts up to --bad-auth-burst)")
	fs.IntVar(&c.guessBurst, "bad-auth-burst", access.DefaultGuessBurst, "burst size of --bad-auth-limit")
	fs.DurationVar(&c.readTimeout, "read-timeout", 15*time.Minute, "longest time to read one request, body included (bounds slow uploads)")
	fs.DurationVar(&c.grace, "shutdown-grace", 10*time.Second, "time in-flight work gets to finish on SIGINT/SIGTERM")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.leakDir, "leak-snapshots", "", "directory for goroutine dumps the leak watchdog captures on suspicion (bounded; default: none kept on disk)")
}

// secrets loads the internal service credential and checks the TLS pair,
// so a bad file fails at start, not on the first request. split says
// the node is one service of several, where the credential is required;
// alone, a node makes up its own.
func (c *config) secrets(split bool) error {
	if c.serviceTokenFile != "" {
		b, err := os.ReadFile(c.serviceTokenFile)
		if err != nil {
			return fmt.Errorf("--service-token-file: %w", err)
		}
		c.serviceToken = strings.TrimSpace(string(b))
	} else if v := os.Getenv("TRIALWATCH_SERVICE_TOKEN"); v != "" {
		c.serviceToken = strings.TrimSpace(v)
	}
	switch {
	case c.serviceToken == "" && split:
		return errors.New("a service of a split deployment needs the internal service credential: --service-token-file FILE or TRIALWATCH_SERVICE_TOKEN, the same on every service (at least 32 characters, e.g. from `openssl rand -hex 32`)")
	case c.serviceToken == "":
		c.serviceToken = randomToken()
	case len(c.serviceToken) < 32:
		return fmt.Errorf("the internal service credential is %d characters long: use at least 32", len(c.serviceToken))
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	if c.maxBody < 1 || c.maxUpload < 1 || c.rateLimit <= 0 || c.rateBurst < 1 || c.guessRate <= 0 || c.guessBurst < 1 {
		return errors.New("--max-body, --max-upload, --rate-limit, --rate-burst, --bad-auth-limit and --bad-auth-burst must be positive")
	}
	return nil
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
	// Lines logged while serving a request carry its X-Request-Id.
	return slog.New(jsonhttp.LogRequestIDs(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))), nil
}
