// The leaky twin of corpus case havener161, modelled on homeport/havener#161:
// https://github.com/homeport/havener/pull/161
//
// Make sure the wait group receives Done: defer it so that the command does
// not block in the error case. Here the worker is a named function the
// WaitGroup is passed to.
package havener161

import (
	"sync"
)

func runAll(nodes []string, exec func(string) error, errs chan<- error) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go runOne(&wg, n, exec, errs) // want "goroutine returns without WaitGroup.Done"
	}
	wg.Wait()
}

func runOne(wg *sync.WaitGroup, node string, exec func(string) error, errs chan<- error) {
	if err := exec(node); err != nil {
		errs <- err
		return
	}
	wg.Done()
}
