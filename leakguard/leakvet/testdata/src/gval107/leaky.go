// The leaky twin of corpus case gval107, modelled on PaesslerAG/gval#107:
// https://github.com/PaesslerAG/gval/pull/107
//
// When the context is done there is no receiver on errCh, and the
// evaluating goroutine leaks blocked on its write.
package gval107

import (
	"context"
)

func evaluate(ctx context.Context, eval func() (any, error)) (any, error) {
	type result struct {
		v   any
		err error
	}
	errCh := make(chan result)
	go func() { // want "goroutine leaks: its send"
		v, err := eval()
		errCh <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-errCh:
		return r.v, r.err
	}
}
