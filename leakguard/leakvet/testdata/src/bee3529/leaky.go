// The leaky twin of corpus case bee3529, modelled on ethersphere/bee#3529:
// https://github.com/ethersphere/bee/pull/3529
//
// asyncFinder.asyncGet returns an unbuffered channel its goroutine sends
// the chunk on; the finder selects on it against ctx.Done, so on
// cancellation the goroutine leaks.
package bee3529

import (
	"context"
)

type chunk []byte

func asyncGet(ctx context.Context, get func(context.Context, uint64) chunk, index uint64) <-chan chunk {
	c := make(chan chunk)
	go func() { // want "goroutine leaks: its send"
		c <- get(ctx, index)
	}()
	return c
}

func find(ctx context.Context, get func(context.Context, uint64) chunk, index uint64) (chunk, error) {
	select {
	case ch := <-asyncGet(ctx, get, index):
		return ch, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
