// The fixed twin of corpus case kubo4593, modelled on ipfs/kubo#4593:
// https://github.com/ipfs/kubo/issues/4593
//
// GC writes results to an output channel with a magic buffer size; it
// blocks indefinitely if the context is canceled, the reader stops and the
// buffer is full.
package kubo4593

import (
	"context"
)

type resultFixed struct {
	key string
	err error
}

func gcFixed(ctx context.Context, keys []string, remove func(string) error) <-chan resultFixed {
	output := make(chan resultFixed, 128)
	go func() {
		defer close(output)
		for _, k := range keys {
			r := resultFixed{key: k}
			if err := remove(k); err != nil {
				r = resultFixed{err: err}
			}
			select {
			case output <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	return output
}

func collectFixed(ctx context.Context, keys []string, remove func(string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := gcFixed(ctx, keys, remove)
	for {
		select {
		case r, ok := <-out:
			if !ok {
				return nil
			}
			if r.err != nil {
				return r.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
