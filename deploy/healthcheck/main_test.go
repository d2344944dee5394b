package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTarget(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, "http://127.0.0.1:9090/readyz"},
		{"the admin listener's port", nil, map[string]string{"TRIALWATCH_ADMIN": "0.0.0.0:9191"}, "http://127.0.0.1:9191/readyz"},
		{"the environment's URL", nil, map[string]string{"TRIALWATCH_ADMIN": ":9191", "TRIALWATCH_HEALTHCHECK_URL": "http://127.0.0.1:1/healthz"}, "http://127.0.0.1:1/healthz"},
		{"TLS", nil, map[string]string{"TRIALWATCH_ADMIN": ":9191", "TRIALWATCH_TLS_CERT": "/etc/tls/cert.pem"}, "https://127.0.0.1:9191/readyz"},
		{"the argument", []string{"http://x/healthz"}, map[string]string{"TRIALWATCH_HEALTHCHECK_URL": "http://y/"}, "http://x/healthz"},
	} {
		got, err := target(c.args, env(c.env))
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := target(nil, env(map[string]string{"TRIALWATCH_ADMIN": "9090"})); err == nil || !strings.Contains(err.Error(), "TRIALWATCH_ADMIN") {
		t.Errorf("a bad TRIALWATCH_ADMIN: %v, want an error naming it", err)
	}
	if _, err := target([]string{"a", "b"}, env(nil)); err == nil {
		t.Error("two arguments taken")
	}
}

func TestProbe(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := probe(srv.URL, time.Second); err != nil {
		t.Errorf("ready: %v", err)
	}
	ready.Store(false)
	if err := probe(srv.URL, time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("not ready: %v, want an error naming the 503", err)
	}
	srv.Close()
	if err := probe(srv.URL, time.Second); err == nil {
		t.Error("a closed listener answered ready")
	}
}

// A TLS admin listener on loopback answers, whatever its certificate names.
func TestProbeTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if err := probe(srv.URL, time.Second); err != nil {
		t.Errorf("TLS on loopback: %v", err)
	}
}
