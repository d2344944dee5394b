package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/sdtm"
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
	logFormat     string
	leakDir       string
	workers       int

	serviceToken     string
	serviceTokenFile string
	tlsCert, tlsKey  string
	maxBody          int64
	maxUpload        int64
	upload           sdtm.Limits // what reading one upload may take
	rateLimit        float64
	rateBurst        int
	guessRate        float64
	guessBurst       int
	loginRate        float64
	loginBurst       int
	loginWorkers     int
	loginQueue       int
	readTimeout      time.Duration
}

func logLevel(v any) string {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.(string))); err != nil {
		return "want debug, info, warn or error"
	}
	return ""
}

// limit checks a rate flag and its burst flag together.
func limit(fs *flagset.Set, rateFlag, burstFlag string, rate *float64, burst *int) {
	fs.Check(rateFlag, flagset.Positive)
	fs.Check(burstFlag, flagset.Positive)
	fs.Also(func() error {
		if err := auth.CheckLimit(*rate, *burst); err != nil {
			return fs.Bad(rateFlag, fmt.Sprintf("with --%s %d: %v", burstFlag, *burst, err))
		}
		return nil
	})
}

func (c *config) serverFlags(fs *flagset.Set, dbDefault string) {
	fs.StringVar(&c.db, "db", dbDefault, "database: a SQLite file path or a postgres:// URL")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "address of the API and Connect services")
	fs.StringVar(&c.adminAddr, "admin", "127.0.0.1:9090", "address of the admin listener (metrics, health, pprof)")
	fs.StringVar(&c.adminToken, "admin-token", "", "static bearer token for metrics and /debug/ on the admin listener (e.g. for Prometheus); ops users' tokens work too")
	fs.StringVar(&c.serviceTokenFile, "service-token-file", "", "file holding the internal credential the data services require from the checker (split mode; or set TRIALWATCH_SERVICE_TOKEN)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate: serve the API over HTTPS (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.Int64Var(&c.maxBody, "max-body", access.DefaultMaxBody, "largest request body, in bytes, of API calls other than uploads")
	fs.Int64Var(&c.maxUpload, "max-upload", ingest.DefaultMaxUploadBytes, "largest upload request, in bytes (uploads are streamed to disk, not held in memory)")
	d := sdtm.DefaultLimits
	fs.Int64Var(&c.upload.Bytes, "max-decompressed", d.Bytes, "largest upload once decompressed, in bytes, all its files together (413 beyond)")
	fs.IntVar(&c.upload.Record, "max-record", d.Record, "longest CSV record, Dataset-JSON row or XPT observation of an upload, in bytes (422 beyond)")
	fs.IntVar(&c.upload.Value, "max-value", d.Value, "longest value of an upload, in bytes (422 beyond)")
	fs.IntVar(&c.upload.Depth, "max-json-depth", d.Depth, "deepest nesting of Dataset-JSON arrays and objects in an upload (422 beyond)")
	fs.IntVar(&c.upload.Errors, "max-problems", d.Errors, "problems an upload's 422 reports at most")
	fs.Float64Var(&c.rateLimit, "rate-limit", access.DefaultRate, "requests per second each API token may make (bursts up to --rate-burst)")
	fs.IntVar(&c.rateBurst, "rate-burst", access.DefaultBurst, "burst size of --rate-limit")
	fs.Float64Var(&c.guessRate, "bad-auth-limit", access.DefaultGuessRate, "requests per second with bad credentials each client address may make before 429 (bursts up to --bad-auth-burst)")
	fs.IntVar(&c.guessBurst, "bad-auth-burst", access.DefaultGuessBurst, "burst size of --bad-auth-limit")
	fs.Float64Var(&c.loginRate, "login-limit", access.DefaultLoginRate, "logins per second, all users and addresses together, before 429 (bursts up to --login-burst)")
	fs.IntVar(&c.loginBurst, "login-burst", access.DefaultLoginBurst, "burst size of --login-limit")
	fs.IntVar(&c.loginWorkers, "login-workers", auth.DefaultHashWorkers(), "password hashes (bcrypt, a quarter second of a CPU core each) run at once; default half the CPUs")
	fs.IntVar(&c.loginQueue, "login-queue", auth.DefaultHashQueue, "logins that may wait for a --login-workers turn; more get 429 at once")
	fs.DurationVar(&c.readTimeout, "read-timeout", 15*time.Minute, "longest time to read one request, body included (bounds slow uploads)")
	fs.DurationVar(&c.grace, "shutdown-grace", 10*time.Second, "time in-flight work gets to finish on SIGINT/SIGTERM")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log line format: text (key=value) or json (one object a line)")
	fs.StringVar(&c.leakDir, "leak-snapshots", "", "directory for goroutine dumps the leak watchdog captures on suspicion, made if missing (bounded; default: none kept on disk)")

	if dbDefault != "" {
		fs.Check("db", flagset.Required) // demo's empty default means a database of its own
	}
	fs.Check("http", flagset.HostPort)
	fs.Check("admin", flagset.HostPort)
	fs.Check("service-token-file", flagset.Readable)
	fs.Check("tls-cert", flagset.Readable)
	fs.Check("tls-key", flagset.Readable)
	fs.Check("max-body", flagset.Positive)
	fs.Check("max-upload", flagset.Positive)
	for _, name := range []string{"max-decompressed", "max-record", "max-value", "max-json-depth", "max-problems"} {
		fs.Check(name, flagset.Positive)
	}
	fs.Also(func() error {
		if c.upload.Value > c.upload.Record {
			return fs.Bad("max-value", fmt.Sprintf("want at most --max-record %d: a value is part of a record", c.upload.Record))
		}
		return nil
	})
	limit(fs, "rate-limit", "rate-burst", &c.rateLimit, &c.rateBurst)
	limit(fs, "bad-auth-limit", "bad-auth-burst", &c.guessRate, &c.guessBurst)
	limit(fs, "login-limit", "login-burst", &c.loginRate, &c.loginBurst)
	fs.Check("login-workers", flagset.Positive)
	fs.Check("login-queue", flagset.Positive)
	fs.Check("read-timeout", flagset.Positive)
	fs.Check("shutdown-grace", flagset.Positive)
	fs.Check("log-level", logLevel)
	fs.Check("log-format", logFormat)
	fs.Check("leak-snapshots", flagset.WritableDir)
	fs.Also(func() error {
		switch {
		case (c.tlsCert == "") != (c.tlsKey == ""):
			return &flagset.Error{Reason: "--tls-cert and --tls-key go together: give both or neither"}
		case c.tlsCert != "":
			if _, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
				return fs.Bad("tls-cert", "with --tls-key: "+err.Error())
			}
		}
		return nil
	})
}

// secrets loads the internal service credential, so a bad one fails at
// start, not on the first request. split says the node is one service of
// several, where the credential is required; alone, a node makes up its
// own.
func (c *config) secrets(split bool) error {
	const env = "TRIALWATCH_SERVICE_TOKEN"
	from := env
	if c.serviceTokenFile != "" {
		b, err := os.ReadFile(c.serviceTokenFile)
		if err != nil {
			return &flagset.Error{Reason: "--service-token-file: " + err.Error()}
		}
		c.serviceToken, from = strings.TrimSpace(string(b)), "--service-token-file "+c.serviceTokenFile
	} else if v := os.Getenv(env); v != "" {
		c.serviceToken = strings.TrimSpace(v)
	}
	switch {
	case c.serviceToken == "" && split:
		return &flagset.Error{Reason: "a service of a split deployment needs the internal service credential: --service-token-file FILE or " + env + ", the same on every service (at least 32 characters, e.g. from `openssl rand -hex 32`)"}
	case c.serviceToken == "":
		c.serviceToken = randomToken()
	case len(c.serviceToken) < 32:
		return &flagset.Error{Reason: fmt.Sprintf("%s: the internal service credential is %d characters long: use at least 32", from, len(c.serviceToken))}
	}
	return nil
}

func (c *config) checkerFlags(fs *flagset.Set) {
	fs.DurationVar(&c.checkDeadline, "check-deadline", checker.DefaultDeadline, "total deadline of one subject check (all upstream calls)")
	fs.IntVar(&c.workers, "check-workers", 4, "checks of uploaded data run at once")
	fs.Check("check-deadline", flagset.Positive)
	fs.Check("check-workers", flagset.Positive)
}

// upstreamFlags are the data services' URLs a checker of its own calls.
func (c *config) upstreamFlags(fs *flagset.Set) {
	urls := []struct {
		flag  string
		value *string
		usage string
	}{
		{"subjects-url", &c.subjectsURL, "base URL of the subjects service (required)"},
		{"exposure-url", &c.exposureURL, "base URL of the exposure service (required)"},
		{"events-url", &c.eventsURL, "base URL of the adverse-events service (required)"},
	}
	for _, u := range urls {
		fs.StringVar(u.value, u.flag, "", u.usage)
		fs.Check(u.flag, flagset.HTTPURL)
	}
	fs.Also(func() error {
		var missing []string
		for _, u := range urls {
			if *u.value == "" {
				missing = append(missing, "--"+u.flag)
			}
		}
		if len(missing) > 0 {
			return &flagset.Error{Reason: "serve checker needs the data services' URLs: missing " + strings.Join(missing, ", ")}
		}
		return nil
	})
}

func logFormat(v any) string {
	if f := v.(string); f != "text" && f != "json" {
		return "want text or json"
	}
	return ""
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	// Lines logged while serving a request carry its X-Request-Id.
	return slog.New(jsonhttp.LogRequestIDs(h)), nil
}

// randomToken is a service token for a run that was given none: 24
// random bytes, hex.
func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
