// The fixed twin of corpus case goresilience30, modelled on slok/goresilience#30:
// https://github.com/slok/goresilience/pull/30
//
// The timeout runner: when job execution times out, the errc channel is
// never emptied, so the goroutine never finishes.
package goresilience30

import (
	"context"
	"errors"
	"time"
)

var errTimeoutFixed = errors.New("timeout")

func runTimeoutFixed(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- f(ctx)
	}()
	select {
	case <-ctx.Done():
		return errTimeoutFixed
	case err := <-errc:
		return err
	}
}
