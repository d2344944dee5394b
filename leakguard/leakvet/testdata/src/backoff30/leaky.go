// The leaky twin of corpus case backoff30, modelled on lestrrat-go/backoff#30:
// https://github.com/lestrrat-go/backoff/pull/30
//
// The backoff goroutine blocks sending to the next channel after the
// retrying caller has stopped reading (it succeeded or its context was
// cancelled).
package backoff30

import (
	"context"
	"time"
)

func start(ctx context.Context, interval time.Duration) <-chan struct{} {
	next := make(chan struct{})
	go func() { // want "goroutine leaks: its send"
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			next <- struct{}{}
		}
	}()
	return next
}

func retry(ctx context.Context, f func() error, interval time.Duration) error {
	next := start(ctx, interval)
	for {
		if err := f(); err == nil {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
