// The fixed twin of corpus case grpc5058, modelled on grpc/grpc-go#5058:
// https://github.com/grpc/grpc-go/pull/5058
//
// TestSafeConfigSelector: if the timeout happens first there is no receiver
// for the channel, and the goroutine blocks at its last send.
package grpc5058

import (
	"errors"
	"time"
)

func waitSwapFixed(swap func()) error {
	done := make(chan struct{})
	go func() {
		swap()
		close(done) // a close never blocks
	}()
	select {
	case <-done:
		return nil
	case <-time.After(time.Second):
		return errors.New("timed out waiting for the config selector swap")
	}
}
