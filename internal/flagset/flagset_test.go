package flagset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/internal/flagset"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parse defines --db, --workers and --wait on a command of a new root
// whose configuration file is file ("" for none), and resolves args.
func parse(t *testing.T, file string, args ...string) (db string, workers int, wait time.Duration, err error) {
	t.Helper()
	root := &cobra.Command{Use: "tool"}
	cfg := flagset.NewConfig(root, "TOOL")
	cfg.SetPath(file)
	cmd := &cobra.Command{Use: "run"}
	root.AddCommand(cmd)
	fs := flagset.New(cmd, "TOOL", cfg.Read)
	fs.StringVar(&db, "db", "default.db", "")
	fs.IntVar(&workers, "workers", 4, "")
	fs.DurationVar(&wait, "wait", time.Second, "")
	fs.Check("db", flagset.Required)
	fs.Check("workers", flagset.Positive)
	fs.Check("wait", flagset.Positive)
	fs.Bind()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return db, workers, wait, fs.Resolve()
}

// flag > environment > file > default; a bad value names the flag and
// where it came from.
func TestPrecedenceAndErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tool.yaml")
	if err := os.WriteFile(file, []byte("db: file.db\nworkers: 7\nwait: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOOL_WORKERS", "9")
	db, workers, wait, err := parse(t, file, "--db", "flag.db")
	if err != nil || db != "flag.db" || workers != 9 || wait != 3*time.Second {
		t.Errorf("got db %q workers %d wait %v (%v); want flag.db (flag), 9 (environment), 3s (file)", db, workers, wait, err)
	}
	if _, _, wait, err := parse(t, ""); err != nil || wait != time.Second {
		t.Errorf("no file: wait %v (%v), want the default", wait, err)
	}

	for _, c := range []struct {
		env, content string
		args         []string
		want         string
	}{
		{"0", "", nil, `TOOL_WORKERS (--workers) "0": want a positive whole number`},
		{"many", "", nil, `TOOL_WORKERS (--workers) "many": want a whole number`},
		{"2", "wait: 0s\n", nil, file + `:1 (--wait) "0s": want a positive duration`},
		{"2", "", []string{"--db", " "}, `--db " ": required`},
		{"2", "wiat: 1s\n", nil, file + `:1: unknown key "wiat"`},
	} {
		t.Setenv("TOOL_WORKERS", c.env)
		os.WriteFile(file, []byte(c.content), 0o600)
		_, _, _, err := parse(t, file, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %q, file %q, args %q: %v, want %q", c.env, c.content, c.args, err, c.want)
		}
	}
	_, _, _, err = parse(t, filepath.Join(t.TempDir(), "none.yaml"))
	if e, ok := err.(*flagset.Error); !ok || e.Flag != "config" || !strings.Contains(e.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRules(t *testing.T) {
	for _, c := range []struct {
		rule flagset.Rule
		v    any
		bad  bool
	}{
		{flagset.HTTPURL, "", false}, {flagset.HTTPURL, "http://h:8080", false}, {flagset.HTTPURL, "ftp://h", true},
		{flagset.HTTPURL, "http://:80", true}, {flagset.HTTPURL, "http://h:99999", true},
		{flagset.HostPort, ":8080", false}, {flagset.HostPort, "localhost", true}, {flagset.HostPort, "h:70000", true},
		{flagset.Positive, 0.5, false}, {flagset.Positive, 0.0, true}, {flagset.Positive, int64(0), true},
		{flagset.NotNegative, time.Duration(0), false}, {flagset.NotNegative, -time.Second, true},
		{flagset.Readable, "", false}, {flagset.Readable, t.TempDir(), true}, {flagset.Readable, "/nonexistent/x", true},
		{flagset.WritableDir, filepath.Join(t.TempDir(), "made"), false},
	} {
		if reason := c.rule(c.v); (reason != "") != c.bad {
			t.Errorf("%#v: %q, want bad=%v", c.v, reason, c.bad)
		}
	}
}
