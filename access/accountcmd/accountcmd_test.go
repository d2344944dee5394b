package accountcmd

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/trialwatch/trialwatch/internal/command"
	"github.com/trialwatch/trialwatch/sqldb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runCmd runs the account commands under a root named trialwatch, as the
// binary does, with nothing on standard input.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWithInput(t, "", args...)
}

func runWithInput(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	app := command.New(t.Context(), &cobra.Command{Use: "trialwatch"}, "TRIALWATCH_TEST", strings.NewReader(input), &out, &errOut)
	app.Root().AddCommand(Commands(app)...)
	code = app.Execute(args)
	return code, out.String(), errOut.String()
}

// The account commands change users and tokens with an audit record each,
// and `audit verify` finds a record edited behind the database's back.
func TestAccountCommandsAndAuditVerify(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acc.db")
	for _, args := range [][]string{
		{"user", "add", "--db", db, "--name", "jane", "--role", "monitor", "--study", "S1"},
		{"user", "add", "--db", db, "--name", "s1", "--role", "site", "--study", "S1", "--sites", "701,702"},
		{"token", "create", "--db", db, "--user", "jane", "--label", "laptop"},
		{"user", "disable", "--db", db, "s1"},
	} {
		if code, _, errOut := runCmd(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
	}
	if code, out, errOut := runWithInput(t, "a long enough password\n", "user", "password", "--db", db, "jane"); code != 0 || !strings.Contains(out, "set the password of jane") {
		t.Fatalf("user password: exit %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := runWithInput(t, "short\n", "user", "password", "--db", db, "jane"); code != 1 || !strings.Contains(errOut, "too short") {
		t.Errorf("a short password: exit %d, %s", code, errOut)
	}
	_, out, _ := runCmd(t, "user", "list", "--db", db)
	if !strings.Contains(out, "jane") || !strings.Contains(out, "S1/701 S1/702") || !strings.Contains(out, "disabled") ||
		!regexp.MustCompile(`jane\s+monitor\s+S1/\*\s+true`).MatchString(out) {
		t.Errorf("user list:\n%s", out)
	}
	_, out, _ = runCmd(t, "token", "list", "--db", db, "--user", "jane")
	if !strings.Contains(out, "laptop") || strings.Contains(out, "tw_") {
		t.Errorf("token list must show the token but never its secret:\n%s", out)
	}
	if code, _, errOut := runCmd(t, "user", "add", "--db", db, "--name", "jane", "--role", "monitor", "--study", "S1"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("duplicate user: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "user", "add", "--db", db, "--name", "x", "--role", "boss"); code != 1 || !strings.Contains(errOut, "unknown role") {
		t.Errorf("bad role: exit %d, %s", code, errOut)
	}
	code, out, errOut := runCmd(t, "audit", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "5 records") {
		t.Fatalf("verify of an intact trail: exit %d, %s %s", code, out, errOut)
	}
	head := regexp.MustCompile(`head (5:[0-9a-f]{64})`).FindStringSubmatch(out)
	if head == nil {
		t.Fatalf("verify printed no head to anchor on:\n%s", out)
	}
	if code, out, errOut := runCmd(t, "audit", "verify", "--db", db, "--anchor", head[1]); code != 0 || !strings.Contains(out, "anchor 5 matches") {
		t.Fatalf("verify against its own head: exit %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "audit", "verify", "--db", db, "--anchor", "9:"+strings.Repeat("ab", 32)); code != 1 || !strings.Contains(errOut, "cut off") {
		t.Errorf("an anchor past the end: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "audit", "verify", "--db", db, "--anchor", "5:"+strings.Repeat("ab", 32)); code != 1 || !strings.Contains(errOut, "rewritten") {
		t.Errorf("an anchor with another hash: exit %d, %s", code, errOut)
	}

	// Someone with the database file drops the guard and edits a record.
	sdb, err := sqldb.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`} {
		if _, err := sdb.Exec(q); err != nil {
			sdb.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	sdb.Close()
	code, _, errOut = runCmd(t, "audit", "verify", "--db", db)
	if code != 1 || !strings.Contains(errOut, "broken at record 2") {
		t.Errorf("verify of an edited trail: exit %d, %s", code, errOut)
	}
}
