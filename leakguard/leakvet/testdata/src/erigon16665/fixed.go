// The fixed twin of corpus case erigon16665, modelled on erigontech/erigon#16665:
// https://github.com/erigontech/erigon/issues/16665
//
// Do runs the handler in a goroutine that sends the response on an
// unbuffered ans; if the request context is done first the goroutine stays
// blocked on ans <- resp.
package erigon16665

import (
	"context"
)

type responseFixed struct{ status int }

func doFixed(ctx context.Context, serve func() *responseFixed) (*responseFixed, error) {
	ans := make(chan *responseFixed, 1)
	go func() {
		resp := serve()
		ans <- resp
	}()
	select {
	case res := <-ans:
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
