// Package browsertest drives trialwatch's web UI in a real headless
// Chromium: it starts `trialwatch demo` as a user would (the binary, built
// from this checkout), signs in with the passwords the demo prints, and
// checks every page it opens for console errors, Content-Security-Policy
// violations and serious accessibility problems (axe-core, vendored in
// testdata).
//
// Tests skip with a clear message where no Chromium can start; CI installs
// Debian's chromium (.ci/run).
package browsertest

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed testdata/axe.min.js
var axeSource string

// User is one demo user: a name, the password for the browser and the
// API token.
type User struct {
	Name, Role, Password, Token string
}

// Demo is a running `trialwatch demo`.
type Demo struct {
	URL, AdminURL string
	Users         map[string]User // by role
}

// StartDemo builds trialwatch and runs its demo until the test ends.
func StartDemo(t testing.TB, args ...string) *Demo {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trialwatch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/trialwatch")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building trialwatch: %v\n%s", err, out)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "demo.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, append([]string{"demo", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	exited := make(chan error, 1)        // buffered: Wait's result is kept until the cleanup reads it
	go func() { exited <- cmd.Wait() }() // ends when the demo process exits (the cleanup interrupts it)
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	d := &Demo{Users: map[string]User{}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		text, _ := os.ReadFile(out.Name())
		if strings.Contains(string(text), "Press Ctrl-C") {
			d.parse(string(text))
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the demo exited before serving (%v):\n%s", err, text)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not start within 2 minutes:\n%s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.URL == "" || len(d.Users) != 4 {
		text, _ := os.ReadFile(out.Name())
		t.Fatalf("could not read the demo's URLs and users from its output:\n%s", text)
	}
	return d
}

var (
	apiLine   = regexp.MustCompile(`(?m)^\s+API\s+(\S+)$`)
	adminLine = regexp.MustCompile(`(?m)^\s+admin\s+(http\S+)$`)
	userLine  = regexp.MustCompile(`(?m)^  (\w+)\s+(site|monitor|admin|ops)\s.*\spassword (\S+)\s+token (tw_\S+)$`)
)

func (d *Demo) parse(text string) {
	if m := apiLine.FindStringSubmatch(text); m != nil {
		d.URL = m[1]
	}
	if m := adminLine.FindStringSubmatch(text); m != nil {
		d.AdminURL = m[1]
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if m := userLine.FindStringSubmatch(sc.Text()); m != nil {
			d.Users[m[2]] = User{Name: m[1], Role: m[2], Password: m[3], Token: m[4]}
		}
	}
}

// moduleRoot is the trialwatch module's directory.
func moduleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source tree")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// chromium finds a Chromium or Chrome to drive: $TRIALWATCH_CHROMIUM, or
// one on PATH.
func chromium() string {
	if p := os.Getenv("TRIALWATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium tab that records what went wrong on the
// pages it shows.
type Browser struct {
	Ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// NewBrowser starts a headless Chromium for the test, or skips the test
// saying why none could start.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no Chromium found (install Debian's chromium or set TRIALWATCH_CHROMIUM): browser tests skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{Ctx: ctx}
	chromedp.ListenTarget(ctx, b.listen)
	// The first Run starts the browser, which lives as long as the
	// context of that run: it gets no timeout of its own.
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		// Every document reports its CSP violations where the test can
		// read them; scripts added this way are exempt from the page's CSP.
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`).Do(ctx)
		return err
	}))
	if err != nil {
		t.Skipf("Chromium at %s could not start (%v): browser tests skipped", path, err)
	}
	return b
}

func (b *Browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *cdpruntime.EventExceptionThrown:
		msg = "uncaught exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type != cdpruntime.APITypeError && ev.Type != cdpruntime.APITypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	default:
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, msg)
	b.mu.Unlock()
}

// Errors returns and forgets the console errors and exceptions seen so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errs
	b.errs = nil
	return out
}

// Run runs actions with a deadline. Each action that finds the page's
// document replaced under it (its node or script context gone: a
// navigation or a reload landed between finding a node and using it) is
// run again on the new document; those errors come before the action has
// any effect, so running it again never clicks or types twice.
func (b *Browser) Run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	again := make([]chromedp.Action, len(actions))
	for i, a := range actions {
		again[i] = onFreshDocument(a)
	}
	if err := chromedp.Run(ctx, again...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// staleDocument lists what Chromium answers for a node or execution
// context of a document that has just been replaced.
var staleDocument = []string{
	"No node with given id found",
	"Could not find node with given id",
	"Node with given id does not belong to the document",
	"Cannot find context with specified id",
}

func onFreshDocument(a chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			err := a.Do(ctx)
			if err == nil || !isStale(err) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (the page's document kept changing: %v)", ctx.Err(), err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

func isStale(err error) bool {
	for _, s := range staleDocument {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// SignIn signs in through the login page as u.
func (b *Browser) SignIn(t testing.TB, d *Demo, u User) {
	t.Helper()
	b.Run(t,
		chromedp.Navigate(d.URL+"/ui/login"),
		chromedp.WaitVisible("#user", chromedp.ByID),
		chromedp.SendKeys("#user", u.Name, chromedp.ByID),
		chromedp.SendKeys("#password", u.Password, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("form.signout", chromedp.ByQuery),
	)
}

// Violation is one accessibility rule axe-core found broken.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var targets []string
	for _, n := range v.Nodes {
		targets = append(targets, fmt.Sprint(n.Target...))
	}
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(targets, ", "))
}

// CheckPage fails the test for anything wrong on the page shown now:
// console errors, uncaught exceptions, CSP violations, and serious or
// critical accessibility violations.
func (b *Browser) CheckPage(t testing.TB, name string) {
	t.Helper()
	var csp []string
	var raw string
	b.Run(t,
		chromedp.Evaluate(`window.__csp || []`, &csp),
		chromedp.Evaluate(axeSource+`;0`, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, &raw,
			func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	for _, c := range csp {
		t.Errorf("%s: CSP violation: %s", name, c)
	}
	for _, e := range b.Errors() {
		t.Errorf("%s: %s", name, e)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("%s: reading axe's answer: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility: %s", name, v)
		}
	}
}
