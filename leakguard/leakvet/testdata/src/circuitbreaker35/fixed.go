// The fixed twin of corpus case circuitbreaker35, modelled on rubyist/circuitbreaker#35:
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

var ErrTimeoutFixed = errors.New("breaker timeout")

type BreakerFixed struct{ failures int }

func (cb *BreakerFixed) Call(circuit func() error, timeout time.Duration) error {
	if timeout == 0 {
		return circuit()
	}
	c := make(chan error, 1)
	go func() {
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
		return ErrTimeoutFixed
	}
}
