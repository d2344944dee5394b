package gaps

import "sync"

// Gap 2: a loop over a literal of known length runs as many times as the
// literal has elements, like any other loop of known trip count.

// firstOfThree asks three mirrors and takes the first answer: the other
// two block on the buffer of one for good.
func firstOfThree(fetch func(string) int) int {
	res := make(chan int, 1)
	for _, src := range []string{"a", "b", "c"} {
		go func() { res <- fetch(src) }() // want `goroutine leaks: its send at line 13`
	}
	return <-res
}

// allOfThree is firstOfThree fixed: a buffer of three holds every answer.
func allOfThree(fetch func(string) int) int {
	res := make(chan int, 3)
	for _, src := range []string{"a", "b", "c"} {
		go func() { res <- fetch(src) }()
	}
	return <-res
}

// checkAll is spicedb's typesystem_test.go: ten goroutines each send 20 ×
// 3 errors, a range over a literal inside a counted loop, into a buffer of
// 600 before the owner's Wait: every send fits.
func checkAll(check func(string) error) []error {
	var wg sync.WaitGroup
	errs := make(chan error, 600)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				for _, n := range []string{"document", "user", "team"} {
					errs <- check(n)
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

// checkAllShort is checkAll with a buffer of 599: one send too many blocks
// before the Wait, which then never returns.
func checkAllShort(check func(string) error) []error {
	var wg sync.WaitGroup
	errs := make(chan error, 599)
	for range 10 {
		wg.Add(1)
		go func() { // want `goroutine leaks: its send at line 64`
			defer wg.Done()
			for range 20 {
				for _, n := range []string{"document", "user", "team"} {
					errs <- check(n)
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
