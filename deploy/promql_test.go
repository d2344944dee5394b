package deploy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// ruleFiles are the alert and recording rules Prometheus loads.
var ruleFiles = []string{"prometheus/trialwatch-rules.yml", "prometheus/leakguard-rules.yml"}

// query is one PromQL expression and where it was found.
type query struct{ where, expr string }

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record string `json:"record"`
			Alert  string `json:"alert"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleQueries are the expressions of every rule, and the names the
// recording rules define.
func ruleQueries(t *testing.T) (qs []query, recorded map[string]bool) {
	t.Helper()
	recorded = map[string]bool{}
	for _, f := range ruleFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(data, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				name := r.Alert
				if r.Record != "" {
					name, recorded[r.Record] = r.Record, true
				}
				qs = append(qs, query{f + ": " + name, r.Expr})
			}
		}
	}
	return qs, recorded
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		GridPos struct {
			X, Y, W, H int
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// grafanaVars are Grafana's variables, replaced by what they stand for so
// that Prometheus's parser reads the query as Prometheus will receive it.
var grafanaVars = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range|[A-Za-z_]\w*)\}?`)

func grafanaToPromQL(expr string) string {
	return grafanaVars.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.Contains(v, "__") {
			return "5m"
		}
		return "x" // a label value: inside quotes wherever the dashboards use one
	})
}

// labelValues is a query variable's label_values(SELECTOR, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardQueries are the expressions of every panel and query variable
// of every dashboard, checking the dashboards' own structure meanwhile.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var qs []query
	uids := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: no uid or title", f)
		}
		if prev, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", prev, f, d.UID)
		}
		uids[d.UID] = f
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", f, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %q lies outside the 24-column grid: %+v", f, p.Title, p.GridPos)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, tg := range p.Targets {
				qs = append(qs, query{f + ": " + p.Title, grafanaToPromQL(tg.Expr)})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(map[string]any)
			s, _ := q["query"].(string)
			m := labelValues.FindStringSubmatch(s)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(SELECTOR, LABEL)", f, v.Name, s)
				continue
			}
			qs = append(qs, query{f + ": variable " + v.Name, grafanaToPromQL(m[1])})
		}
	}
	return qs
}

// selected are the metric names an expression selects: exact names, and
// the regular expressions of {__name__=~"..."} selectors.
type selected struct {
	names   []string
	regexps []*labels.Matcher
}

func selectorsOf(expr parser.Expr) selected {
	var s selected
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			s.names = append(s.names, vs.Name)
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				if m.Type == labels.MatchEqual {
					s.names = append(s.names, m.Value)
				} else {
					s.regexps = append(s.regexps, m)
				}
			}
		}
		return nil
	})
	return s
}

// allQueries parses every expression of the rules and dashboards, failing
// t on any that does not parse.
func allQueries(t *testing.T) (map[string]selected, map[string]bool) {
	t.Helper()
	rules, recorded := ruleQueries(t)
	p := parser.NewParser(parser.Options{})
	out := map[string]selected{}
	for _, q := range append(rules, dashboardQueries(t)...) {
		expr, err := p.ParseExpr(q.expr)
		if err != nil {
			t.Errorf("%s: %v\n\t%s", q.where, err, q.expr)
			continue
		}
		s := selectorsOf(expr)
		if len(s.names)+len(s.regexps) == 0 {
			t.Errorf("%s selects no series: %s", q.where, q.expr)
		}
		prev := out[q.where]
		prev.names = append(prev.names, s.names...)
		prev.regexps = append(prev.regexps, s.regexps...)
		out[q.where] = prev
	}
	return out, recorded
}

func TestPromQLParses(t *testing.T) {
	qs, _ := allQueries(t)
	if len(qs) < 30 {
		t.Errorf("only %d rules and panels found: the files moved?", len(qs))
	}
}

// Series Prometheus makes itself for every target.
var prometheusSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// conditionalSeries are exported only in a state a healthy demo is not in,
// by the source file named; the test checks the file still defines them.
var conditionalSeries = map[string]string{
	// one series per suspect group, none while the watchdog suspects none
	"leakguard_suspect_group_goroutines": "../leakguard/metrics/metrics.go",
}

// definedIn says whether a Go source file names a series.
func definedIn(t *testing.T, file, name string) bool {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(src, []byte(`"`+name+`"`))
}

// Every series the rules and dashboards name is one a running trialwatch
// node exports, a recording rule defines or Prometheus makes: a rename in
// the code cannot leave an alert silently watching nothing. The node is
// built as the Dockerfile builds it and run as the image runs it,
// configured by environment alone, and the image's health check probes it.
func TestPromQLNamesExportedSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trialwatch")
	}
	qs, recorded := allQueries(t)
	bin := buildAsTheImage(t)
	token := randomHex(t)
	node := startDemo(t, bin.trialwatch, token)

	probe := func() error {
		cmd := exec.Command(bin.healthcheck)
		cmd.Env = []string{"TRIALWATCH_ADMIN=" + strings.TrimPrefix(node.admin, "http://")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := probe(); err != nil {
		t.Errorf("the image's health check fails on a ready node: %v", err)
	}

	// The demo queues a check of every pilot subject; once some have run,
	// the checker's series exist.
	var exported map[string]bool
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		exported = scrape(t, node.admin+"/metrics", token)
		if exported["trialwatch_check_jobs_total"] && exported["trialwatch_upstream_call_duration_seconds_count"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no queued check ran within 90 s")
		}
	}
	for _, where := range sortedKeys(qs) {
		s := qs[where]
		for _, name := range s.names {
			if file, ok := conditionalSeries[name]; ok && !exported[name] {
				if !definedIn(t, file, name) {
					t.Errorf("%s: %s is no longer defined in %s", where, name, file)
				}
				continue
			}
			if !exported[name] && !recorded[name] && !slices.Contains(prometheusSeries, name) {
				t.Errorf("%s: %s is not exported by trialwatch, recorded by a rule or made by Prometheus", where, name)
			}
		}
		for _, m := range s.regexps {
			if !anyMatches(m, exported) {
				t.Errorf("%s: {__name__%s%q} matches no series trialwatch exports", where, m.Type, m.Value)
			}
		}
	}

	node.stop(t)
	if err := probe(); err == nil {
		t.Error("the image's health check passes with the node stopped")
	}
}

func anyMatches(m *labels.Matcher, names map[string]bool) bool {
	for n := range names {
		if m.Matches(n) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func randomHex(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type binaries struct{ trialwatch, healthcheck string }

// buildAsTheImage builds trialwatch and the health check the way the
// Dockerfile does, and checks that both are static.
func buildAsTheImage(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	b := binaries{trialwatch: filepath.Join(dir, "trialwatch"), healthcheck: filepath.Join(dir, "healthcheck")}
	for _, build := range []struct{ dir, pkg, out string }{
		{"..", "./cmd/trialwatch", b.trialwatch},
		{"healthcheck", ".", b.healthcheck},
	} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", build.out, build.pkg)
		cmd.Dir = build.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", build.pkg, err, out)
		}
		f, err := elf.Open(build.out)
		if err != nil {
			t.Fatal(err)
		}
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				libs = append(libs, "a dynamic loader")
			}
		}
		f.Close()
		if len(libs) > 0 {
			t.Errorf("%s is not static: it needs %v (distroless/static has no libc)", build.pkg, libs)
		}
	}
	return b
}

type demoNode struct {
	cmd        *exec.Cmd
	api, admin string
	stopped    bool
}

// startDemo runs `trialwatch demo` configured as the image configures it,
// by environment, on ports of its own choosing, and reads its addresses
// from what it prints.
func startDemo(t *testing.T, bin, adminToken string) *demoNode {
	t.Helper()
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(bin, "demo")
	cmd.Env = []string{"TRIALWATCH_HTTP=127.0.0.1:0", "TRIALWATCH_ADMIN=127.0.0.1:0", "TRIALWATCH_ADMIN_TOKEN=" + adminToken,
		"TMPDIR=" + dir, "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &demoNode{cmd: cmd}
	t.Cleanup(func() { n.stop(t) })
	for deadline := time.Now().Add(60 * time.Second); n.admin == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(stderr.Name())
			t.Fatalf("the demo printed no addresses within 60 s; its log:\n%s", logs)
		}
		out, _ := os.ReadFile(stdout.Name())
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "API" {
				n.api = f[1]
			}
			if len(f) == 2 && f[0] == "admin" && strings.HasPrefix(f[1], "http") {
				n.admin = f[1]
			}
		}
	}
	return n
}

// stop ends the node as a container runtime would, with SIGTERM, and waits
// for it: it drains within its 10 s grace period.
func (n *demoNode) stop(t *testing.T) {
	if n.stopped {
		return
	}
	n.stopped = true
	n.cmd.Process.Signal(os.Interrupt)
	done := time.AfterFunc(30*time.Second, func() { n.cmd.Process.Kill() })
	defer done.Stop()
	if err := n.cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("waiting for the demo: %v", err)
		}
	}
}

// scrape reads url's metrics with the admin token and returns the names of
// the samples it exports (histograms as their _bucket, _sum and _count).
func scrape(t *testing.T, url, token string) map[string]bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	names := map[string]bool{}
	for line := range strings.Lines(string(body)) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}
