// The leaky twin of corpus case circuitbreaker35, modelled on rubyist/circuitbreaker#35:
// https://github.com/rubyist/circuitbreaker/pull/35
//
// Breaker.Call with a timeout runs the circuit in a goroutine; if the
// timeout fires there is no reader on the result channel and the goroutine
// blocks forever.
package circuitbreaker35

import (
	"errors"
	"time"
)

var ErrTimeout = errors.New("breaker timeout")

type Breaker struct{ failures int }

func (cb *Breaker) Call(circuit func() error, timeout time.Duration) error {
	if timeout == 0 {
		return circuit()
	}
	c := make(chan error)
	go func() { // want "goroutine leaks: its send"
		c <- circuit()
	}()
	select {
	case err := <-c:
		if err != nil {
			cb.failures++
		}
		return err
	case <-time.After(timeout):
		cb.failures++
		return ErrTimeout
	}
}
