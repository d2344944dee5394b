// The fixed twin of corpus case go77861, modelled on golang/go#77861:
// https://github.com/golang/go/pull/77861
//
// net.dialPlan9 makes an unbuffered resc and dials in a goroutine; if the
// context is canceled first the function returns and the goroutine blocks
// forever on its send.
package go77861

import (
	"context"
)

type connFixed interface{ Close() error }

func dialPlan9Fixed(ctx context.Context, dial func() (connFixed, error)) (connFixed, error) {
	type res struct {
		fd  connFixed
		err error
	}
	resc := make(chan res, 1)
	go func() {
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
