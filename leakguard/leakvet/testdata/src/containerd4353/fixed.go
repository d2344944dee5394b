// The fixed twin of corpus case containerd4353, modelled on containerd/containerd#4353:
// https://github.com/containerd/containerd/pull/4353
//
// TestExchangeBasic: the goroutine writing to errChan blocks on the reader
// (the main routine), but the main routine first waits on the WaitGroup for
// the goroutine to finish, a deadlock.
package containerd4353

import (
	"sync"
)

func publishAndWaitFixed(publish func() error) error {
	var wg sync.WaitGroup
	wg.Add(1)
	errChan := make(chan error, 1)
	go func() {
		defer wg.Done()
		errChan <- publish()
	}()
	wg.Wait()
	return <-errChan
}
