package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/trialwatch/trialwatch/internal/flagset"
)

// Help, of any command and asked for any way, goes to stdout and exits 0,
// with the command's usage, examples and flags.
func TestHelpExitsZero(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "trialwatch [command]", "import", "user", "completion", "--config"}},
		{[]string{"-h"}, []string{"Usage:"}},
		{[]string{"help"}, []string{"Usage:", "demo"}},
		{[]string{"help", "import"}, []string{"trialwatch import --db DSN --study ID FILE|FOLDER|GLOB...", "Examples:", "sdtm/", "--chunk", "--study"}},
		{[]string{"import", "-h"}, []string{"trialwatch import --db DSN", "--chunk"}},
		{[]string{"help", "user", "add"}, []string{"--sites", "--password-stdin", "Examples:"}},
		{[]string{"user", "enable", "--help"}, []string{"enable NAME", "token create"}},
		{[]string{"help", "serve", "checker"}, []string{"--subjects-url", "--check-deadline", "--tls-cert"}},
		{[]string{"serve", "--help"}, []string{"subjects", "exposure", "events", "checker", "--rate-limit"}},
		{[]string{"grade", "--help"}, []string{"--criteria", "--lb"}},
		{[]string{"audit", "verify", "-h"}, []string{"--anchor"}},
	} {
		code, out, errOut := runCmd(t, tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: the help has no %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// A command line trialwatch cannot run exits 2 with one line on stderr
// saying why.
func TestMisuseExitsTwoWithTheReasonOnOneLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tw.db")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate" for "trialwatch"`},
		{"unknown subcommand", []string{"user", "frob"}, `unknown command "frob" for "trialwatch user"`},
		{"unknown service", []string{"serve", "billing"}, `unknown command "billing" for "trialwatch serve"`},
		{"unknown flag", []string{"import", "--bogus"}, `unknown flag: --bogus (see 'trialwatch import --help')`},
		{"flag without its value", []string{"import", "--db"}, `flag needs an argument: --db`},
		{"help of nothing", []string{"help", "nosuch"}, `no help for "nosuch": no such command`},
		{"import without files", []string{"import", "--db", db, "--study", "S1"}, `import needs the files, folders or globs to import`},
		{"disable without a name", []string{"user", "disable", "--db", db}, `user disable needs a user NAME`},
		{"enable of two", []string{"user", "enable", "--db", db, "a", "b"}, `user enable takes one a user NAME, got ["a" "b"]`},
		{"stray argument", []string{"user", "list", "--db", db, "extra"}, `user list takes no arguments, got ["extra"]`},
		{"token ID not a number", []string{"token", "revoke", "--db", db, "seven"}, `token ID "seven": want a positive whole number`},
		{"site user without sites", []string{"user", "add", "--db", db, "--name", "s1", "--role", "site", "--study", "S1"}, `--sites: required for --role site`},
		{"site user without a study", []string{"user", "add", "--db", db, "--name", "s1", "--role", "SITE", "--sites", "701"}, `--study: required for --role site`},
		{"token without a user", []string{"token", "create", "--db", db}, `--user: required`},
		{"bad value after the arguments", []string{"import", "x.csv", "--db", db, "--study", "S1", "--chunk", "many"}, `--chunk "many": want a whole number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			if !strings.HasPrefix(errOut, "trialwatch: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q; want one line saying %q", errOut, tt.want)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused command created the database")
	}
	// A command that only groups others shows them, on stderr.
	for _, args := range [][]string{nil, {"user"}, {"token"}, {"audit"}, {"completion"}} {
		code, out, errOut := runCmd(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Available Commands:") && !strings.Contains(errOut, "Running trialwatch:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and the commands on stderr", args, code, out, errOut)
		}
	}
}

// Flags may come before or after the arguments, and the errors of a
// command that ran say what failed once.
func TestFlagsAfterArgumentsAndCleanErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tw.db")
	code, _, errOut := runCmd(t, "user", "disable", "nobody", "--db", db)
	if code != 1 || errOut != "trialwatch: user nobody: unknown user\n" {
		t.Errorf("disable of an unknown user: exit %d, %q; want 1 and one clean line", code, errOut)
	}
	if code, _, errOut := runCmd(t, "user", "add", "--name", "s1", "--role", "site", "--study", "S1", "--sites", "701", "--db", db); code != 0 {
		t.Fatalf("user add: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "token", "create", "--user", "s1", "--db", db); code != 0 {
		t.Fatalf("token create: exit %d, %s", code, errOut)
	}
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID"`+"\n"+`"S1","DM","S1-001","701"`+"\n")
	code, out, errOut := runCmd(t, "import", dm, "--study", "S1", "--db", db)
	if code != 0 || !strings.Contains(out, "DM 1 new") {
		t.Errorf("import with the flags last: exit %d\n%s%s", code, out, errOut)
	}
}

// A disabled user can be enabled again; its old tokens stay revoked.
func TestUserEnable(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tw.db")
	for _, args := range [][]string{
		{"user", "add", "--db", db, "--name", "jane", "--role", "monitor", "--study", "S1"},
		{"token", "create", "--db", db, "--user", "jane"},
		{"user", "disable", "--db", db, "jane"},
	} {
		if code, _, errOut := runCmd(t, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
	}
	code, out, errOut := runCmd(t, "user", "enable", "jane", "--db", db)
	if code != 0 || !strings.Contains(out, "enabled user jane") {
		t.Fatalf("user enable: exit %d, %s%s", code, out, errOut)
	}
	_, out, _ = runCmd(t, "user", "list", "--db", db)
	if !strings.Contains(out, "active") || strings.Contains(out, "disabled") {
		t.Errorf("after enable, user list:\n%s", out)
	}
	_, out, _ = runCmd(t, "token", "list", "--db", db, "--user", "jane")
	// ID USER CREATED EXPIRES REVOKED LAST-USED (no label)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[len(lines)-1]); len(lines) != 2 || len(f) != 6 || f[4] == "-" {
		t.Errorf("the token revoked by disable is valid again:\n%s", out)
	}
	if code, _, errOut := runCmd(t, "user", "enable", "nobody", "--db", db); code != 1 || errOut != "trialwatch: user nobody: unknown user\n" {
		t.Errorf("enable of an unknown user: exit %d, %q", code, errOut)
	}
	code, out, errOut = runCmd(t, "audit", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "4 records") {
		t.Errorf("audit after add, token, disable, enable: exit %d, %s%s", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "trialwatch ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "ff5780202bb4eba8fee879c45dc6f536f6a626d4"},
		{Key: "vcs.time", Value: "2026-12-05T03:26:15Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionOf(info, true), "v1.4.0 (revision ff5780202bb4eba8fee879c45dc6f536f6a626d4, 2026-12-05T03:26:15Z, modified) go1.26.8"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	if got, want := versionOf(&debug.BuildInfo{GoVersion: "go1.26.8"}, true), "(devel) (no VCS information) go1.26.8"; got != want {
		t.Errorf("version without VCS = %q, want %q", got, want)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_trialwatch", "zsh": "#compdef trialwatch", "fish": "complete -c trialwatch"} {
		code, out, errOut := runCmd(t, "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes without %q", shell, code, errOut, len(out), want)
		}
	}
	// The completion lists the commands and a command's flags.
	_, out, _ := runCmd(t, "__complete", "user", "")
	for _, sub := range []string{"add", "disable", "enable", "list", "password"} {
		if !strings.Contains(out, sub) {
			t.Errorf("completing user: no %s in\n%s", sub, out)
		}
	}
	_, out, _ = runCmd(t, "__complete", "import", "--ch")
	if !strings.Contains(out, "--chunk") {
		t.Errorf("completing import --ch:\n%s", out)
	}
}

// flag > TRIALWATCH_* > --config file > default, and the file is checked
// like the flags, naming its line.
func TestConfigFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tw.yaml")
	write := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cfg config
	parse := func(args ...string) error {
		c := newCLI(t.Context(), nil, nil, nil)
		c.Config().SetPath(file)
		return parseFlagsWith(c, func(fs *flagset.Set) {
			cfg = config{}
			cfg.serverFlags(fs, "trialwatch.db")
			cfg.checkerFlags(fs)
		}, args...)
	}
	write("# serve settings\ndb: file.db\ncheck-workers: 7\nrate-limit: 9\nhttp: 127.0.0.1:8181\n")
	t.Setenv("TRIALWATCH_RATE_LIMIT", "8")
	t.Setenv("TRIALWATCH_HTTP", "127.0.0.1:8282")
	if err := parse("--http", "127.0.0.1:8383"); err != nil {
		t.Fatal(err)
	}
	if cfg.db != "file.db" || cfg.workers != 7 || cfg.rateLimit != 8 || cfg.httpAddr != "127.0.0.1:8383" || cfg.adminAddr != "127.0.0.1:9090" {
		t.Errorf("db %q workers %d rate %v http %q admin %q; want file.db (file), 7 (file), 8 (env over file), 127.0.0.1:8383 (flag over all), the default admin",
			cfg.db, cfg.workers, cfg.rateLimit, cfg.httpAddr, cfg.adminAddr)
	}

	// A key another command takes is left to it; one no command takes is
	// refused with its line.
	write("db: file.db\nsubjects-url: http://subjects:8080\nexpires: 720h\n")
	if err := parse(); err != nil {
		t.Errorf("keys of other commands: %v", err)
	}
	for _, tt := range []struct{ content, want string }{
		{"db: file.db\n\ncheck-workrs: 7\n", file + `:3: unknown key "check-workrs": not a trialwatch flag (did you mean "check-workers"?)`},
		{"check-workers: 0\n", file + `:1 (--check-workers) "0": want a positive whole number`},
		{"bad-auth-limit: lots\n", file + `:1 (--bad-auth-limit) "lots": want a number`},
		{"check-deadline: soon\n", file + `:1 (--check-deadline) "soon": want a duration`},
		{"db: a\ndb: b\n", file + `:2: key "db" given again (first on line 1)`},
		{"log-level:\n  - debug\n", file + `:2: log-level: want a single value`},
	} {
		write(tt.content)
		if err := parse(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.content, err, tt.want)
		}
	}
	// An environment value beats a bad one in the file, which is then
	// not read.
	write("rate-limit: lots\n")
	if err := parse(); err != nil || cfg.rateLimit != 8 {
		t.Errorf("env over a bad file value: %v, rate %v", err, cfg.rateLimit)
	}
}

// Through the whole command line: --config or TRIALWATCH_CONFIG, and
// the one line a mistake in the file gives.
func TestConfigFileOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tw.yaml")
	db := filepath.Join(dir, "from-file.db")
	os.WriteFile(file, []byte("db: "+db+"\n"), 0o600)
	if code, _, errOut := runCmd(t, "user", "add", "--config", file, "--name", "root", "--role", "admin"); code != 0 {
		t.Fatalf("user add with --config: exit %d, %s", code, errOut)
	}
	t.Setenv("TRIALWATCH_CONFIG", file)
	if code, out, errOut := runCmd(t, "user", "list"); code != 0 || !strings.Contains(out, "root") {
		t.Errorf("user list with TRIALWATCH_CONFIG: exit %d, %s%s", code, out, errOut)
	}
	os.WriteFile(file, []byte("db: "+db+"\nrate-limt: 5\n"), 0o600)
	code, out, errOut := runCmd(t, "user", "list")
	if code != 2 || out != "" || errOut != "trialwatch: "+file+`:2: unknown key "rate-limt": not a trialwatch flag (did you mean "rate-limit"?)`+"\n" {
		t.Errorf("unknown key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "user", "list", "--config", filepath.Join(dir, "none.yaml"))
	if code != 2 || !strings.Contains(errOut, `--config "`+filepath.Join(dir, "none.yaml")+`": no such file`) {
		t.Errorf("missing --config file: exit %d, %q", code, errOut)
	}
}

// parseFlagsWith defines flags on a command of c and parses args with
// them as a run does: command line, environment, c's --config file, then
// the checks.
func parseFlagsWith(c *cli, define func(*flagset.Set), args ...string) error {
	cmd := &cobra.Command{Use: "serve"}
	c.Root().AddCommand(cmd)
	fs := flagset.New(cmd, envPrefix, c.Config().Read)
	define(fs)
	fs.Bind()
	if err := cmd.ParseFlags(args); err != nil {
		return err
	}
	return fs.Resolve()
}
