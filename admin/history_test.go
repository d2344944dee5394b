package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
)

func TestHistoryKeepsTheLastSpanOldestFirst(t *testing.T) {
	n := 0
	h := NewHistory(func() int { n++; return n }, func() float64 { return float64(n * 10) }, time.Second, 3*time.Second)
	for range 5 {
		h.mu.Lock()
		h.add()
		h.mu.Unlock()
	}
	got := h.Samples()
	if len(got) != 3 || got[0].Goroutines != 3 || got[1].Goroutines != 4 || got[2].Goroutines != 5 || got[2].InFlight != 50 {
		t.Errorf("samples %+v, want the last three (3, 4, 5), oldest first", got)
	}
	if cap(h.ring) != 3 {
		t.Errorf("the ring grew to %d", cap(h.ring))
	}
}

func TestHistorySamplesUntilStopped(t *testing.T) {
	h := NewHistory(func() int { return 7 }, nil, time.Millisecond, time.Second)
	h.Start(context.Background())
	h.Start(context.Background()) // a second start does nothing
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Samples()) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 samples after 10 s at one a millisecond")
		}
		time.Sleep(time.Millisecond)
	}
	h.Stop()
	n := len(h.Samples())
	time.Sleep(5 * time.Millisecond)
	if len(h.Samples()) != n {
		t.Error("sampling went on after Stop")
	}
	h.Stop() // a second stop returns at once
	NewHistory(nil, nil, 0, 0).Stop()
}

func TestHistoryIsServedToOpsOnly(t *testing.T) {
	h := NewHistory(func() int { return 7 }, func() float64 { return 2 }, 0, 0)
	h.Start(context.Background())
	defer h.Stop()
	handler := Handler(Config{Guard: access.OpsOnly("s3cret", nil), Gatherer: NewRegistry(), Health: &Health{}, History: h})
	if code, _ := get(t, handler, "/history", ""); code != http.StatusUnauthorized {
		t.Errorf("history without the token: %d, want 401", code)
	}
	code, body := get(t, handler, "/history", "Bearer s3cret")
	var out struct {
		Every   float64  `json:"every_seconds"`
		Samples []Sample `json:"samples"`
	}
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || out.Every != 15 || len(out.Samples) != 1 ||
		out.Samples[0].Goroutines != 7 || out.Samples[0].InFlight != 2 {
		t.Errorf("history: %d %s", code, body)
	}
}
