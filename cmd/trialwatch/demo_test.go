package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer the test can read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The demo runs in this process: it must load the pilot, answer a check,
// and on cancellation (SIGINT in real life) stop everything it started;
// goleak in TestMain proves nothing is left running.
func TestDemoServesThePilotAndStopsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole pilot study; skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"demo", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, &out, &errOut)
	}()

	apiRe := regexp.MustCompile(`API\s+(http://\S+)`)
	var api string
	deadline := time.Now().Add(3 * time.Minute) // a loaded machine under -race loads the pilot slowly
	for api == "" {
		if m := apiRe.FindStringSubmatch(out.String()); m != nil {
			api = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("demo exited with %d before serving:\n%s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start within 3 minutes:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tokens := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (\w+)\s+(site|monitor|admin|ops)\s.*\s(tw_\S+)$`).FindAllStringSubmatch(out.String(), -1) {
		tokens[m[2]] = m[3]
	}
	if len(tokens) != 4 {
		t.Fatalf("demo printed tokens for %d roles, want one per role (4):\n%s", len(tokens), out.String())
	}
	if code, _ := check(t, api, "", "01-701-1015"); code != http.StatusUnauthorized {
		t.Errorf("demo check without a token: %d, want 401", code)
	}
	code, r := check(t, api, tokens["monitor"], "01-701-1015")
	if code != http.StatusOK || !r.Complete {
		t.Fatalf("demo check: %d %+v", code, r)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("demo exited with %d:\n%s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15s of cancellation")
	}
}
