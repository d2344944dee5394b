package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun starts the command on a loopback port and checks its routes,
// the token on the debug and release routes, that release frees what the
// leaky route stranded, and a clean shutdown.
func TestRun(t *testing.T) {
	const token = "main-test-token"
	t.Setenv("LEAKGUARD_TOKEN", token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-interval", "100ms", "-window", "1s", "-deep", "200ms"},
			&logs, func(addr string) { addrc <- addr })
	}()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case err := <-errc:
		t.Fatalf("run returned before listening: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start listening within 10s")
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	do := func(method, path string, auth bool) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}

	for _, path := range []string{"/fixed/orphan-receiver", "/fixed/abandoned-fanout", "/leak/abandoned-fanout"} {
		if code, body := do("GET", path, false); code != http.StatusOK {
			t.Errorf("GET %s = %d %q", path, code, body)
		}
	}
	// The first lookup of a name is a miss and does not leak; the second
	// is a hit and strands the audit goroutine.
	for range 2 {
		if code, body := do("GET", "/leak/orphan-receiver?name=main", false); code != http.StatusOK || body != "hello, main\n" {
			t.Errorf("GET /leak/orphan-receiver = %d %q", code, body)
		}
	}
	if code, body := do("GET", "/leak/abandoned-fanout?fail=1", false); code != http.StatusBadGateway || !strings.Contains(body, "replica unavailable") {
		t.Errorf("GET /leak/abandoned-fanout?fail=1 = %d %q, want 502 replica unavailable", code, body)
	}

	if code, _ := do("GET", "/debug/leaks?format=json", false); code != http.StatusUnauthorized {
		t.Errorf("GET /debug/leaks without token = %d, want 401", code)
	}
	code, body := do("GET", "/debug/leaks?format=json", true)
	var rep report.Report
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil || rep.Source != "watchdog" {
		t.Errorf("GET /debug/leaks = %d, %v, source %q: %.200s", code, err, rep.Source, body)
	}

	if code, _ := do("POST", "/drill/release", false); code != http.StatusUnauthorized {
		t.Errorf("POST /drill/release without token = %d, want 401", code)
	}
	// At least the orphan receiver and the slow shard are stranded; how
	// many fast shards miss the deadline depends on scheduling. goleak in
	// TestMain checks that release really freed them all.
	code, body = do("POST", "/drill/release", true)
	var released int
	if _, err := fmt.Sscanf(body, "released %d goroutines", &released); code != http.StatusOK || err != nil || released < 2 {
		t.Errorf("POST /drill/release = %d %q, want 200 and at least 2 released", code, body)
	}
	if code, body := do("POST", "/drill/release", true); code != http.StatusOK || body != "released 0 goroutines\n" {
		t.Errorf("second POST /drill/release = %d %q, want nothing left to release", code, body)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15s of cancel")
	}
	if !strings.Contains(logs.String(), "leakdrill listening") {
		t.Errorf("log lacks the listening line:\n%s", logs.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
