// The leaky twin of corpus case resiliency23, modelled on eapache/go-resiliency#23:
// https://github.com/eapache/go-resiliency/issues/23
//
// Deadline.Run: if Run returns ErrTimedOut, the work function blocks on
// sending to the unbuffered result channel.
package resiliency23

import (
	"errors"
	"time"
)

var ErrTimedOut = errors.New("timed out waiting for function to finish")

type Deadline struct{ timeout time.Duration }

func (d *Deadline) Run(work func(<-chan struct{}) error) error {
	result := make(chan error)
	stopper := make(chan struct{})
	go func() { // want "goroutine leaks: its send"
		result <- work(stopper)
	}()
	select {
	case ret := <-result:
		return ret
	case <-time.After(d.timeout):
		close(stopper)
		return ErrTimedOut
	}
}
