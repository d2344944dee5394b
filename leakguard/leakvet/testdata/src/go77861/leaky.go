// The leaky twin of corpus case go77861, modelled on golang/go#77861:
// https://github.com/golang/go/pull/77861
//
// net.dialPlan9 makes an unbuffered resc and dials in a goroutine; if the
// context is canceled first the function returns and the goroutine blocks
// forever on its send.
package go77861

import (
	"context"
)

type conn interface{ Close() error }

func dialPlan9(ctx context.Context, dial func() (conn, error)) (conn, error) {
	type res struct {
		fd  conn
		err error
	}
	resc := make(chan res)
	go func() { // want "goroutine leaks: its send"
		fd, err := dial()
		resc <- res{fd, err}
	}()
	select {
	case r := <-resc:
		return r.fd, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
