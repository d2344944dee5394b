package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/pilotdata"
)

// runEmptyNode serves every service on an empty database with JSON logs
// into logs, and gives a monitor and an ops user a token each.
func runEmptyNode(t *testing.T, logs *lockedBuffer) (n *node, monitor, ops string) {
	t.Helper()
	cfg := config{db: filepath.Join(t.TempDir(), "tw.db"), httpAddr: "127.0.0.1:0", adminAddr: "127.0.0.1:0", grace: 5 * time.Second,
		readTimeout: time.Minute, checkDeadline: 5 * time.Second, workers: 1, maxBody: 1 << 20, maxUpload: 1 << 20,
		rateLimit: 1000, rateBurst: 1000, guessRate: 1000, guessBurst: 1000, loginWorkers: 1, loginQueue: 1, loginRate: 1, loginBurst: 1}
	if err := cfg.secrets(false); err != nil {
		t.Fatal(err)
	}
	log, err := newLogger("info", "json", logs)
	if err != nil {
		t.Fatal(err)
	}
	if n, err = newNode(cfg, log); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := addServices(ctx, n, ""); err != nil {
		n.close()
		cancel()
		t.Fatal(err)
	}
	grants, _ := auth.ParseGrants(pilotdata.Study, "")
	tokens := map[string]string{}
	for name, role := range map[string]auth.Role{"mon": auth.RoleMonitor, "opsy": auth.RoleOps} {
		var g []auth.Grant
		if role == auth.RoleMonitor {
			g = grants
		}
		if _, err := n.users.AddUser(ctx, nil, name, role, g, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		if tokens[name], _, err = n.users.CreateToken(ctx, nil, name, "", time.Hour, time.Now()); err != nil {
			t.Fatal(err)
		}
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
	return n, tokens["mon"], tokens["opsy"]
}

// pollReady polls url until it answers 200.
func pollReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 10 s: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getAs(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "identity") // the body as sent, for its length
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return resp, b.String()
}

// TestAccessLog: with --log-format json every request on either listener
// leaves exactly one access-log line, with its method, route pattern,
// status, bytes, duration, request id and user, and no token.
func TestAccessLog(t *testing.T) {
	var logs lockedBuffer
	n, monitor, ops := runEmptyNode(t, &logs)
	api, adm := n.httpURL(), n.adminURL()
	pollReady(t, api+"/readyz")
	type want struct {
		listener, route, user string
		status                int
	}
	cases := []struct {
		url, token string
		want       want
	}{
		{api + "/api/v1/studies/" + pilotdata.Study + "/signals?limit=5", monitor, want{"api", "GET /api/v1/studies/{study}/signals", "mon", 200}},
		{api + "/api/v1/me", "", want{"api", "GET /api/v1/me", "", 401}},
		{api + "/no/such/route", monitor, want{"api", "", "", 404}},
		{adm + "/metrics", ops, want{"admin", "GET /metrics", "opsy", 200}},
		{adm + "/metrics", monitor, want{"admin", "GET /metrics", "mon", 403}},
		{adm + "/healthz", "", want{"admin", "GET /healthz", "", 200}},
	}
	ids := map[string]int{}
	for i, c := range cases {
		resp, body := getAs(t, c.url, c.token)
		if resp.StatusCode != c.want.status {
			t.Fatalf("GET %s: %d, want %d", c.url, resp.StatusCode, c.want.status)
		}
		ids[resp.Header.Get(jsonhttp.RequestIDHeader)] = i
		cases[i].want.status, cases[i].url = resp.StatusCode, c.url+"#"+body
	}
	// The line is written once the answer is sent: poll for it.
	seen := map[string]map[string]any{}
	deadline := time.Now().Add(5 * time.Second)
	for len(seen) < len(cases) && time.Now().Before(deadline) {
		seen = map[string]map[string]any{}
		for line := range strings.Lines(logs.String()) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("a log line that is not JSON: %q", line)
			}
			id, _ := rec["request_id"].(string)
			if _, ours := ids[id]; ours && rec["msg"] == "request" {
				if seen[id] != nil {
					t.Errorf("request %s logged twice", id)
				}
				seen[id] = rec
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for id, i := range ids {
		rec, w := seen[id], cases[i].want
		if rec == nil {
			t.Errorf("%s: no access-log line with request_id %s", cases[i].url, id)
			continue
		}
		if rec["listener"] != w.listener || rec["route"] != w.route || rec["user"] != w.user || rec["status"] != float64(w.status) ||
			rec["method"] != "GET" || rec["level"] != "INFO" {
			t.Errorf("%s: logged %v, want %+v", cases[i].url, rec, w)
		}
		body := cases[i].url[strings.Index(cases[i].url, "#")+1:]
		if rec["bytes"] != float64(len(body)) {
			t.Errorf("%s: logged %v bytes, the body has %d", cases[i].url, rec["bytes"], len(body))
		}
		if d, ok := rec["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s: duration_ms %v", cases[i].url, rec["duration_ms"])
		}
	}
	for _, tok := range []string{monitor, ops} {
		if strings.Contains(logs.String(), tok) {
			t.Fatal("a token is in the log")
		}
	}
}

// TestReadinessAndDependencies: /readyz tells anyone the services a node
// runs; /readyz/dependencies on the admin listener tells ops the state of
// the database and the data services, and nobody else.
func TestReadinessAndDependencies(t *testing.T) {
	var logs lockedBuffer
	n, monitor, ops := runEmptyNode(t, &logs)
	pollReady(t, n.httpURL()+"/readyz")
	for _, base := range []string{n.httpURL(), n.adminURL()} {
		resp, body := getAs(t, base+"/readyz", "")
		var got struct {
			Ready    bool     `json:"ready"`
			Services []string `json:"services"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || !got.Ready ||
			strings.Join(got.Services, ",") != "subjects,exposure,events,checker" {
			t.Errorf("GET %s/readyz: %d %s, want 200, ready and the four services", base, resp.StatusCode, body)
		}
	}
	deps := n.adminURL() + "/readyz/dependencies"
	for token, want := range map[string]int{"": 401, monitor: 403} {
		if resp, _ := getAs(t, deps, token); resp.StatusCode != want {
			t.Errorf("GET %s with a token %v: %d, want %d", deps, token != "", resp.StatusCode, want)
		}
	}
	resp, body := getAs(t, deps, ops)
	var got struct {
		OK           bool `json:"ok"`
		Dependencies []struct {
			Name, Target string
			OK           bool
			LatencyMS    float64 `json:"latency_ms"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || !got.OK {
		t.Fatalf("GET %s as ops: %d %s", deps, resp.StatusCode, body)
	}
	var names []string
	for _, d := range got.Dependencies {
		names = append(names, d.Name)
		if !d.OK || d.LatencyMS <= 0 || d.Target == "" {
			t.Errorf("dependency %+v: want ok, a latency and a target", d)
		}
	}
	if strings.Join(names, ",") != "database,subjects,exposure,events" {
		t.Errorf("dependencies %v, want the database and the three data services", names)
	}
	if strings.Contains(body, n.cfg.serviceToken) {
		t.Error("the report shows the service credential")
	}
}
