package auth_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
)

func TestLimiterBurstAndRefill(t *testing.T) {
	l := auth.NewLimiter(2, 3, 100) // 2/s, bursts of 3
	for i := range 3 {
		if ok, _ := l.Allow("k", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("k", t0)
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("after the burst: %v, retry after %v; want refusal, 500ms", ok, retry)
	}
	if ok, _ := l.Allow("other", t0); !ok {
		t.Fatal("one key's burst limited another key")
	}
	ok, retry = l.Allow("k", t0.Add(400*time.Millisecond))
	if ok || retry != 100*time.Millisecond {
		t.Fatalf("at 400ms: %v, retry after %v; want refusal, 100ms", ok, retry)
	}
	if ok, _ := l.Allow("k", t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused once a token had refilled")
	}
	if ok, _ := l.Allow("k", t0.Add(500*time.Millisecond)); ok {
		t.Fatal("allowed a second request on one refilled token")
	}
	// Long idle refills to the burst, no further.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("k", later); !ok {
			t.Fatalf("after an hour, request %d refused", i+1)
		}
	}
	if ok, _ := l.Allow("k", later); ok {
		t.Fatal("an idle hour gave more than the burst")
	}
	// A clock stepping back neither refills nor breaks anything.
	if ok, retry := l.Allow("k", t0); ok || retry <= 0 {
		t.Fatalf("clock stepped back: %v, %v", ok, retry)
	}
}

func TestLimiterBoundedKeys(t *testing.T) {
	l := auth.NewLimiter(1, 2, 10)
	for i := range 1000 {
		l.Allow(fmt.Sprint("addr", i), t0)
		if n := l.Len(); n > 10 {
			t.Fatalf("%d keys held, limit 10", n)
		}
	}
	// The most recent keys are kept: addr999 has used one of its two.
	l.Allow("addr999", t0)
	if ok, _ := l.Allow("addr999", t0); ok {
		t.Fatal("a recent key lost its state")
	}
	// Buckets full again (2 tokens at 1/s: 2s) are dropped on the next call.
	l.Allow("new", t0.Add(2*time.Second))
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys held after all refilled, want 1", n)
	}
}

func TestNewLimiterRejectsNonsense(t *testing.T) {
	for _, args := range [][3]float64{{0, 1, 1}, {-1, 1, 1}, {1, 0, 1}, {1, 1, 0}, {math.Inf(1), 1, 1}, {math.NaN(), 1, 1}, {1e-300, 1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLimiter%v did not panic", args)
				}
			}()
			auth.NewLimiter(args[0], int(args[1]), int(args[2]))
		}()
	}
}

// CheckLimit refuses exactly what would make NewLimiter panic or its
// refill time overflow, so callers can check user input with it.
func TestCheckLimit(t *testing.T) {
	for _, tt := range []struct {
		rate  float64
		burst int
		ok    bool
	}{
		{1, 1, true}, {1e-9, 3, true}, {1e9, 1 << 30, true},
		{0, 1, false}, {-1, 1, false}, {math.NaN(), 1, false}, {math.Inf(1), 1, false}, {math.Inf(-1), 1, false},
		{1, 0, false}, {1, -5, false}, {1e-300, 1, false}, {1e-9, 1 << 20, false},
	} {
		err := auth.CheckLimit(tt.rate, tt.burst)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLimit(%v, %d) = %v, want ok %v", tt.rate, tt.burst, err, tt.ok)
		}
		if err == nil {
			auth.NewLimiter(tt.rate, tt.burst, 1) // must not panic
		}
	}
}
