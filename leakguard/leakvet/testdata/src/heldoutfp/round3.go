package heldoutfp

import (
	"sync"
	"time"
)

// Round 3 (batch 14): the shapes of its false positives.

// chunksDone: Add(len(chunks)) before the loop, and an iteration that skips
// the go statement calls Done itself (go-datastructures rtree/hilbert).
func chunksDone(chunks [][]int) []int {
	sums := make([]int, len(chunks))
	var wg sync.WaitGroup
	wg.Add(len(chunks))
	for i := range chunks {
		if len(chunks[i]) == 0 {
			wg.Done()
			continue
		}
		go func(i int) {
			for _, v := range chunks[i] {
				sums[i] += v
			}
			wg.Done()
		}(i)
	}
	wg.Wait()
	return sums
}

// Round 3 (batch 15): the shapes of its false positives.

// TestingT is testify's interface of *testing.T's methods (mongo-driver's
// internal/assert copies it).
type TestingT interface {
	Errorf(format string, args ...any)
}

// soon fails the test when the callback is late: the goroutine left blocked
// on done belongs to a failing test (mongo-driver internal/assert.Soon).
func soon(t TestingT, callback func(), timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		callback()
		done <- struct{}{}
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Errorf("timed out after %s", timeout)
	}
}

// matchLogs returns a channel it makes on every path: a caller's
// errs == nil test never holds (mongo-driver unified/logger_verification.go).
func matchLogs(logs <-chan string) <-chan error {
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for l := range logs {
			if l == "" {
				errs <- nil
				return
			}
		}
	}()
	return errs
}

func validateLogs(logs <-chan string, report func(error)) {
	errs := matchLogs(logs)
	if errs == nil {
		return
	}
	if err := <-errs; err != nil {
		report(err)
	}
}
