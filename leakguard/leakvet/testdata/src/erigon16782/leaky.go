// The leaky twin of corpus case erigon16782, modelled on erigontech/erigon#16782:
// https://github.com/erigontech/erigon/pull/16782
//
// The response channel gets capacity 1 so the goroutine can complete its
// send even if the caller has already returned due to context cancellation.
package erigon16782

import (
	"context"
)

type peerResponse struct{ payload []byte }

func request(ctx context.Context, send func() peerResponse) ([]byte, error) {
	respCh := make(chan peerResponse)
	go func() { // want "goroutine leaks: its send"
		respCh <- send()
	}()
	select {
	case r := <-respCh:
		return r.payload, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
