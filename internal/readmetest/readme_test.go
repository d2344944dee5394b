package readmetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The READMEs whose shell blocks run, from the repository's root.
var readmes = []string{"README.md", "leakguard/README.md"}

// The demo's users, and the variables the examples know their tokens by.
var tokenVars = map[string]string{"monitor": "TOKEN", "site701": "SITE_TOKEN", "admin": "ADMIN_TOKEN", "ops": "OPS_TOKEN"}

// TestREADMEExamples runs every shell command of the READMEs' example
// blocks, as a reader would, against one fresh `trialwatch demo`:
//
//   - the tokens are in TOKEN (the monitor's), SITE_TOKEN (site701's),
//     ADMIN_TOKEN and OPS_TOKEN, as the README tells a reader to set them;
//   - the demo listens on free ports, which replace 127.0.0.1:8080 and
//     127.0.0.1:9090 in the commands;
//   - each block runs in its own bash (set -o pipefail), in a directory
//     that holds the repository's files (so ./cmd/trialwatch and
//     examples/data/dm.csv are there) and takes the files the examples
//     write, with the demo's binary first on the PATH as trialwatch;
//   - a command must exit 0 and get no HTTP answer of 400 or more, unless
//     a "# expect: NNN" comment on it says which error it is meant to get;
//   - a block that cannot run here (it serves until stopped, needs root,
//     runs the test suite or benchmarks) is preceded by
//     <!-- readme-test: skip REASON -->, and counted.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds trialwatch and serves the pilot study; skipped with -short")
	}
	if raceEnabled {
		t.Skip("the examples run in a demo built without the race detector: nothing to watch; the plain go test run covers them")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash: ", err)
	}
	for _, tool := range []string{"curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples use %s, which is not on the PATH", tool)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []Block
	for _, name := range readmes {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := Blocks(name, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, bs...)
	}
	if len(blocks) < 10 {
		t.Fatalf("found %d shell blocks in %v: the parser has lost them", len(blocks), readmes)
	}

	work := workDir(t, root)
	bin := filepath.Join(t.TempDir(), "bin")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, "trialwatch"), "./cmd/trialwatch")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/trialwatch: %v\n%s", err, out)
	}
	d := startDemo(t, filepath.Join(bin, "trialwatch"))

	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for user, v := range tokenVars {
		env = append(env, v+"="+d.tokens[user])
	}
	ran, skipped := 0, 0
	var reasons []string
	for _, b := range blocks {
		if b.Skip != "" {
			skipped++
			reasons = append(reasons, fmt.Sprintf("%s:%d (%d commands): %s", b.File, b.Line, len(b.Commands), b.Skip))
			continue
		}
		t.Run(fmt.Sprintf("%s:%d", b.File, b.Line), func(t *testing.T) {
			problems, stdout := runBlock(t.Context(), b, work, env, d.api, d.admin)
			for _, p := range problems {
				t.Error(p)
			}
			if len(problems) > 0 {
				t.Logf("the block's stdout:\n%s", stdout)
			}
		})
		ran += len(b.Commands)
	}
	t.Logf("ran %d commands of %d blocks; skipped %d blocks:\n  %s", ran, len(blocks)-skipped, skipped, strings.Join(reasons, "\n  "))
}

// workDir makes a directory holding a link to each of the repository's
// top-level entries, where the examples run: they find the repository's
// files, and the files they write stay out of it.
func workDir(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue // no VCS stamping of what the examples build
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// demo is a running `trialwatch demo`.
type demo struct {
	api, admin string // host:port
	tokens     map[string]string
}

// startDemo runs the demo on free ports until the test ends, reads the
// tokens it prints, and waits until its first KRI snapshot exists (the
// pilot checked, about 10 s after start), as the README's KRI examples
// need.
func startDemo(t *testing.T, bin string) *demo {
	t.Helper()
	ports := freePorts(t, 2)
	d := &demo{api: ports[0], admin: ports[1], tokens: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "demo", "--http", d.api, "--admin", d.admin)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // a clean stop removes its database
	cmd.WaitDelay = 15 * time.Second
	logFile, err := os.Create(filepath.Join(t.TempDir(), "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	welcome := &welcomeReader{tokens: d.tokens, found: make(chan struct{})}
	cmd.Stdout = welcome
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait() // ends within WaitDelay of the interrupt
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("demo log (last 4 KiB):\n%s", b[max(0, len(b)-4096):])
		}
	})
	select {
	case <-welcome.found:
	case <-time.After(2 * time.Minute):
		t.Fatal("the demo printed no token for every user within 2 minutes")
	}
	poll(t, 2*time.Minute, "the demo's first KRI snapshot", func() bool {
		req, _ := http.NewRequest("GET", "http://"+d.api+"/api/v1/studies/CDISCPILOT01/kris", nil)
		req.Header.Set("Authorization", "Bearer "+d.tokens["monitor"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	http.DefaultClient.CloseIdleConnections()
	return d
}

// welcomeReader reads the demo's welcome text: a line per user, its
// token last. It closes found once it has every user's.
type welcomeReader struct {
	mu      sync.Mutex
	partial []byte
	tokens  map[string]string
	found   chan struct{}
}

func (w *welcomeReader) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		f := strings.Fields(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
		if len(f) >= 3 && tokenVars[f[0]] != "" && strings.HasPrefix(f[len(f)-1], "tw_") && w.tokens[f[0]] == "" {
			w.tokens[f[0]] = f[len(f)-1]
			if len(w.tokens) == len(tokenVars) {
				close(w.found)
			}
		}
	}
}

func poll(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePorts returns n loopback addresses free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Addr().String())
		defer l.Close()
	}
	return out
}

// Markers the block's script writes on stderr around each command, and
// the curl wrapper after each request.
var (
	beginMark = regexp.MustCompile(`^@@readme-test begin (\d+)$`)
	endMark   = regexp.MustCompile(`^@@readme-test end (\d+) (\d+)$`)
	httpMark  = regexp.MustCompile(`^@@readme-test http (\d{3})$`)
)

// runBlock runs a block's commands in one bash, in order, with the API
// and admin addresses in place of the README's, and says what is wrong
// with each; stdout is the block's output.
func runBlock(ctx context.Context, b Block, dir string, env []string, api, admin string) (problems []string, stdout string) {
	addr := strings.NewReplacer("127.0.0.1:8080", api, "127.0.0.1:9090", admin)
	var script strings.Builder
	script.WriteString("set -o pipefail\n")
	// Every answer's status, on stderr where the command's own output
	// does not go.
	script.WriteString(`curl() { command curl -w '%{stderr}@@readme-test http %{http_code}\n' "$@"; }` + "\n")
	for i, c := range b.Commands {
		fmt.Fprintf(&script, "echo '@@readme-test begin %d' >&2\n%s\necho \"@@readme-test end %d $?\" >&2\n", i, addr.Replace(c.Text), i)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	var out, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		problems = append(problems, fmt.Sprintf("%s:%d: bash: %v", b.File, b.Line, err))
	}
	type result struct {
		ended bool
		rc    int
		http  []int
		other []string // the command's own stderr
	}
	results := make([]result, len(b.Commands))
	cur := -1
	for line := range strings.Lines(stderr.String()) {
		line = strings.TrimRight(line, "\n")
		switch m := beginMark.FindStringSubmatch(line); {
		case m != nil:
			cur, _ = strconv.Atoi(m[1])
			continue
		case cur < 0:
			continue
		}
		if m := endMark.FindStringSubmatch(line); m != nil {
			results[cur].ended = true
			results[cur].rc, _ = strconv.Atoi(m[2])
			cur = -1
		} else if m := httpMark.FindStringSubmatch(line); m != nil {
			code, _ := strconv.Atoi(m[1])
			results[cur].http = append(results[cur].http, code)
		} else {
			results[cur].other = append(results[cur].other, line)
		}
	}
	for i, c := range b.Commands {
		r := results[i]
		where := fmt.Sprintf("%s:%d: %s", b.File, c.Line, c.Text)
		var problem string
		switch {
		case !r.ended:
			problem = "it did not finish (the shell stopped)"
		case r.rc != 0:
			problem = fmt.Sprintf("exit status %d", r.rc)
		case c.Expect != 0 && !contains(r.http, c.Expect):
			problem = fmt.Sprintf("it is marked expect: %d, the answers were %v", c.Expect, r.http)
		case c.Expect == 0:
			for _, code := range r.http {
				if code >= 400 || code == 0 {
					problem = fmt.Sprintf("answered %d", code)
				}
			}
		}
		if problem != "" {
			problems = append(problems, fmt.Sprintf("%s\n  %s; its stderr:\n  %s", where, problem, strings.Join(r.other, "\n  ")))
		}
	}
	return problems, out.String()
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
