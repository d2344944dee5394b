package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/access/openapitest"
	"github.com/trialwatch/trialwatch/access/operator"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/rpc"
)

// runPilotNode serves the pilot from an all-in-one node on loopback ports
// until the test ends. cfg gives the limits and TLS files; the rest is set
// here.
func runPilotNode(t *testing.T, cfg config) *node {
	t.Helper()
	cfg.db = filepath.Join(t.TempDir(), "pilot.db")
	return runNode(t, cfg, loadPilot)
}

// runNode serves cfg.db from an all-in-one node on loopback ports until
// the test ends, after load (nil: nothing) stored its data.
func runNode(t testing.TB, cfg config, load func(context.Context, *node) error) *node {
	t.Helper()
	cfg.httpAddr, cfg.adminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.checkDeadline, cfg.grace, cfg.workers, cfg.readTimeout = 10*time.Second, 5*time.Second, 2, time.Minute
	cfg.maxBody, cfg.maxUpload = 1<<20, 1<<20
	if cfg.loginWorkers == 0 { // the flags' defaults
		cfg.loginRate, cfg.loginBurst = access.DefaultLoginRate, access.DefaultLoginBurst
		cfg.loginWorkers, cfg.loginQueue = auth.DefaultHashWorkers(), auth.DefaultHashQueue
	}
	if err := cfg.secrets(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := newNode(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if load != nil {
		if err := load(ctx, n); err != nil {
			n.close()
			t.Fatal(err)
		}
	}
	if err := addServices(ctx, n, ""); err != nil {
		n.close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.run(ctx) }() // ends when the cleanup below cancels ctx
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})
	return n
}

// accessFixture is a whole trialwatch node serving the pilot, with a user
// per role and tokens in every state.
type accessFixture struct {
	t          *testing.T
	n          *node
	api        string
	tokens     map[string]string // case → bearer token
	subject    map[string]string // "own" (site 701) / "other" → USUBJID
	signal     map[string]int64  // "own" / "other" → a signal of that site
	fresh      map[string]int64  // target → last signal freshSignal gave out
	loginUsers [2]string         // users with password0, for the login route
	seq        atomic.Int64      // makes names and rows unique per request
	spec       *openapitest.Validator
}

const (
	ownSite   = "701"
	password0 = "correct horse battery staple"
)

// newAccessFixture starts an all-in-one node on the pilot and waits until
// its workers have checked every subject.
func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("loads the whole pilot study; skipped with -short")
	}
	n := runPilotNode(t, config{rateLimit: 10_000, rateBurst: 10_000, guessRate: 10_000, guessBurst: 10_000})
	f := &accessFixture{t: t, n: n, api: n.httpURL(), tokens: map[string]string{}, fresh: map[string]int64{}}
	f.users()
	f.loginUsers = [2]string{f.newUser(true), f.newUser(true)}
	f.waitChecked()
	f.pickTargets()
	return f
}

// users creates site701, monitor, admin and ops, and tokens for them; the
// monitor also gets a revoked and an expired token.
func (f *accessFixture) users() {
	ctx := context.Background()
	o := operator.New(f.n.db, f.n.users, f.n.trail, "test", "test")
	for _, u := range []struct {
		name  string
		role  auth.Role
		study string
		sites string
	}{{"site701", auth.RoleSite, pilotdata.Study, ownSite}, {"monitor", auth.RoleMonitor, pilotdata.Study, ""},
		{"admin", auth.RoleAdmin, "", ""}, {"ops", auth.RoleOps, "", ""}} {
		var grants []auth.Grant
		if u.study != "" {
			grants, _ = auth.ParseGrants(u.study, u.sites)
		}
		if _, err := f.n.users.AddUser(ctx, nil, u.name, u.role, grants, "", time.Now()); err != nil {
			f.t.Fatal(err)
		}
		tok, _, err := o.CreateToken(ctx, u.name, "test", time.Hour)
		if err != nil {
			f.t.Fatal(err)
		}
		f.tokens[string(u.role)] = tok
	}
	revoked, info, err := f.n.users.CreateToken(ctx, nil, "monitor", "revoked", 0, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.n.users.RevokeToken(ctx, nil, info.ID, time.Now()); err != nil {
		f.t.Fatal(err)
	}
	expired, _, err := f.n.users.CreateToken(ctx, nil, "monitor", "expired", time.Hour, time.Now().Add(-2*time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	f.tokens["revoked"], f.tokens["expired"], f.tokens["service"] = revoked, expired, f.n.cfg.serviceToken
}

func (f *accessFixture) waitChecked() {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		if err := f.n.db.QueryRow(`SELECT COUNT(*) FROM check_jobs`).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%d pilot checks still queued after 2 minutes", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pickTargets finds a subject and a signal of site 701 and of another site.
func (f *accessFixture) pickTargets() {
	f.subject, f.signal = map[string]string{}, map[string]int64{}
	for which, cond := range map[string]string{"own": "site = $2", "other": "site <> $2"} {
		var id int64
		var subj string
		err := f.n.db.QueryRow(`SELECT id, usubjid FROM signals WHERE study = $1 AND `+cond+` ORDER BY id LIMIT 1`,
			pilotdata.Study, ownSite).Scan(&id, &subj)
		if err != nil {
			f.t.Fatalf("finding a %s-site signal: %v", which, err)
		}
		f.signal[which], f.subject[which] = id, subj
	}
}

// auditCount is how many records the audit trail holds.
func (f *accessFixture) auditCount() int {
	var n int
	if err := f.n.db.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// auditCountReaching is auditCount once it reaches want, or after 5 s:
// a change's record is written just after its answer (see
// access.serveAudited).
func (f *accessFixture) auditCountReaching(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := f.auditCount()
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// accessCase is who calls (a role, a token in a bad state, or none) and
// whether the target is of site 701 or another site.
type accessCase struct{ who, target string }

func (c accessCase) String() string {
	switch c.who {
	case "none", "revoked", "expired", "service": // their target is always own
		return c.who
	}
	return c.who + "/" + c.target
}

var accessCases = func() []accessCase {
	var cs []accessCase
	for _, who := range []string{"site", "monitor", "admin", "ops"} {
		cs = append(cs, accessCase{who, "own"}, accessCase{who, "other"})
	}
	for _, who := range []string{"none", "revoked", "expired", "service"} {
		cs = append(cs, accessCase{who, "own"})
	}
	return cs
}()

// request is what one route gets called with. A page request carries its
// token as the session cookie (with the anti-forgery header when it can
// change something); token, if set, replaces the case's own.
type request struct {
	method, path, contentType, body string
	page                            bool
	token                           string
}

// routeAccess is one route's row of the matrix: how to call it for a case,
// and the exact status each case must get.
type routeAccess struct {
	build func(f *accessFixture, c accessCase) request
	want  map[string]int // by accessCase.String(); unlisted cases want deny
	deny  int            // status of every case not in want
}

// every gives all role cases the same status.
func every(status int, cases ...string) map[string]int {
	m := map[string]int{}
	for _, c := range cases {
		m[c] = status
	}
	return m
}

func merge(ms ...map[string]int) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var (
	roleCases   = []string{"site/own", "site/other", "monitor/own", "monitor/other", "admin/own", "admin/other", "ops/own", "ops/other"}
	badTokens   = every(http.StatusUnauthorized, "none", "revoked", "expired", "service")
	signIn      = every(http.StatusSeeOther, "none", "revoked", "expired", "service") // a page without a session
	forbiddenTo = func(roles ...string) map[string]int {
		m := map[string]int{}
		for _, r := range roles {
			m[r+"/own"], m[r+"/other"] = http.StatusForbidden, http.StatusForbidden
		}
		return m
	}
)

func get(path string) func(*accessFixture, accessCase) request {
	return func(f *accessFixture, c accessCase) request { return request{method: "GET", path: f.expand(path, c)} }
}

func page(method, path string) func(*accessFixture, accessCase) request {
	return func(f *accessFixture, c accessCase) request {
		return request{method: method, path: f.expand(path, c), page: true}
	}
}

// freshToken makes the request with a new token of the case's user, for
// routes that revoke the token they are called with; bad-token cases keep
// theirs.
func freshToken(build func(*accessFixture, accessCase) request) func(*accessFixture, accessCase) request {
	return func(f *accessFixture, c accessCase) request {
		r := build(f, c)
		name, ok := map[string]string{"site": "site701", "monitor": "monitor", "admin": "admin", "ops": "ops"}[c.who]
		if !ok {
			return r
		}
		tok, _, err := f.n.users.CreateToken(context.Background(), nil, name, "fresh", time.Hour, time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		r.token = tok
		return r
	}
}

func post(path, body string) func(*accessFixture, accessCase) request {
	return func(f *accessFixture, c accessCase) request {
		return request{method: "POST", path: f.expand(path, c), contentType: "application/json", body: f.expand(body, c)}
	}
}

// expand fills a route's placeholders for the case's target.
func (f *accessFixture) expand(s string, c accessCase) string {
	target := c.target
	if target == "" {
		target = "own"
	}
	return strings.NewReplacer("{study}", pilotdata.Study, "{subject}", f.subject[target],
		"{id}", strconv.FormatInt(f.signal[target], 10), "{site}", f.siteOf(target),
		"{n}", strconv.FormatInt(f.seq.Add(1), 10)).Replace(s)
}

func (f *accessFixture) siteOf(target string) string {
	var site string
	if err := f.n.db.QueryRow(`SELECT site FROM subjects WHERE study = $1 AND usubjid = $2`, pilotdata.Study, f.subject[target]).Scan(&site); err != nil {
		f.t.Fatal(err)
	}
	return site
}

// newUser makes a user for a route that changes one, named per request.
func (f *accessFixture) newUser(withPassword bool) string {
	name := "u" + strconv.FormatInt(f.seq.Add(1), 10)
	pw := ""
	if withPassword {
		pw = password0
	}
	grants, _ := auth.ParseGrants(pilotdata.Study, ownSite)
	if _, err := f.n.users.AddUser(context.Background(), nil, name, auth.RoleSite, grants, pw, time.Now()); err != nil {
		f.t.Fatal(err)
	}
	return name
}

// labCSV is one LB record of subject as an SDTM CSV upload.
func labCSV(subject string, seq int64) string {
	return `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBCAT","LBORRES","LBORRESU","LBORNRLO","LBORNRHI","LBSTRESC","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBNRIND","LBBLFL","VISITNUM","VISIT","VISITDY","LBDTC","LBDY"
"` + pilotdata.Study + `","LB","` + subject + `",` + strconv.FormatInt(seq, 10) + `,"ALB","Albumin","CHEMISTRY","3.8","g/dL","3.3","4.9","38",38,"g/L",33,49,"NORMAL","",99,"UNSCHEDULED",400,"2014-06-01T10:00",400
`
}

// accessMatrix is every route of the public listener. Adding a route
// without a row here fails TestAccessMatrix.
func accessMatrix() map[string]routeAccess {
	ok, notFound := http.StatusOK, http.StatusNotFound
	public := func(status int, build func(*accessFixture, accessCase) request) routeAccess {
		m := every(status, roleCases...)
		for k := range badTokens {
			m[k] = status
		}
		return routeAccess{build: build, want: m}
	}
	service := func(svc, method string) routeAccess {
		return routeAccess{
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: "/trialwatch.v1." + svc + "/" + method, contentType: "application/json",
					body: `{"study":"` + pilotdata.Study + `","usubjid":"` + f.subject["own"] + `"}`}
			},
			want: map[string]int{"service": ok}, deny: http.StatusUnauthorized,
		}
	}
	return map[string]routeAccess{
		"GET /healthz":              public(ok, get("/healthz")),
		"GET /readyz":               public(ok, get("/readyz")),
		"GET " + access.OpenAPIPath: public(ok, get(access.OpenAPIPath)),
		"POST /api/v1/login": public(ok, func(f *accessFixture, c accessCase) request {
			// Two users take turns: each stays under the per-name login
			// limit, and bcrypt (slow on purpose) runs as little as it can.
			return request{method: "POST", path: "/api/v1/login", contentType: "application/json",
				body: `{"user":"` + f.loginUsers[f.seq.Add(1)%2] + `","password":"` + password0 + `"}`}
		}),
		"POST /api/v1/logout": {build: freshToken(post("/api/v1/logout", "{}")),
			want: merge(badTokens, every(ok, roleCases...))},

		// The web UI: pages take the session cookie; without a valid one
		// a page asks to sign in (303 to the login page).
		"GET /{$}":           public(http.StatusSeeOther, get("/")),
		"GET /ui/static/":    public(ok, get("/ui/static/app.css")),
		"GET /ui/login":      public(ok, get("/ui/login")),
		"POST /ui/login":     public(http.StatusForbidden, post("/ui/login", "")), // no form token: refused
		"POST /ui/logout":    {build: freshToken(page("POST", "/ui/logout")), want: merge(badTokens, every(http.StatusSeeOther, roleCases...))},
		"GET /ui/{$}":        {build: page("GET", "/ui/"), want: merge(signIn, every(http.StatusSeeOther, roleCases...), every(ok, "admin/own", "admin/other"))},
		"GET /ui/open-study": {build: page("GET", "/ui/open-study?study={study}"), want: merge(signIn, every(http.StatusSeeOther, roleCases...), forbiddenTo("ops"))},
		"GET /ui/studies/{study}/{$}": {build: page("GET", "/ui/studies/{study}/"),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		// The plot pages: another site's subject or site is, to a site
		// user, a page not found, as the API answers.
		"GET /ui/studies/{study}/subjects": {build: page("GET", "/ui/studies/{study}/subjects?site={site}"),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/subjects/{subject}": {build: page("GET", "/ui/studies/{study}/subjects/{subject}"),
			want: merge(signIn, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/edish": {build: page("GET", "/ui/studies/{study}/edish"),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/kris": {build: withKRIs(page("GET", "/ui/studies/{study}/kris")),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/sites/{site}": {build: withKRIs(page("GET", "/ui/studies/{study}/sites/{site}")),
			want: merge(signIn, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},

		"GET /api/v1/me": {build: get("/api/v1/me"),
			want: merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("ops"))},

		"POST /api/v1/studies/{study}/uploads": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: f.expand("/api/v1/studies/{study}/uploads?domain=LB&format=csv", c),
					contentType: "text/csv", body: labCSV(f.subject[c.target], 9000+f.seq.Add(1))}
			},
			// Another site's subject is, to a site user, a subject that
			// does not exist: the upload is invalid, as for any unknown one.
			want: merge(badTokens, every(ok, "site/own"), every(http.StatusUnprocessableEntity, "site/other"), forbiddenTo("monitor", "admin", "ops"))},
		"POST /api/v1/studies/{study}/subjects/{subject}/checks": {
			build: post("/api/v1/studies/{study}/subjects/{subject}/checks", ""),
			want:  merge(badTokens, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/signals": {
			build: get("/api/v1/studies/{study}/signals?site={site}"),
			want:  merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/signals/summary": {
			build: get("/api/v1/studies/{study}/signals/summary?site={site}"),
			want:  merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/subjects": {
			build: get("/api/v1/studies/{study}/subjects?site={site}"),
			want:  merge(badTokens, every(subjectListStatus(), "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/subjects/{subject}": {
			build: get("/api/v1/studies/{study}/subjects/{subject}"),
			want:  merge(badTokens, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/signals/{id}": {
			build: get("/api/v1/studies/{study}/signals/{id}"),
			want:  merge(badTokens, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"PATCH /api/v1/studies/{study}/signals/{id}": {
			build: func(f *accessFixture, c accessCase) request {
				// Each call moves a fresh signal of the target's site, so
				// every allowed call is a valid transition.
				return request{method: "PATCH", path: f.expand("/api/v1/studies/{study}/signals/", c) + strconv.FormatInt(f.freshSignal(c.target), 10),
					contentType: "application/json", body: `{"status":"acknowledged","reason":"seen"}`}
			},
			want: merge(badTokens, every(ok, "monitor/own", "monitor/other"), forbiddenTo("site", "admin", "ops"))},
		"GET /api/v1/studies/{study}/edish": {
			build: get("/api/v1/studies/{study}/edish"),
			want:  merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/settings": {
			build: get("/api/v1/studies/{study}/settings"),
			want:  merge(badTokens, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"PUT /api/v1/studies/{study}/settings": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "PUT", path: f.expand("/api/v1/studies/{study}/settings", c), contentType: "application/json",
					body: `{"ctcae":"ctcae-v5.0","grading_context":"number-only","ae_terms":{},"rules":{},"out_of_range":{"tolerance":0.1,` +
						`"high_xuln":{"medium":1.5,"high":3,"critical":5},"low_xlln":{"medium":0.75,"high":0.5,"critical":0.25},"graded_tests":false},"baseline":"sdtm"}`}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"PATCH /api/v1/studies/{study}/settings": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "PATCH", path: f.expand("/api/v1/studies/{study}/settings", c), contentType: "application/json", body: `{"ctcae":"ctcae-v5.0"}`}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"GET /api/v1/studies/{study}/audit": {
			build: get("/api/v1/studies/{study}/audit"),
			want:  merge(badTokens, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"GET /api/v1/studies/{study}/kris": {
			build: withKRIs(get("/api/v1/studies/{study}/kris")),
			want:  merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/kris/{kri}": {
			build: withKRIs(get("/api/v1/studies/{study}/kris/kri0001")),
			want:  merge(badTokens, every(ok, "site/own", "site/other", "monitor/own", "monitor/other"), forbiddenTo("admin", "ops"))},
		"GET /api/v1/studies/{study}/kris/{kri}/sites/{site}/history": {
			build: withKRIs(get("/api/v1/studies/{study}/kris/kri0001/sites/{site}/history")),
			want:  merge(badTokens, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"POST /api/v1/studies/{study}/kris/recompute": {
			build: post("/api/v1/studies/{study}/kris/recompute", ""),
			want:  merge(badTokens, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"GET /api/v1/studies/{study}/kri-settings": {
			build: get("/api/v1/studies/{study}/kri-settings"),
			want:  merge(badTokens, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"PUT /api/v1/studies/{study}/kri-settings": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "PUT", path: f.expand("/api/v1/studies/{study}/kri-settings", c), contentType: "application/json", body: `{"qtls": {"kri0006": 0.3}}`}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"GET /api/v1/audit": {
			build: get("/api/v1/audit"),
			want:  merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},

		"GET /api/v1/users": {build: get("/api/v1/users"),
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"POST /api/v1/users": {build: post("/api/v1/users", `{"name":"new{n}","role":"site","study":"{study}","sites":"{site}"}`),
			want: merge(badTokens, every(http.StatusCreated, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"POST /api/v1/users/{name}/disable": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: "/api/v1/users/" + f.newUser(false) + "/disable"}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"POST /api/v1/users/{name}/enable": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: "/api/v1/users/" + f.newUser(false) + "/enable"}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"GET /api/v1/tokens": {build: get("/api/v1/tokens"),
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"POST /api/v1/tokens": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: "/api/v1/tokens", contentType: "application/json",
					body: `{"user":"` + f.newUser(false) + `","expires_in":"1h"}`}
			},
			want: merge(badTokens, every(http.StatusCreated, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},
		"DELETE /api/v1/tokens/{id}": {
			build: func(f *accessFixture, c accessCase) request {
				_, info, err := f.n.users.CreateToken(context.Background(), nil, f.newUser(false), "", 0, time.Now())
				if err != nil {
					f.t.Fatal(err)
				}
				return request{method: "DELETE", path: "/api/v1/tokens/" + strconv.FormatInt(info.ID, 10)}
			},
			want: merge(badTokens, every(ok, "admin/own", "admin/other"), forbiddenTo("site", "monitor", "ops"))},

		// Findings, audit trail, uploads, operations: a page shows what its
		// API calls answer the user, so a site user's queue of another
		// site is empty (200) and another site's finding is not found.
		"GET /ui/studies/{study}/findings": {build: page("GET", "/ui/studies/{study}/findings?site={site}&status=new"),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/findings.csv": {build: page("GET", "/ui/studies/{study}/findings.csv?site={site}&min_severity=high"),
			want: merge(signIn, every(ok, roleCases...), forbiddenTo("admin", "ops"))},
		"GET /ui/studies/{study}/findings/{id}": {build: page("GET", "/ui/studies/{study}/findings/{id}"),
			want: merge(signIn, every(ok, "site/own", "monitor/own", "monitor/other"), every(notFound, "site/other"), forbiddenTo("admin", "ops"))},
		"POST /ui/studies/{study}/findings/review": {
			build: func(f *accessFixture, c accessCase) request {
				return request{method: "POST", path: f.expand("/ui/studies/{study}/findings/review", c), page: true,
					contentType: "application/x-www-form-urlencoded",
					body:        "action=acknowledged&reason=seen&id=" + strconv.FormatInt(f.freshSignal(c.target), 10)}
			},
			want: merge(badTokens, every(ok, "monitor/own", "monitor/other"), forbiddenTo("site", "admin", "ops"))},
		"GET /ui/studies/{study}/audit": {build: page("GET", "/ui/studies/{study}/audit?entity=signal"),
			want: merge(signIn, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"GET /ui/studies/{study}/audit.csv": {build: page("GET", "/ui/studies/{study}/audit.csv?entity=signal"),
			want: merge(signIn, every(ok, "monitor/own", "monitor/other", "admin/own", "admin/other"), forbiddenTo("site", "ops"))},
		"GET /ui/studies/{study}/uploads": {build: page("GET", "/ui/studies/{study}/uploads"),
			want: merge(signIn, every(ok, "site/own", "site/other"), forbiddenTo("monitor", "admin", "ops"))},
		"POST /ui/studies/{study}/uploads": {
			build: func(f *accessFixture, c accessCase) request {
				ct, body := multipartFile("lb.csv", labCSV(f.subject[c.target], 9000+f.seq.Add(1)))
				return request{method: "POST", path: f.expand("/ui/studies/{study}/uploads", c), page: true, contentType: ct, body: body}
			},
			// As the API: another site's subject is unknown to a site user.
			want: merge(badTokens, every(ok, "site/own"), every(http.StatusUnprocessableEntity, "site/other"), forbiddenTo("monitor", "admin", "ops"))},
		"GET /ui/ops": {build: page("GET", "/ui/ops"),
			want: merge(signIn, every(ok, "ops/own", "ops/other"), forbiddenTo("site", "monitor", "admin"))},

		"/trialwatch.v1.SubjectService/":      service("SubjectService", "GetSubject"),
		"/trialwatch.v1.ExposureService/":     service("ExposureService", "ListDoses"),
		"/trialwatch.v1.AdverseEventService/": service("AdverseEventService", "ListAdverseEvents"),
	}
}

// subjectListStatus is what the subject list answers a caller allowed to
// read it: 200 where the subject service's Connect client lists a study's
// subjects (clinical.StudySubjects), else 501 saying so.
func subjectListStatus() int {
	if _, ok := any((*rpc.SubjectClient)(nil)).(clinical.StudySubjects); ok {
		return http.StatusOK
	}
	return http.StatusNotImplemented
}

// withKRIs makes sure the pilot's KRIs were computed before the request
// is built.
func withKRIs(build func(*accessFixture, accessCase) request) func(*accessFixture, accessCase) request {
	return func(f *accessFixture, c accessCase) request {
		if _, err := f.n.kris.Latest(context.Background(), pilotdata.Study); err != nil {
			if _, err := f.n.kris.Recompute(context.Background(), pilotdata.Study); err != nil {
				f.t.Fatal(err)
			}
		}
		return build(f, c)
	}
}

// freshSignal returns a signal of the target's site still in status new,
// a different one on every call.
func (f *accessFixture) freshSignal(target string) int64 {
	cond := "site = $2"
	if target == "other" {
		cond = "site <> $2"
	}
	var id int64
	err := f.n.db.QueryRow(`SELECT id FROM signals WHERE study = $1 AND `+cond+` AND status = 'new' AND id > $3 ORDER BY id LIMIT 1`,
		pilotdata.Study, ownSite, f.fresh[target]).Scan(&id)
	if err != nil {
		f.t.Fatalf("no fresh %s-site signal: %v", target, err)
	}
	f.fresh[target] = id
	return id
}

func (f *accessFixture) call(c accessCase, r request) (int, string) { return f.callWith(c, r, nil) }

// callWith is call with the request changed by tweak, if not nil, before
// it is sent.
func (f *accessFixture) callWith(c accessCase, r request, tweak func(*http.Request)) (int, string) {
	req, err := http.NewRequest(r.method, f.api+r.path, strings.NewReader(r.body))
	if err != nil {
		f.t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	tok := f.tokens[c.who]
	if r.token != "" {
		tok = r.token
	}
	switch {
	case tok == "":
	case r.page:
		req.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: tok})
		if r.method != http.MethodGet {
			req.Header.Set(access.CSRFHeader, access.CSRFToken(tok))
		}
	default:
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if tweak != nil {
		tweak(req)
	}
	// Every answer must be as the OpenAPI description has it (pages and
	// Connect routes are not in it).
	resp, b, err := f.openAPI().Do(noRedirects, req)
	if resp == nil {
		f.t.Fatal(err)
	}
	if err != nil {
		f.t.Errorf("as %s: %v", c, err)
	}
	return resp.StatusCode, string(b)
}

// noRedirects answers a redirect as it is: the matrix checks statuses.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// openAPI checks exchanges against access/openapi.json.
func (f *accessFixture) openAPI() *openapitest.Validator {
	if f.spec == nil {
		v, err := openapitest.New()
		if err != nil {
			f.t.Fatal(err)
		}
		f.spec = v
	}
	return f.spec
}

// TestAccessMatrix calls every route as every role, on its own site and
// another, and with no, a revoked, an expired and the internal service
// token, and asserts the exact status; and that each successful change
// leaves exactly one audit record (a login, failed or not, leaves one).
func TestAccessMatrix(t *testing.T) {
	f := newAccessFixture(t)
	matrix := accessMatrix()
	for _, p := range f.n.router.Patterns() {
		if _, ok := matrix[p]; !ok {
			t.Errorf("route %q is served but has no row in accessMatrix: decide who may call it", p)
		}
	}
	if un := f.n.router.Unmounted(); len(un) > 0 {
		t.Errorf("access rules for routes nobody mounts: %v", un)
	}
	rules := f.n.router.RulesFor()
	for pattern, row := range matrix {
		rule, mounted := rules[pattern]
		if !mounted {
			t.Errorf("accessMatrix has a row for %q, which is not served", pattern)
			continue
		}
		for _, c := range accessCases {
			want, ok := row.want[c.String()]
			if !ok {
				want = row.deny
			}
			if want == 0 {
				t.Fatalf("%s as %s: no expected status in the matrix", pattern, c)
			}
			before := f.auditCount()
			got, body := f.call(c, row.build(f, c))
			if got != want {
				t.Errorf("%s as %s: status %d, want %d (%.200s)", pattern, c, got, want, body)
			}
			wantRecords := 0
			// A signed-out browser's logout went through the audited API.
			if (rule.Entity != "" && got >= 200 && got < 300) || pattern == "POST /api/v1/login" ||
				(pattern == "POST /ui/logout" && got == http.StatusSeeOther) || (pageWrites[pattern] && got == http.StatusOK) {
				wantRecords = 1
			}
			if n := f.auditCountReaching(before+wantRecords) - before; n != wantRecords {
				t.Errorf("%s as %s (status %d): %d audit records, want %d", pattern, c, got, n, wantRecords)
			}
		}
	}
	verifyTrail(t, f.n.trail)
	checkPageForms(t, f, rules)
}

func verifyTrail(t *testing.T, trail *audit.Log) {
	t.Helper()
	n, brk, err := trail.Verify(context.Background(), nil)
	if err != nil || brk != nil {
		t.Fatalf("audit trail after the matrix: %d verified, break %+v, error %v", n, brk, err)
	}
}

// TestAdminListenerAccess: the admin listener serves health to anyone and
// metrics, profiles and leak reports to ops only (the static
// --admin-token is covered by the split-mode test).
func TestAdminListenerAccess(t *testing.T) {
	f := newAccessFixture(t)
	admin := "http://" + f.n.adminL.Addr().String()
	guarded := map[string]int{"ops/own": 200, "site/own": 403, "monitor/own": 403, "admin/own": 403,
		"none": 401, "revoked": 401, "expired": 401, "service": 401}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/leaks?format=json"} {
		for _, c := range accessCases {
			want, ok := guarded[c.String()]
			if !ok {
				continue
			}
			req, _ := http.NewRequest("GET", admin+path, nil)
			if tok := f.tokens[c.who]; tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("admin listener %s as %s: %d, want %d", path, c, resp.StatusCode, want)
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("admin listener %s without credentials: %d, want 200", path, resp.StatusCode)
		}
	}
}
