package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zeromicro/go-zero/core/logx"
	"github.com/zeromicro/go-zero/rest"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/leaktest"
	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

func TestMain(m *testing.M) {
	logx.Disable()
	goleak.VerifyTestMain(m, leaktest.Presets(leaktest.GoZero)...)
}

const token = "test-token"

func get(t *testing.T, c *http.Client, url, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestDebugHandlersInGoZero(t *testing.T) {
	leaktest.Track(t, leaktest.IgnorePresets(leaktest.GoZero))

	var inflight watchdog.InFlight
	wd := watchdog.New(watchdog.WithInFlight(inflight.Load))
	if err := wd.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wd.Stop)

	conf := rest.RestConf{Host: "127.0.0.1", Port: 0}
	conf.Name = "test"
	zs, err := newServer(conf, token, wd, &inflight)
	if err != nil {
		t.Fatal(err)
	}
	// Serverless builds the router without listening, so the test serves
	// it on an httptest listener it owns.
	sl, err := rest.NewServerless(zs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(sl.Serve))
	t.Cleanup(srv.Close)
	c := srv.Client()

	if code, body := get(t, c, srv.URL+"/hello", ""); code != http.StatusOK || body != "hello" {
		t.Errorf("/hello: %d %q", code, body)
	}
	if code, _ := get(t, c, srv.URL+"/debug/leaks", ""); code != http.StatusUnauthorized {
		t.Errorf("/debug/leaks without token: %d", code)
	}
	code, body := get(t, c, srv.URL+"/debug/leaks?format=json", token)
	var rep report.Report
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || rep.Source != "watchdog" {
		t.Errorf("/debug/leaks: %d %.300s", code, body)
	}
	if code, body := get(t, c, srv.URL+"/debug/pprof/", token); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d %.200s", code, body)
	}
	if code, body := get(t, c, srv.URL+"/debug/pprof/goroutine?debug=1", token); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("goroutine profile: %d %.200s", code, body)
	}
	if code, _ := get(t, c, srv.URL+"/debug/pprof/heap", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("pprof with wrong token: %d", code)
	}
	if code, _ := get(t, c, srv.URL+"/nope", token); code != http.StatusNotFound {
		t.Errorf("/nope: %d", code)
	}
}
