package progress_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/internal/progress"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Off a terminal, a step is log lines: one per update (Every(0)) with the
// rows, rows/s, the share read and the time left, and one as it ends;
// never a control character.
func TestLogLinesOffATerminal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lb.csv")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := progress.New(&out, progress.Every(0))
	f, err := p.Open("importing lb.csv", path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	f.Read(buf)
	p.SetRows(10)
	io.Copy(io.Discard, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if !regexp.MustCompile(`msg="in progress" step="importing lb.csv" elapsed=\S+ rows=10 rows_per_s=\d+ done=\d+\.\d% size="4.0 KiB" eta=\S+`).MatchString(log) {
		t.Errorf("no progress line with rows, rows/s, the share done and the time left:\n%s", log)
	}
	if !strings.Contains(log, `msg=finished step="importing lb.csv"`) || !strings.Contains(log, `done=100.0%`) {
		t.Errorf("closing the file did not end the step at 100%%:\n%s", log)
	}
	if strings.ContainsAny(log, "\r\033") {
		t.Error("control characters in a log that is not a terminal")
	}
}
