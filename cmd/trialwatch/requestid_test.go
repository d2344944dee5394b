package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// lockedBuffer is a log destination the node's goroutines share.
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

// TestEveryAnswerCarriesARequestID serves a node's two listeners as run
// builds them: every answer, whatever its status and listener, carries an
// X-Request-Id; a 5xx answer carries only a generic message and that id,
// and the log line with the same id has the detail.
func TestEveryAnswerCarriesARequestID(t *testing.T) {
	cfg := config{httpAddr: "127.0.0.1:0", adminAddr: "127.0.0.1:0", grace: 5 * time.Second, readTimeout: time.Minute,
		maxBody: 1 << 20, maxUpload: 1 << 20, rateLimit: access.DefaultRate, rateBurst: access.DefaultBurst,
		guessRate: access.DefaultGuessRate, guessBurst: access.DefaultGuessBurst}
	if err := cfg.secrets(false); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log, err := newLogger("info", "text", &logs)
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNode(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	// A public route whose handler fails and writes the error's text, as
	// a careless handler would.
	const secret = "pq: password authentication failed for user trialwatch_rw"
	n.router.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.run(ctx) }() // ends when the cleanup below cancels ctx
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})
	// Both listeners are bound: requests wait in their queues until run
	// serves them.
	api, adm := n.httpURL(), n.adminURL()

	for _, tc := range []struct {
		method, url string
		want        int
	}{
		{"GET", api + "/healthz", http.StatusOK},
		{"GET", api + "/healthz?q=%01", http.StatusBadRequest}, // the router refuses a control character
		{"GET", api + "/no/such/route", http.StatusNotFound},   // the mux's own answer
		{"POST", api + "/api/v1/login", http.StatusInternalServerError},
		{"GET", adm + "/healthz", http.StatusOK},
		{"GET", adm + "/metrics", http.StatusUnauthorized},
		{"GET", adm + "/no/such/route", http.StatusNotFound},
	} {
		resp, body := call(t, tc.method, tc.url, "")
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.url, resp.StatusCode, tc.want)
		}
		id := resp.Header.Get(jsonhttp.RequestIDHeader)
		if id == "" {
			t.Errorf("%s %s (%d): no %s", tc.method, tc.url, resp.StatusCode, jsonhttp.RequestIDHeader)
		}
		if resp.StatusCode < 500 {
			continue
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || got["error"] != "internal error" || got["request_id"] != id || len(got) != 2 {
			t.Errorf("%s %s: body %q, want only the generic message and request id %s", tc.method, tc.url, body, id)
		}
		if strings.Contains(body, "password") {
			t.Errorf("%s %s: the answer leaks the error: %q", tc.method, tc.url, body)
		}
		if !logHasLine(logs.String(), "request_id="+id, "authentication failed") {
			t.Errorf("no log line has request id %s and the error's detail:\n%s", id, logs.String())
		}
	}

	// An id the client sends is kept when it is a short token, replaced
	// otherwise.
	for sent, kept := range map[string]bool{"trace-4bf92f3577b34da6": true, "a b": false, strings.Repeat("x", 65): false, "<script>": false} {
		resp, _ := call(t, "GET", api+"/healthz", sent)
		got := resp.Header.Get(jsonhttp.RequestIDHeader)
		if (got == sent) != kept || got == "" {
			t.Errorf("sent X-Request-Id %q, answer has %q; want it kept: %v", sent, got, kept)
		}
	}
}

func call(t *testing.T, method, url, requestID string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if requestID != "" {
		req.Header.Set(jsonhttp.RequestIDHeader, requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func logHasLine(logs string, parts ...string) bool {
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
