// The leaky twin of corpus case erigon16665, modelled on erigontech/erigon#16665:
// https://github.com/erigontech/erigon/issues/16665
//
// Do runs the handler in a goroutine that sends the response on an
// unbuffered ans; if the request context is done first the goroutine stays
// blocked on ans <- resp.
package erigon16665

import (
	"context"
)

type response struct{ status int }

func do(ctx context.Context, serve func() *response) (*response, error) {
	ans := make(chan *response)
	go func() { // want "goroutine leaks: its send"
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
