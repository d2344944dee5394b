// The leaky twin of corpus case kubo4593, modelled on ipfs/kubo#4593:
// https://github.com/ipfs/kubo/issues/4593
//
// GC writes results to an output channel with a magic buffer size; it
// blocks indefinitely if the context is canceled, the reader stops and the
// buffer is full.
package kubo4593

import (
	"context"
)

type result struct {
	key string
	err error
}

func gc(keys []string, remove func(string) error) <-chan result {
	output := make(chan result, 128)
	go func() { // want "goroutine leaks: its send"
		defer close(output)
		for _, k := range keys {
			if err := remove(k); err != nil {
				output <- result{err: err}
				continue
			}
			output <- result{key: k}
		}
	}()
	return output
}

func collect(ctx context.Context, keys []string, remove func(string) error) error {
	out := gc(keys, remove)
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
