// The leaky twin of corpus case godet38, modelled on raff/godet#38:
// https://github.com/raff/godet/issues/38
//
// Closing the RemoteDebugger leaks the sendMessages goroutine, which waits
// for a message that is never going to come; the channel should be closed.
// Here the sender is a named function the channel is passed to.
package godet38

import (
	"errors"
)

type message struct{ method string }

func connect(msgs []message, send func(message) error) error {
	requests := make(chan message)
	go sendMessages(requests, send) // want "goroutine leaks: its receive"
	for _, m := range msgs {
		if m.method == "" {
			return errors.New("message without method")
		}
		requests <- m
	}
	close(requests)
	return nil
}

func sendMessages(requests chan message, send func(message) error) {
	for m := range requests {
		_ = send(m)
	}
}
