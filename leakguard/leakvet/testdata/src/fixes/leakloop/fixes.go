// Package leakloop holds a timer loop whose suggested fix is mechanical:
// a context is in scope, so add a case that returns when it is done.
package leakloop

import (
	"context"
	"time"
)

func poll(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	go func() { // want "goroutine leaks"
		for {
			select {
			case <-t.C:
				f(ctx)
			}
		}
	}()
}
