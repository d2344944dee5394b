package heldoutfp

import (
	"errors"
	"sync"
)

// Round 3's two largest classes of false positives, modelled rather than
// matched (after batch 19): counting tied to inputs, and a drain in
// another method. These are their general forms, not the modules' shapes.

// pairs starts two goroutines an iteration against Add(2*len(jobs)): every
// way round the loop pays two Dones, whichever branch it takes, a skipped
// job through a helper it hands the WaitGroup to.
func pairs(jobs []int, fast bool, work func(int)) {
	var wg sync.WaitGroup
	wg.Add(2 * len(jobs))
	for _, j := range jobs {
		if j < 0 {
			skipped(&wg)
			skipped(&wg)
			continue
		}
		if fast {
			go func() { defer wg.Done(); work(j) }()
			go func() { defer wg.Done(); work(-j) }()
		} else {
			go func() { defer wg.Done(); work(j * 2) }()
			skipped(&wg)
		}
	}
	wg.Wait()
}

// skipped counts an iteration off for its caller.
func skipped(wg *sync.WaitGroup) { wg.Done() }

// pairsConst: Add(20) before a loop of ten iterations that each start two
// goroutines (golang.org/x/net's readers, with a constant count).
func pairsConst(work func(int)) {
	var wg sync.WaitGroup
	wg.Add(20)
	for i := 0; i < 10; i++ {
		go func() { defer wg.Done(); work(i) }()
		go func() { defer wg.Done(); work(-i) }()
	}
	wg.Wait()
}

// twoWaves: Add(2*n) before two loops of n goroutines each; neither loop
// owes the whole count (k8s.io/apiserver priority-and-fairness_test.go,
// found when round 3's modules were rerun with round 4's rules).
func twoWaves(n int, get func()) {
	var wg sync.WaitGroup
	wg.Add(2 * n)
	for i := 0; i < n; i++ {
		go func() { defer wg.Done(); get() }()
	}
	for i := 0; i < n; i++ {
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
}

// twoWavesConst: the same with constant counts (maxinflight_test.go).
func twoWavesConst(get func()) {
	const n = 5
	var wg sync.WaitGroup
	wg.Add(n * 2)
	for i := 0; i < n; i++ {
		go func() { defer wg.Done(); get() }()
	}
	for i := 0; i < n; i++ {
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
}

// checks: ten goroutines, five iterations each, at most one send an
// iteration (the sends are on exclusive branches): 50 values into a buffer
// of 50 (spicedb pkg/datastore/test/revisions.go).
func checks(head func() (int, error), check func(int) error) []error {
	var wg sync.WaitGroup
	wg.Add(10)
	errs := make(chan error, 10*5)
	for range 10 {
		go func() {
			defer wg.Done()
			for range 5 {
				h, err := head()
				if err != nil {
					errs <- err
					continue
				}
				if err := check(h); err != nil {
					errs <- err
					continue
				}
				if h < 0 {
					errs <- errors.New("negative head")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// query's fetcher sends its errors on an unbuffered field; next can return
// on another case first, but another method drains the field, keeping
// what it takes, until close closes it.
type query struct {
	errs chan error
	rows chan int
	done chan struct{}
	last error
}

func newQuery(fetch func() (int, error)) *query {
	q := &query{errs: make(chan error), rows: make(chan int), done: make(chan struct{})}
	go func() {
		defer close(q.rows)
		for {
			r, err := fetch()
			if err != nil {
				q.errs <- err
				return
			}
			select {
			case q.rows <- r:
			case <-q.done:
				return
			}
		}
	}()
	return q
}

func (q *query) next() (int, error) {
	select {
	case r := <-q.rows:
		return r, nil
	case err := <-q.errs:
		return 0, err
	}
}

// keepErrors drains errs until it is closed, keeping the last error.
func (q *query) keepErrors() {
	for {
		err, ok := <-q.errs
		if !ok {
			return
		}
		q.last = err
	}
}

func (q *query) close() {
	close(q.done)
	go q.keepErrors()
	for range q.rows {
	}
	close(q.errs)
}
