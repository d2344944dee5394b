package heldoutfp

import (
	"fmt"
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
	errs := make(chan error)
	go func() {
		defer close(errs)
		n := 0
		for range logs {
			n++
		}
		errs <- fmt.Errorf("%d lines", n)
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

// Round 3 (batch 17): the shapes of its false positives.

// stmt's fetcher sends its errors on an unbuffered field; the reader can
// return on another case first, but close drains the field until it closes
// it (trino-go-client driverStmt).
type stmt struct {
	errs chan error
	rows chan []int
	done chan struct{}
}

func newStmt(fetch func() ([]int, error)) *stmt {
	st := &stmt{errs: make(chan error), rows: make(chan []int), done: make(chan struct{})}
	go func() {
		defer close(st.rows)
		for {
			r, err := fetch()
			if err != nil {
				st.errs <- err
				return
			}
			select {
			case st.rows <- r:
			case <-st.done:
				return
			}
		}
	}()
	return st
}

func (st *stmt) next() ([]int, error) {
	select {
	case r, ok := <-st.rows:
		if !ok {
			return nil, nil
		}
		return r, nil
	case err := <-st.errs:
		return nil, err
	}
}

func (st *stmt) close() {
	close(st.done)
	go func() {
		for range st.errs {
		}
	}()
	for range st.rows {
	}
	close(st.errs)
}

// notifier counts itself in on the WaitGroup only when it has something to
// send; on its other way out it owes no Done (vjeantet/ldapserver).
func notifier(shutdown, closing <-chan struct{}, out chan<- string, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		// ... the client's work
	}()
	go func() {
		select {
		case <-shutdown:
			wg.Add(1)
			out <- "bye"
			wg.Done()
		case <-closing:
			return
		}
	}()
	wg.Wait()
}

// Round 3 (batch 18): the shape of its false positives.

// readers starts one of two goroutines an iteration, each counted by the
// Add before the loop (golang.org/x/net ipv4/readwrite_test.go).
func readers(batch bool, read, readBatch func()) {
	var wg sync.WaitGroup
	const n = 10
	wg.Add(n)
	for i := 0; i < n; i++ {
		if batch {
			go func() {
				defer wg.Done()
				readBatch()
			}()
		} else {
			go func() {
				defer wg.Done()
				read()
			}()
		}
	}
	wg.Wait()
}
