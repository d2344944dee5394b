// The fixed twin of corpus case semgroup2, modelled on fatih/semgroup#2:
// https://github.com/fatih/semgroup/pull/2
//
// Group.Go calls wg.Add before sem.Acquire; when Acquire fails it returns
// the error without starting the goroutine or calling wg.Done, so Wait
// deadlocks.
package semgroup2

import (
	"context"
	"sync"
)

type GroupFixed struct {
	wg      sync.WaitGroup
	ctx     context.Context
	acquire func(context.Context) error
	release func()
}

func (g *GroupFixed) Go(f func() error) error {
	if err := g.acquire(g.ctx); err != nil {
		return err
	}
	g.wg.Add(1)
	go func() {
		defer g.release()
		defer g.wg.Done()
		_ = f()
	}()
	return nil
}

func (g *GroupFixed) Wait() {
	g.wg.Wait()
}
