// The fixed twin of corpus case passage25, modelled on hightouchio/passage#25:
// https://github.com/hightouchio/passage/issues/25
//
// CheckHealth: if several health checks fail, each goroutine sends on cerr
// but only one send succeeds (the parent receives it and returns); the
// others block forever. First-response-wins fan-out.
package passage25

import (
	"context"
	"sync"
)

func checkHealthFixed(ctx context.Context, checks []func(context.Context) error) error {
	cerr := make(chan error, len(checks))
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c(ctx); err != nil {
				cerr <- err
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case err := <-cerr:
		return err
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
