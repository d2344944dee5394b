package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trialwatch/trialwatch/access"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, h http.Handler, path, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestAdminHandler(t *testing.T) {
	health := &Health{}
	h := Handler(Config{Guard: access.OpsOnly("s3cret", nil), Gatherer: NewRegistry(), Health: health})

	if code, _ := get(t, h, "/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before ready: %d, want 503", code)
	}
	health.SetReady(true)
	if code, _ := get(t, h, "/readyz", ""); code != http.StatusOK {
		t.Errorf("readyz when ready: %d, want 200", code)
	}
	if code, _ := get(t, h, "/healthz", ""); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := get(t, h, "/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("metrics without the token: %d, want 401", code)
	}
	if code, body := get(t, h, "/metrics", "Bearer s3cret"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_") {
		t.Errorf("metrics: %d, lacks Go or process collectors", code)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret2", "Basic s3cret", "Bearer  s3cret x"} {
		if code, _ := get(t, h, "/debug/pprof/goroutine?debug=1", auth); code != http.StatusUnauthorized {
			t.Errorf("pprof with %q: %d, want 401", auth, code)
		}
	}
	if code, body := get(t, h, "/debug/pprof/goroutine?debug=1", "Bearer s3cret"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("pprof with the token: %d %.80s", code, body)
	}
	if code, _ := get(t, h, "/debug/leaks?format=json", ""); code != http.StatusUnauthorized {
		t.Errorf("leak report without the token: %d, want 401", code)
	}
	if code, body := get(t, h, "/debug/leaks?format=json", "Bearer s3cret"); code != http.StatusOK || !strings.Contains(body, "goroutines") {
		t.Errorf("leak report with the token: %d %.80s", code, body)
	}
}

func TestNoGuardRefusesEveryone(t *testing.T) {
	h := Handler(Config{Gatherer: NewRegistry(), Health: &Health{}})
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		if code, _ := get(t, h, "/debug/pprof/", auth); code != http.StatusUnauthorized {
			t.Errorf("no guard, auth %q: %d, want 401", auth, code)
		}
		if code, _ := get(t, h, "/metrics", auth); code != http.StatusUnauthorized {
			t.Errorf("no token configured, auth %q: %d, want 401", auth, code)
		}
	}
}

// Streaming handlers type-assert http.Flusher (Connect's server streams
// do): the request counter's writer must pass flushes on.
func TestRequestCounterPassesFlushesOn(t *testing.T) {
	c := NewRequestCounter(prometheus.NewRegistry())
	flushed := false
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Fatal("the wrapped writer is not an http.Flusher")
		}
		w.Write([]byte("part"))
		f.Flush()
		flushed = true
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !flushed || !rec.Flushed {
		t.Errorf("flushed %v, recorder flushed %v", flushed, rec.Flushed)
	}
}
