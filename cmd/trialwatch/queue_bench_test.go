package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/studygen"
)

// benchUsers makes a monitor of study, a site user of its site, and an
// ops user, and returns a session token of each by role.
func benchUsers(b *testing.B, n *node, study, site string) map[string]string {
	ctx := context.Background()
	tokens := map[string]string{}
	for _, u := range []struct {
		name  string
		role  auth.Role
		sites string
	}{{"bench-site", auth.RoleSite, site}, {"bench-monitor", auth.RoleMonitor, ""}, {"bench-ops", auth.RoleOps, ""}} {
		var grants []auth.Grant
		if u.role != auth.RoleOps {
			grants, _ = auth.ParseGrants(study, u.sites)
		}
		if _, err := n.users.AddUser(ctx, nil, u.name, u.role, grants, "", time.Now()); err != nil {
			b.Fatal(err)
		}
		tok, _, err := n.users.CreateToken(ctx, nil, u.name, "bench", time.Hour, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		tokens[string(u.role)] = tok
	}
	return tokens
}

// waitQueueEmpty waits until the node's workers have run every queued
// check.
func waitQueueEmpty(b *testing.B, n *node, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		var left int
		if err := n.db.QueryRow(`SELECT COUNT(*) FROM check_jobs`).Scan(&left); err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d checks still queued after %v", left, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitKRIs waits for the recompute the node starts once a study's checks
// are done: measured beside it, the pages would share the machine with
// it.
func waitKRIs(b *testing.B, n *node, study string) {
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := n.kris.Latest(context.Background(), study); err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the KRIs of %s were not recomputed within 10 minutes of its checks", study)
		}
	}
}

// benchPage measures one page's server time: the request through the
// node's router (session, access rule, rate limit), the page's in-process
// API calls and the template, without the network.
func benchPage(b *testing.B, n *node, session, path string, cookies ...*http.Cookie) {
	b.Helper()
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: session})
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		n.router.ServeHTTP(w, req)
		return w
	}
	if w := get(); w.Code != http.StatusOK {
		b.Fatalf("%s: %d %.300s", path, w.Code, w.Body)
	}
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		get()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
	// On a machine other work keeps busy, wall time says little; the
	// process's CPU time still says what a page costs.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/page")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAPI measures the signal listing a findings page asks the API for.
func benchAPI(b *testing.B, n *node, token, page string) {
	u, err := url.Parse(page)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	if !q.Has("limit") {
		q.Set("limit", "50")
	}
	path := strings.Replace(u.Path, "/ui/studies/", "/api/v1/studies/", 1)
	path = strings.Replace(path, "/findings", "/signals", 1) + "?" + q.Encode()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		n.router.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %.300s", path, w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/call")
}

// benchConfig lifts the rate limits: a benchmark is one client asking
// thousands of pages a second.
func benchConfig() config {
	return config{rateLimit: 1e9, rateBurst: 1e9, guessRate: 1e9, guessBurst: 1e9}
}

// BenchmarkPagesPilot is each page's server time on the CDISC pilot.
func BenchmarkPagesPilot(b *testing.B) {
	if testing.Short() {
		b.Skip("loads the pilot")
	}
	cfg := benchConfig()
	cfg.db = filepath.Join(b.TempDir(), "pilot.db")
	n := runNode(b, cfg, loadPilot)
	waitQueueEmpty(b, n, 2*time.Minute)
	waitKRIs(b, n, pilotdata.Study)
	tok := benchUsers(b, n, pilotdata.Study, ownSite)
	var id int64
	if err := n.db.QueryRow(`SELECT MIN(id) FROM signals WHERE study = $1`, pilotdata.Study).Scan(&id); err != nil {
		b.Fatal(err)
	}
	study := "/ui/studies/" + pilotdata.Study
	hourAgo := &http.Cookie{Name: "tw_visits", Value: strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)}
	for _, p := range []struct{ name, role, path string }{
		{"overview-first-visit", "monitor", study + "/"},
		{"overview-since-an-hour", "monitor", study + "/"},
		{"findings", "monitor", study + "/findings"},
		{"findings-new-by-severity-100", "monitor", study + "/findings?status=new&sort=severity&limit=100"},
		{"findings-site-user", "site", study + "/findings"},
		{"finding", "monitor", study + "/findings/" + strconv.FormatInt(id, 10)},
		{"audit", "monitor", study + "/audit"},
		{"uploads", "site", study + "/uploads"},
		{"ops", "ops", "/ui/ops"},
	} {
		b.Run(p.name, func(b *testing.B) {
			var cookies []*http.Cookie
			if p.name == "overview-since-an-hour" {
				// "Since your last visit": every finding of the demo is
				// newer, the bounded scan's worst case.
				cookies = append(cookies, hourAgo)
			}
			benchPage(b, n, tok[p.role], p.path, cookies...)
		})
	}
}

// BenchmarkFindingsPageGenerated is the findings queue's server time on a
// generated study of 20,000 subjects (package studygen: 50 sites, 20 lab
// results each, checked by the node's workers as after an import). The
// goal is 100 ms a page.
func BenchmarkFindingsPageGenerated(b *testing.B) {
	if testing.Short() {
		b.Skip("generates, imports and checks a study of 20,000 subjects")
	}
	const gen = "GEN01"
	dir := b.TempDir()
	dm, lb, err := studygen.Write(dir, studygen.Options{Subjects: 20_000, LabsPerSubject: 20, Study: gen, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg := benchConfig()
	cfg.db = filepath.Join(dir, "gen.db")
	n := runNode(b, cfg, func(ctx context.Context, n *node) error {
		if code := run(ctx, []string{"import", "--db", n.cfg.db, "--study", gen, dm, lb}, io.Discard, io.Discard); code != 0 {
			return fmt.Errorf("import exited with %d", code)
		}
		return nil
	})
	start := time.Now()
	waitQueueEmpty(b, n, 30*time.Minute)
	var findings int
	if err := n.db.QueryRow(`SELECT COUNT(*) FROM signals WHERE study = $1`, gen).Scan(&findings); err != nil {
		b.Fatal(err)
	}
	b.Logf("20,000 subjects checked in %v: %d findings", time.Since(start).Round(time.Second), findings)
	waitKRIs(b, n, gen)
	tok := benchUsers(b, n, gen, "700")
	var subject string
	if err := n.db.QueryRow(`SELECT usubjid FROM signals WHERE study = $1 ORDER BY id LIMIT 1`, gen).Scan(&subject); err != nil {
		b.Fatal(err)
	}
	study := "/ui/studies/" + gen
	for _, p := range []struct{ name, role, path string }{
		{"findings", "monitor", study + "/findings"},
		{"findings-open-by-severity-100", "monitor", study + "/findings?status=new,acknowledged&sort=severity&limit=100"},
		{"findings-by-last-date", "monitor", study + "/findings?sort=-last_date"},
		{"findings-subject", "monitor", study + "/findings?subject=" + url.QueryEscape(subject)},
		{"findings-site-user", "site", study + "/findings?sort=severity"},
	} {
		b.Run(p.name, func(b *testing.B) { benchPage(b, n, tok[p.role], p.path) })
		// The API call the page makes, alone: the page's own share is the
		// difference.
		b.Run(p.name+"/api-alone", func(b *testing.B) { benchAPI(b, n, tok[p.role], p.path) })
	}
	// A later page: the keyset token of the first page's next link.
	b.Run("findings-page-2", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, study+"/findings", nil)
		req.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: tok["monitor"]})
		w := httptest.NewRecorder()
		n.router.ServeHTTP(w, req)
		next := nextLink(w.Body.String())
		if next == "" {
			b.Fatal("the first page has no next link")
		}
		benchPage(b, n, tok["monitor"], next)
	})
}

var nextHref = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// nextLink is the address of a page's "Next page" link, "" without one.
func nextLink(page string) string {
	m := nextHref.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}
