package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// waitAdmitted polls until n callers hold or wait for a turn.
func waitAdmitted(t *testing.T, h *hashing, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); h.admitted.Load() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers admitted, want %d", h.admitted.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// One turn and a queue of one: the first caller hashes, the second
// waits, the third is refused at once, before its hash runs; once the
// queue moves, callers are admitted again.
func TestHashingQueueLimit(t *testing.T) {
	h := newHashing(1, 1)
	release := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release) // on a failure below, lets the two callers end
	for i := range 2 {
		wg.Go(func() { // ends when release is closed
			if err := h.do(context.Background(), func() { <-release }); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		})
		waitAdmitted(t, h, int64(i+1))
	}
	// Had it waited for a turn, it would end with its context's error.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.do(ctx, func() { t.Error("the third caller's hash ran") })
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) || busy.RetryAfter < time.Second {
		t.Fatalf("third caller: %v, want a BusyError with a Retry-After of at least 1s", err)
	}
	if h.admitted.Load() != 2 {
		t.Errorf("after a refusal %d callers admitted, want 2", h.admitted.Load())
	}
	release <- struct{}{} // the first caller ends, the second takes the turn
	waitAdmitted(t, h, 1)
	wg.Go(func() { // waits in the queue, runs once release is closed
		if err := h.do(context.Background(), func() {}); err != nil {
			t.Errorf("a caller once the queue moved: %v", err)
		}
	})
	waitAdmitted(t, h, 2)
}

// A caller whose context ends while it waits leaves the queue.
func TestHashingWaitEndsWithContext(t *testing.T) {
	h := newHashing(1, 1)
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // ends when release is closed
		h.do(context.Background(), func() { <-release })
	})
	defer wg.Wait()
	defer close(release)
	waitAdmitted(t, h, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.do(ctx, func() { t.Error("ran without a turn") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline: %v", err)
	}
	if n := h.admitted.Load(); n != 1 {
		t.Errorf("%d callers admitted after one gave up, want 1", n)
	}
}

// Retry-After grows with the queue ahead and the time a hash takes.
func TestHashingRetryAfter(t *testing.T) {
	h := newHashing(2, 10)
	h.lastCost.Store(int64(500 * time.Millisecond))
	if got := h.retryAfter(13); got != 3*time.Second { // 12 ahead, 2 at a time, half a second each
		t.Errorf("retryAfter(13) = %v, want 3s", got)
	}
	if got := h.retryAfter(2); got != time.Second {
		t.Errorf("retryAfter(2) = %v, want the 1s floor", got)
	}
}

// With every hashing turn taken and no room to wait, a login that would
// hash is refused with ErrBusy, and so is a new password; a login with a
// name or password no user can have is refused as bad credentials
// without waiting for a turn.
func TestStoreHashesOnlyWithATurn(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, sqldbtest.SQLite(t), WithHashing(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, nil, "jane", RoleOps, nil, "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.hashing.turns <- struct{}{} // the one turn, taken
	s.hashing.admitted.Add(1)
	defer func() { <-s.hashing.turns; s.hashing.admitted.Add(-1) }()

	for _, tc := range []struct {
		name, user, password string
		want                 error
	}{
		{"right password", "jane", "correct horse battery", ErrBusy},
		{"unknown name", "nobody", "correct horse battery", ErrBusy},
		{"impossible name", "jane doe", "correct horse battery", ErrBadCredentials},
		{"name too long", strings.Repeat("j", 65), "correct horse battery", ErrBadCredentials},
		{"password too short", "jane", "short", ErrBadCredentials},
		{"password too long", "jane", strings.Repeat("x", MaxPasswordBytes+1), ErrBadCredentials},
	} {
		_, _, _, err := s.Login(ctx, tc.user, tc.password, time.Hour, time.Now())
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Login = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.SetPassword(ctx, nil, "jane", "another good password", time.Now()); !errors.Is(err, ErrBusy) {
		t.Errorf("SetPassword with no hashing turn: %v, want ErrBusy", err)
	}
}
