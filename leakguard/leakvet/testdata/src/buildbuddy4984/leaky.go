// The leaky twin of corpus case buildbuddy4984, modelled on buildbuddy-io/buildbuddy#4984:
// https://github.com/buildbuddy-io/buildbuddy/pull/4984
//
// A goroutine sends the scheduler error on schedulerErr; when the context
// is cancelled the receiving side may already have returned, so the send
// blocks forever.
package buildbuddy4984

import (
	"context"
)

func runScheduler(ctx context.Context, schedule func(context.Context) error) error {
	schedulerErr := make(chan error)
	go func() { // want "goroutine leaks: its send"
		schedulerErr <- schedule(ctx)
	}()
	select {
	case err := <-schedulerErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
