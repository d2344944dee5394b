// The leaky twin of corpus case sliver1089, modelled on BishopFox/sliver#1089:
// https://github.com/BishopFox/sliver/pull/1089
//
// If the timer times out first, the sender blocks because done has no
// receiver and is an unbuffered channel.
package sliver1089

import (
	"errors"
	"time"
)

func waitExit(wait func() error, timeout time.Duration) error {
	done := make(chan error)
	go func() { // want "goroutine leaks: its send"
		done <- wait()
	}()
	timer := time.NewTimer(timeout)
	select {
	case err := <-done:
		timer.Stop()
		return err
	case <-timer.C:
		return errors.New("timed out")
	}
}
