package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/ingest"
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

// flagSet is one command's flags, defined as Go flags (their values are
// what the checks read) and handed to the command's pflag set, so they may
// come anywhere on the command line. resolve fills each flag not given
// there from TRIALWATCH_<FLAG>, then from the --config file, then checks
// every value, so a bad one stops the command before it binds, opens or
// writes anything.
type flagSet struct {
	*flag.FlagSet
	cmd    *cobra.Command
	config func() (*configFile, error) // the --config file, read once per run
	from   map[string]string           // flag name → the variable or file:line that set it
	checks []func() error
}

// newFlagSet gives cmd a set of flags; define them, then call bind.
func newFlagSet(cmd *cobra.Command, config func() (*configFile, error)) *flagSet {
	return &flagSet{FlagSet: flag.NewFlagSet(cmd.Name(), flag.ContinueOnError), cmd: cmd, config: config, from: map[string]string{}}
}

// bind hands the flags defined so far to the command's parser.
func (fs *flagSet) bind() { fs.cmd.Flags().AddGoFlagSet(fs.FlagSet) }

// flagError is a flag, environment or configuration-file value the
// command cannot run with: a usage error (exit code 2) explained in one
// line naming the flag, and the variable or file line when the value came
// from there.
type flagError struct {
	flag, from, value, reason string
}

func (e *flagError) Error() string {
	if e.flag == "" {
		return e.reason
	}
	name := "--" + e.flag
	if e.from != "" {
		name = e.from + " (--" + e.flag + ")"
	}
	if e.value == "" {
		return fmt.Sprintf("%s: %s", name, e.reason)
	}
	return fmt.Sprintf("%s %q: %s", name, e.value, e.reason)
}

// bad is flag name's value refused for reason.
func (fs *flagSet) bad(name, reason string) error {
	e := &flagError{flag: name, from: fs.from[name], reason: reason}
	if f := fs.Lookup(name); f != nil {
		e.value = f.Value.String()
	}
	return e
}

// check makes resolve refuse flag name's value when a rule says why it is
// bad. Rules see the flag's parsed value (a string, int, float64,
// time.Duration...).
func (fs *flagSet) check(name string, rules ...func(v any) string) {
	if fs.Lookup(name) == nil {
		panic("check of undefined flag --" + name)
	}
	fs.checks = append(fs.checks, func() error {
		v := fs.Lookup(name).Value.(flag.Getter).Get()
		for _, rule := range rules {
			if reason := rule(v); reason != "" {
				return fs.bad(name, reason)
			}
		}
		return nil
	})
}

// also makes resolve run a check of several flags, after those of each.
func (fs *flagSet) also(check func() error) { fs.checks = append(fs.checks, check) }

// given says whether flag name was on the command line.
func (fs *flagSet) given(name string) bool {
	f := fs.cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// resolve fills each flag not given on the command line from
// TRIALWATCH_<FLAG>, so containers can be configured by environment
// alone, else from the --config file, and checks the values: flag >
// environment > file > default.
func (fs *flagSet) resolve() error {
	file, err := fs.config()
	if err != nil {
		return err
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	for _, name := range names {
		if fs.given(name) {
			continue
		}
		f := fs.Lookup(name)
		if env := envName(name); hasEnv(env) {
			v := os.Getenv(env)
			if err := f.Value.Set(v); err != nil {
				return &flagError{flag: name, from: env, value: v, reason: wantOf(f, err)}
			}
			fs.from[name] = env
		} else if v, ok := file.value(name); ok {
			if err := f.Value.Set(v.text); err != nil {
				return &flagError{flag: name, from: v.where, value: v.text, reason: wantOf(f, err)}
			}
			fs.from[name] = v.where
		}
	}
	for _, check := range fs.checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func hasEnv(name string) bool { _, ok := os.LookupEnv(name); return ok }

// wantOf says what flag f takes, for a value it could not be set to.
func wantOf(f *flag.Flag, err error) string {
	return want(fmt.Sprintf("%T", f.Value.(flag.Getter).Get()), err)
}

// want says what a flag of a type (as pflag names it: int, float64,
// duration...) takes, for a value it could not be set to.
func want(typ string, err error) string {
	switch typ {
	case "int", "int64", "uint64":
		return "want a whole number"
	case "float64":
		return "want a number"
	case "time.Duration", "duration":
		return "want a duration, such as 30s or 5m"
	case "bool":
		return "want true or false"
	}
	return err.Error()
}

func envName(flagName string) string {
	return "TRIALWATCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Rules for check.

func positive(v any) string {
	switch v := v.(type) {
	case int:
		if v < 1 {
			return "want a positive whole number"
		}
	case int64:
		if v < 1 {
			return "want a positive whole number"
		}
	case float64:
		if !(v > 0) || math.IsInf(v, 0) {
			return "want a positive, finite number"
		}
	case time.Duration:
		if v <= 0 {
			return "want a positive duration, such as 30s or 5m"
		}
	default:
		panic(fmt.Sprintf("positive: a %T flag", v))
	}
	return ""
}

func notNegative(v any) string {
	if v.(time.Duration) < 0 {
		return "want a duration of 0 or more"
	}
	return ""
}

func required(v any) string {
	if strings.TrimSpace(v.(string)) == "" {
		return "required"
	}
	return ""
}

// httpURL wants an absolute http or https URL with a host, or nothing.
func httpURL(v any) string {
	s := v.(string)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL: " + unwrapURLErr(err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "want an http:// or https:// URL"
	case u.Host == "" || u.Hostname() == "":
		return "the URL names no host"
	case u.Port() != "" && !validPort(u.Port()):
		return "the URL's port is not a number from 0 to 65535"
	}
	return ""
}

func unwrapURLErr(err error) string {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// hostPort wants a listen address: HOST:PORT, HOST possibly empty.
func hostPort(v any) string {
	_, port, err := net.SplitHostPort(v.(string))
	if err != nil {
		return "want HOST:PORT, such as 127.0.0.1:8080 or :8080"
	}
	if !validPort(port) {
		return "the port is not a number from 0 to 65535"
	}
	return ""
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n <= 65535
}

// readable wants a file that can be read, or nothing.
func readable(v any) string {
	path := v.(string)
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return unwrapPathErr(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return unwrapPathErr(err)
	} else if st.IsDir() {
		return "a directory, not a file"
	}
	return ""
}

// writableDir wants a directory that exists or can be made, and where
// files can be written, or nothing.
func writableDir(v any) string {
	dir := v.(string)
	if dir == "" {
		return ""
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return unwrapPathErr(err)
	}
	f, err := os.CreateTemp(dir, ".trialwatch-check-*")
	if err != nil {
		return "cannot write in it: " + unwrapPathErr(err)
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}

func unwrapPathErr(err error) string {
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func logLevel(v any) string {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.(string))); err != nil {
		return "want debug, info, warn or error"
	}
	return ""
}

// limit makes parse check a rate flag and its burst flag together.
func (fs *flagSet) limit(rateFlag, burstFlag string, rate *float64, burst *int) {
	fs.check(rateFlag, positive)
	fs.check(burstFlag, positive)
	fs.also(func() error {
		if err := auth.CheckLimit(*rate, *burst); err != nil {
			return fs.bad(rateFlag, fmt.Sprintf("with --%s %d: %v", burstFlag, *burst, err))
		}
		return nil
	})
}

func (c *config) serverFlags(fs *flagSet, dbDefault string) {
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
		fs.check("db", required) // demo's empty default means a database of its own
	}
	fs.check("http", hostPort)
	fs.check("admin", hostPort)
	fs.check("service-token-file", readable)
	fs.check("tls-cert", readable)
	fs.check("tls-key", readable)
	fs.check("max-body", positive)
	fs.check("max-upload", positive)
	for _, name := range []string{"max-decompressed", "max-record", "max-value", "max-json-depth", "max-problems"} {
		fs.check(name, positive)
	}
	fs.also(func() error {
		if c.upload.Value > c.upload.Record {
			return fs.bad("max-value", fmt.Sprintf("want at most --max-record %d: a value is part of a record", c.upload.Record))
		}
		return nil
	})
	fs.limit("rate-limit", "rate-burst", &c.rateLimit, &c.rateBurst)
	fs.limit("bad-auth-limit", "bad-auth-burst", &c.guessRate, &c.guessBurst)
	fs.limit("login-limit", "login-burst", &c.loginRate, &c.loginBurst)
	fs.check("login-workers", positive)
	fs.check("login-queue", positive)
	fs.check("read-timeout", positive)
	fs.check("shutdown-grace", positive)
	fs.check("log-level", logLevel)
	fs.check("log-format", logFormat)
	fs.check("leak-snapshots", writableDir)
	fs.also(func() error {
		switch {
		case (c.tlsCert == "") != (c.tlsKey == ""):
			return &flagError{reason: "--tls-cert and --tls-key go together: give both or neither"}
		case c.tlsCert != "":
			if _, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
				return fs.bad("tls-cert", "with --tls-key: "+err.Error())
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
			return &flagError{reason: "--service-token-file: " + err.Error()}
		}
		c.serviceToken, from = strings.TrimSpace(string(b)), "--service-token-file "+c.serviceTokenFile
	} else if v := os.Getenv(env); v != "" {
		c.serviceToken = strings.TrimSpace(v)
	}
	switch {
	case c.serviceToken == "" && split:
		return &flagError{reason: "a service of a split deployment needs the internal service credential: --service-token-file FILE or " + env + ", the same on every service (at least 32 characters, e.g. from `openssl rand -hex 32`)"}
	case c.serviceToken == "":
		c.serviceToken = randomToken()
	case len(c.serviceToken) < 32:
		return &flagError{reason: fmt.Sprintf("%s: the internal service credential is %d characters long: use at least 32", from, len(c.serviceToken))}
	}
	return nil
}

func (c *config) checkerFlags(fs *flagSet) {
	fs.DurationVar(&c.checkDeadline, "check-deadline", checker.DefaultDeadline, "total deadline of one subject check (all upstream calls)")
	fs.IntVar(&c.workers, "check-workers", 4, "checks of uploaded data run at once")
	fs.check("check-deadline", positive)
	fs.check("check-workers", positive)
}

// upstreamFlags are the data services' URLs a checker of its own calls.
func (c *config) upstreamFlags(fs *flagSet) {
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
		fs.check(u.flag, httpURL)
	}
	fs.also(func() error {
		var missing []string
		for _, u := range urls {
			if *u.value == "" {
				missing = append(missing, "--"+u.flag)
			}
		}
		if len(missing) > 0 {
			return &flagError{reason: "serve checker needs the data services' URLs: missing " + strings.Join(missing, ", ")}
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
