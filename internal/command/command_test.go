package command

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/internal/flagset"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tool is a small tree: "tool greet NAME [--times N]" and "tool fail",
// under a group "tool things".
func tool(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	app := New(t.Context(), &cobra.Command{Use: "tool"}, "TOOL_TEST", strings.NewReader(""), &out, &errOut)
	var times int
	greet := app.Command(&cobra.Command{Use: "greet NAME", Args: OneArg("a NAME")}, func(fs *flagset.Set) {
		fs.IntVar(&times, "times", 1, "how many times")
		fs.Check("times", flagset.Positive)
	}, func(_ *flagset.Set, args []string) error {
		for range times {
			app.Stdout.Write([]byte("hello " + args[0] + "\n"))
		}
		return nil
	})
	fail := app.Command(&cobra.Command{Use: "fail", Args: NoArgs}, nil, func(*flagset.Set, []string) error {
		return errors.New("the work failed")
	})
	app.Root().AddCommand(app.Group(&cobra.Command{Use: "things"}, greet, fail))
	code = app.Execute(args)
	return code, out.String(), errOut.String()
}

// Exit codes: 0 for success and help, 1 for a command that ran and
// failed, 2 for any wrong command line, with one line naming what was
// wrong; the environment sets flags the command line does not.
func TestExitCodesAndOneLineErrors(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		env      string
		code     int
		out, err string
	}{
		{args: []string{"things", "greet", "ann", "--times", "2"}, out: "hello ann\nhello ann\n"},
		{args: []string{"things", "greet", "ann"}, env: "3", out: "hello ann\nhello ann\nhello ann\n"},
		{args: []string{"help", "things", "greet"}, out: "Usage:"},
		{args: []string{"things", "fail"}, code: 1, err: "tool: the work failed\n"},
		{args: []string{"things", "greet"}, code: 2, err: "tool: things greet needs a NAME\n"},
		{args: []string{"things", "greet", "a", "b"}, code: 2, err: `takes one a NAME, got ["a" "b"]`},
		{args: []string{"things", "greet", "ann", "--times", "0"}, code: 2, err: "--times"},
		{args: []string{"things", "greet", "ann", "--times", "many"}, code: 2, err: "--times"},
		{args: []string{"things", "greet", "ann", "--loud"}, code: 2, err: "unknown flag: --loud"},
		{args: []string{"things"}, code: 2, err: "Available Commands:"},
		{args: []string{"things", "dance"}, code: 2, err: `unknown command "dance"`},
		{args: []string{"help", "dance"}, code: 2, err: `no help for "dance"`},
		{args: nil, code: 2, err: "Available Commands:"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("TOOL_TEST_TIMES", tt.env)
			}
			code, out, errOut := tool(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
			if code == 2 && !strings.Contains(tt.err, "Available") && strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want one line", errOut)
			}
		})
	}
}
