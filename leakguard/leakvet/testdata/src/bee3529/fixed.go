// The fixed twin of corpus case bee3529, modelled on ethersphere/bee#3529:
// https://github.com/ethersphere/bee/pull/3529
//
// asyncFinder.asyncGet returns an unbuffered channel its goroutine sends
// the chunk on; the finder selects on it against ctx.Done, so on
// cancellation the goroutine leaks.
package bee3529

import (
	"context"
)

type chunkFixed []byte

func asyncGetFixed(ctx context.Context, get func(context.Context, uint64) chunkFixed, index uint64) <-chan chunkFixed {
	c := make(chan chunkFixed)
	go func() {
		ch := get(ctx, index)
		select {
		case c <- ch:
		case <-ctx.Done():
		}
	}()
	return c
}

func findFixed(ctx context.Context, get func(context.Context, uint64) chunkFixed, index uint64) (chunkFixed, error) {
	select {
	case ch := <-asyncGetFixed(ctx, get, index):
		return ch, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
