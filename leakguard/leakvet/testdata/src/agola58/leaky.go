// The leaky twin of corpus case agola58, modelled on agola-io/agola#58:
// https://github.com/agola-io/agola/pull/58
//
// readdb Run: two goroutines may write to errCh before it is read; one
// blocks on its write, and the read never happens because it is behind
// wg.Wait().
package agola58

import (
	"sync"
)

func runHandlers(handleRuns, handleChanges func() error) error {
	errCh := make(chan error)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // want "goroutine leaks: its send"
		defer wg.Done()
		if err := handleRuns(); err != nil {
			errCh <- err
		}
	}()
	go func() {
		defer wg.Done()
		if err := handleChanges(); err != nil {
			errCh <- err
		}
	}()
	wg.Wait()
	select {
	case err := <-errCh:
		return err
	default:
		return nil
	}
}
