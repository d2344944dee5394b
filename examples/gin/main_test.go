package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/leaktest"
	"github.com/trialwatch/trialwatch/leakguard/report"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m, leaktest.Presets(leaktest.Gin)...)
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

func TestDebugHandlersInGin(t *testing.T) {
	leaktest.Track(t, leaktest.IgnorePresets(leaktest.Gin))

	var inflight watchdog.InFlight
	wd := watchdog.New(watchdog.WithInFlight(inflight.Load))
	if err := wd.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wd.Stop)
	srv := httptest.NewServer(newEngine(token, wd, &inflight))
	t.Cleanup(srv.Close)
	c := srv.Client()

	if code, body := get(t, c, srv.URL+"/hello", ""); code != http.StatusOK || body != "hello" {
		t.Errorf("/hello: %d %q", code, body)
	}
	if code, _ := get(t, c, srv.URL+"/debug/leaks", ""); code != http.StatusUnauthorized {
		t.Errorf("/debug/leaks without token: %d", code)
	}
	if code, _ := get(t, c, srv.URL+"/debug/pprof/goroutine?debug=1", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("pprof with wrong token: %d", code)
	}
	code, body := get(t, c, srv.URL+"/debug/leaks?format=json", token)
	var rep report.Report
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || rep.Source != "watchdog" {
		t.Errorf("/debug/leaks: %d %.300s", code, body)
	}
	if code, body := get(t, c, srv.URL+"/debug/leaks", token); code != http.StatusOK || !strings.Contains(body, "Goroutine leaks") {
		t.Errorf("/debug/leaks html: %d %.300s", code, body)
	}
	if code, body := get(t, c, srv.URL+"/debug/pprof/", token); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	if code, body := get(t, c, srv.URL+"/debug/pprof/goroutine?debug=1", token); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("goroutine profile: %d %.200s", code, body)
	}
}

// The watchdog behind the gin service notices a handler that leaks.
func TestLeakyHandlerIsVisible(t *testing.T) {
	leaktest.Track(t, leaktest.IgnorePresets(leaktest.Gin), leaktest.WithTimeout(10*time.Second))

	var inflight watchdog.InFlight
	release := make(chan struct{})
	r := newEngine(token, nil, &inflight)
	r.GET("/leaky", func(c *gin.Context) {
		go func() { <-release }() // the bug; ended by close(release)
		c.Status(http.StatusNoContent)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	for range 20 {
		if code, _ := get(t, srv.Client(), srv.URL+"/leaky", ""); code != http.StatusNoContent {
			t.Fatalf("/leaky: %d", code)
		}
	}
	// No reporter: /debug/leaks serves a live snapshot, which must show
	// the 20 parked goroutines as one group.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, srv.Client(), srv.URL+"/debug/leaks?format=json", token)
		var rep report.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatal(err)
		}
		for _, g := range rep.Top {
			if g.Count == 20 && strings.Contains(g.Location, "main_test.go:") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaked goroutines not in the report: %+v", rep.Top)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
