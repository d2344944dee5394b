package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/internal/flagset"
	"github.com/trialwatch/trialwatch/pilotdata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buildBinary compiles trialwatch once per test into its temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "trialwatch")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// pilotFiles writes the embedded pilot domains to disk for `import`.
func pilotFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, d := range pilotdata.Domains {
		rc, err := pilotdata.Open(d)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, d+".csv")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(f, rc)
		rc.Close()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type proc struct {
	name  string
	cmd   *exec.Cmd
	http  string
	admin string
	log   string
	done  chan error
}

// start runs the binary; its output goes to a file (no copying goroutines)
// and the process is stopped and reaped when the test ends.
func start(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, http: freeAddr(t), admin: freeAddr(t), log: filepath.Join(t.TempDir(), name+".log"), done: make(chan error, 1)}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(bin, append(args, "--http", p.http, "--admin", p.admin)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.Env = append(os.Environ(), "TRIALWATCH_ADMIN_TOKEN=e2e-token", "TRIALWATCH_SERVICE_TOKEN="+e2eServiceToken)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }() // ends when the process exits; Cleanup makes sure it does
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	waitReady(t, p)
	return p
}

func (p *proc) url() string { return "http://" + p.http }

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func waitReady(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, err, p.output())
		default:
		}
		resp, err := http.Get(p.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 30s\n%s", p.name, p.output())
}

type checkResult struct {
	Complete bool              `json:"complete"`
	Sources  map[string]string `json:"sources"`
	Signals  []struct {
		Rule string `json:"rule"`
	} `json:"signals"`
}

// e2eServiceToken is the internal credential of the split-mode test's
// services.
var e2eServiceToken = strings.Repeat("e2e-service-", 4)

// send makes a request with a bearer token ("" for none).
func send(t *testing.T, method, url, token, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func check(t *testing.T, checkerURL, token, subject string) (int, checkResult) {
	t.Helper()
	resp := send(t, "POST", checkerURL+"/api/v1/studies/"+pilotdata.Study+"/subjects/"+subject+"/checks", token, "application/json", nil)
	defer resp.Body.Close()
	var r checkResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// Split mode end to end: four processes of the built binary on loopback
// ports sharing one SQLite file; a pilot subject checked; the exposure
// service killed mid-run and the checker still answering.
func TestSplitModeEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "split.db")
	out, err := exec.Command(bin, append([]string{"import", "--db", db, "--study", pilotdata.Study}, pilotFiles(t)...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out),
		"306 subjects, 591 doses, 1191 adverse events, 59580 lab results, 850 disposition events, 7510 concomitant medications") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	cli := func(args ...string) string {
		out, err := exec.Command(bin, append(args, "--db", db)...).Output()
		if err != nil {
			t.Fatalf("trialwatch %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	cli("user", "add", "--name", "mon", "--role", "monitor", "--study", pilotdata.Study)
	cli("user", "add", "--name", "site999", "--role", "site", "--study", pilotdata.Study, "--sites", "999")
	mon, site := cli("token", "create", "--user", "mon"), cli("token", "create", "--user", "site999")
	if !strings.Contains(cli("user", "list"), "site999") {
		t.Fatal("user list does not show the added users")
	}
	subj := start(t, bin, "subjects", "serve", "subjects", "--db", db)
	expo := start(t, bin, "exposure", "serve", "exposure", "--db", db)
	evts := start(t, bin, "events", "serve", "events", "--db", db)
	chk := start(t, bin, "checker", "serve", "checker", "--db", db, "--check-deadline", "2s",
		"--subjects-url", subj.url(), "--exposure-url", expo.url(), "--events-url", evts.url())

	code, r := check(t, chk.url(), mon, "01-701-1015")
	if code != http.StatusOK || !r.Complete || len(r.Signals) == 0 {
		t.Fatalf("check with all services up: %d %+v\n%s", code, r, chk.output())
	}
	if code, _ := check(t, chk.url(), mon, "01-999-0000"); code != http.StatusNotFound {
		t.Errorf("unknown subject: %d, want 404", code)
	}
	if code, _ := check(t, chk.url(), "", "01-701-1015"); code != http.StatusUnauthorized {
		t.Errorf("check without a token: %d, want 401", code)
	}
	// The data services answer only the checker's internal credential.
	get := `{"study":"` + pilotdata.Study + `","usubjid":"01-701-1015"}`
	for token, want := range map[string]int{"": http.StatusUnauthorized, mon: http.StatusUnauthorized, e2eServiceToken: http.StatusOK} {
		resp := send(t, "POST", subj.url()+"/trialwatch.v1.SubjectService/GetSubject", token, "application/json", strings.NewReader(get))
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("subjects service called with %.8q: %d, want %d", token, resp.StatusCode, want)
		}
	}

	// An upload through the checker: DM goes to the subjects service over
	// Connect, LB to the checker's own store, and the queued check runs.
	newDM := `"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFXSTDTC"` + "\n" +
		`"CDISCPILOT01","DM","01-999-0001","999","F",70,"2014-01-02"` + "\n"
	newLB := `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBDTC"` + "\n" +
		`"CDISCPILOT01","LB","01-999-0001",1,"ALT",400,"U/L",6,34,"2014-01-16"` + "\n"
	uploadRaw(t, chk.url(), site, "DM", newDM)
	uploadRaw(t, chk.url(), site, "LB", newLB)
	// A site user's upload of another site's subject stores nothing.
	otherLB := strings.ReplaceAll(newLB, "01-999-0001", "01-701-1015")
	if resp := send(t, "POST", chk.url()+"/api/v1/studies/"+pilotdata.Study+"/uploads?format=csv&domain=LB", site, "text/csv",
		strings.NewReader(otherLB)); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("site 999 uploading a site 701 subject's lab: %d, want 422", resp.StatusCode)
		resp.Body.Close()
	} else {
		resp.Body.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(body(t, chk.url()+"/api/v1/studies/"+pilotdata.Study+"/signals?subject=01-999-0001", site), `"LB:1"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the uploaded subject's check never ran\n%s", chk.output())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Site KRIs: the checker reads the whole study through the data
	// services' streams, recomputed on demand.
	if resp := send(t, "POST", chk.url()+"/api/v1/studies/"+pilotdata.Study+"/kris/recompute", mon, "application/json", nil); resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("KRI recompute in split mode: %d\n%s", resp.StatusCode, chk.output())
	} else {
		resp.Body.Close()
	}
	var ae struct {
		Sites []struct {
			Site        string  `json:"site"`
			Numerator   float64 `json:"numerator"`
			Denominator float64 `json:"denominator"`
		} `json:"sites"`
	}
	if err := json.Unmarshal([]byte(body(t, chk.url()+"/api/v1/studies/"+pilotdata.Study+"/kris/kri0001", mon)), &ae); err != nil || len(ae.Sites) == 0 ||
		ae.Sites[0].Site != "701" || ae.Sites[0].Numerator != 238 || ae.Sites[0].Denominator != 4975 {
		t.Errorf("kri0001 in split mode: %+v, %v; want site 701 at 238 AEs in 4975 days", ae.Sites, err)
	}

	expo.cmd.Process.Kill()
	<-expo.done
	expo.done <- nil // for the cleanup's receive
	code, r = check(t, chk.url(), mon, "01-701-1015")
	if code != http.StatusOK || r.Complete || r.Sources["exposure"] != "unavailable" || r.Sources["subject"] != "ok" {
		t.Fatalf("check with exposure down: %d %+v", code, r)
	}
	if !hasRule(r, "CHECK_INCOMPLETE") || !hasRule(r, "LAB_OUT_OF_RANGE") {
		t.Errorf("want CHECK_INCOMPLETE and lab signals with exposure down, got %+v", r.Signals)
	}

	subj.cmd.Process.Kill()
	<-subj.done
	subj.done <- nil
	if code, _ := check(t, chk.url(), mon, "01-701-1015"); code != http.StatusBadGateway {
		t.Errorf("check with the subject service down: %d, want 502", code)
	}

	// Admin listener: metrics, pprof and leak reports only with the token.
	assertStatus(t, "http://"+chk.admin+"/metrics", "", http.StatusUnauthorized)
	assertStatus(t, "http://"+chk.admin+"/metrics", "Bearer "+mon, http.StatusForbidden) // a monitor is not ops
	assertStatus(t, "http://"+chk.admin+"/healthz", "", http.StatusOK)
	assertStatus(t, "http://"+chk.admin+"/debug/pprof/", "", http.StatusUnauthorized)
	assertStatus(t, "http://"+chk.admin+"/debug/pprof/", "Bearer e2e-token", http.StatusOK)
	assertStatus(t, "http://"+chk.admin+"/debug/leaks?format=json", "", http.StatusUnauthorized)
	assertStatus(t, "http://"+chk.admin+"/debug/leaks?format=json", "Bearer e2e-token", http.StatusOK)
	if m := body(t, "http://"+chk.admin+"/metrics", "e2e-token"); !strings.Contains(m, "leakguard_suspected_goroutines") ||
		!strings.Contains(m, "trialwatch_upstream_call_duration_seconds_count{service=\"exposure\",status=\"unavailable\"}") {
		t.Errorf("checker metrics lack the leak watchdog's or the upstream series:\n%.2000s", m)
	}

	// Graceful shutdown: SIGTERM ends the process cleanly.
	chk.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-chk.done:
		chk.done <- err
		if err != nil {
			t.Errorf("checker exited with %v after SIGTERM\n%s", err, chk.output())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("checker still running 15s after SIGTERM")
	}
}

func uploadRaw(t *testing.T, base, token, domain, csv string) {
	t.Helper()
	resp := send(t, "POST", base+"/api/v1/studies/"+pilotdata.Study+"/uploads?format=csv&domain="+domain, token, "text/csv", strings.NewReader(csv))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload %s: %d %s", domain, resp.StatusCode, b)
	}
}

func body(t *testing.T, url, token string) string {
	t.Helper()
	resp := send(t, "GET", url, token, "", nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func hasRule(r checkResult, rule string) bool {
	for _, s := range r.Signals {
		if s.Rule == rule {
			return true
		}
	}
	return false
}

func assertStatus(t *testing.T, url, auth string, want int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("GET %s with %q: %d, want %d", url, auth, resp.StatusCode, want)
	}
}

func TestEnvironmentFillsFlags(t *testing.T) {
	t.Setenv("TRIALWATCH_CHECK_DEADLINE", "750ms")
	t.Setenv("TRIALWATCH_DB", "from-env.db")
	var cfg config
	err := parseFlags(func(fs *flagset.Set) {
		cfg.serverFlags(fs, "trialwatch.db")
		cfg.checkerFlags(fs)
	}, "--db", "from-flag.db")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.checkDeadline != 750*time.Millisecond || cfg.db != "from-flag.db" {
		t.Errorf("deadline %v db %q: want env to fill the deadline and the flag to win for db", cfg.checkDeadline, cfg.db)
	}
	t.Setenv("TRIALWATCH_CHECK_DEADLINE", "soon")
	err = parseFlags(func(fs *flagset.Set) { cfg.checkerFlags(fs) })
	if err == nil || !strings.Contains(err.Error(), "TRIALWATCH_CHECK_DEADLINE") {
		t.Errorf("bad env value: err = %v, want it to name the variable", err)
	}
}

// parseFlags defines flags on a command of their own and parses args
// with them, as a run does: command line, environment, then the checks.
func parseFlags(define func(*flagset.Set), args ...string) error {
	return parseFlagsWith(newCLI(context.Background(), nil, io.Discard, io.Discard), define, args...)
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve", "billing"}, {"import", "--db", "x.db"}} {
		var out, errOut strings.Builder
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2; stderr: %s", args, code, errOut.String())
		}
		if errOut.Len() == 0 {
			t.Errorf("run(%q) explained nothing on stderr", args)
		}
	}
	serveChecker := []string{"serve", "checker", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db")}
	var errOut strings.Builder
	code := run(context.Background(), serveChecker, io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--subjects-url, --exposure-url, --events-url") {
		t.Errorf("checker without upstream URLs: code %d, stderr %q", code, errOut.String())
	}
	serveChecker = append(serveChecker, "--subjects-url", "http://127.0.0.1:1", "--exposure-url", "http://127.0.0.1:1", "--events-url", "http://127.0.0.1:1")
	errOut.Reset()
	code = run(context.Background(), serveChecker, io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--service-token-file FILE or TRIALWATCH_SERVICE_TOKEN") {
		t.Errorf("split-mode checker without the service credential: code %d, stderr %q", code, errOut.String())
	}
	t.Setenv("TRIALWATCH_SERVICE_TOKEN", "short")
	errOut.Reset()
	if code := run(context.Background(), serveChecker, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "TRIALWATCH_SERVICE_TOKEN: the internal service credential is 5 characters long") {
		t.Errorf("a short service credential: code %d, stderr %q", code, errOut.String())
	}
}
