// The leaky twin of corpus case semgroup2, modelled on fatih/semgroup#2:
// https://github.com/fatih/semgroup/pull/2
//
// Group.Go calls wg.Add before sem.Acquire; when Acquire fails it returns
// the error without starting the goroutine or calling wg.Done, so Wait
// deadlocks.
//
// leakvet misses this leak: the Add runs in the spawner before an early return that starts no goroutine; leakwait only follows a Wait blocked by the goroutines a go statement starts
package semgroup2

import (
	"context"
	"sync"
)

type Group struct {
	wg      sync.WaitGroup
	ctx     context.Context
	acquire func(context.Context) error
	release func()
}

func (g *Group) Go(f func() error) error {
	g.wg.Add(1)
	if err := g.acquire(g.ctx); err != nil {
		return err
	}
	go func() {
		defer g.release()
		defer g.wg.Done()
		_ = f()
	}()
	return nil
}

func (g *Group) Wait() {
	g.wg.Wait()
}
