// The fixed twin of corpus case gosh26, modelled on codeskyblue/go-sh#26:
// https://github.com/codeskyblue/go-sh/issues/26
//
// Go(f) starts f in a goroutine and returns the unbuffered channel it will
// send the result on; WaitTimeout selects on it against time.After, so
// after a timeout the goroutine blocks forever. The channel is made in one
// function and received in its caller.
package gosh26

import (
	"errors"
	"time"
)

var errTimeoutFixed = errors.New("timeout")

func goAsyncFixed(f func() error) chan error {
	ch := make(chan error, 1)
	go func() {
		ch <- f()
	}()
	return ch
}

func waitTimeoutFixed(wait func() error, timeout time.Duration) error {
	select {
	case <-time.After(timeout):
		return errTimeoutFixed
	case err := <-goAsyncFixed(wait):
		return err
	}
}
